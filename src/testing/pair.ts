/**
 * Two connected in-memory stream transports (`createTransportPair`): the
 * semantics of a TCP connection between two protocols, with no sockets and
 * no timers, so protocol unit tests are fast and deterministic.
 *
 * Model: each direction is a {@link Pipe} with a finite capacity, standing
 * for the kernel's socket buffers. `write()` puts bytes into the pipe at
 * once while it has room (like a send(2) that succeeds), and queues the rest
 * in the writing transport, which is what `getWriteBufferSize()` counts and
 * what write flow control watches. The reading side takes bytes out of the
 * pipe one read per loop turn while it is reading; the room that frees
 * lets the writer move its queue on, on the next turn. So a reader that
 * pauses (or a peer that writes faster than the other side reads) makes the
 * writer's buffer grow past the high-water mark exactly as over a socket.
 *
 * Everything is scheduled through the loop's ready queue (`callSoon`), so a
 * given sequence of calls always produces the same sequence of callbacks.
 *
 * ```
 *   A.write() ──► [A's queue] ──► Pipe A→B (capacity) ──► B.dataReceived()
 *   B.write() ──► [B's queue] ──► Pipe B→A (capacity) ──► A.dataReceived()
 * ```
 *
 * Ending: `writeEof()`, and `close()`/`abort()` once the transport is gone,
 * put an end-of-stream mark into the pipe behind the bytes already in it;
 * the reader gets `eofReceived()` after those bytes. Bytes sent toward a
 * transport that closed are dropped (the pair never emulates a TCP reset).
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { inspect } from 'node:util';
import { InvalidStateError } from '../errors.js';
import { type EventLoop, getRunningLoop } from '../loop.js';
import {
  ConnState,
  collectBytes,
  FAILED,
  isBufferedProtocol,
  TransportBase,
  toBuffer,
} from '../transports/base.js';
import type { AnyProtocol, Bytes, Transport } from '../transports/interfaces.js';

/** Bytes handed to a protocol per read, at most: asyncio's max_size for sockets (256 KiB). */
export const MAX_READ = 256 * 1024;

/** The default in-flight capacity of each direction. */
export const DEFAULT_CAPACITY = 64 * 1024;

/**
 * One direction of the pair: the bytes "in flight" between a writer and a
 * reader, at most `capacity` of them, then possibly an end-of-stream mark.
 */
class Pipe {
  readonly capacity: number;
  /** Private copies of written bytes, oldest first; `head` bytes of chunks[0] are consumed. */
  chunks: Buffer[] = [];
  head = 0;
  size = 0;
  /** The writer shut its side down: EOF follows the bytes in the pipe. */
  eof = false;
  /** The reader is gone: everything written is dropped. */
  sink = false;
  writer!: MemoryTransport;
  reader!: MemoryTransport;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  room(): number {
    return this.sink ? Number.POSITIVE_INFINITY : this.capacity - this.size;
  }

  /** Take up to room() bytes of `buf` (copied); returns how many were taken. */
  push(buf: Buffer): number {
    if (this.sink) return buf.length;
    const n = Math.min(buf.length, this.capacity - this.size);
    if (n <= 0) return 0;
    // A private copy: the caller may reuse its buffer once write() returns.
    this.chunks.push(Buffer.from(buf.subarray(0, n)));
    this.size += n;
    this.reader._schedulePump();
    return n;
  }

  /** Remove and return up to `max` bytes as one owned Buffer. */
  take(max: number): Buffer {
    const first = this.chunks[0]!;
    if (this.chunks.length === 1 && this.head === 0 && first.length <= max) {
      // All that is in flight is one private copy already: hand it over.
      this.chunks.shift();
      this.size -= first.length;
      return first;
    }
    const n = Math.min(max, this.size);
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.head, n - off);
      c.copy(out, off, this.head, this.head + k);
      off += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.size -= n;
    return out;
  }

  /** The reader left: drop what is in flight and accept everything from now on. */
  makeSink(): void {
    this.sink = true;
    this.chunks = [];
    this.head = 0;
    this.size = 0;
  }
}

