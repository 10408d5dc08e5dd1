/*
 * A pull parser for JSON read from a byte stream, so that an import file of hundreds of MiB is
 * never held whole: the caller walks the structure (arrays and objects element by element) and
 * asks for small values whole. Every step is a synchronous parse over the buffered bytes that
 * throws NEED_MORE when it runs out; `step()` then reads more (at least doubling what is buffered,
 * so a value spanning many chunks is rescanned only a logarithmic number of times) and retries.
 */

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    message: string,
    /** Byte offset in the input where the problem is. */
    readonly offset: number,
  ) {
    super(message);
  }
}

const NEED_MORE = Symbol('need more input');

const WS = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WS[c] = 1;
const NUMBER_CHAR = new Uint8Array(256);
for (const c of '0123456789+-.eE') NUMBER_CHAR[c.charCodeAt(0)] = 1;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

const MAX_DEPTH = 256;

export class JsonReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Input offset of buf[0]. */
  private base = 0;
  private eof = false;
  private readonly source: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.source = source[Symbol.asyncIterator]();
  }

  /** Input offset of the next unread byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Runs one synchronous parse step, reading more input and retrying whenever it runs short. */
  async step<T>(fn: () => T): Promise<T> {
    for (;;) {
      const start = this.pos;
      try {
        return fn();
      } catch (err) {
        if (err !== NEED_MORE) throw err;
        this.pos = start;
        await this.fill();
      }
    }
  }

  /** Skips a UTF-8 byte order mark at the very start (editors on Windows write one; RFC 8259 lets parsers ignore it). */
  skipBom(): void {
    if (this.offset !== 0) return;
    const { buf } = this;
    if (buf.length < 3 && !this.eof) throw NEED_MORE;
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) this.pos = 3;
  }

  /** The next significant byte (a char code), without consuming it; -1 at the end of input. */
  peek(): number {
    for (;;) {
      const { buf } = this;
      while (this.pos < buf.length && WS[buf[this.pos]!]) this.pos++;
      if (this.pos < buf.length) return buf[this.pos]!;
      if (this.eof) return -1;
      throw NEED_MORE;
    }
  }

  /** Consumes `char` (after whitespace) or fails saying what was expected. */
  expect(char: string, what = `'${char}'`): void {
    const c = this.peek();
    if (c !== char.charCodeAt(0)) throw this.unexpected(c, what);
    this.pos++;
  }

  /**
   * Moves to the next element of an array whose '[' was consumed: true when there is one, false
   * after consuming the closing ']'. `first` is true for the first call on an array.
   */
  nextElement(first: boolean): boolean {
    const c = this.peek();
    if (c === 0x5d) {
      this.pos++;
      return false;
    }
    if (!first) {
      if (c !== 0x2c) throw this.unexpected(c, "',' or ']'");
      this.pos++;
      if (this.peek() === 0x5d) throw this.unexpected(0x5d, 'a value');
    }
    return true;
  }

  /** Like nextElement for an object whose '{' was consumed: the next key (its ':' consumed), or null after '}'. */
  nextKey(first: boolean): string | null {
    let c = this.peek();
    if (c === 0x7d) {
      this.pos++;
      return null;
    }
    if (!first) {
      if (c !== 0x2c) throw this.unexpected(c, "',' or '}'");
      this.pos++;
      c = this.peek();
    }
    if (c !== 0x22) throw this.unexpected(c, 'a key string');
    const key = this.string();
    this.expect(':');
    return key;
  }

  /** Checks nothing but whitespace is left. */
  end(): void {
    const c = this.peek();
    if (c !== -1) throw this.unexpected(c, 'the end of the input');
  }

  /** One whole value, as JSON.parse would give it. */
  value(depth = 0): unknown {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError(`nesting deeper than ${MAX_DEPTH} levels`, this.offset);
    const c = this.peek();
    switch (c) {
      case 0x22:
        return this.string();
      case 0x7b: {
        this.pos++;
        const obj: Record<string, unknown> = {};
        for (let key = this.nextKey(true); key !== null; key = this.nextKey(false)) {
          const v = this.value(depth + 1);
          // A "__proto__" key is data, as with JSON.parse, not the object's prototype.
          if (key === '__proto__') Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
          else obj[key] = v;
        }
        return obj;
      }
      case 0x5b: {
        this.pos++;
        const arr: unknown[] = [];
        for (let first = true; this.nextElement(first); first = false) arr.push(this.value(depth + 1));
        return arr;
      }
      case 0x74:
        return this.literal('true', true);
      case 0x66:
        return this.literal('false', false);
      case 0x6e:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        throw this.unexpected(c, 'a value');
    }
  }

  private string(): string {
    const { buf } = this;
    const start = this.pos; // at the opening quote
    let i = start + 1;
    let escapes = false;
    for (;;) {
      if (i >= buf.length) {
        if (this.eof) throw new JsonSyntaxError('unterminated string', this.base + start);
        throw NEED_MORE;
      }
      const c = buf[i]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        escapes = true;
        i += 2;
      } else {
        if (c < 0x20) throw new JsonSyntaxError('control character in a string', this.base + i);
        i++;
      }
    }
    this.pos = i + 1;
    if (!escapes) return buf.toString('utf8', start + 1, i);
    try {
      return JSON.parse(buf.toString('utf8', start, i + 1)) as string;
    } catch {
      throw new JsonSyntaxError('invalid escape in a string', this.base + start);
    }
  }

  private number(): number {
    const { buf } = this;
    let i = this.pos;
    while (i < buf.length && NUMBER_CHAR[buf[i]!]) i++;
    if (i >= buf.length && !this.eof) throw NEED_MORE;
    const text = buf.toString('latin1', this.pos, i);
    if (!NUMBER.test(text)) throw new JsonSyntaxError(`invalid number ${JSON.stringify(text)}`, this.offset);
    this.pos = i;
    return Number(text);
  }

  private literal<T>(word: string, value: T): T {
    const { buf } = this;
    if (buf.length - this.pos < word.length && !this.eof) throw NEED_MORE;
    if (buf.toString('latin1', this.pos, this.pos + word.length) !== word) throw this.unexpected(buf[this.pos]!, 'a value');
    this.pos += word.length;
    return value;
  }

  private unexpected(c: number, expected: string): JsonSyntaxError {
    const found = c === -1 ? 'the end of the input' : c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
    return new JsonSyntaxError(`expected ${expected}, found ${found}`, this.offset);
  }

  /** Reads until the unread bytes at least double (or the input ends), keeping them contiguous. */
  private async fill(): Promise<void> {
    if (this.eof) throw new Error('JsonReader: parse step asked for more input at the end'); // a bug, not bad input
    const live = this.buf.subarray(this.pos);
    const chunks: Buffer[] = live.length > 0 ? [live] : [];
    let size = live.length;
    const target = Math.max(2 * live.length, 1);
    while (size < target) {
      const next = await this.source.next();
      if (next.done) {
        this.eof = true;
        break;
      }
      chunks.push(next.value);
      size += next.value.length;
    }
    this.base += this.pos;
    this.buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    this.pos = 0;
  }
}
