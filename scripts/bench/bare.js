#!/usr/bin/env node
// Starts the bare baseline server the way bin/reel.js starts reel: tsx's loader, then the sources.
import { register } from 'tsx/esm/api';

register();
await import('./bare-server.ts');
