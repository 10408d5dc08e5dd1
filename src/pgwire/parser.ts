/**
 * Incremental parser of the Postgres frontend (client → server) byte stream that extracts the SQL
 * the client sent (spec §5). Pure: no I/O, no dependencies, never throws.
 *
 * The stream is the concatenation of a session's `i` payloads, fed one event at a time through
 * `push`. Only the SQL of Query (`Q`) and Parse (`P`) messages is ever buffered; every other body,
 * passwords included, is skipped by counting bytes down, so memory stays bounded by the largest SQL
 * text rather than by the session.
 */

export interface ExtractedQuery {
  /** Time of the event that held the first byte of the message carrying this SQL. */
  time: number;
  /** The SQL text, without its NUL terminator; never empty. */
  sql: Uint8Array;
}

/** Startup-phase messages (no type byte) are small; anything outside this range is garbage. */
const STARTUP_MIN_LENGTH = 8;
const STARTUP_MAX_LENGTH = 10_000;
const MESSAGE_MIN_LENGTH = 4;
const MESSAGE_MAX_LENGTH = 2 ** 30;

const QUERY = 0x51; // 'Q'
const PARSE = 0x50; // 'P'

// Parser states. Plain numbers rather than an enum keep the hot loop free of lookups.
/** Collecting a message header (1 type byte + Int32 length, or Int32 length alone at startup). */
const HEADER = 0;
/** Counting down a body whose content does not matter. */
const SKIP = 1;
/** Scanning a Parse body for the NUL that ends the statement name. */
const STATEMENT_NAME = 2;
/** Collecting SQL (of a Query or a Parse) up to its NUL. */
const SQL = 3;
/** A length was out of range: ignore the rest of this event, resume at the next one. */
const RESYNC = 4;

export class PgFrontendParser {
  #state = HEADER;
  /** Header bytes gathered so far; a header may straddle events. */
  readonly #header = new Uint8Array(5);
  readonly #headerView = new DataView(this.#header.buffer);
  #headerLength = 0;
  /** Body bytes of the current message not consumed yet. */
  #remaining = 0;
  /** Time of the event that held the current message's first byte. */
  #messageTime = 0;
  /** SQL bytes collected from earlier events while the SQL's NUL has not been seen yet. */
  #sqlParts: Uint8Array[] = [];
  #sqlLength = 0;

  /**
   * Whether the parser is between messages: nothing of the stream read so far is pending, so a new
   * parser started on the next event would read on exactly as this one.
   */
  get atBoundary(): boolean {
    return (this.#state === HEADER && this.#headerLength === 0) || this.#state === RESYNC;
  }

  /** Feeds one `i` event. Call once per event: the event boundary is where resync resumes. */
  push(data: Uint8Array, time: number): ExtractedQuery[] {
    const out: ExtractedQuery[] = [];
    if (this.#state === RESYNC) this.#state = HEADER;
    const end = data.length;
    let pos = 0;

    while (pos < end) {
      switch (this.#state) {
        case HEADER: {
          if (this.#headerLength === 0) {
            this.#messageTime = time;
            this.#header[0] = data[pos]!;
            this.#headerLength = 1;
            pos++;
          }
          // A 0x00 first byte can only be the high byte of an untyped startup-phase length.
          const startup = this.#header[0] === 0;
          const need = startup ? 4 : 5;
          while (this.#headerLength < need && pos < end) this.#header[this.#headerLength++] = data[pos++]!;
          if (this.#headerLength < need) break;
          this.#headerLength = 0;

          const length = this.#headerView.getUint32(startup ? 0 : 1);
          const valid = startup
            ? length >= STARTUP_MIN_LENGTH && length <= STARTUP_MAX_LENGTH
            : length >= MESSAGE_MIN_LENGTH && length <= MESSAGE_MAX_LENGTH;
          if (!valid) {
            // No way to find the next boundary inside this event; producers send whole frames
            // per event, so the next event is the best place to start again.
            this.#state = RESYNC;
            pos = end;
            break;
          }
          this.#remaining = length - 4;
          if (this.#remaining === 0) break; // Empty body: next header, nothing to report.
          const type = this.#header[0];
          this.#state = startup ? SKIP : type === QUERY ? SQL : type === PARSE ? STATEMENT_NAME : SKIP;
          break;
        }

        case SKIP: {
          const n = Math.min(this.#remaining, end - pos);
          pos += n;
          this.#consumed(n);
          break;
        }

        case STATEMENT_NAME: {
          const n = Math.min(this.#remaining, end - pos);
          const nul = data.subarray(pos, pos + n).indexOf(0);
          if (nul < 0) {
            pos += n;
            this.#consumed(n);
          } else {
            pos += nul + 1;
            this.#consumed(nul + 1);
            if (this.#state === STATEMENT_NAME) this.#state = SQL;
          }
          break;
        }

        case SQL: {
          const n = Math.min(this.#remaining, end - pos);
          const chunk = data.subarray(pos, pos + n);
          const nul = chunk.indexOf(0);
          if (nul < 0) {
            // Copy rather than keep a view, so a large event is not pinned in memory by a few bytes.
            this.#sqlParts.push(chunk.slice());
            this.#sqlLength += n;
            pos += n;
            this.#consumed(n);
          } else {
            const sql = this.#takeSql(chunk.subarray(0, nul));
            if (sql.length > 0) out.push({ time: this.#messageTime, sql });
            pos += nul + 1;
            // Whatever follows the SQL (Parse's parameter type OIDs) is of no interest.
            this.#state = SKIP;
            this.#consumed(nul + 1);
          }
          break;
        }

        default:
          // RESYNC: the rest of this event is ignored.
          pos = end;
      }
    }
    return out;
  }

  /**
   * Ends the stream. SQL is reported as soon as its NUL is read, so a message cut short by the end
   * of the stream has already yielded whatever it could; an unterminated SQL is dropped here.
   */
  end(): ExtractedQuery[] {
    this.#reset();
    return [];
  }

  /** Accounts for `n` body bytes; at the end of the body, drops any unterminated SQL. */
  #consumed(n: number): void {
    this.#remaining -= n;
    if (this.#remaining === 0) this.#reset();
  }

  #reset(): void {
    this.#state = HEADER;
    this.#headerLength = 0;
    this.#remaining = 0;
    this.#sqlParts = [];
    this.#sqlLength = 0;
  }

  /** Joins the SQL collected from earlier events with its last piece, as a fresh copy. */
  #takeSql(last: Uint8Array): Uint8Array {
    if (this.#sqlParts.length === 0) return last.slice();
    const sql = new Uint8Array(this.#sqlLength + last.length);
    let at = 0;
    for (const part of this.#sqlParts) {
      sql.set(part, at);
      at += part.length;
    }
    sql.set(last, at);
    this.#sqlParts = [];
    this.#sqlLength = 0;
    return sql;
  }
}
