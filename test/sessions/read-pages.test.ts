import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChunkPage, type ChunkRow } from '../../src/sessions/chunk-storage.ts';
import { nextPageLimit, PAGE_BYTES, readEventBatches, readEvents } from '../../src/sessions/read-events.ts';
import { startAppWithKeys, type TestApp } from '../support/app.ts';
import { ev, ingest, type EventIn } from '../support/ingest.ts';

/* Reading a session's stored chunks back: pages bounded by bytes, sized to the chunks, read ahead. */

let app: TestApp;
let key: string;

beforeAll(async () => {
  ({ app, admin: key } = await startAppWithKeys());
});

afterAll(async () => {
  await app?.close();
});

/** Deterministic payload bytes (every byte value, so nothing is mistaken for text). */
const payload = (seed: number, length: number) => Uint8Array.from({ length }, (_, k) => (seed * 131 + k * 7) & 0xff);

/** Calls of one event each: small ones (~1 KiB chunks), with a few large ones between them. */
function calls(): { calls: EventIn[][]; payloads: Uint8Array[] } {
  const payloads: Uint8Array[] = [];
  const out: EventIn[][] = [];
  for (let k = 0; k < 400; k++) {
    const data = payload(k, k % 97 === 50 ? 300_000 + k : 700 + ((k * 37) % 600));
    payloads.push(data);
    out.push([ev(k / 100, 'o', data)]);
  }
  return { calls: out, payloads };
}

async function allChunks(sessionId: string): Promise<ChunkRow[]> {
  return readChunkPage(sessionId, undefined, { chunks: 100_000, bytes: Number.MAX_SAFE_INTEGER });
}

describe('chunk pages', () => {
  let id: string;
  let chunks: ChunkRow[];
  let payloads: Uint8Array[];

  beforeAll(async () => {
    const session = calls();
    payloads = session.payloads;
    id = await ingest(app, key, { events: [] }, session.calls);
    chunks = await allChunks(id);
  });

  it('a page holds the chunks that start within its byte limit (always one), no more than its chunk limit', async () => {
    expect(chunks).toHaveLength(400);
    const sizes = chunks.map((c) => c.data.length);
    for (const from of [0, 13, 48, 398]) {
      // Among them a limit the first two chunks fill exactly: the third starts at it, so is left out.
      const exact = sizes[from]! + sizes[from + 1]!;
      for (const [chunkLimit, bytes] of [
        [50, 10_000],
        [50, 1],
        [50, exact],
        [7, Number.MAX_SAFE_INTEGER],
        [400, 350_000],
      ] as const) {
        const after = from === 0 ? undefined : chunks[from - 1]!;
        const page = await readChunkPage(id, after, { chunks: chunkLimit, bytes });
        // Expected: from `from`, while the bytes before a chunk stay under the limit.
        let n = 0;
        for (let before = 0; from + n < 400 && n < chunkLimit && before < bytes; n++) before += sizes[from + n]!;
        expect(page.map((c) => [c.sequence, c.part])).toEqual(chunks.slice(from, from + n).map((c) => [c.sequence, c.part]));
        expect(page.every((c, k) => Buffer.from(c.data).equals(chunks[from + k]!.data))).toBe(true);
      }
    }
  });

  it('the chunk count follows the chunk sizes: thousands of small ones, a few big ones', () => {
    expect(nextPageLimit(64, 64 * 1100)).toEqual({ chunks: Math.ceil(PAGE_BYTES / 1100), bytes: PAGE_BYTES });
    expect(nextPageLimit(5, 5 * 1024 * 1024).chunks).toBe(4);
    expect(nextPageLimit(100, 100).chunks).toBe(8192);
  });

  it('reads every event back in order, across pages read ahead into reused memory', async () => {
    for (const reusePages of [false, true]) {
      const got: Uint8Array[] = [];
      // Copied before the next batch is pulled (with reusePages its bytes may be overwritten then), but
      // only after a pause, as a download writes to its socket: the page read ahead arrives meanwhile.
      for await (const batch of readEventBatches(id, undefined, { reusePages, pageBytes: 20_000 })) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        for (const e of batch) got.push(Uint8Array.from(e.data));
      }
      expect(got).toHaveLength(payloads.length);
      expect(got.every((g, k) => Buffer.from(g).equals(payloads[k]!))).toBe(true);
    }
    let n = 0;
    for await (const e of readEvents(id)) expect(Buffer.from(e.data).equals(payloads[n++]!)).toBe(true);
    expect(n).toBe(payloads.length);
  });

  it('a reader that stops early leaves no read behind it failing', async () => {
    const batches = readEventBatches(id, undefined, { reusePages: true, pageBytes: 5_000 });
    const first = await batches.next();
    expect(first.done).toBe(false);
    await batches.return(undefined);
    // The page read ahead finishes on its own; a later read is unaffected.
    expect(await allChunks(id)).toHaveLength(400);
  });
});
