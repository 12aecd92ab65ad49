/**
 * StreamReader: asyncio's `StreamReader`, a buffer of received bytes with
 * awaitable reads. Fed by {@link StreamReaderProtocol} (or by hand through
 * `feedData`/`feedEof`); the framing (`readUntil` and friends) is pure
 * logic over one buffer, no I/O.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { inspect } from 'node:util';
import { IncompleteReadError, InvalidStateError, LimitOverrunError } from '../errors.js';
import { type EventLoop, getRunningLoop } from '../loop.js';
import { toBuffer } from '../transports/base.js';
import type { Bytes, ReadTransport } from '../transports/interfaces.js';

/** asyncio's `_DEFAULT_LIMIT`: 64 KiB. */
export const DEFAULT_LIMIT = 64 * 1024;

const EMPTY = Buffer.alloc(0);
const NEWLINE = Buffer.from('\n');
const NEWLINE_LIST: readonly Buffer[] = [NEWLINE];
/** The smallest buffer the reader allocates. */
const MIN_CAPACITY = 4096;

/** Validate a reader limit: a positive integer (asyncio: `Limit cannot be <= 0`). */
export function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit)) {
    throw new TypeError(`limit must be an integer, got ${inspect(limit)}`);
  }
  if (limit <= 0) throw new RangeError('Limit cannot be <= 0');
  return limit;
}

function checkSizeError(n: unknown, method: string): TypeError {
  return new TypeError(`${method}() size must be an integer, got ${inspect(n)}`);
}

/** The separators of `readUntil`, shortest first (so the shortest match wins ties). */
function checkSeparators(separator: unknown): readonly Buffer[] {
  // readline's separator: no per-call array or sort on the hot path.
  if (separator === NEWLINE) return NEWLINE_LIST;
  const list: Buffer[] = [];
  if (Array.isArray(separator)) {
    if (separator.length === 0) {
      throw new TypeError('Separator should contain at least one element');
    }
    for (const s of separator) list.push(toBuffer(s, 'separator'));
  } else {
    list.push(toBuffer(separator, 'separator'));
  }
  list.sort((a, b) => a.length - b.length);
  if (list[0]!.length === 0) throw new TypeError('Separator should be at least one-byte string');
  return list;
}

/** A read waiting for data (see StreamReader's `#waiter`). */
interface Waiter {
  resolve: (value: Buffer | undefined) => void;
  reject: (e: Error) => void;
  want: number;
  exact: boolean;
}

/**
 * A buffer of bytes received from a connection, read with awaitable
 * methods. Reads are not meant to run concurrently: a second read that
 * must wait while another one waits rejects with InvalidStateError.
 *
 * The `limit` (default 64 KiB) bounds what `readline`/`readUntil` return
 * (excluding the separator) and, through flow control, what is buffered:
 * when the buffer grows past twice the limit the reader pauses the
 * transport's reading, and resumes it once the buffer is back at or below
 * the limit, or when a read has to wait for more data.
 *
 * After the connection failed, every read rejects with its error (even if
 * bytes are still buffered), as asyncio does.
 */
export class StreamReader implements AsyncIterable<Buffer> {
  #limit: number;
  #loop: EventLoop;
  /** Buffered bytes are #buf[#start, #end). */
  #buf: Buffer = EMPTY;
  #start = 0;
  #end = 0;
  /**
   * Views of #buf's consumed bytes were handed out: never move bytes down
   * over them (no compaction); bytes after #end may still be written.
   */
  #shared = false;
  #eof = false;
  /**
   * The read waiting for data. With `want` 0 it is woken (readUntil, which
   * rescans); with `want` > 0 it is a `read(want)` (`exact` false) or a
   * `readExactly(want)` that the feed completes itself, without waking a
   * coroutine to do it: one promise and one microtask per message.
   */
  #waiter: Waiter | null = null;
  #exception: Error | null = null;
  #transport: ReadTransport | null = null;
  /** This reader paused the transport's reading. */
  #paused = false;

  /**
   * @param limit The buffer limit in bytes (default 64 KiB); a positive integer.
   * @param loop The loop (default: the running loop).
   */
  constructor(limit: number = DEFAULT_LIMIT, loop?: EventLoop) {
    this.#limit = checkLimit(limit);
    this.#loop = loop ?? getRunningLoop();
  }

  /** The loop this reader belongs to. */
  getLoop(): EventLoop {
    return this.#loop;
  }

  /** The reader's limit in bytes. */
  get limit(): number {
    return this.#limit;
  }

