import './session.ts';
import './review.ts';
import './ingest.ts';
import './download.ts';
import './live.ts';
import './search.ts';
import './trust.ts';
import { builder } from './builder.ts';

export const schema = builder.toSchema();
