/**
 * RESP, the Redis serialization protocol (RESP2 and RESP3), sans-IO: bytes
 * in, replies out, and commands to bytes. No socket, no timer, no promise:
 * the client in examples/redis-client.ts feeds {@link RespParser} whatever
 * `dataReceived` hands it and writes what {@link CommandEncoder} produces.
 *
 * Replies, by the type byte that starts them
 * (https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md):
 *
 * | wire                 | RESP | JavaScript value                                       |
 * | -------------------- | ---- | ------------------------------------------------------ |
 * | `+OK`                | 2    | `string` (simple string)                               |
 * | `-ERR ...`           | 2    | {@link RedisError} (a value; the client rejects on it) |
 * | `:42`                | 2    | `number`, or `bigint` past 2^53 - 1                    |
 * | `$3 foo`, `$-1`      | 2    | `Buffer` (binary safe), `null`                         |
 * | `*2 ...`, `*-1`      | 2    | `RespValue[]`, `null`                                  |
 * | `_`                  | 3    | `null`                                                 |
 * | `#t`, `#f`           | 3    | `boolean`                                              |
 * | `,3.14`, `,inf`      | 3    | `number` (`Infinity`, `-Infinity`, `NaN` too)          |
 * | `(123...`            | 3    | `bigint`                                               |
 * | `!21 SYNTAX ...`     | 3    | {@link RedisError}                                     |
 * | `=15 txt:...`        | 3    | {@link VerbatimString}                                 |
 * | `%2 ...`             | 3    | `Map` (string keys: see below)                         |
 * | `~3 ...`             | 3    | `Set` (string members: see below)                      |
 * | `\|1 ...`            | 3    | attribute: passed beside the reply it precedes         |
 * | `>3 ...`             | 3    | push: delivered to `onPush`, never as a reply          |
 *
 * Map keys and set members that are bulk strings arrive as JavaScript
 * strings (UTF-8), because `Map` and `Set` compare Buffers by identity, so
 * `map.get('field')` would never find a Buffer key. Everything else that
 * is a bulk string stays a `Buffer`. (Binary hash fields: use RESP2, where
 * HGETALL is a flat array of Buffers.)
 *
 * The parser is incremental: any split of the input, down to one byte per
 * `feed()`, gives the same replies. It keeps its state as an explicit stack
 * of the aggregates being filled, so each byte is looked at a bounded
 * number of times however the input is cut (no re-parse from the start of
 * a reply when more bytes arrive). RESP3's streamed strings and aggregates
 * (`$?`, `*?`) are not sent by Redis and are rejected as a protocol error.
 *
 * @module
 */

/** An error reply (`-` or RESP3's `!`): the server's text, as a value. */
export class RedisError extends Error {
  /** The first word of the server's message when it is an error code (`ERR`, `WRONGTYPE`, `NOSCRIPT`...), else `''`. */
  readonly code: string;
  constructor(message: string) {
    super(message);
    const m = /^[A-Z][A-Z0-9_-]*(?= |$)/.exec(message);
    this.code = m === null ? '' : m[0];
  }
}
RedisError.prototype.name = 'RedisError';

/** The server sent bytes that are not RESP: the connection cannot be trusted past them. */
export class RespProtocolError extends Error {}
RespProtocolError.prototype.name = 'RespProtocolError';

/** A RESP3 verbatim string (`=`): text with a three-letter format such as `txt` or `mkd`. */
export class VerbatimString {
  /** The format: `txt` (plain text) or `mkd` (markdown) in Redis 7. */
  readonly format: string;
  /** The text, without the `fmt:` prefix. */
  readonly data: Buffer;
  constructor(format: string, data: Buffer) {
    this.format = format;
    this.data = data;
  }
  /** The text decoded as UTF-8. */
  toString(): string {
    return this.data.toString('utf8');
  }
}

/** Any reply value; see the table in the module comment. */
export type RespValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Buffer
  | RedisError
  | VerbatimString
  | RespValue[]
  | Map<RespValue, RespValue>
  | Set<RespValue>;