/** Options of {@link createTransportPair}. */
export interface TransportPairOptions {
  /**
   * Bytes each direction holds in flight (the "kernel buffers"), default
   * 64 KiB; `Infinity` for none, so that writes never stay queued in the
   * transport and the writer is never paused.
   */
  capacity?: number;
  /** Extra info of the first transport (`getExtraInfo`); `peername`/`sockname` default to `''`. */
  extraA?: Record<string, unknown>;
  /** Extra info of the second transport. */
  extraB?: Record<string, unknown>;
}

/** One end of an in-memory pair. Instances come from {@link createTransportPair}. */
export class MemoryTransport extends TransportBase implements Transport {
  #name: string;
  /** @internal The pipe this transport writes into / reads from. */
  _out: Pipe;
  _in: Pipe;
  #buffered: boolean;
  #paused = false;
  #started = false;
  #eofReceived = false;
  #eofWritten = false;
  #finSent = false;
  #pumpScheduled = false;
  #flushScheduled = false;
  /** Bytes queued in the transport, not yet in the pipe (private copies). */
  #queue: Buffer[] = [];
  #queued = 0;

  /** @internal */
  constructor(
    loop: EventLoop,
    protocol: AnyProtocol,
    name: string,
    out: Pipe,
    inp: Pipe,
    extra: Record<string, unknown> | undefined,
  ) {
    super(loop, protocol);
    this.#name = name;
    this._out = out;
    this._in = inp;
    this.#buffered = isBufferedProtocol(protocol);
    this._extra.peername = '';
    this._extra.sockname = '';
    Object.assign(this._extra, extra);
    loop._track(this);
  }

  protected get _kind(): string {
    return 'memory';
  }

  /** @internal Schedule connectionMade, then start reading; `next` runs right after. */
  _start(next?: () => void): void {
    this._scheduleConnectionMade(() => {
      this.#started = true;
      // Writes made before connectionMade (the pair exists synchronously)
      // may have filled the buffer: the protocol hears of it only now.
      this._maybePauseProtocol();
      this._schedulePump();
      next?.();
    });
  }

  /** No flow-control callback before connectionMade (the grammar starts there). */
  protected override _maybePauseProtocol(): void {
    if (this._made) super._maybePauseProtocol();
  }

  // ---- reading ----------------------------------------------------------------

  isReading(): boolean {
    return this._state === ConnState.OPEN && !this.#paused;
  }

  pauseReading(): void {
    if (this._state !== ConnState.OPEN) return;
    this.#paused = true;
  }

