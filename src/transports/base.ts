/**
 * The part every transport shares: the connection state machine, the
 * guarded protocol calls, the fatal-error path and write flow control. Kind
 * specific transports (stream, datagram, pipes) extend it and implement the
 * I/O hooks.
 *
 * State machine (one field, one guarded transition):
 *
 * ```
 *            close() with data queued
 *   OPEN ───────────────────────────────► CLOSING
 *    │  close() with nothing queued,         │ buffer drained
 *    │  abort(), fatal error, EOF            ▼
 *    └──────────────────────────────► LOST_SCHEDULED ──(next turn)──► LOST
 *                                     (connectionLost queued)   (protocol told)
 * ```
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { constants as osConstants } from 'node:os';
import { inspect } from 'node:util';
import { isOSError } from '../errors.js';
import type { EventLoop } from '../loop.js';
import { FlowAction, WriteFlowControl } from './flow-control.js';
import type { AnyProtocol } from './interfaces.js';

export const ConnState = { OPEN: 0, CLOSING: 1, LOST_SCHEDULED: 2, LOST: 3 } as const;
export type ConnState = (typeof ConnState)[keyof typeof ConnState];
const STATE_NAMES = ['open', 'closing', 'lost-scheduled', 'closed'] as const;

/** asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES. */
export const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

type ProtocolLike = Record<string, any>;

/** Convert a `write()` argument to a Buffer view without copying; TypeError otherwise. */
export function toBuffer(data: unknown, what = 'data'): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return Buffer.from(data);
  throw new TypeError(`${what} argument must be a bytes-like object, not '${typeName(data)}'`);
}

/**
 * The `writelines()` argument checked and collected: every item a bytes-like
 * object (TypeError otherwise, before anything is written), empty items
 * dropped, and the total byte count.
 */
export function collectBytes(list: unknown): { bufs: Buffer[]; total: number } {
  if (list === null || typeof (list as any)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`list must be an iterable of bytes-like objects, got ${inspect(list)}`);
  }
  const bufs: Buffer[] = [];
  let total = 0;
  for (const item of list as Iterable<unknown>) {
    const b = toBuffer(item);
    if (b.length > 0) {
      bufs.push(b);
      total += b.length;
    }
  }
  return { bufs, total };
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

export abstract class TransportBase {
  /** @internal */ _loop: EventLoop;
  /** @internal */ _protocol: ProtocolLike;
  /** @internal */ _state: ConnState = ConnState.OPEN;
  /** @internal */ _extra: Record<string, unknown> = {};
  /** Writes dropped after the connection was lost (asyncio's _conn_lost). */
  /** @internal */ _connLost = 0;
  /** @internal */ readonly _flow = new WriteFlowControl();
  /** @internal True once connectionMade ran (connectionLost only follows it). */
  _made = false;
  /** @internal A Server this connection is attached to, told when the connection ends. */
  _server: { _attach(t: TransportBase): void; _detach(t: TransportBase): void } | null = null;

  constructor(loop: EventLoop, protocol: AnyProtocol) {
    this._loop = loop;
    this._protocol = protocol as ProtocolLike;
  }

  /** Close after flushing; `connectionLost(null)` follows once. */
  abstract close(): void;

  /** Short name of this transport kind for messages, e.g. `socket`. */
  protected abstract get _kind(): string;

