import type { EventType } from '../sessions/event.ts';

/*
 * The searchable lines of a terminal stream (spec §12): a session's `i` payloads (INPUT) or its `o`
 * and `e` payloads (OUTPUT), concatenated, decoded as UTF-8 and cleaned of what a terminal does not
 * show as text. One pass, a byte at a time, holding only the line being built.
 *
 * Every character remembers the event that held its first byte, because a hit's time is that of
 * the event holding the first character of its match. A line's origins are kept as runs: the
 * character index where each new origin starts.
 */

/** Where a character came from: its event's time and type. */
export interface Origin {
  time: number;
  type: EventType;
}

/** A run of a line's characters from one origin, starting at UTF-16 index `at` of the line. */
export interface Run extends Origin {
  at: number;
}

/** A line the cleaner finished: its text and the runs of its characters. */
export interface Line {
  text: string;
  runs: Run[];
}

/**
 * What a TextLines holds between two events, besides the line under way: enough to go on in another
 * process, later, as if it had never stopped (saved with the indexer's progress).
 */
export interface TextState {
  /** The escape state (TEXT when none). */
  escape: number;
  /** A character whose first bytes were read: the decoder's registers and the origin of its first byte. */
  partial?: { codePoint: number; seen: number; needed: number; lower: number; upper: number; time: number; type: EventType };
}

/** What `end` added for the stream's end: a U+FFFD for a partial character (UTF-16 units). */
export interface Ended {
  /** Whether a line was under way (it was handed over as the last line). */
  line: boolean;
  /** UTF-16 units of that line added by the end itself, to take back when going on. */
  added: number;
}

/** Lines longer than this many UTF-16 units are ended there: the rest is a unit of its own. */
export const MAX_UNIT = 65536;

// The cleaner's states (rule 1 of §12's cleaning).
const TEXT = 0;
/** After ESC. */
const ESC = 1;
/** ESC [ and parameter bytes 0x30–0x3F. */
const CSI_PARAMS = 2;
/** CSI intermediate bytes 0x20–0x2F. */
const CSI_INTERMEDIATE = 3;
/** ESC + intermediate bytes 0x20–0x2F, waiting for a final 0x30–0x7E. */
const ESC_INTERMEDIATE = 4;
/** ESC ]: up to BEL or ESC \. */
const OSC = 5;
/** ESC P, X, ^ or _: up to ESC \. */
const STRING = 6;
/** ESC inside an OSC: `\` ends the OSC, anything else starts a new escape. */
const OSC_ESC = 7;
/** ESC inside a string sequence. */
const STRING_ESC = 8;

const REPLACEMENT = 0xfffd;

/**
 * Decodes and cleans one source's bytes into lines. Feed it events with `push`, then `end`; lines
 * arrive through `onLine` as they end. `state` (before `end`) and the line under way let another
 * TextLines go on from the same point.
 */
export class TextLines {
  // UTF-8 decoder (WHATWG's algorithm, so invalid bytes become U+FFFD exactly as TextDecoder does).
  #codePoint = 0;
  #bytesSeen = 0;
  #bytesNeeded = 0;
  #lower = 0x80;
  #upper = 0xbf;
  /** Origin of the sequence being decoded. */
  #sequenceOrigin: Origin | undefined;

  #state = TEXT;
  /** The line being built, in pieces, its length (UTF-16), and its runs. */
  #pieces: string[] = [];
  #length = 0;
  #runs: Run[] = [];
  /** The origin the next character would join; set per event. */
  #origin: Origin = { time: 0, type: 'o' };

  /** Goes on from `state`, with `line` the line under way (its runs' `at` from 0). */
  constructor(
    private readonly onLine: (line: Line) => void,
    state?: TextState,
    line?: Line,
  ) {
    if (state) {
      this.#state = state.escape;
      const p = state.partial;
      if (p) {
        this.#codePoint = p.codePoint;
        this.#bytesSeen = p.seen;
        this.#bytesNeeded = p.needed;
        this.#lower = p.lower;
        this.#upper = p.upper;
        this.#sequenceOrigin = { time: p.time, type: p.type };
      }
    }
    if (line && line.text.length > 0) {
      this.#pieces = [line.text];
      this.#length = line.text.length;
      this.#runs = line.runs.map((r) => ({ ...r }));
    }
  }