  resumeReading(): void {
    if (this._state !== ConnState.OPEN || !this.#paused) return;
    this.#paused = false;
    this._schedulePump();
  }

  protected override _protocolChanged(): void {
    this.#buffered = isBufferedProtocol(this._protocol);
  }

  /** @internal Arrange one read on a later turn (no-op if one is pending). */
  _schedulePump(): void {
    if (this.#pumpScheduled || !this.#started) return;
    this.#pumpScheduled = true;
    this._loop.callSoon(pump, this);
  }

  /** @internal One read: up to MAX_READ bytes, or the EOF once the pipe is empty. */
  _pump(): void {
    this.#pumpScheduled = false;
    if (this._state !== ConnState.OPEN || this.#paused || this.#eofReceived) return;
    const pipe = this._in;
    if (pipe.size > 0) {
      const data = pipe.take(MAX_READ);
      // Room freed: the writer moves its queue on, on a later turn (its write-ready event).
      pipe.writer._scheduleFlush();
      this.#deliver(data);
      if (pipe.size > 0 || pipe.eof) this._schedulePump();
      return;
    }
    if (pipe.eof) this.#onEof();
  }

  /** Deliver owned bytes to the current protocol (Protocol or BufferedProtocol). */
  #deliver(data: Buffer): void {
    if (!this.#buffered) {
      this._callData('dataReceived', 'data_received', data);
      return;
    }
    // As the socket transport: getBuffer(-1), fill it, bufferUpdated(n); the
    // rest of the read goes into further buffers.
    this._feedBuffered(data, -1);
  }

  #onEof(): void {
    this.#eofReceived = true;
    const keepOpen = this._callData('eofReceived', 'eof_received');
    if (keepOpen === FAILED) return;
    if (!keepOpen) this.close();
  }

  // ---- writing ----------------------------------------------------------------

  /** Bytes accepted by write() and not yet in flight. */
  getWriteBufferSize(): number {
    return this.#queued;
  }

  write(data: Bytes): void {
    const buf = toBuffer(data);
    this.#checkWritable('write');
    if (buf.length === 0) return;
    if (this._state >= ConnState.LOST_SCHEDULED) {
      this._countLostWrite();
      return;
    }
    // CLOSING still accepts writes, flushed before connectionLost (semantics 1.7).
    if (this.#queued === 0) {
      const n = this._out.push(buf);
      if (n < buf.length) this.#enqueue(buf.subarray(n));
    } else {
      this.#enqueue(buf);
    }
    this._maybePauseProtocol();
  }

  writelines(list: Iterable<Bytes>): void {
    const { bufs, total } = collectBytes(list);
    this.#checkWritable('writelines');
    const data = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs, total);
    if (data.length === 0) return;
    if (this._state >= ConnState.LOST_SCHEDULED) {
      this._countLostWrite();
      return;
    }
    if (this.#queued === 0) {
      const n = this._out.push(data);
      if (n < data.length) this.#enqueue(data.subarray(n));
    } else {
      this.#enqueue(data);
    }
    this._maybePauseProtocol();
  }

  #checkWritable(method: 'write' | 'writelines'): void {
    if (this.#eofWritten) throw new InvalidStateError(`Cannot call ${method}() after write_eof()`);
  }