/** A RESP3 attribute: metadata about the reply that follows it. */
export type RespAttribute = Map<RespValue, RespValue>;

/** What the parser calls; both are required (a push dropped silently would be a bug). */
export interface RespParserCallbacks {
  /** A complete top-level reply, with the attribute that preceded it (or null). */
  onReply(reply: RespValue, attribute: RespAttribute | null): void;
  /** A complete RESP3 push (`>`): pub/sub messages, client-tracking invalidations... */
  onPush(push: RespValue[], attribute: RespAttribute | null): void;
}

/** Options of {@link RespParser}. */
export interface RespParserOptions {
  /**
   * The largest bulk string accepted, in bytes (default 512 MiB, Redis's own
   * `proto-max-bulk-len` default). Past it the reply is a protocol error.
   */
  maxBulkLength?: number;
  /** The longest header line (type byte to CRLF) accepted (default 64 KiB). */
  maxLineLength?: number;
}

// Type bytes.
const SIMPLE = 0x2b; // +
const ERROR = 0x2d; // -
const INTEGER = 0x3a; // :
const BULK = 0x24; // $
const ARRAY = 0x2a; // *
const NULL = 0x5f; // _
const BOOLEAN = 0x23; // #
const DOUBLE = 0x2c; // ,
const BIGNUM = 0x28; // (
const BULK_ERROR = 0x21; // !
const VERBATIM = 0x3d; // =
const MAP = 0x25; // %
const SET = 0x7e; // ~
const ATTRIBUTE = 0x7c; // |
const PUSH = 0x3e; // >
const CR = 0x0d;
const LF = 0x0a;

/** An aggregate being filled: its type byte, the elements so far, and how many are still to come. */
interface Frame {
  type: number;
  items: RespValue[];
  remaining: number;
}

const DOUBLE_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const BIGNUM_RE = /^[+-]?\d+$/;

/**
 * The RESP reply parser. `feed()` it bytes in order; it calls `onReply` once
 * per complete top-level reply and `onPush` once per push message.
 *
 * Buffers in replies are views of the bytes fed when a bulk string arrived
 * in one piece (no copy), else a fresh concatenation: feed it bytes that
 * nobody reuses, such as protoloop's `dataReceived` data.
 *
 * A {@link RespProtocolError} (or an exception from a callback) leaves the
 * parser failed: every later `feed()` throws the same error, since the
 * place of the next reply in the stream is no longer known.
 */
export class RespParser {
  readonly #onReply: RespParserCallbacks['onReply'];
  readonly #onPush: RespParserCallbacks['onPush'];
  readonly #maxBulk: number;
  readonly #maxLine: number;
  /** Aggregates being filled, innermost last. */
  #stack: Frame[] = [];
  /** The start of a header line whose CRLF has not arrived yet. */
  #partial: Buffer | null = null;
  /** Inside a bulk body: its type byte (0 = not in a body), length, and bytes (body + CRLF) still to come. */
  #bulkType = 0;
  #bulkLength = 0;
  #bulkNeed = 0;
  #bulkChunks: Buffer[] = [];
  /** A top-level attribute waiting for the reply it describes. */
  #attribute: RespAttribute | null = null;
  #failed: Error | null = null;

  constructor(callbacks: RespParserCallbacks, options: RespParserOptions = {}) {
    if (callbacks === null || typeof callbacks !== 'object')
      throw new TypeError('callbacks must be an object with onReply and onPush');
    if (typeof callbacks.onReply !== 'function')
      throw new TypeError('callbacks.onReply must be a function');
    if (typeof callbacks.onPush !== 'function')
      throw new TypeError('callbacks.onPush must be a function');
    this.#onReply = callbacks.onReply.bind(callbacks);
    this.#onPush = callbacks.onPush.bind(callbacks);
    this.#maxBulk = checkLimit(options.maxBulkLength, 'options.maxBulkLength', 512 * 1024 * 1024);
    this.#maxLine = checkLimit(options.maxLineLength, 'options.maxLineLength', 64 * 1024);
  }

