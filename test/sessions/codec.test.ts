import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeEvents, encodeAppend, encodedSize } from '../../src/sessions/codec.ts';
import type { SessionEvent } from '../../src/sessions/event.ts';

const event = (time: number, type: SessionEvent['type'], bytes: number): SessionEvent => ({
  time,
  type,
  data: Buffer.alloc(bytes, bytes % 256),
});

const decoded = (data: Uint8Array) => [...decodeEvents(data)].map((e) => ({ ...e, data: Buffer.from(e.data) }));

describe('encodeAppend', () => {
  it('encodes a call as parts of at most the part size, numbered under its sequence, with one digest of the whole call', () => {
    const events = [event(0, 'i', 40), event(0.5, 'o', 40), event(1, 'e', 40), event(1.25, 'o', 200), event(2, 'o', 1)];
    const chunks = encodeAppend(7, events, 2 * encodedSize(events[0]!));
    // Two 40-byte events fit a part; the 200-byte one is a part of its own.
    expect(chunks.map((c) => [c.sequence, c.part, c.eventCount, c.payloadBytes])).toEqual([
      [7, 0, 2, 80],
      [7, 1, 1, 40],
      [7, 2, 1, 200],
      [7, 3, 1, 1],
    ]);
    const hash = createHash('sha256');
    for (const c of chunks) hash.update(c.data);
    expect(new Set(chunks.map((c) => c.digest))).toEqual(new Set([hash.digest('hex')]));
    expect(chunks.flatMap((c) => decoded(c.data))).toEqual(events.map((e) => ({ ...e, data: Buffer.from(e.data) })));
    expect(chunks.map((c) => c.data.length)).toEqual([80 + 26, 40 + 13, 200 + 13, 1 + 13]);
  });

  it('encodes an empty call as one empty part, and tells different calls apart by their digest', () => {
    const [empty, ...rest] = encodeAppend(0, []);
    expect(rest).toEqual([]);
    expect([empty!.part, empty!.eventCount, empty!.payloadBytes, empty!.data.length]).toEqual([0, 0, 0, 0]);
    const a = encodeAppend(1, [event(1, 'o', 3)]);
    const b = encodeAppend(1, [event(1, 'e', 3)]);
    expect(a[0]!.digest).not.toBe(b[0]!.digest);
    expect(encodeAppend(1, [event(1, 'o', 3)])[0]!.digest).toBe(a[0]!.digest);
  });
});