  /** The error the connection failed with, or null. */
  exception(): Error | null {
    return this.#exception;
  }

  /** Fail the reader: a waiting read and every later read reject with `exc`. */
  setException(exc: Error): void {
    if (!(exc instanceof Error)) {
      throw new TypeError(`exc must be an Error, got ${inspect(exc)}`);
    }
    this.#exception = exc;
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.reject(exc);
    }
  }

  /**
   * Data or EOF arrived: wake a waiting readUntil, or complete a waiting
   * `read(n)` (it takes what is there) or `readExactly(n)` (once n bytes are
   * there; at EOF it fails with what arrived). The transport runs the
   * microtasks between two reads, so a `read(n)` completed here returns
   * what a woken one would.
   */
  #wakeupWaiter(): void {
    const w = this.#waiter;
    if (w === null) return;
    const want = w.want;
    if (want === 0) {
      this.#waiter = null;
      w.resolve(undefined);
      return;
    }
    const len = this.#end - this.#start;
    if (len >= want || (len > 0 && !w.exact)) {
      this.#waiter = null;
      w.resolve(this.#consume(want));
      this.#maybeResumeTransport();
    } else if (this.#eof) {
      this.#waiter = null;
      if (w.exact) w.reject(new IncompleteReadError(this.#consume(len), want));
      else w.resolve(EMPTY);
    }
  }

  /** Attach the transport this reader pauses and resumes (once). */
  setTransport(transport: ReadTransport): void {
    if (transport === null || typeof transport !== 'object') {
      throw new TypeError(`transport must be a transport object, got ${inspect(transport)}`);
    }
    if (this.#transport !== null) throw new InvalidStateError('Transport already set');
    this.#transport = transport;
  }

  /** @internal The connection was upgraded (startTls): pause/resume the new transport. */
  _replaceTransport(transport: ReadTransport): void {
    this.#transport = transport;
    if (this.#paused) transport.pauseReading();
  }

  #maybeResumeTransport(): void {
    if (this.#paused && this.#end - this.#start <= this.#limit) {
      this.#paused = false;
      this.#transport!.resumeReading();
    }
  }

  /** The end of the stream: reads return what is buffered, then empty results. */
  feedEof(): void {
    this.#eof = true;
    this.#wakeupWaiter();
  }

  /** True when EOF was fed and the buffer is empty. */
  atEof(): boolean {
    return this.#eof && this.#end === this.#start;
  }

  /** Append received bytes (copied); pauses the transport past twice the limit. */
  feedData(data: Bytes): void {
    this._feed(toBuffer(data), false);
  }

  /**
   * @internal feedData for bytes the reader may keep as they are (the
   * transport's dataReceived bytes are owned by the protocol): when nothing
   * is buffered they become the buffer, and a read that takes them all gets
   * them back without a copy.
   */
  _feedOwned(data: Buffer): void {
    this._feed(data, true);
  }

  /** @internal */
  _feed(buf: Buffer, owned: boolean): void {
    if (this.#eof) throw new InvalidStateError('feedData after feedEof');
    if (buf.length === 0) return;
    if (owned && this.#end === this.#start) {
      // Adopt: its capacity is its length, so a later append grows into a
      // new buffer and never writes into these bytes.
      this.#buf = buf;
      this.#shared = false;
      this.#start = 0;
      this.#end = buf.length;
    } else {
      this.#append(buf);
    }
    this.#wakeupWaiter();
    const t = this.#transport;
    // A readExactly still waiting needs more than is buffered: pausing now
    // would deadlock it (a woken read would resume at its next wait).
    if (
      t !== null &&
      !this.#paused &&
      this.#waiter === null &&
      this.#end - this.#start > 2 * this.#limit
    ) {
      if (typeof t.pauseReading === 'function') {
        t.pauseReading();
        this.#paused = true;
      } else {
        // A transport that cannot pause: buffer everything (asyncio forgets it too).
        this.#transport = null;
      }
    }
  }

  /** Copy `data` behind the buffered bytes: amortised O(1), one copy. */
  #append(data: Buffer): void {
    const n = data.length;
    const len = this.#end - this.#start;
    const cap = this.#buf.length;
    // Bytes after #end were never handed out, so they may be written even
    // when views of consumed bytes exist (#shared); only moving the
    // buffered bytes down over those views may not.
    if (this.#end + n > cap) {
      if (!this.#shared && len + n <= cap >> 1) {
        // Plenty of room once the consumed head is dropped: compact in place.
        this.#buf.copy(this.#buf, 0, this.#start, this.#end);
      } else {
        // Sized by what is buffered, not by the old capacity: a reader whose
        // consumed views keep forcing new buffers must not double each time.
        const grown = Buffer.allocUnsafe(Math.max(MIN_CAPACITY, 2 * (len + n)));
        this.#buf.copy(grown, 0, this.#start, this.#end);
        this.#buf = grown;
        this.#shared = false;
      }
      this.#start = 0;
      this.#end = len;
    }
    data.copy(this.#buf, this.#end);
    this.#end += n;
  }

  /** Remove the first `n` buffered bytes and return them as an owned Buffer. */
  #consume(n: number): Buffer {
    const len = this.#end - this.#start;
    if (n >= len) {
      // Everything: hand the bytes over without a copy and let the buffer
      // go (it is never written into again). An adopted chunk read whole
      // (the usual case) is returned as it came: no view to make.
      const buf = this.#buf;
      const out =
        this.#start === 0 && this.#end === buf.length ? buf : buf.subarray(this.#start, this.#end);
      this.#buf = EMPTY;
      this.#start = this.#end = 0;
      this.#shared = false;
      return out;
    }
    // A view, not a copy: the reader never writes before #end again
    // (#append writes after it, or grows into a new buffer), so the view
    // stays intact.
    const out = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    this.#shared = true;
    return out;
  }

  #clear(): void {
    this.#buf = EMPTY;
    this.#shared = false;
    this.#start = this.#end = 0;
  }

  /**
   * Wait until feedData() or feedEof() is called. Waiting for data while
   * paused would deadlock (readExactly(n) with n > limit), so resume first.
   */
  #waitForData(method: string): Promise<void> {
    return this.#wait(method, 0, false) as Promise<void>;
  }

  /**
   * The waiting read's promise: woken (`want` 0) or completed by the feed
   * with `want` bytes (see #wakeupWaiter). Not an async function: the caller
   * awaits this one promise directly.
   */
  #wait(method: string, want: number, exact: boolean): Promise<Buffer | undefined> {
    // A failure that arrived between a wake-up and this read's next wait
    // would otherwise leave it waiting forever (nothing is fed after it).
    if (this.#exception !== null) return Promise.reject(this.#exception);
    if (this.#waiter !== null) {
      return Promise.reject(
        new InvalidStateError(
          `${method}() called while another coroutine is already waiting for incoming data`,
        ),
      );
    }
    if (this.#paused) {
      this.#paused = false;
      this.#transport!.resumeReading();
    }
    return new Promise<Buffer | undefined>((resolve, reject) => {
      this.#waiter = { resolve, reject, want, exact };
    });
  }

  /**
   * Read up to `n` bytes. `n` < 0 (the default -1): read until EOF and
   * return everything. `n` = 0: an empty Buffer at once. `n` > 0: at most
   * `n` bytes, as soon as at least one is buffered; an empty Buffer at EOF.
   * Not bounded by the limit.
   */
  read(n = -1): Promise<Buffer> {
    // Not an async function: a read that must wait returns the promise the
    // feed completes (no coroutine frame, no second promise).
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      return Promise.reject(checkSizeError(n, 'read'));
    }
    if (this.#exception !== null) return Promise.reject(this.#exception);
    if (n === 0) return Promise.resolve(EMPTY);
    if (n < 0) return this.#readAll();
    if (this.#end === this.#start && !this.#eof) {
      return this.#wait('read', n, false) as Promise<Buffer>;
    }
    const data = this.#consume(n);
    this.#maybeResumeTransport();
    return Promise.resolve(data);
  }

  /**
   * `read(-1)`: limit-sized blocks until EOF, so the transport is never left
   * paused with a full buffer (asyncio's comment: it would deadlock).
   */
  async #readAll(): Promise<Buffer> {
    const blocks: Buffer[] = [];
    for (;;) {
      const block = await this.read(this.#limit);
      if (block.length === 0) break;
      blocks.push(block);
    }
    return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
  }

  /**
   * Read one line, up to and including `\n`. At EOF: the incomplete last
   * line without `\n`, then an empty Buffer. A line longer than the limit
   * rejects with LimitOverrunError; that line (if its `\n` arrived) or else
   * the whole buffer is discarded first, as asyncio's `readline` does.
   */
  async readline(): Promise<Buffer> {
    try {
      return await this.readUntil(NEWLINE);
    } catch (e) {
      if (e instanceof IncompleteReadError) return e.partial;
      if (e instanceof LimitOverrunError) {
        const at = this.#start + e.consumed;
        if (at < this.#end && this.#buf[at] === 0x0a) this.#consume(e.consumed + 1);
        else this.#clear();
        this.#maybeResumeTransport();
      }
      throw e;
    }
  }

  /**
   * Read until `separator` (bytes, or an array of them: the first match
   * found in the stream wins, the shortest on a tie) and return the data
   * with the separator. At EOF without a separator: IncompleteReadError with
   * the buffered bytes (`expected` null), buffer cleared. Data longer than
   * the limit before a separator: LimitOverrunError (`consumed` = bytes to
   * skip), the data left in the buffer so it can be read otherwise.
   */
  async readUntil(separator: Bytes | readonly Bytes[] = NEWLINE): Promise<Buffer> {
    const seps = checkSeparators(separator);
    const minLen = seps[0]!.length;
    const maxLen = seps[seps.length - 1]!.length;
    if (this.#exception !== null) throw this.#exception;

    // `offset`: bytes at the start of the buffer known to hold no separator.
    let offset = 0;
    let matchStart = -1;
    let matchEnd = -1;
    for (;;) {
      const buflen = this.#end - this.#start;
      if (buflen - offset >= minLen) {
        const view = this.#buf.subarray(this.#start, this.#end);
        for (const sep of seps) {
          const i = view.indexOf(sep, offset);
          if (i !== -1 && (matchEnd === -1 || i + sep.length < matchEnd)) {
            matchStart = i;
            matchEnd = i + sep.length;
          }
        }
        if (matchEnd !== -1) break;
        // A separator may start in the last maxLen - 1 bytes; rescan those.
        offset = Math.max(0, buflen + 1 - maxLen);
        if (offset > this.#limit) {
          throw new LimitOverrunError('Separator is not found, and chunk exceed the limit', offset);
        }
      }
      // A complete separator may have arrived with the last chunk before
      // EOF, so EOF is checked after the search.
      if (this.#eof) {
        const chunk = this.#consume(buflen);
        throw new IncompleteReadError(chunk, null);
      }
      await this.#waitForData('readUntil');
    }
    if (matchStart > this.#limit) {
      throw new LimitOverrunError('Separator is found, but chunk is longer than limit', matchStart);
    }
    const chunk = this.#consume(matchEnd);
    this.#maybeResumeTransport();
    return chunk;
  }

  /**
   * Read exactly `n` bytes (not bounded by the limit). At EOF first:
   * IncompleteReadError with the bytes read (`partial`) and `expected` = n.
   * `n` < 0 is a RangeError.
   */
  readExactly(n: number): Promise<Buffer> {
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      return Promise.reject(checkSizeError(n, 'readExactly'));
    }
    if (n < 0) {
      return Promise.reject(new RangeError('readexactly size can not be less than zero'));
    }
    if (this.#exception !== null) return Promise.reject(this.#exception);
    if (n === 0) return Promise.resolve(EMPTY);
    const len = this.#end - this.#start;
    if (len >= n) {
      const data = this.#consume(n);
      this.#maybeResumeTransport();
      return Promise.resolve(data);
    }
    if (this.#eof) return Promise.reject(new IncompleteReadError(this.#consume(len), n));
    return this.#wait('readExactly', n, true) as Promise<Buffer>;
  }

  /** `for await (const line of reader)`: each line from `readline()` until EOF. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /**
   * @internal Take every buffered byte out of the reader (startTls: bytes read
   * ahead that belong to the TLS handshake go to the TLS layer, gh-142352).
   */
  _takeBuffered(): Buffer {
    const out = Buffer.from(this.#buf.subarray(this.#start, this.#end));
    this.#buf = EMPTY;
    this.#start = 0;
    this.#end = 0;
    return out;
  }

  /** @internal Bytes currently buffered (for tests and inspection). */
  get _bufferSize(): number {
    return this.#end - this.#start;
  }

  /** How `util.inspect` shows the reader: buffered bytes, EOF, limit, waiter, exception, paused. */
  [inspect.custom](): string {
    const info = ['StreamReader'];
    const len = this.#end - this.#start;
    if (len > 0) info.push(`${len} bytes`);
    if (this.#eof) info.push('eof');
    if (this.#limit !== DEFAULT_LIMIT) info.push(`limit=${this.#limit}`);
    if (this.#waiter !== null) info.push('waiter');
    if (this.#exception !== null) info.push(`exception=${this.#exception.name}`);
    if (this.#transport !== null) info.push(`transport=${inspect(this.#transport)}`);
    if (this.#paused) info.push('paused');
    return `<${info.join(' ')}>`;
  }
}
