import fs from 'node:fs';
import { getManyValues, isMany, none } from 'stream-chain/defs.js';
import { fixUtf8Stream, whenReady } from 'stream-chain/utils/fixUtf8Stream.js';
import { jsonParser, type Token } from 'stream-json/parser.js';
import { jsonVerifier, type VerifierError } from 'stream-json/utils/verifier.js';

/*
 * The import file as stream-json tokens, read one chunk at a time so a file of hundreds of MiB is
 * never held whole. The tokens are packed (keyValue, stringValue, numberValue; no streamed chunks).
 *
 * stream-json's parser() is gen(fixUtf8Stream(), jsonParser()); its async-generator bridge awaits
 * once per token, which doubles the cost of tokenizing a file of small events. The two stages are
 * called here directly instead, once per chunk read, and the tokens of a chunk are taken
 * synchronously (take()), with an await only when a chunk is used up (next()).
 *
 * The parser reports a syntax error with a message but no position, and throws away the tokens of
 * the chunk it was parsing. On an error the file is therefore read again with stream-json's
 * verifier, which pins the error down (line, column, offset), beside a new parser fed the text up
 * to that point: the tokens before the error that were not handed out yet are handed out, so the
 * caller gets to the error in the record that holds it, then the error is thrown.
 */

export interface JsonPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  column: number;
  /** 0-based, in characters from the start of the text (after a byte order mark). */
  offset: number;
}

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly position?: JsonPosition,
  ) {
    super(message);
  }
}

/** Packed tokens only: keys, strings and numbers as whole values (what Assembler reads). */
const PARSER_OPTIONS = { packValues: true, streamValues: false };

/** A flushable stage: called with text, then with `none` at the end. */
type Stage = (text: string | typeof none) => unknown;
const tokenizer = () => jsonParser(PARSER_OPTIONS) as Stage;
/** The tokens a parser call returned: none, or many(tokens). */
const values = (out: unknown): Token[] => (isMany(out) ? (getManyValues(out) as Token[]) : []);

export class JsonTokens {
  private tokens: Token[] = [];
  private index = 0;
  /** Tokens handed out before the current chunk's. */
  private handedOut = 0;
  private ended = false;
  private failure: JsonSyntaxError | undefined;
  private readonly decode = fixUtf8Stream();
  private readonly parse = tokenizer();

  private constructor(
    private readonly file: string,
    private readonly source: AsyncIterator<Buffer>,
  ) {}

  /** Tokens of `file`, whose bytes `source` yields. */
  static async open(file: string, source: AsyncIterable<Buffer>): Promise<JsonTokens> {
    await whenReady(); // Node's StringDecoder, faster than TextDecoder
    return new JsonTokens(file, source[Symbol.asyncIterator]());
  }

  /** The next token if the current chunk has one; undefined when next() must read on. */
  take(): Token | undefined {
    return this.index < this.tokens.length ? this.tokens[this.index++] : undefined;
  }

  /** The next token, reading on as needed; throws at the end of the input, which a caller inside a value never reaches. */
  async next(): Promise<Token> {
    const token = this.take() ?? (await this.more());
    if (!token) throw new Error('JsonTokens: read past the end of the input'); // a bug: the parser rejects a truncated file
    return token;
  }

  /** Reads to the end of the input, which must hold no further value (the parser rejects any). */
  async end(): Promise<void> {
    if ((this.take() ?? (await this.more())) !== undefined) throw new Error('JsonTokens: a value after the top-level one');
  }

  /** The next token, reading on as needed; undefined at the end of the input. */
  async more(): Promise<Token | undefined> {
    while (this.index >= this.tokens.length) {
      if (this.failure) throw this.failure;
      if (this.ended) return undefined;
      this.handedOut += this.tokens.length;
      this.tokens = [];
      this.index = 0;
      const chunk = await this.source.next();
      try {
        if (chunk.done) {
          this.ended = true;
          this.tokens = values(this.parse(this.decode(none)));
          this.tokens.push(...values(this.parse(none)));
        } else {
          this.tokens = values(this.parse(this.decode(chunk.value)));
        }
      } catch (err) {
        ({ tokens: this.tokens, error: this.failure } = await locateError(this.file, this.handedOut, err));
      }
    }
    return this.tokens[this.index++];
  }
}

const isVerifierError = (err: unknown): err is VerifierError => err instanceof Error && typeof (err as Partial<VerifierError>).offset === 'number';

/** The reason alone, from stream-json's "ERROR at 7 (1, 8): Verifier cannot parse input: …", "Parser has expected …". */
const reason = (err: unknown) =>
  (err instanceof Error ? err.message : String(err)).replace(/^ERROR at \d+ \(\d+, \d+\): /, '').replace(/^(?:Parser|Verifier) (?:cannot parse input: |has )/, '');

/**
 * Reads `file` again up to its first syntax error: the error with its position, and the tokens
 * before it past the first `skip` (those already handed out).
 */
async function locateError(file: string, skip: number, parserError: unknown): Promise<{ tokens: Token[]; error: JsonSyntaxError }> {
  const decode = fixUtf8Stream();
  const verify = jsonVerifier() as Stage;
  const parse = tokenizer();
  const tokens: Token[] = [];
  let seen = 0;
  const keep = (text: string) => {
    try {
      for (const token of values(parse(text))) if (seen++ >= skip) tokens.push(token);
    } catch {
      // the parser stops a little later than the verifier on some errors: the tokens so far stand
    }
  };
  let chars = 0;
  /** Feeds both a piece of text (or the end); the verifier's error once it finds one. */
  const feed = (text: string | typeof none): JsonSyntaxError | undefined => {
    try {
      verify(text);
    } catch (err) {
      if (!isVerifierError(err)) throw err;
      if (text !== none) keep(text.slice(0, Math.max(0, err.offset - chars)));
      return new JsonSyntaxError(reason(err), { line: err.line, column: err.pos, offset: err.offset });
    }
    if (text !== none) {
      keep(text);
      chars += text.length;
    }
    return undefined;
  };
  const stream = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const error = feed(decode(chunk));
      if (error) return { tokens, error };
    }
    const error = feed(decode(none)) ?? feed(none);
    if (error) return { tokens, error };
  } finally {
    stream.destroy();
  }
  // The verifier found nothing (the file changed?): the parser's error, without a position.
  return { tokens: [], error: new JsonSyntaxError(reason(parserError)) };
}
