import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EncodedChunk, encodeAppend, encodedSize, MAX_PART_BYTES } from '../sessions/codec.ts';
import type { SessionEvent } from '../sessions/event.ts';
import { appendTimes, NO_EVENTS, type EventTimes } from '../sessions/event-times.ts';

interface ChunkMeta extends Omit<EncodedChunk, 'data'> {
  offset: number;
  length: number;
}

/** Encoded bytes kept in memory before the spool moves to a temporary file. */
export const SPOOL_MEMORY_BYTES = 32 * 1024 * 1024;

/**
 * The events of one session being imported, encoded into stored chunks as they are parsed and held
 * until the whole record has been validated: in memory for ordinary sessions, in a temporary file
 * beyond `memoryBytes`, so a session of any size is imported in bounded memory and written at once.
 */
export class EventSpool {
  eventCount = 0;
  inputBytes = 0;
  outputBytes = 0;
  errorBytes = 0;
  /** Number of sequences (append calls) the chunks form; the session's nextSequence. */
  sequences = 0;
  /** Encoded bytes of all chunks. */
  storedBytes = 0;
  /** The events' times, as the session row records them (event-times.ts). */
  times: EventTimes = NO_EVENTS;

  private batch: SessionEvent[] = [];
  private batchBytes = 0;
  private memory: EncodedChunk[] = [];
  private memoryUsed = 0;
  private file: { dir: string; fd: number; size: number; chunks: ChunkMeta[] } | undefined;

  constructor(private readonly memoryBytes = SPOOL_MEMORY_BYTES) {}

  add(event: SessionEvent): void {
    const size = encodedSize(event);
    // Each flushed batch is one append call of one part (an oversized event gets a call of its own).
    if (this.batch.length > 0 && this.batchBytes + size > MAX_PART_BYTES) this.flushBatch();
    this.batch.push(event);
    this.batchBytes += size;
    this.eventCount++;
    if (event.type === 'i') this.inputBytes += event.data.length;
    else if (event.type === 'o') this.outputBytes += event.data.length;
    else this.errorBytes += event.data.length;
  }

  /** Flushes the last batch; call once all events were added. */
  finish(): void {
    if (this.batch.length > 0) this.flushBatch();
  }

  /** The chunks in order, read back one at a time. */
  async *chunks(): AsyncGenerator<EncodedChunk> {
    yield* this.memory;
    const file = this.file;
    if (!file) return;
    for (const meta of file.chunks) {
      const data = new Uint8Array(meta.length);
      let done = 0;
      while (done < meta.length) {
        const n = fs.readSync(file.fd, data, done, meta.length - done, meta.offset + done);
        if (n === 0) throw new Error('import spool file ended early');
        done += n;
      }
      const { offset: _offset, length: _length, ...chunk } = meta;
      yield { ...chunk, data };
    }
  }

  /** Releases memory and removes the temporary file, if any. */
  dispose(): void {
    this.batch = [];
    this.memory = [];
    if (this.file) {
      fs.closeSync(this.file.fd);
      fs.rmSync(this.file.dir, { recursive: true, force: true });
      this.file = undefined;
    }
  }

  private flushBatch(): void {
    for (const chunk of encodeAppend(this.sequences++, this.batch)) this.store(chunk);
    this.batch = [];
    this.batchBytes = 0;
  }

  private store(chunk: EncodedChunk): void {
    this.storedBytes += chunk.data.length;
    this.times = appendTimes(this.times, [chunk]).after;
    if (!this.file && this.memoryUsed + chunk.data.length <= this.memoryBytes) {
      this.memory.push(chunk);
      this.memoryUsed += chunk.data.length;
      return;
    }
    if (!this.file) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-import-'));
      this.file = { dir, fd: fs.openSync(path.join(dir, 'events'), 'w+', 0o600), size: 0, chunks: [] };
      // Removed at once where the system allows it (the open descriptor keeps the data): nothing is
      // left behind even if the process is killed. Elsewhere dispose() removes it.
      try {
        fs.rmSync(dir, { recursive: true });
      } catch {
        // still open on this platform: dispose() removes it
      }
    }
    const file = this.file;
    const { data, ...meta } = chunk;
    let done = 0;
    while (done < data.length) done += fs.writeSync(file.fd, data, done, data.length - done, file.size + done);
    file.chunks.push({ ...meta, offset: file.size, length: data.length });
    file.size += data.length;
  }
}
