import { serverUrl } from './db.ts';
import { ensureTemplate } from './template.ts';

/** Builds the migrated PGlite template once, before any test file copies it. */
export default async function setup(): Promise<void> {
  if (!serverUrl) await ensureTemplate();
}