  isClosing(): boolean {
    return this._state !== ConnState.OPEN;
  }

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    if (typeof name !== 'string') {
      throw new TypeError(`name must be a string, got ${inspect(name)}`);
    }
    const v = this._extra[name];
    return v === undefined ? defaultValue : v;
  }

  setProtocol(protocol: AnyProtocol): void {
    checkProtocol(protocol);
    this._protocol = protocol as ProtocolLike;
    this._protocolChanged();
  }

  getProtocol(): AnyProtocol {
    return this._protocol;
  }

  /** Hook: the protocol was replaced (re-evaluate the read path). */
  protected _protocolChanged(): void {}

  // ---- connectionMade ------------------------------------------------------

  /**
   * Schedule `connectionMade` (never called from a constructor), then
   * `afterMade` (e.g. start reading) on the same turn, right after it.
   * asyncio: a connectionMade exception is reported as a callback error and
   * the transport stays open (semantics 3.3).
   */
  protected _scheduleConnectionMade(afterMade?: () => void): void {
    this._loop.callSoon(() => {
      if (this._state === ConnState.LOST) return;
      this._made = true;
      const p = this._protocol;
      if (typeof p.connectionMade === 'function') {
        try {
          p.connectionMade(this);
        } catch (exc) {
          this._loop.callExceptionHandler({
            message: `Exception in callback ${protocolName(p)}.connection_made(${inspect(this)})`,
            exception: asError(exc),
            transport: this,
            protocol: p,
          });
        }
      }
      afterMade?.();
    });
  }

  // ---- guarded protocol calls -----------------------------------------------

  /**
   * Call a data-path callback (`dataReceived`, `eofReceived`, `getBuffer`,
   * `bufferUpdated`, ...). A throw takes the fatal-error path with asyncio's
   * message and the transport is closed with `connectionLost(exc)`.
   * Returns the callback's result, or `FAILED` after a throw.
   */
  protected _callData(name: string, snake: string, a?: unknown, b?: unknown): unknown {
    const p = this._protocol;
    const fn = p[name];
    if (typeof fn !== 'function') return undefined;
    try {
      return fn.call(p, a, b);
    } catch (exc) {
      this._fatalError(asError(exc), `Fatal error: protocol.${snake}() call failed.`);
      return FAILED;
    }
  }

  /**
   * `getBuffer(sizehint)` validated: a bytes-like result that is not empty.
   * Null after a failure, which has already taken the fatal-error path
   * (`'Fatal error: protocol.get_buffer() call failed.'`, semantics 3.6).
   */
  _getProtocolBuffer(sizehint: number): Uint8Array | null {
    const r = this._callData('getBuffer', 'get_buffer', sizehint);
    return r === FAILED ? null : this._checkProtocolBuffer(r);
  }

  /**
   * A `getBuffer()` result validated (bytes-like, not empty), as a
   * Uint8Array; null after taking the fatal-error path.
   */
  _checkProtocolBuffer(r: unknown): Uint8Array | null {
    let buf: Uint8Array;
    try {
      buf = toBuffer(r, 'get_buffer() result');
      if (buf.length === 0) throw new Error('get_buffer() returned an empty buffer');
    } catch (exc) {
      this._fatalError(asError(exc), 'Fatal error: protocol.get_buffer() call failed.');
      return null;
    }
    return buf;
  }

  /**
   * Feed owned bytes to a BufferedProtocol, as asyncio's
   * `_feed_data_to_buffered_proto`: getBuffer / copy / bufferUpdated until the
   * chunk is used up. `sizehint` is passed to every getBuffer call, or, when
   * omitted, the number of bytes still to deliver. Stops (false) after a
   * fatal error or once the connection is lost.
   */
  _feedBuffered(data: Buffer, sizehint?: number): boolean {
    let off = 0;
    while (off < data.length) {
      if (this._state !== ConnState.OPEN && this._state !== ConnState.CLOSING) return false;
      const buf = this._getProtocolBuffer(sizehint ?? data.length - off);
      if (buf === null) return false;
      const n = Math.min(buf.length, data.length - off);
      data.copy(buf, 0, off, off + n);
      off += n;
      if (this._callData('bufferUpdated', 'buffer_updated', n) === FAILED) return false;
    }
    return true;
  }

  /** pauseWriting/resumeWriting are reported, never fatal (semantics 2.8). */
  protected _callFlow(name: 'pauseWriting' | 'resumeWriting'): void {
    const p = this._protocol;
    const fn = p[name];
    if (typeof fn !== 'function') return;
    try {
      fn.call(p);
    } catch (exc) {
      this._loop.callExceptionHandler({
        message: `protocol.${name === 'pauseWriting' ? 'pause_writing' : 'resume_writing'}() failed`,
        exception: asError(exc),
        transport: this,
        protocol: p,
      });
    }
  }

  // ---- write flow control ------------------------------------------------------

  abstract getWriteBufferSize(): number;

  setWriteBufferLimits(high?: number, low?: number): void {
    this._flow.setLimits(high, low);
    this._maybePauseProtocol();
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this._flow.low, this._flow.high];
  }

  /** After the buffer grew: pauseWriting() synchronously if strictly over high. */
  protected _maybePauseProtocol(): void {
    if (this._flow.afterGrow(this.getWriteBufferSize()) === FlowAction.PAUSE) {
      this._callFlow('pauseWriting');
    }
  }

  /** After the buffer shrank: resumeWriting() if paused and at or below low. */
  protected _maybeResumeProtocol(): void {
    if (this._flow.afterDrain(this.getWriteBufferSize()) === FlowAction.RESUME) {
      this._callFlow('resumeWriting');
    }
  }

  // ---- closing ------------------------------------------------------------------

  /**
   * Count a write dropped because the connection is lost; warn on the 5th
   * and every later one, as asyncio logs.
   */
  protected _countLostWrite(warning = 'socket.send() raised exception.'): void {
    if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) console.warn(warning);
    this._connLost++;
  }

  /**
   * The one error path: report a non-OSError to the exception handler, then
   * force-close with `connectionLost(exc)`. OSErrors (resets, broken pipes,
   * TLS errors) are quiet, as in asyncio.
   */
  _fatalError(exc: Error, message = `Fatal error on ${this._kind} transport`): void {
    if (this._state >= ConnState.LOST_SCHEDULED) return;
    this._reportFatal(exc, message);
    this._forceClose(exc);
  }

  /** True for errors the fatal path does not report (asyncio: OSErrors). */
  protected _quietError(exc: Error): boolean {
    return isOSError(exc);
  }

  /** Tell the loop's exception handler about a fatal error, unless it is quiet. */
  protected _reportFatal(exc: Error, message: string): void {
    if (this._quietError(exc)) return;
    this._loop.callExceptionHandler({
      message,
      exception: exc,
      transport: this,
      protocol: this._protocol,
    });
  }

  /** Drop everything and schedule `connectionLost(exc)`; a no-op once it is scheduled. */
  _forceClose(exc: Error | null): void {
    if (this._state >= ConnState.LOST_SCHEDULED) return;
    this._state = ConnState.LOST_SCHEDULED;
    this._connLost++;
    this._stopIO(true);
    this._loop.callSoon(callConnectionLost, this, exc);
  }

  /** Schedule `connectionLost(exc)` after a clean close; buffers are empty. */
  protected _scheduleConnectionLost(exc: Error | null): void {
    if (this._state >= ConnState.LOST_SCHEDULED) return;
    this._state = ConnState.LOST_SCHEDULED;
    this._connLost++;
    this._loop.callSoon(callConnectionLost, this, exc);
  }

  /** Hook: stop reading and writing; `discard` drops buffered data. */
  protected abstract _stopIO(discard: boolean): void;
  /** Hook: release the OS resource (called after connectionLost). */
  protected abstract _release(): void;

  /** @internal */
  _callConnectionLost(exc: Error | null): void {
    if (this._state === ConnState.LOST) return;
    this._state = ConnState.LOST;
    try {
      if (this._made && typeof this._protocol.connectionLost === 'function') {
        try {
          this._protocol.connectionLost(exc);
        } catch (err) {
          this._loop.callExceptionHandler({
            message: `Exception in callback ${protocolName(this._protocol)}.connection_lost(${inspect(exc)})`,
            exception: asError(err),
            transport: this,
            protocol: this._protocol,
          });
        }
      }
    } finally {
      this._release();
      this._loop._forget(this);
      const server = this._server;
      this._server = null;
      server?._detach(this);
    }
  }

  /** @internal Fields for util.inspect: kind, address, state, reading, buffer size. */
  protected _describe(): string[] {
    return [STATE_NAMES[this._state]];
  }

  /** How `util.inspect` shows a transport: kind, address, state, reading, buffer size. */
  [inspect.custom](): string {
    return `<${this.constructor.name} ${this._describe().join(' ')}>`;
  }
}

