import { isUtf8 } from 'node:buffer';
import { escapeTable, type ChunkSink } from './chunks.ts';

const encoder = new TextEncoder();

/** What JSON.stringify writes for the bytes it escapes (C0 controls, `"` and `\`); undefined for the rest. */
const ESCAPES = escapeTable((c) => {
  if (c >= 0x80) return undefined;
  const quoted = JSON.stringify(String.fromCharCode(c));
  return quoted.length > 3 ? encoder.encode(quoted.slice(1, -1)) : undefined;
});

/**
 * Writes the JSON string literal of `bytes` decoded as UTF-8, quotes included, byte for byte what
 * `JSON.stringify(decode(bytes))` encodes to, without making the string: for well-formed UTF-8
 * decoding is the identity and only ASCII bytes are ever escaped. Returns false, having written
 * nothing, when `bytes` is not well-formed UTF-8 (the caller decodes then, with U+FFFD).
 */
export function writeJsonString(sink: ChunkSink, bytes: Uint8Array): boolean {
  if (!isUtf8(bytes)) return false;
  sink.writeByte(0x22);
  sink.writeEscaped(bytes, 0, bytes.length, ESCAPES);
  sink.writeByte(0x22);
  return true;
}
