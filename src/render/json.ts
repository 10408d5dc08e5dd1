import { isUtf8 } from 'node:buffer';
import type { ChunkSink } from './chunks.ts';

const encoder = new TextEncoder();

/** What JSON.stringify writes for the bytes it escapes (C0 controls, `"` and `\`); undefined for the rest. */
const ESCAPES: (Uint8Array | undefined)[] = Array.from({ length: 128 }, (_, c) => {
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
  let run = 0;
  for (let k = 0; k < bytes.length; k++) {
    const c = bytes[k]!;
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    sink.writeRange(bytes, run, k);
    sink.write(ESCAPES[c]!);
    run = k + 1;
  }
  sink.writeRange(bytes, run, bytes.length);
  sink.writeByte(0x22);
  return true;
}
