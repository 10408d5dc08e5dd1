import { readFileSync } from 'node:fs';

/*
 * The worked examples of the contract (docs/api.md §4.1, §5, §6), machine-readable, in
 * test/fixtures/vectors.json. This is the one place that reads that file; tests take `vectors`
 * from here.
 */

/** The whole of test/fixtures/vectors.json. Event types are `i`, `o`, `e`; payloads are base64. */
export interface Vectors {
  about: string;
  sessions: {
    name: string;
    startDate: string;
    connectionSubtype: string;
    verb: 'EXEC' | 'CONNECT';
    /** `[time, type, base64 payload]`, in recorded order. */
    events: [time: number, type: 'i' | 'o' | 'e', data: string][];
    /** `eventStream` and `eventSize` for a format and an `events` selection (null: the format's default). */
    renderings: (
      | {
          format: 'RAW' | 'RAW_QUERIES';
          events: ('i' | 'o' | 'e')[] | null;
          eventStream: [time: number, type: 'i' | 'o' | 'e', data: string][];
          eventSize: number;
        }
      | {
          format: 'UTF8' | 'BASE64';
          events: ('i' | 'o' | 'e')[] | null;
          eventStream: [text: string];
          eventSize: number;
        }
    )[];
    /** Files behind download links: raw and CSV as base64 `bytes`, JSON parsed as `json`. */
    downloads?: ({
      extension: string;
      events: ('i' | 'o' | 'e')[] | null;
      newline: boolean;
      eventTime: boolean;
    } & (
      | { bytes: string; json?: never }
      | { json: { time: string; type: 'i' | 'o' | 'e'; stream: string }[]; bytes?: never }
    ))[];
  }[];
  /** One `i` event as hex, and the queries RAW_QUERIES finds in it. */
  pgwireVectors: { hex: string; queries: string[] }[];
  /** A decoded CSV field → the field as written (formula guard, then quoting). */
  csvFields: Record<string, string>;
}

export const vectors: Vectors = JSON.parse(readFileSync(new URL('../fixtures/vectors.json', import.meta.url), 'utf8'));
