/** Event-stream renderings (§4 inline, §6 files): pure, streaming, no database or HTTP. */
export {
  computeEventSize,
  computeRawQueriesSize,
  defaultInlineTypes,
  renderInline,
  renderRawQueries,
} from './inline.ts';
export type { InlineFormat, InlineOptions, QueryRecord } from './inline.ts';
export {
  DOWNLOAD_CONTENT_TYPES,
  downloadFormatFor,
  renderCsvFile,
  renderDownload,
  renderJsonFile,
  renderRawFile,
} from './files.ts';
export type { DownloadFormat, EventBatches, FileOptions } from './files.ts';
export { CsvWriter, DEFAULT_MAX_CSV_FIELD_BYTES, csvField } from './csv.ts';
export { CHUNK_BYTES, ChunkSink } from './chunks.ts';
export { base64Length, eventTimeIso, secondsToMillis, typeFilter, utf8Decoder } from './common.ts';
export type { TypeSelection, TypeFilter } from './common.ts';
