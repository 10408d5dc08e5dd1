import { isUtf8 } from 'node:buffer';
import { escapeTable, type ChunkSink } from './chunks.ts';
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

const PLAIN_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NEEDS_QUOTES = /[",\r\n]/;

const isGuardStart = (c: number | undefined): boolean => c === 0x3d || c === 0x2b || c === 0x2d || c === 0x40; // = + - @

/** §6 step 4 for one decoded field: formula guard, then RFC 4180 quoting. */
export function csvField(field: string): string {
  let f = field;
  if (isGuardStart(f.charCodeAt(0)) && !PLAIN_NUMBER.test(f)) f = `'${f}`;
  return NEEDS_QUOTES.test(f) ? `"${f.replaceAll('"', '""')}"` : f;
}

/** A streamed (long) field's rendering, whole: always quoted, guarded whenever it starts with = + - @. */
const longCsvField = (field: string): string => `"${isGuardStart(field.charCodeAt(0)) ? "'" : ''}${field.replaceAll('"', '""')}"`;

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** PLAIN_NUMBER.test on the decoding of `bytes[start, end)` (a plain number is ASCII), without decoding. */
export function isPlainNumber(bytes: Uint8Array, start: number, end: number): boolean {
  let k = start;
  if (bytes[k] === 0x2b || bytes[k] === 0x2d) k++;
  const intStart = k;
  while (k < end && isDigit(bytes[k])) k++;
  let digits = k - intStart;
  if (k < end && bytes[k] === 0x2e) {
    const fracStart = ++k;
    while (k < end && isDigit(bytes[k])) k++;
    digits += k - fracStart;
  }
  if (digits === 0) return false;
  if (k < end && (bytes[k] === 0x65 || bytes[k] === 0x45)) {
    k++;
    if (k < end && (bytes[k] === 0x2b || bytes[k] === 0x2d)) k++;
    const expStart = k;
    while (k < end && isDigit(bytes[k])) k++;
    if (k === expStart) return false;
  }
  return k === end;
}

/** Whether the field `bytes[start, end)` gets the `'` guard; `long`: it is rendered as streamed. */
const needsGuard = (bytes: Uint8Array, start: number, end: number, long: boolean): boolean =>
  end > start && isGuardStart(bytes[start]) && (long || !isPlainNumber(bytes, start, end));

/**
 * Writes the field `src[start, end)` into `buf` from `at` on, quoted (its `"` doubled) and/or with
 * the guard; returns where it ends. `buf` must have room for 3 + 2 × its length bytes.
 */
function quoteInto(buf: Uint8Array, at: number, src: Uint8Array, start: number, end: number, quoted: boolean, guard: boolean): number {
  let o = at;
  if (quoted) buf[o++] = QUOTE;
  if (guard) buf[o++] = APOSTROPHE;
  for (let k = start; k < end; k++) {
    const c = src[k]!;
    buf[o++] = c;
    if (c === QUOTE) buf[o++] = QUOTE;
  }
  if (quoted) buf[o++] = QUOTE;
  return o;
}

// Byte classes of the scan: what makes a field quoted (`,`, CR, `"` — which is also doubled), and
// what ends it (TAB, LF; every class from FIELD_END on).
const QUOTES_COMMA = 1;
const QUOTES_CR = 2;
const QUOTES_QUOTE = 4;
const FIELD_END = 8;
const CLASS = new Uint8Array(256);
CLASS[COMMA] = QUOTES_COMMA;
CLASS[CR] = QUOTES_CR;
CLASS[QUOTE] = QUOTES_QUOTE;
CLASS[TAB] = FIELD_END;
CLASS[LF] = FIELD_END;

const DOUBLED_QUOTES = escapeTable((c) => (c === QUOTE ? new Uint8Array([QUOTE, QUOTE]) : undefined));

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
 * with U+FFFD when it meets them. So a field decodes on its own, and a character split across events
 * decodes whole, because the bytes of a field that continues in the next event are carried over.
 *
 * Fields that end in the event they start in are written from the event's bytes: one scan finds
 * where they end and whether they need quotes, and for well-formed UTF-8 (decoding is the identity
 * and every byte CSV treats specially is ASCII) the bytes are copied as they are, with `"` doubled.
 * Only a field with invalid UTF-8 is decoded (to U+FFFD) and rendered as text.
 *
 * Memory: only a field continuing into the next event is buffered, up to `maxFieldBytes`. A longer
 * field (a line of hundreds of MiB without TAB or LF, e.g. a base64 dump) is streamed instead, which
 * must commit to its guard and quoting before its end is seen: it is always quoted (same value for
 * any RFC 4180 reader) and gets the `'` guard whenever it starts with = + - @ (a "plain number" of
 * over a MiB is not one a spreadsheet could hold anyway, so guarding it errs on the safe side). A
 * field over `maxFieldBytes` is rendered that way wherever it lies, so the output does not depend on
 * how the content is split into events.
 */
export class CsvWriter {
  private readonly maxFieldBytes: number;
  private readonly eventTime: boolean;
  private readonly decoder = utf8Decoder();
  private readonly streamDecoder = utf8Decoder();

  /** Fields of the current line written so far (the line's output has started when > 0). */
  private fieldsOut = 0;
  /** Event time of the first byte of a line whose first field continues into the next event. */
  private lineTime = '';
  /** A field continuing into the next event: its bytes so far, or it is being streamed. */
  private field = new Uint8Array(256);
  private fieldLen = 0;
  private streaming = false;
  private pendingCR = false;
  /** `${time},` encoded, for the lines of the event with that time. */
  private readonly prefix = new Uint8Array(64);
  private prefixLen = 0;
  private prefixTime = '';
  /**
   * Longest run of fields writeRun takes: no field in it is long, and its output fits in one chunk
   * (at most 5 bytes per byte, a byte doubled or a field of one byte quoted and guarded, plus a
   * separator, the prefix and CRLF).
   */
  private readonly maxRunBytes: number;
  /** What the last scan saw: the QUOTES_* classes of the field's bytes. */
  private scanned = 0;

  constructor(
    private readonly sink: ChunkSink,
    options: CsvWriterOptions,
  ) {
    this.eventTime = options.eventTime;
    this.maxFieldBytes = Math.max(1, options.maxFieldBytes ?? DEFAULT_MAX_CSV_FIELD_BYTES);
    this.maxRunBytes = Math.min(this.maxFieldBytes, Math.floor((sink.chunkSize - this.prefix.length - 3) / 5));
  }

  /**
   * Feeds content bytes belonging to an event whose event time is `time` (ISO 8601, so ASCII;
   * ignored without eventTime). `thenLF`: an LF follows them (`newline=1`), the same as pushing one
   * next, but the last line is written from `data` instead of carried over.
   */
  push(data: Uint8Array, time: string, thenLF = false): void {
    const n = data.length;
    let at = 0;
    if (this.fieldLen > 0 || this.streaming) {
      at = this.scan(data, 0, n);
      this.append(data.subarray(0, at));
      if (at === n) {
        if (thenLF) this.endCarried(true);
        return;
      }
      this.endCarried(data[at] === LF);
      at++;
    }
    at = this.writeFields(data, at, time, thenLF);
    if (at < n) {
      if (this.fieldsOut === 0) this.lineTime = time;
      this.append(data.subarray(at));
    }
  }

  /** End of the content: the last line needs no LF. */
  end(): void {
    if (this.fieldsOut > 0 || this.fieldLen > 0 || this.streaming) this.endCarried(true);
  }

  /**
   * Position of the first TAB or LF in `data[from, to)`, or `to`; the QUOTES_* classes of the bytes
   * before it go to `scanned`.
   */
  private scan(data: Uint8Array, from: number, to: number): number {
    let classes = 0;
    let k = from;
    for (; k < to; k++) {
      const c = CLASS[data[k]!]!;
      if (c >= FIELD_END) break;
      classes |= c;
    }
    this.scanned = classes;
    return k;
  }

  /**
   * Writes the fields of `data` from `from` on that end in it (the line is at its start, or its
   * output has started); returns where the last, unfinished field starts (`data.length` if none).
   * They go in runs: up to the end of a line, or else up to the last TAB.
   */
  private writeFields(data: Uint8Array, from: number, time: string, thenLF: boolean): number {
    const n = data.length;
    // Well-formed as a whole: then so is every field in it (they are cut at ASCII bytes).
    const wellFormed = from === n || isUtf8(data);
    for (let start = from; ; ) {
      let stop = start < n ? data.indexOf(LF, start) : -1;
      const lineEnds = stop !== -1 || thenLF;
      if (stop === -1) {
        if (thenLF) {
          // The LF that follows `data` ends its last line (if it has begun).
          if (start === n && this.fieldsOut === 0) return n;
          stop = n;
        } else {
          stop = start < n ? data.lastIndexOf(TAB) : -1;
          if (stop < start) return start;
        }
      }
      if (wellFormed && stop - start <= this.maxRunBytes) this.writeRun(data, start, stop, lineEnds, time);
      else this.writeRunByField(data, start, stop, lineEnds, wellFormed, time);
      if (stop === n) return n;
      start = stop + 1;
    }
  }

  /** The line's end without the one CR dropped before its LF. */
  private static contentEnd(data: Uint8Array, start: number, stop: number, lineEnds: boolean): number {
    return lineEnds && stop > start && data[stop - 1] === CR ? stop - 1 : stop;
  }

  /**
   * Writes the fields of `data[start, stop)`, the last one ending at `stop` (a TAB, or the line's
   * LF when `lineEnds`), in one pass straight into the sink's chunk: each field's bytes are copied as
   * they are scanned, TAB becoming `,`, and the few fields that turn out to need quotes or the guard
   * are written again over their copy. Well-formed UTF-8, at most maxRunBytes.
   */
  private writeRun(data: Uint8Array, start: number, stop: number, lineEnds: boolean, time: string): void {
    const end = CsvWriter.contentEnd(data, start, stop, lineEnds);
    if (end === start && lineEnds && this.fieldsOut === 0) return;
    const prefixLen = this.fieldsOut === 0 && this.eventTime ? this.prefixFor(time) : 0;
    const sink = this.sink;
    const buf = sink.reserve(prefixLen + 1 + 5 * (end - start) + 2);
    let o = sink.length;
    if (this.fieldsOut > 0) buf[o++] = COMMA;
    for (let k = 0; k < prefixLen; k++) buf[o++] = this.prefix[k]!;
    // A field at a time: its bytes copied as they are scanned, up to a TAB or the run's end.
    for (let k = start; ; k++) {
      const fieldStart = k;
      const fieldOut = o;
      let classes = 0;
      for (; k < end; k++) {
        const c = data[k]!;
        const cls = CLASS[c]!;
        if (cls >= FIELD_END) break;
        classes |= cls;
        buf[o++] = c;
      }
      const guard = needsGuard(data, fieldStart, k, false);
      if (classes !== 0 || guard) o = quoteInto(buf, fieldOut, data, fieldStart, k, classes !== 0, guard);
      this.fieldsOut++;
      if (k === end) break;
      buf[o++] = COMMA;
    }
    if (lineEnds) {
      buf[o++] = CR;
      buf[o++] = LF;
      this.fieldsOut = 0;
    }
    sink.commit(o);
  }

  /** writeRun a field at a time through the sink, for runs with long fields or invalid UTF-8. */
  private writeRunByField(data: Uint8Array, start: number, stop: number, lineEnds: boolean, wellFormed: boolean, time: string): void {
    const end = CsvWriter.contentEnd(data, start, stop, lineEnds);
    for (let from = start; ; ) {
      const tab = this.scan(data, from, end);
      if (tab < end) {
        this.writeField(data, from, tab, this.scanned, wellFormed, time);
        from = tab + 1;
        continue;
      }
      if (end > from || !lineEnds || this.fieldsOut > 0) this.writeField(data, from, end, this.scanned, wellFormed, time);
      if (lineEnds) this.endLine();
      return;
    }
  }

  /**
   * Writes the complete field `src[start, end)` (line-ending CR removed) with its separator: `,`, or
   * the line's `${time},` prefix. `classes` are its bytes' QUOTES_* classes; `wellFormed`: the caller
   * knows it to be well-formed UTF-8.
   */
  private writeField(src: Uint8Array, start: number, end: number, classes: number, wellFormed: boolean, time: string): void {
    this.separator(time);
    const sink = this.sink;
    const long = end - start > this.maxFieldBytes;
    if (!wellFormed && !isUtf8(src.subarray(start, end))) {
      const text = this.decoder.decode(src.subarray(start, end));
      sink.writeString(long ? longCsvField(text) : csvField(text));
      return;
    }
    const quoted = long || classes !== 0;
    if (quoted) sink.writeByte(QUOTE);
    if (needsGuard(src, start, end, long)) sink.writeByte(APOSTROPHE);
    if (classes & QUOTES_QUOTE) sink.writeEscaped(src, start, end, DOUBLED_QUOTES);
    else sink.writeRange(src, start, end);
    if (quoted) sink.writeByte(QUOTE);
  }

  /** What goes before a field: `,` after the line's first field, else the line's event time prefix. */
  private separator(time: string): void {
    if (this.fieldsOut++ > 0) {
      this.sink.writeByte(COMMA);
    } else if (this.eventTime) {
      this.sink.writeRange(this.prefix, 0, this.prefixFor(time));
    }
  }

  /** Puts `${time},` into `prefix` (an event time is ASCII); returns its length. */
  private prefixFor(time: string): number {
    if (time !== this.prefixTime) {
      for (let k = 0; k < time.length; k++) this.prefix[k] = time.charCodeAt(k);
      this.prefix[time.length] = COMMA;
      this.prefixLen = time.length + 1;
      this.prefixTime = time;
    }
    return this.prefixLen;
  }

  /** Adds bytes to the field that continues into the next event (streaming it once it is long). */
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
    this.separator(this.lineTime);
    this.sink.writeString(`"${isGuardStart(first) ? "'" : ''}`);
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
    if (text.length > 0) this.sink.writeString(text.replaceAll('"', '""'));
  }

  private finishStreaming(lineEnds: boolean): void {
    if (this.pendingCR && !lineEnds) this.streamText(this.streamDecoder.decode(CR_BYTES, { stream: true }));
    this.pendingCR = false;
    this.streamText(this.streamDecoder.decode());
    this.sink.writeByte(QUOTE);
    this.streaming = false;
  }

  /** Ends the field carried over from earlier events, at a TAB, or at the end of its line. */
  private endCarried(lineEnds: boolean): void {
    if (this.streaming) {
      this.finishStreaming(lineEnds);
    } else {
      let len = this.fieldLen;
      if (lineEnds && len > 0 && this.field[len - 1] === CR) len--;
      if (len > 0 || !lineEnds || this.fieldsOut > 0) {
        this.scan(this.field, 0, len);
        this.writeField(this.field, 0, len, this.scanned, false, this.lineTime);
      }
      this.fieldLen = 0;
    }
    if (lineEnds) this.endLine();
  }

  private endLine(): void {
    if (this.fieldsOut > 0) this.sink.write(CRLF_BYTES);
    this.fieldsOut = 0;
    // A long field's buffer is not kept once its line is done.
    if (this.field.length > 64 * 1024) this.field = new Uint8Array(256);
  }
}
