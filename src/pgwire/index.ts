export { PgFrontendParser, type ExtractedQuery } from './parser.ts';
export { queriesFromEvents, type QueryMode } from './queries.ts';