  /** True when no reply is partly received (the stream is at a reply boundary). */
  get idle(): boolean {
    return (
      this.#stack.length === 0 &&
      this.#partial === null &&
      this.#bulkType === 0 &&
      this.#attribute === null
    );
  }

  /** Parse `data`, calling the callbacks for each reply it completes. */
  feed(data: Buffer): void {
    if (this.#failed !== null) throw this.#failed;
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Buffer');
    try {
      this.#feed(data);
    } catch (err) {
      this.#failed = err as Error;
      throw err;
    }
  }

  #feed(data: Buffer): void {
    const end = data.length;
    let pos = 0;
    // Continue what the previous chunk left unfinished: a bulk body or a header line.
    if (this.#bulkType !== 0) pos = this.#bulkBody(data, 0);
    else if (this.#partial !== null) {
      const lf = data.indexOf(LF);
      if (lf < 0) {
        this.#partial = Buffer.concat([this.#partial, data]);
        this.#checkLineLength(this.#partial.length);
        return;
      }
      const line = Buffer.concat([this.#partial, data.subarray(0, lf + 1)]);
      this.#partial = null;
      this.#checkLineLength(line.length);
      this.#header(line, 0, line.length - 1);
      pos = lf + 1;
      if (this.#bulkType !== 0) pos = this.#bulkBody(data, pos);
    }
    while (pos < end) {
      // Find the LF that ends this header line. A manual loop: header lines
      // are short, and V8 compiles this to a tight scan without the cost of
      // a native call per line (Buffer#indexOf).
      let lf = pos + 1;
      while (lf < end && data[lf] !== LF) lf++;
      if (lf === end) {
        this.#checkLineLength(end - pos);
        this.#partial = data.subarray(pos);
        return;
      }
      this.#checkLineLength(lf - pos + 1);
      this.#header(data, pos, lf);
      pos = lf + 1;
      if (this.#bulkType !== 0) pos = this.#bulkBody(data, pos);
    }
  }

  #checkLineLength(n: number): void {
    if (n > this.#maxLine)
      throw new RespProtocolError(`header line longer than ${this.#maxLine} bytes`);
  }

  /**
   * Consume bulk-body bytes from `data[pos:]`; returns the new position.
   * The common case, the whole body and its CRLF in this chunk, is one
   * subarray; otherwise the pieces are kept and joined once at the end.
   */
  #bulkBody(data: Buffer, pos: number): number {
    const avail = data.length - pos;
    const need = this.#bulkNeed;
    if (this.#bulkChunks.length === 0 && avail >= need) {
      const bodyEnd = pos + this.#bulkLength;
      if (data[bodyEnd] !== CR || data[bodyEnd + 1] !== LF)
        throw new RespProtocolError('bulk string not followed by CRLF');
      this.#bulkDone(data.subarray(pos, bodyEnd));
      return pos + need;
    }
    const take = Math.min(avail, need);
    if (take > 0) this.#bulkChunks.push(data.subarray(pos, pos + take));
    this.#bulkNeed = need - take;
    if (this.#bulkNeed === 0) {
      const whole = Buffer.concat(this.#bulkChunks);
      this.#bulkChunks = [];
      const n = this.#bulkLength;
      if (whole[n] !== CR || whole[n + 1] !== LF)
        throw new RespProtocolError('bulk string not followed by CRLF');
      this.#bulkDone(whole.subarray(0, n));
    }
    return pos + take;
  }

  #bulkDone(body: Buffer): void {
    const type = this.#bulkType;
    this.#bulkType = 0;
    if (type === BULK) this.#value(body);
    else if (type === BULK_ERROR) this.#value(new RedisError(body.toString('utf8')));
    else {
      if (body.length < 4 || body[3] !== 0x3a)
        throw new RespProtocolError('verbatim string without a "fmt:" prefix');
      this.#value(new VerbatimString(body.toString('latin1', 0, 3), body.subarray(4)));
    }
  }

  /** One header line: `buf[pos]` is the type byte, `buf[lf]` the LF ending the line. */
  #header(buf: Buffer, pos: number, lf: number): void {
    const e = lf - 1; // the CR
    if (e <= pos || buf[e] !== CR) {
      if (e <= pos) throw new RespProtocolError('empty header line');
      throw new RespProtocolError('header line not ended by CRLF');
    }
    const s = pos + 1;
    const type = buf[pos]!;
    switch (type) {
      case SIMPLE:
        // "+OK" is most replies of most workloads: a constant, no string allocated.
        if (e - s === 2 && buf[s] === 0x4f && buf[s + 1] === 0x4b) this.#value('OK');
        else this.#value(buf.toString('utf8', s, e));
        return;
      case ERROR:
        this.#value(new RedisError(buf.toString('utf8', s, e)));
        return;
      case INTEGER:
        this.#value(parseInteger(buf, s, e));
        return;
      case BULK:
      case BULK_ERROR:
      case VERBATIM: {
        const n = parseLength(buf, s, e);
        if (n === -1 && type === BULK) {
          this.#value(null);
          return;
        }
        if (n < 0) throw new RespProtocolError(`invalid length in ${describe(buf, pos, e)}`);
        if (n > this.#maxBulk)
          throw new RespProtocolError(`bulk string of ${n} bytes exceeds ${this.#maxBulk}`);
        this.#bulkType = type;
        this.#bulkLength = n;
        this.#bulkNeed = n + 2;
        return;
      }
      case ARRAY:
      case MAP:
      case SET:
      case ATTRIBUTE:
      case PUSH: {
        const n = parseLength(buf, s, e);
        if (n === -1 && type === ARRAY) {
          this.#value(null);
          return;
        }
        if (n < 0) throw new RespProtocolError(`invalid length in ${describe(buf, pos, e)}`);
        const count = type === MAP || type === ATTRIBUTE ? 2 * n : n;
        const frame: Frame = { type, items: [], remaining: count };
        if (count === 0) this.#complete(frame);
        else this.#stack.push(frame);
        return;
      }
      case NULL:
        if (e !== s) throw new RespProtocolError(`invalid null ${describe(buf, pos, e)}`);
        this.#value(null);
        return;
      case BOOLEAN:
        if (e - s === 1 && buf[s] === 0x74) this.#value(true);
        else if (e - s === 1 && buf[s] === 0x66) this.#value(false);
        else throw new RespProtocolError(`invalid boolean ${describe(buf, pos, e)}`);
        return;
      case DOUBLE: {
        const text = buf.toString('latin1', s, e);
        const lower = text.toLowerCase();
        if (lower === 'inf' || lower === '+inf') this.#value(Number.POSITIVE_INFINITY);
        else if (lower === '-inf') this.#value(Number.NEGATIVE_INFINITY);
        else if (lower === 'nan') this.#value(Number.NaN);
        else if (DOUBLE_RE.test(text)) this.#value(Number(text));
        else throw new RespProtocolError(`invalid double ${describe(buf, pos, e)}`);
        return;
      }
      case BIGNUM: {
        const text = buf.toString('latin1', s, e);
        if (!BIGNUM_RE.test(text))
          throw new RespProtocolError(`invalid big number ${describe(buf, pos, e)}`);
        this.#value(BigInt(text));
        return;
      }
      default:
        throw new RespProtocolError(
          `unknown reply type byte 0x${type.toString(16).padStart(2, '0')} in ${describe(buf, pos, e)}`,
        );
    }
  }

  /** A complete value: into the innermost aggregate, or out as a top-level reply. */
  #value(value: RespValue): void {
    const stack = this.#stack;
    if (stack.length === 0) {
      const attribute = this.#attribute;
      this.#attribute = null;
      this.#onReply(value, attribute);
      return;
    }
    const top = stack[stack.length - 1]!;
    top.items.push(value);
    if (--top.remaining > 0) return;
    stack.pop();
    this.#complete(top);
  }

  /** An aggregate got its last element (or had none). */
  #complete(frame: Frame): void {
    const { type, items } = frame;
    const topLevel = this.#stack.length === 0;
    switch (type) {
      case ARRAY:
        this.#value(items);
        return;
      case MAP:
        this.#value(toMap(items));
        return;
      case SET:
        this.#value(new Set(items.map(lookupKey)));
        return;
      case ATTRIBUTE:
        // Not a value: it describes the next one. Kept for a top-level
        // reply, dropped inside aggregates (where nothing could carry it).
        if (topLevel) this.#attribute = toMap(items);
        return;
      default: {
        // PUSH: out of band at the top level (the spec puts pushes only
        // there); nested, it can only be read as an array.
        if (!topLevel) {
          this.#value(items);
          return;
        }
        const attribute = this.#attribute;
        this.#attribute = null;
        this.#onPush(items, attribute);
      }
    }
  }
}

function checkLimit(v: number | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TypeError(`${name} must be an integer, got ${String(v)}`);
  if (v < 1) throw new RangeError(`${name} must be at least 1, got ${v}`);
  return v;
}

/** Map keys and set members: strings rather than Buffers, so lookups work (see the module comment). */
function lookupKey(v: RespValue): RespValue {
  return v instanceof Buffer ? v.toString('utf8') : v;
}

function toMap(items: RespValue[]): Map<RespValue, RespValue> {
  const m = new Map<RespValue, RespValue>();
  for (let i = 0; i < items.length; i += 2) m.set(lookupKey(items[i]!), items[i + 1]!);
  return m;
}

/** A header line for an error message, bounded. */
function describe(buf: Buffer, pos: number, e: number): string {
  return JSON.stringify(buf.toString('latin1', pos, Math.min(e, pos + 40)));
}

/** An aggregate or bulk length: a decimal integer, or -1; -2 when malformed. */
function parseLength(buf: Buffer, s: number, e: number): number {
  if (e - s === 2 && buf[s] === 0x2d && buf[s + 1] === 0x31) return -1; // "-1"
  if (e === s || e - s > 15) return -2; // 15 digits: far past any real length, still exact
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -2;
    n = n * 10 + d;
  }
  return n;
}

/** A RESP integer: a `number` when exact (|n| <= 2^53 - 1), else a `bigint`. */
function parseInteger(buf: Buffer, s: number, e: number): number | bigint {
  let i = s;
  const negative = buf[i] === 0x2d;
  if (negative || buf[i] === 0x2b) i++;
  if (i === e) throw new RespProtocolError(`invalid integer ${describe(buf, s - 1, e)}`);
  // Up to 15 digits fit a double exactly; the rest goes through BigInt.
  if (e - i <= 15) {
    let n = 0;
    for (; i < e; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) throw new RespProtocolError(`invalid integer ${describe(buf, s - 1, e)}`);
      n = n * 10 + d;
    }
    return negative ? -n : n;
  }
  const text = buf.toString('latin1', s, e);
  if (!BIGNUM_RE.test(text))
    throw new RespProtocolError(`invalid integer ${describe(buf, s - 1, e)}`);
  const big = BigInt(text);
  const asNumber = Number(big);
  return Number.isSafeInteger(asNumber) ? asNumber : big;
}

