import { isUtf8 } from 'node:buffer';
import type { ChunkSink } from './chunks.ts';
import { utf8Decoder } from './common.ts';

/** Fields up to this many bytes are rendered exactly as §6 says; longer ones are streamed (see CsvWriter). */
const DEFAULT_MAX_CSV_FIELD_BYTES = 1024 * 1024;

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const APOSTROPHE = 0x27;
const CR_BYTES = new Uint8Array([CR]);
const CRLF_BYTES = new Uint8Array([CR, LF]);
const encoder = new TextEncoder();

const PLAIN_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NEEDS_QUOTES = /[",\r\n]/;

/** The next `byte` in `data` at or after `from`, given the previous answer `at` (-1: none left, -2: not searched). */
const nextByte = (data: Uint8Array, at: number, byte: number, from: number): number =>
  at === -1 || at >= from ? at : data.indexOf(byte, from);

const isGuardStart = (c: number | undefined): boolean => c === 0x3d || c === 0x2b || c === 0x2d || c === 0x40; // = + - @

/** §6 step 4 for one decoded field: formula guard, then RFC 4180 quoting. */
export function csvField(field: string): string {
  let f = field;
  if (isGuardStart(f.charCodeAt(0)) && !PLAIN_NUMBER.test(f)) f = `'${f}`;
  return NEEDS_QUOTES.test(f) ? `"${f.replaceAll('"', '""')}"` : f;
}

export interface CsvWriterOptions {
  eventTime: boolean;
  /** See DEFAULT_MAX_CSV_FIELD_BYTES. */
  maxFieldBytes?: number;
}

/**
 * §6 CSV as a byte-level state machine over the content stream.
 *
 * Lines and fields are split at the LF and TAB bytes before decoding. That is equivalent to decoding
 * first: those bytes are never part of a UTF-8 sequence, and the decoder ends an incomplete sequence
 * with U+FFFD when it meets them. So a character split across events decodes whole, because its
 * bytes stay together in the field buffer.
 *
 * Memory: only the current field is buffered, up to `maxFieldBytes`. A longer field (a line of
 * hundreds of MiB without TAB or LF, e.g. a base64 dump) is streamed instead, which must commit to
 * its guard and quoting before its end is seen: it is always quoted (same value for any RFC 4180
 * reader) and gets the `'` guard whenever it starts with = + - @ (a "plain number" of over a MiB is
 * not one a spreadsheet could hold anyway, so guarding it errs on the safe side).
 */
export class CsvWriter {
  private readonly maxFieldBytes: number;
  private readonly eventTime: boolean;
  private readonly decoder = utf8Decoder();
  private readonly streamDecoder = utf8Decoder();

  private lineHasBytes = false;
  private lineTime = '';
  private fieldsOut = 0;
  private field = new Uint8Array(256);
  private fieldLen = 0;
  private streaming = false;
  private pendingCR = false;
  /** Output of the current push, handed to the sink once per event (fewer, larger writes). */
  private out = '';
  /** `${time},` encoded, for the lines of the event with that time. */
  private readonly prefix = new Uint8Array(64);
  private prefixLen = 0;
  private prefixTime = '';

  constructor(
    private readonly sink: ChunkSink,
    options: CsvWriterOptions,
  ) {
    this.eventTime = options.eventTime;
    this.maxFieldBytes = Math.max(1, options.maxFieldBytes ?? DEFAULT_MAX_CSV_FIELD_BYTES);
  }

  private emit(text: string): void {
    this.out += text;
  }

  private flush(): void {
    if (this.out.length > 0) this.sink.writeString(this.out);
    this.out = '';
  }

  /** Feeds content bytes belonging to an event whose event time is `time` (ignored without eventTime). */
  push(data: Uint8Array, time: string): void {
    const n = data.length;
    // Next LF / TAB at or after i, or -1; rescanned only once passed so a line of many tabs stays linear.
    let nl = data.indexOf(LF);
    let tab = data.indexOf(TAB);
    const lastNl = nl === -1 ? -1 : data.lastIndexOf(LF);
    let i = 0;
    while (i < n) {
      if (nl !== -1 && nl < i) nl = data.indexOf(LF, i);
      if (tab !== -1 && tab < i) tab = data.indexOf(TAB, i);
      const lineEnd = nl === -1 ? n : nl;
      if (!this.lineHasBytes && i < lineEnd) {
        this.lineHasBytes = true;
        this.lineTime = time;
      }
      if (nl !== -1 && this.atLineStart()) {
        // Common case: whole lines inside one event, nothing carried over. Decoding them together
        // equals decoding each (LF ends any incomplete sequence); no field of a run this short is long.
        const end = lastNl - i <= this.maxFieldBytes ? lastNl : nl - i <= this.maxFieldBytes ? nl : -1;
        if (end !== -1) {
          if (!this.writeLineBytes(data, i, end, time)) this.writeLines(this.decoder.decode(data.subarray(i, end)), time);
          this.resetLine();
          i = end + 1;
          continue;
        }
      }
      if (tab !== -1 && tab < lineEnd) {
        this.append(data.subarray(i, tab));
        this.endField();
        i = tab + 1;
      } else {
        this.append(data.subarray(i, lineEnd));
        if (nl !== -1) this.endLine();
        i = lineEnd + 1;
      }
    }
    this.flush();
  }

  /** End of the content: the last line needs no LF. */
  end(): void {
    if (this.lineHasBytes || this.fieldsOut > 0 || this.fieldLen > 0 || this.streaming) this.endLine();
    this.flush();
  }

  private atLineStart(): boolean {
    return this.fieldsOut === 0 && this.fieldLen === 0 && !this.streaming;
  }

  private linePrefix(): string {
    if (this.fieldsOut > 0) return ',';
    return this.eventTime ? `${this.lineTime},` : '';
  }

  /** Complete lines (LF-separated, none long) that all start in the event with event time `time`. */
  private writeLines(text: string, time: string): void {
    const prefix = this.eventTime ? `${time},` : '';
    for (const raw of text.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.length > 0) this.emit(`${prefix}${line.split('\t').map(csvField).join(',')}\r\n`);
    }
  }

  /**
   * writeLines on the bytes themselves, for well-formed UTF-8 (where decoding is the identity and
   * every byte that CSV treats specially is ASCII): the same output without making strings. Returns
   * false, having written nothing, when `data[start, end)` is not well-formed UTF-8.
   */
  private writeLineBytes(data: Uint8Array, start: number, end: number, time: string): boolean {
    if (!isUtf8(data.subarray(start, end))) return false;
    this.flush();
    const sink = this.sink;
    let prefixLen = 0;
    if (this.eventTime) {
      if (time !== this.prefixTime) {
        this.prefixLen = encoder.encodeInto(`${time},`, this.prefix).written;
        this.prefixTime = time;
      }
      prefixLen = this.prefixLen;
    }
    // Next TAB / `"` / `,` / CR at or after a position (-1: none left, -2: not searched yet); each
    // moves forward only, so a region is scanned once per byte whatever its lines and fields.
    let tab = -2;
    let quote = -2;
    let comma = -2;
    let cr = -2;
    for (let lineStart = start; lineStart <= end; ) {
      let lineEnd = data.indexOf(LF, lineStart);
      if (lineEnd === -1 || lineEnd > end) lineEnd = end;
      const contentEnd = lineEnd > lineStart && data[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      if (contentEnd > lineStart) {
        if (prefixLen > 0) sink.writeRange(this.prefix, 0, prefixLen);
        for (let f = lineStart; ; ) {
          tab = nextByte(data, tab, TAB, f);
          const fieldEnd = tab === -1 || tab > contentEnd ? contentEnd : tab;
          quote = nextByte(data, quote, QUOTE, f);
          comma = nextByte(data, comma, COMMA, f);
          cr = nextByte(data, cr, CR, f);
          const quoted = (quote !== -1 && quote < fieldEnd) || (comma !== -1 && comma < fieldEnd) || (cr !== -1 && cr < fieldEnd);
          if (quoted) sink.writeByte(QUOTE);
          if (fieldEnd > f && isGuardStart(data[f]) && !PLAIN_NUMBER.test(this.decoder.decode(data.subarray(f, fieldEnd)))) {
            sink.writeByte(APOSTROPHE);
          }
          let run = f;
          while (quote !== -1 && quote < fieldEnd) {
            sink.writeRange(data, run, quote + 1);
            sink.writeByte(QUOTE); // doubled
            run = quote + 1;
            quote = nextByte(data, quote, QUOTE, run);
          }
          sink.writeRange(data, run, fieldEnd);
          if (quoted) sink.writeByte(QUOTE);
          if (fieldEnd === contentEnd) break;
          sink.writeByte(COMMA);
          f = fieldEnd + 1;
        }
        sink.write(CRLF_BYTES);
      }
      lineStart = lineEnd + 1;
    }
    return true;
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.streaming) {
      this.streamBytes(bytes);
      return;
    }
    const need = this.fieldLen + bytes.length;
    // One byte of slack for a CR that may turn out to end the line: a dropped CR must not be what
    // pushes a field over the limit.
    if (need > this.maxFieldBytes && !(need === this.maxFieldBytes + 1 && bytes[bytes.length - 1] === CR)) {
      this.startStreaming(bytes);
      return;
    }
    if (need > this.field.length) {
      const grown = new Uint8Array(Math.min(this.maxFieldBytes + 1, Math.max(need, this.field.length * 2)));
      grown.set(this.field.subarray(0, this.fieldLen));
      this.field = grown;
    }
    this.field.set(bytes, this.fieldLen);
    this.fieldLen = need;
  }

  private startStreaming(bytes: Uint8Array): void {
    const first = this.fieldLen > 0 ? this.field[0] : bytes[0];
    this.emit(`${this.linePrefix()}"${isGuardStart(first) ? "'" : ''}`);
    this.streaming = true;
    this.streamBytes(this.field.subarray(0, this.fieldLen));
    this.fieldLen = 0;
    this.streamBytes(bytes);
  }

  private streamBytes(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.pendingCR) this.streamText(this.streamDecoder.decode(CR_BYTES, { stream: true }));
    // Hold back a final CR: it is dropped if it turns out to end the line.
    this.pendingCR = bytes[bytes.length - 1] === CR;
    const body = this.pendingCR ? bytes.subarray(0, bytes.length - 1) : bytes;
    this.streamText(this.streamDecoder.decode(body, { stream: true }));
  }

  private streamText(text: string): void {
    if (text.length > 0) this.emit(text.replaceAll('"', '""'));
  }

  private finishStreaming(lineEnds: boolean): void {
    if (this.pendingCR && !lineEnds) this.streamText(this.streamDecoder.decode(CR_BYTES, { stream: true }));
    this.pendingCR = false;
    this.streamText(this.streamDecoder.decode());
    this.emit('"');
    this.streaming = false;
  }

  private endField(): void {
    if (this.streaming) {
      this.finishStreaming(false);
    } else {
      this.emit(this.linePrefix() + csvField(this.decoder.decode(this.field.subarray(0, this.fieldLen))));
      this.fieldLen = 0;
    }
    this.fieldsOut++;
  }

  private endLine(): void {
    if (this.streaming) {
      this.finishStreaming(true);
      this.fieldsOut++;
    } else {
      if (this.fieldLen > 0 && this.field[this.fieldLen - 1] === CR) this.fieldLen--;
      if (this.fieldsOut > 0 || this.fieldLen > 0) this.endField();
    }
    if (this.fieldsOut > 0) this.emit('\r\n');
    this.resetLine();
  }

  private resetLine(): void {
    this.lineHasBytes = false;
    this.fieldsOut = 0;
    this.fieldLen = 0;
    // A long field's buffer is not kept once its line is done.
    if (this.field.length > 64 * 1024) this.field = new Uint8Array(256);
  }
}
