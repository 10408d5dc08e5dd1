/** Size of the chunks the file renderers yield: few enough writes, small enough to stay bounded. */
export const CHUNK_BYTES = 64 * 1024;

/** Queue length at which the renderers yield mid-batch: output is held briefly, in small amounts. */
export const DRAIN_CHUNKS = 4;

const encoder = new TextEncoder();

/** For each byte value, what ChunkSink.writeEscaped writes instead of it (none: the byte itself). */
export interface EscapeTable {
  /** 1 for the bytes replaced, 0 for the rest: a typed array, the fastest lookup per byte. */
  readonly escaped: Uint8Array;
  readonly sequences: readonly (Uint8Array | undefined)[];
  /** Length of the longest sequence (1 when there are none). */
  readonly longest: number;
}

/** The EscapeTable replacing the bytes that `escape` maps to a sequence. */
export function escapeTable(escape: (byte: number) => Uint8Array | undefined): EscapeTable {
  const sequences = Array.from({ length: 256 }, (_, c) => escape(c));
  return {
    escaped: Uint8Array.from(sequences, (seq) => (seq ? 1 : 0)),
    sequences,
    longest: Math.max(1, ...sequences.map((seq) => seq?.length ?? 0)),
  };
}

/**
 * Coalesces many small writes into ~CHUNK_BYTES chunks. Filled chunks wait in a queue that the
 * generator drains once it holds DRAIN_CHUNKS of them (and after each batch of events), so at most
 * that much plus one event's output is held.
 * Every byte is copied into the sink's own chunks, so what it yields never refers to the events'
 * memory (which a download reuses from page to page: readEventBatches' reusePages).
 */
export class ChunkSink {
  private buf: Uint8Array;
  private len = 0;
  private queue: Uint8Array[] = [];

  private readonly chunkBytes: number;

  constructor(chunkBytes = CHUNK_BYTES) {
    // At least one whole UTF-8 character must fit, or writeString could not progress.
    this.chunkBytes = Math.max(16, chunkBytes);
    this.buf = new Uint8Array(this.chunkBytes);
  }

  write(bytes: Uint8Array): void {
    this.writeRange(bytes, 0, bytes.length);
  }

  /** Copies `src[start, end)`; short runs byte by byte, which beats making a view of them. */
  writeRange(src: Uint8Array, start: number, end: number): void {
    let at = start;
    while (at < end) {
      const n = Math.min(end - at, this.chunkBytes - this.len);
      if (n <= 16) {
        const buf = this.buf;
        for (let k = 0, to = this.len; k < n; k++) buf[to + k] = src[at + k]!;
      } else {
        this.buf.set(src.subarray(at, at + n), this.len);
      }
      this.len += n;
      at += n;
      if (this.len === this.chunkBytes) this.cut();
    }
  }

  /**
   * Copies `src[start, end)` with the bytes that `escapes` maps replaced by their sequences (JSON's
   * escapes, CSV's doubled quote): one pass, byte by byte, straight into the chunk.
   */
  writeEscaped(src: Uint8Array, start: number, end: number, escapes: EscapeTable): void {
    const { escaped, sequences, longest } = escapes;
    for (let k = start; k < end; ) {
      // As many bytes as surely fit in the chunk, escaped or not; a chunk may end up to longest - 1 short.
      const room = this.chunkBytes - this.len;
      if (room < longest) {
        this.cut();
        continue;
      }
      const stop = Math.min(end, k + Math.floor(room / longest));
      const buf = this.buf;
      let o = this.len;
      for (; k < stop; k++) {
        const c = src[k]!;
        if (escaped[c] === 0) {
          buf[o++] = c;
        } else {
          const seq = sequences[c]!;
          for (let j = 0; j < seq.length; j++) buf[o++] = seq[j]!;
        }
      }
      this.commit(o);
    }
  }

  /**
   * Room for `n` bytes (at most the chunk size) in the current chunk, cutting it early when they do
   * not fit: the caller writes them into the returned chunk from `length` on, then `commit`s.
   */
  reserve(n: number): Uint8Array {
    if (n > this.chunkBytes) throw new RangeError(`cannot reserve ${n} bytes in chunks of ${this.chunkBytes}`);
    if (this.len + n > this.chunkBytes) this.cut();
    return this.buf;
  }

  /** Size of the chunks: the most `reserve` can make room for. */
  get chunkSize(): number {
    return this.chunkBytes;
  }

  /** Bytes written in the current chunk: where a write into the chunk `reserve` returned starts. */
  get length(): number {
    return this.len;
  }

  /** Ends a write into the reserved chunk: it now holds `length` bytes. */
  commit(length: number): void {
    this.len = length;
    if (this.len === this.chunkBytes) this.cut();
  }

  /** Writes text known to be ASCII (event times), a byte per character, without encoding it. */
  writeAscii(text: string): void {
    for (let k = 0; k < text.length; k++) this.writeByte(text.charCodeAt(k));
  }

  writeByte(byte: number): void {
    this.buf[this.len++] = byte;
    if (this.len === this.chunkBytes) this.cut();
  }

  writeString(text: string): void {
    let rest = text;
    for (;;) {
      // encodeInto writes whole code points only, so a character never straddles two chunks.
      const { read, written } = encoder.encodeInto(rest, this.buf.subarray(this.len));
      this.len += written;
      if (read === rest.length) break;
      rest = rest.slice(read);
      this.cut();
    }
    if (this.len === this.chunkBytes) this.cut();
  }

  /** How many filled chunks wait to be drained. */
  get pending(): number {
    return this.queue.length;
  }

  /** Filled chunks, ready to yield. */
  drain(): Uint8Array[] {
    const out = this.queue;
    this.queue = [];
    return out;
  }

  /** Everything still held, for the end of the stream. */
  finish(): Uint8Array[] {
    this.cut();
    return this.drain();
  }

  /** Queues the partial chunk and starts a fresh buffer (yielded chunks are never written again). */
  private cut(): void {
    if (this.len === 0) return;
    this.queue.push(this.len === this.chunkBytes ? this.buf : this.buf.slice(0, this.len));
    if (this.len === this.chunkBytes) this.buf = new Uint8Array(this.chunkBytes);
    this.len = 0;
  }
}