// ---- commands ------------------------------------------------------------------

/** One argument of a command: text (sent as UTF-8), bytes (as they are), or a number (as decimal text). */
export type RedisArg = string | Buffer | Uint8Array | number | bigint;

/**
 * Arguments at least this long are not copied into the encoder's buffer:
 * the Buffer itself becomes one of the chunks handed to `writelines` (one
 * more iovec in the same writev). Below it a copy is cheaper than a chunk.
 */
const REFERENCE_AT = 16 * 1024;
/** The encoder's reused buffer: one batch of small commands fits in it. */
const SCRATCH = 64 * 1024;
/** Strings up to this length are checked for ASCII and copied char by char (no native call). */
const SHORT_STRING = 64;

/**
 * Encodes commands (RESP arrays of bulk strings) into one reused buffer.
 *
 * `push(args)` appends one command; `take()` returns everything appended
 * since the last `take()` as a few Buffers, ready for
 * `transport.writelines()` (usually exactly one Buffer, a view of the reused
 * buffer; large Buffer arguments ride along as chunks of their own, not
 * copied).
 *
 * Precondition of the reuse, which is what makes it fast: the chunks that
 * `take()` returns are valid only until the next `push()`. Write them
 * before that. protoloop's `write()`/`writelines()` allow exactly this: the
 * caller may reuse its buffers as soon as the call returns (the transport
 * copies whatever the kernel did not take).
 */