  /** What another TextLines needs (with the line under way) to go on from here. */
  get state(): TextState {
    const o = this.#sequenceOrigin;
    return {
      escape: this.#state,
      ...(this.#bytesNeeded > 0 && {
        partial: {
          codePoint: this.#codePoint,
          seen: this.#bytesSeen,
          needed: this.#bytesNeeded,
          lower: this.#lower,
          upper: this.#upper,
          time: o!.time,
          type: o!.type,
        },
      }),
    };
  }

  /** The bytes of one event. */
  push(time: number, type: EventType, data: Uint8Array): void {
    this.#origin = { time, type };
    const end = data.length;
    for (let i = 0; i < end; i++) {
      let byte = data[i]!;
      if (byte >= 0x20 && byte < 0x7f && this.#state === TEXT && this.#bytesNeeded === 0) {
        // Printable ASCII in plain text, the bulk of most streams: taken as one piece.
        const from = i;
        while (i + 1 < end && (byte = data[i + 1]!) >= 0x20 && byte < 0x7f) i++;
        this.#appendText(Buffer.prototype.latin1Slice.call(data, from, i + 1) as string, this.#origin);
        continue;
      }
      if (this.#bytesNeeded === 0 && byte < 0x80) this.#ascii(byte);
      else this.#decode(byte);
    }
  }

  /**
   * Ends the stream: a partial character becomes U+FFFD, a cut-off escape is dropped, the last line
   * ends. Says what it added, so that a TextLines going on from `state` can take it back.
   */
  end(): Ended {
    const before = this.#length;
    if (this.#bytesNeeded !== 0) {
      this.#bytesNeeded = 0;
      this.#char(REPLACEMENT, this.#sequenceOrigin!);
    }
    this.#state = TEXT;
    const ended = { line: this.#length > 0, added: Math.max(0, this.#length - before) };
    this.#endLine();
    return ended;
  }

  /** An ASCII byte outside a sequence: the common case, and the only bytes that can break a line. */
  #ascii(byte: number): void {
    if ((byte === 0x0a || byte === 0x0d) && this.#breaksLine()) {
      this.#endLine();
    } else {
      this.#char(byte, this.#origin);
    }
  }

  #decode(byte: number): void {
    if (this.#bytesNeeded === 0) {
      this.#sequenceOrigin = this.#origin;
      if (byte >= 0xc2 && byte <= 0xdf) {
        this.#bytesNeeded = 1;
        this.#codePoint = byte & 0x1f;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte === 0xe0) this.#lower = 0xa0;
        if (byte === 0xed) this.#upper = 0x9f;
        this.#bytesNeeded = 2;
        this.#codePoint = byte & 0x0f;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte === 0xf0) this.#lower = 0x90;
        if (byte === 0xf4) this.#upper = 0x8f;
        this.#bytesNeeded = 3;
        this.#codePoint = byte & 0x07;
      } else {
        this.#char(REPLACEMENT, this.#origin);
      }
      return;
    }
    if (byte < this.#lower || byte > this.#upper) {
      // The sequence is broken: it becomes U+FFFD and this byte starts afresh.
      this.#resetDecoder();
      this.#char(REPLACEMENT, this.#sequenceOrigin!);
      if (byte < 0x80) this.#ascii(byte);
      else this.#decode(byte);
      return;
    }
    this.#lower = 0x80;
    this.#upper = 0xbf;
    this.#codePoint = (this.#codePoint << 6) | (byte & 0x3f);
    if (++this.#bytesSeen === this.#bytesNeeded) {
      const cp = this.#codePoint;
      this.#resetDecoder();
      this.#char(cp, this.#sequenceOrigin!);
    }
  }

  #resetDecoder(): void {
    this.#codePoint = 0;
    this.#bytesNeeded = 0;
    this.#bytesSeen = 0;
    this.#lower = 0x80;
    this.#upper = 0xbf;
  }

  /**
   * Whether a CR or LF read now ends a line: it does unless an OSC or string sequence is open (a CSI
   * or other escape it interrupts is dropped).
   */
  #breaksLine(): boolean {
    switch (this.#state) {
      case OSC:
      case STRING:
        return false;
      case OSC_ESC:
      case STRING_ESC:
        // The ESC ended the sequence and started an escape, which the line break interrupts.
        this.#state = TEXT;
        return true;
      default:
        this.#state = TEXT;
        return true;
    }
  }

  /** One decoded character that is not a line break. */
  #char(cp: number, origin: Origin): void {
    switch (this.#state) {
      case TEXT:
        break;
      case ESC:
        if (cp === 0x5b) this.#state = CSI_PARAMS;
        else if (cp === 0x5d) this.#state = OSC;
        else if (cp === 0x50 || cp === 0x58 || cp === 0x5e || cp === 0x5f) this.#state = STRING;
        else if (cp >= 0x20 && cp <= 0x2f) this.#state = ESC_INTERMEDIATE;
        else if (cp >= 0x30 && cp <= 0x7e) this.#state = TEXT;
        else break; // interrupted: the character is read as text below
        return;
      case CSI_PARAMS:
        if (cp >= 0x30 && cp <= 0x3f) return;
        if (cp >= 0x20 && cp <= 0x2f) {
          this.#state = CSI_INTERMEDIATE;
          return;
        }
        if (cp >= 0x40 && cp <= 0x7e) {
          this.#state = TEXT;
          return;
        }
        break;
      case CSI_INTERMEDIATE:
      case ESC_INTERMEDIATE:
        if (cp >= 0x20 && cp <= 0x2f) return;
        // A CSI's final byte is 0x40–0x7E, another escape's 0x30–0x7E.
        if (cp >= (this.#state === CSI_INTERMEDIATE ? 0x40 : 0x30) && cp <= 0x7e) {
          this.#state = TEXT;
          return;
        }
        break;
      case OSC:
        if (cp === 0x07) this.#state = TEXT;
        else if (cp === 0x1b) this.#state = OSC_ESC;
        return;
      case STRING:
        if (cp === 0x1b) this.#state = STRING_ESC;
        return;
      case OSC_ESC:
      case STRING_ESC:
        if (cp === 0x5c) {
          this.#state = TEXT;
          return;
        }
        // The sequence ended at its ESC, which starts a new escape with this character.
        this.#state = ESC;
        this.#char(cp, origin);
        return;
    }
    // Text (or the character that interrupted an escape).
    this.#state = TEXT;
    if (cp === 0x1b) {
      this.#state = ESC;
    } else if (cp === 0x08 || cp === 0x7f) {
      this.#deleteLast();
    } else if (cp >= 0x20 ? cp < 0x7f || cp > 0x9f : cp === 0x09) {
      this.#append(cp, origin);
    }
    // Other C0 and C1 controls are dropped.
  }

  #append(cp: number, origin: Origin): void {
    this.#appendText(String.fromCodePoint(cp), origin);
  }

  #appendText(text: string, origin: Origin): void {
    const runs = this.#runs;
    const last = runs[runs.length - 1];
    if (last === undefined || (last.time !== origin.time || last.type !== origin.type)) {
      runs.push({ at: this.#length, time: origin.time, type: origin.type });
    }
    this.#pieces.push(text);
    this.#length += text.length;
    // A line without end (a binary file cat'ed, a progress bar without CR) is cut into units, so
    // that what is held and rewritten per append stays bounded.
    if (this.#length >= MAX_UNIT) this.#endLine();
  }

  /** BS and DEL: the line's last character goes (both halves of a surrogate pair). */
  #deleteLast(): void {
    if (this.#length === 0) return;
    const pieces = this.#pieces;
    const piece = pieces[pieces.length - 1]!;
    const low = piece.charCodeAt(piece.length - 1);
    const pair = low >= 0xdc00 && low <= 0xdfff && piece.length >= 2;
    const cut = pair ? 2 : 1;
    if (piece.length === cut) pieces.pop();
    else pieces[pieces.length - 1] = piece.slice(0, -cut);
    this.#length -= cut;
    const runs = this.#runs;
    if (runs[runs.length - 1]!.at >= this.#length) runs.pop();
  }

  #endLine(): void {
    if (this.#length > 0) this.onLine({ text: this.#pieces.join(''), runs: this.#runs });
    this.#pieces = [];
    this.#length = 0;
    this.#runs = [];
  }
}
