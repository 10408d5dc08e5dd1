import { ChunkSink, DRAIN_CHUNKS } from '../render/chunks.ts';
import { utf8Decoder } from '../render/common.ts';
import { queryRows } from '../sessions/chunk-storage.ts';
import type { EventType } from '../sessions/event.ts';
import { readEventBatches } from '../sessions/read-events.ts';

/*
 * A terminal session as the viewer page plays it (spec §14): asciinema-player's segmented
 * recording, so that a long session starts playing once its first segment is in and a seek loads
 * only the segment it lands in. The index lists the segments, each a time window of the stream
 * behind a signed link of its own (view/route.ts); a segment is the window's output in asciicast
 * form, with the output just before it, which rebuilds the screen when a seek lands there.
 *
 * The player's rules for segments (asciinema-player 3.18, dist/core-*.js loadSegmentedRecording):
 * times are absolute seconds within [start, next start); every segment but the first begins with
 * an event at exactly its start; the last one ends with an event at exactly the duration.
 */

/** Payload bytes a segment holds, about (more for long sessions, so that there are at most MAX_SEGMENTS). */
export const SEGMENT_BYTES = 512 * 1024;
const MAX_SEGMENTS = 4096;
/** At most this much of the output before a segment rebuilds its screen on a seek. */
export const INIT_BYTES = 256 * 1024;

const OUTPUT: ReadonlySet<EventType> = new Set(['o', 'e']);

/** The smallest double above x ≥ 0, and the largest below x > 0. */
export function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

export function nextDown(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) - 1n);
  return view.getFloat64(0);
}

export interface SegmentPlan {
  /** The latest event time: the recording's length. */
  duration: number;
  /** Each segment's window: [from, to), the last one's `to` just above the duration. */
  segments: { from: number; to: number }[];
}

/**
 * Cuts a session into segments of about SEGMENT_BYTES from what the chunks' rows say (their sizes
 * and until_time, chunk-storage.ts), without reading their data. Chunks stored before until_time
 * existed cannot be placed in time: such a session is one segment.
 */
export async function planSegments(sessionId: string): Promise<SegmentPlan> {
  const [session] = await queryRows<{ until_time: number | null; total: string }>(
    'SELECT until_time, (input_bytes + output_bytes + error_bytes)::text AS total FROM sessions WHERE id = $1::uuid',
    [sessionId],
  );
  const duration = session?.until_time ?? 0;
  const perSegment = Math.max(SEGMENT_BYTES, Math.ceil(Number(session?.total ?? 0) / MAX_SEGMENTS));
  const rows = await queryRows<{ until: number | null }>(
    `SELECT max(until_time) AS until FROM (
       SELECT until_time, sum(payload_bytes) OVER (ORDER BY sequence, part) / $2 AS k
       FROM session_event_chunks WHERE session_id = $1::uuid
     ) AS chunks GROUP BY k
     HAVING count(*) = count(until_time)
     ORDER BY k`,
    [sessionId, perSegment],
  );
  const cuts = [0];
  for (const { until } of rows) if (until !== null && until > cuts.at(-1)! && until < duration) cuts.push(until);
  const legacy = await queryRows('SELECT 1 FROM session_event_chunks WHERE session_id = $1::uuid AND until_time IS NULL LIMIT 1', [sessionId]);
  const starts = legacy.length > 0 ? [0] : cuts;
  const end = nextUp(duration);
  return { duration, segments: starts.map((from, k) => ({ from, to: starts[k + 1] ?? end })) };
}

/** The index of a segmented recording; `urls[k]` is the signed link of segment k. */
export function recordingIndex(plan: SegmentPlan, size: { width: number; height: number }, urls: readonly string[]): string {
  return JSON.stringify({
    version: 1,
    duration: plan.duration,
    term: { cols: size.width, rows: size.height },
    segments: plan.segments.map((s, k) => ({ start: s.from, url: urls[k] })),
  });
}

/** Payload bytes past `keep` are let go of from the front: the last `keep` bytes of a stream, in bounded memory. */
class Tail {
  private pieces: Uint8Array[] = [];
  private bytes = 0;
  cut = false;

  constructor(private readonly keep: number) {}

  push(data: Uint8Array): void {
    this.pieces.push(data.slice());
    this.bytes += data.length;
    while (this.bytes - this.pieces[0]!.length >= this.keep) {
      this.bytes -= this.pieces.shift()!.length;
      this.cut = true;
    }
  }

  /** The bytes kept, from the first line that begins within them when the front was let go of. */
  text(): string {
    let bytes = Buffer.concat(this.pieces);
    if (bytes.length > this.keep) {
      bytes = bytes.subarray(bytes.length - this.keep);
      this.cut = true;
    }
    if (this.cut) {
      const line = bytes.indexOf(0x0a);
      bytes = line < 0 ? bytes : bytes.subarray(line + 1);
    }
    return utf8Decoder().decode(bytes);
  }
}

/**
 * One segment: the output of [from, to) as `[time, "o", text]` events (each payload decoded as one
 * stream, like the asciicast download), framed by an empty event at `from` and one just below `to`,
 * with the last INIT_BYTES of the output of [since, from) as the snapshot that rebuilds the screen.
 */
export async function* renderSegment(
  sessionId: string,
  window: { from: number; to: number; since: number },
  size: { width: number; height: number },
): AsyncGenerator<Uint8Array> {
  const init = new Tail(INIT_BYTES);
  if (window.since < window.from) {
    for await (const batch of readEventBatches(sessionId, OUTPUT, { window: { from: window.since, to: window.from } })) {
      for (const e of batch) init.push(e.data);
    }
  }
  const sink = new ChunkSink();
  sink.writeString(`{"snapshot": {"cols": ${size.width}, "rows": ${size.height}, "init": ${JSON.stringify(init.text())}}, "events": [`);
  sink.writeString(`[${JSON.stringify(window.from)}, "o", ""]`);
  const decoder = utf8Decoder();
  for await (const batch of readEventBatches(sessionId, OUTPUT, { window: { from: window.from, to: window.to }, reusePages: true })) {
    for (const e of batch) {
      sink.writeString(`, [${JSON.stringify(e.time)}, "o", ${JSON.stringify(decoder.decode(e.data, { stream: true }))}]`);
      if (sink.pending >= DRAIN_CHUNKS) yield* sink.drain();
    }
    yield* sink.drain();
  }
  sink.writeString(`, [${JSON.stringify(nextDown(window.to))}, "o", ""]]}`);
  yield* sink.finish();
}