/**
 * A Node-style system error (`message` `'<syscall> <CODE>'`, `code`,
 * `errno`, `syscall`) for a condition protoloop detects itself, so that it
 * looks like the one Node would have raised.
 */
export function nodeSystemError(code: string, syscall: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  err.code = code;
  const errno = (osConstants.errno as Record<string, number>)[code];
  if (errno !== undefined) err.errno = -errno;
  err.syscall = syscall;
  return err;
}

/** Marker returned by `_callData` after the callback threw. */
export const FAILED: unique symbol = Symbol('protoloop.failed');

function callConnectionLost(t: TransportBase, exc: Error | null): void {
  t._callConnectionLost(exc);
}

export function asError(exc: unknown): Error {
  return exc instanceof Error ? exc : new Error(String(exc));
}

export function protocolName(p: object): string {
  return p.constructor?.name ?? 'Protocol';
}

/** A protocol must be an object (a class instance or a plain object with methods). */
export function checkProtocol(protocol: unknown): void {
  if (protocol === null || typeof protocol !== 'object') {
    throw new TypeError(`protocol must be an object, got ${inspect(protocol)}`);
  }
}

/** True if the protocol is a BufferedProtocol (has getBuffer). */
export function isBufferedProtocol(protocol: object): boolean {
  return typeof (protocol as ProtocolLike).getBuffer === 'function';
}