export class CommandEncoder {
  #buf: Buffer = Buffer.allocUnsafe(SCRATCH);
  /** This buffer's bytes since the last take() start at #start; the next write goes at #pos. */
  #start = 0;
  #pos = 0;
  /** Finished chunks (an older buffer's tail, referenced large arguments). */
  #chunks: Buffer[] = [];
  #chunkBytes = 0;
  /** Byte lengths of the current command's string arguments, from the checking pass. */
  #lengths: number[] = [];

  /** Bytes appended since the last take(). */
  get length(): number {
    return this.#chunkBytes + this.#pos - this.#start;
  }

  /**
   * Append one command. Throws a TypeError naming the argument (`args[2]`)
   * for anything that is not a string, Buffer/Uint8Array, finite number or
   * bigint, and for an empty command; nothing is appended then.
   */
  push(args: ArrayLike<RedisArg>): void {
    const n = checkArgs(args, 'args', this.#lengths);
    const lengths = this.#lengths;
    // Header "*<n>\r\n" (at most 13 bytes for any array length).
    this.#reserve(13);
    this.#buf[this.#pos++] = ARRAY;
    this.#pos = writeDecimal(this.#buf, this.#pos, n);
    this.#buf[this.#pos++] = CR;
    this.#buf[this.#pos++] = LF;
    for (let i = 0; i < n; i++) {
      const a = args[i]!;
      if (typeof a === 'string') {
        const len = lengths[i]!;
        this.#reserve(len + 20);
        const buf = this.#buf;
        let p = this.#bulkHeader(len);
        if (len === a.length && len <= SHORT_STRING) {
          // ASCII (checked in checkArgs): one byte per char.
          for (let j = 0; j < len; j++) buf[p + j] = a.charCodeAt(j);
          p += len;
        } else {
          p += buf.write(a, p, 'utf8');
        }
        buf[p++] = CR;
        buf[p++] = LF;
        this.#pos = p;
      } else if (a instanceof Uint8Array) {
        const len = a.length;
        if (len >= REFERENCE_AT) {
          this.#reserve(20);
          this.#pos = this.#bulkHeader(len);
          this.#cut();
          this.#chunks.push(
            a instanceof Buffer ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength),
          );
          this.#chunkBytes += len;
          this.#reserve(2);
        } else {
          this.#reserve(len + 20);
          this.#pos = this.#bulkHeader(len);
          this.#buf.set(a, this.#pos);
          this.#pos += len;
        }
        this.#buf[this.#pos++] = CR;
        this.#buf[this.#pos++] = LF;
      } else {
        // A number or bigint: its decimal text, ASCII.
        const text = numberText(a);
        const len = text.length;
        this.#reserve(len + 20);
        const buf = this.#buf;
        let p = this.#bulkHeader(len);
        for (let j = 0; j < len; j++) buf[p + j] = text.charCodeAt(j);
        p += len;
        buf[p++] = CR;
        buf[p++] = LF;
        this.#pos = p;
      }
    }
  }

  /**
   * Everything appended since the last take(), as Buffers in order (empty
   * when nothing was). Valid until the next push(): see the class comment.
   */
  take(): Buffer[] {
    this.#cut();
    const out = this.#chunks;
    this.#chunks = [];
    this.#chunkBytes = 0;
    this.#start = this.#pos = 0;
    // A buffer grown for one huge command is not kept as the scratch.
    if (this.#buf.length > SCRATCH) this.#buf = Buffer.allocUnsafe(SCRATCH);
    return out;
  }

  /** "$<len>\r\n" at #pos (room reserved by the caller); returns the position after it. */
  #bulkHeader(len: number): number {
    const buf = this.#buf;
    let p = this.#pos;
    buf[p++] = BULK;
    p = writeDecimal(buf, p, len);
    buf[p++] = CR;
    buf[p++] = LF;
    return p;
  }

  /** Close the current run of the buffer as a chunk. */
  #cut(): void {
    if (this.#pos > this.#start) {
      this.#chunks.push(this.#buf.subarray(this.#start, this.#pos));
      this.#chunkBytes += this.#pos - this.#start;
    }
    this.#start = this.#pos;
  }

  /** Make room for `n` more bytes: the full buffer becomes a chunk and writing goes on in a new one. */
  #reserve(n: number): void {
    if (this.#buf.length - this.#pos >= n) return;
    this.#cut();
    // The old buffer stays alive through its chunk until take(); the new one
    // is the scratch from now on.
    this.#buf = Buffer.allocUnsafe(Math.max(SCRATCH, n));
    this.#start = this.#pos = 0;
  }
}