  #enqueue(buf: Buffer): void {
    this.#queue.push(Buffer.from(buf));
    this.#queued += buf.length;
  }

  /** @internal The pipe has room again: move the queue on, on a later turn. */
  _scheduleFlush(): void {
    if (this.#flushScheduled || this.#queued === 0) return;
    this.#flushScheduled = true;
    this._loop.callSoon(flush, this);
  }

  /** @internal The write-ready event: move as much of the queue into the pipe as fits. */
  _flush(): void {
    this.#flushScheduled = false;
    if (this._state >= ConnState.LOST_SCHEDULED) return;
    const pipe = this._out;
    while (this.#queued > 0 && pipe.room() > 0) {
      const head = this.#queue[0]!;
      const n = pipe.push(head);
      this.#queued -= n;
      if (n === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(n);
    }
    // resumeWriting runs before the drained check, so the protocol may write from it (2.6).
    this._maybeResumeProtocol();
    this.#afterDrainCheck();
  }

  /** With the queue empty: finish a pending close() or writeEof(). */
  #afterDrainCheck(): void {
    if (this.#queued !== 0) return;
    if (this._state === ConnState.CLOSING) {
      this._scheduleConnectionLost(null);
    } else if (this.#eofWritten && this._state === ConnState.OPEN) {
      this.#sendFin();
    }
  }

  #sendFin(): void {
    if (this.#finSent) return;
    this.#finSent = true;
    this._out.eof = true;
    this._out.reader._schedulePump();
  }

  writeEof(): void {
    if (this._state !== ConnState.OPEN || this.#eofWritten) return;
    this.#eofWritten = true;
    this.#afterDrainCheck();
  }

  canWriteEof(): boolean {
    return true;
  }

  // ---- closing ----------------------------------------------------------------

  close(): void {
    if (this._state !== ConnState.OPEN) return;
    this._state = ConnState.CLOSING;
    this.#afterDrainCheck();
  }

  abort(): void {
    this._forceClose(null);
  }

  protected _stopIO(discard: boolean): void {
    if (discard) {
      this.#queue = [];
      this.#queued = 0;
    }
  }

  /** After connectionLost: the peer reads EOF; what it sends us from now on is dropped. */
  protected _release(): void {
    this.#sendFin();
    this._in.makeSink();
    // The peer may be waiting for room to finish its own close().
    this._in.writer._scheduleFlush();
  }

  protected override _describe(): string[] {
    const d = super._describe();
    d.push(this.#name);
    if (this._state === ConnState.OPEN) d.push(this.#paused ? 'read=paused' : 'read=polling');
    d.push(`write=<bufsize=${this.#queued}>`);
    return d;
  }
}

function pump(t: MemoryTransport): void {
  t._pump();
}

function flush(t: MemoryTransport): void {
  t._flush();
}

function checkCapacity(capacity: unknown): number {
  if (capacity === undefined) return DEFAULT_CAPACITY;
  if (typeof capacity !== 'number' || Number.isNaN(capacity)) {
    throw new TypeError(`capacity must be a number, got ${inspect(capacity)}`);
  }
  if (!(capacity >= 1) || (!Number.isInteger(capacity) && capacity !== Number.POSITIVE_INFINITY)) {
    throw new RangeError(`capacity must be a positive integer or Infinity, got ${capacity}`);
  }
  return capacity;
}

function checkExtra(extra: unknown, name: string): Record<string, unknown> | undefined {
  if (extra === undefined) return undefined;
  if (extra === null || typeof extra !== 'object') {
    throw new TypeError(`${name} must be an object, got ${inspect(extra)}`);
  }
  return extra as Record<string, unknown>;
}

/**
 * Connect two protocols through two in-memory {@link Transport}s, the first
 * given to `protocolA`, the second to `protocolB`. Synchronous;
 * `connectionMade` reaches A on a later loop turn and B on the turn after,
 * as with real transports. Everything a stream transport does holds:
 * write flow control with the same watermarks (64 KiB / 16 KiB by default,
 * backpressure once `capacity` bytes are in flight), `writeEof()` and
 * half-close, `close()`, `abort()`, `pauseReading()`/`resumeReading()`,
 * `setProtocol()`, `BufferedProtocol`, guarded callbacks and extra info.
 * No sockets, no timers: deterministic.
 */
export function createTransportPair(
  protocolA: AnyProtocol,
  protocolB: AnyProtocol,
  options: TransportPairOptions = {},
): [Transport, Transport] {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`options must be an object, got ${inspect(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!['capacity', 'extraA', 'extraB'].includes(k)) {
      throw new TypeError(`createTransportPair() got an unexpected option '${k}'`);
    }
  }
  for (const [p, name] of [
    [protocolA, 'protocolA'],
    [protocolB, 'protocolB'],
  ] as const) {
    if (p === null || typeof p !== 'object') {
      throw new TypeError(`${name} must be a protocol object, got ${inspect(p)}`);
    }
  }
  const capacity = checkCapacity(options.capacity);
  const extraA = checkExtra(options.extraA, 'extraA');
  const extraB = checkExtra(options.extraB, 'extraB');
  const l = getRunningLoop();
  const ab = new Pipe(capacity);
  const ba = new Pipe(capacity);
  const a = new MemoryTransport(l, protocolA, 'A', ab, ba, extraA);
  const b = new MemoryTransport(l, protocolB, 'B', ba, ab, extraB);
  ab.writer = a;
  ab.reader = b;
  ba.writer = b;
  ba.reader = a;
  // B's connectionMade is scheduled from A's turn, so it runs on the next one.
  a._start(() => b._start());
  return [a, b];
}