/** Encode one command into a Buffer of its own (for tests and one-off writes). */
export function encodeCommand(args: ArrayLike<RedisArg>): Buffer {
  const enc = new CommandEncoder();
  enc.push(args);
  const chunks = enc.take();
  return Buffer.concat(chunks);
}

/**
 * Check the arguments of one command; record the UTF-8 byte length of
 * each string argument in `lengths`. Returns the argument count.
 * `where` names the list in error messages (`args`, `commands[3]`).
 */
export function checkArgs(args: ArrayLike<RedisArg>, where: string, lengths?: number[]): number {
  if (args === null || typeof args !== 'object' || typeof args.length !== 'number')
    throw new TypeError(`${where} must be an array of arguments, got ${typeName(args)}`);
  const n = args.length;
  if (n === 0) throw new TypeError(`${where} must hold at least the command name`);
  for (let i = 0; i < n; i++) {
    const a = args[i];
    if (typeof a === 'string') {
      if (lengths !== undefined) lengths[i] = utf8Length(a);
    } else if (typeof a === 'number') {
      if (!Number.isFinite(a))
        throw new TypeError(`${where}[${i}] must be a finite number, got ${a}`);
    } else if (!(a instanceof Uint8Array) && typeof a !== 'bigint') {
      throw new TypeError(
        `${where}[${i}] must be a string, Buffer, Uint8Array, number or bigint, got ${typeName(a)}`,
      );
    }
  }
  return n;
}

/** UTF-8 byte length; short ASCII strings without a native call. */
function utf8Length(s: string): number {
  const n = s.length;
  if (n <= SHORT_STRING) {
    let i = 0;
    while (i < n && s.charCodeAt(i) < 0x80) i++;
    if (i === n) return n;
  }
  return Buffer.byteLength(s, 'utf8');
}

function numberText(a: number | bigint): string {
  return String(a);
}

/** Write the decimal digits of a non-negative integer at `p`; returns the position after them. */
function writeDecimal(buf: Buffer, p: number, n: number): number {
  if (n < 10) {
    buf[p] = 0x30 + n;
    return p + 1;
  }
  if (n < 100) {
    buf[p] = 0x30 + ((n / 10) | 0);
    buf[p + 1] = 0x30 + (n % 10);
    return p + 2;
  }
  const digits = String(n);
  for (let j = 0; j < digits.length; j++) buf[p + j] = digits.charCodeAt(j);
  return p + digits.length;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v;
}
