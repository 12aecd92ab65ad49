/**
 * Read-pipe and write-pipe transports: asyncio's `_UnixReadPipeTransport`
 * and `_UnixWritePipeTransport` over a file descriptor (a pipe or FIFO, a
 * socket, a character device such as a pty) or over a Node stream.
 *
 * A file descriptor is wrapped in the Node stream that reads it without
 * blocking a thread: a `net.Socket` for FIFOs and sockets (libuv polls them),
 * a `tty` stream for terminals, an `fs` stream for other character devices.
 * The transport owns the descriptor from then on and closes it when the
 * connection is lost, as asyncio closes the pipe object.
 *
 * Read path: the transport listens in `'readable'` mode and pulls with
 * `read()` only while the protocol wants data. Pausing therefore costs
 * nothing and is bounded: the stream buffers up to its high-water mark
 * (plus one read), then stops reading the descriptor, and the kernel's pipe
 * buffer fills and blocks the writer. (`'data'` mode would not do: Node's
 * child_process resumes a paused `'data'` stream of a child that exits.)
 *
 * Write path: as the stream transport, the data is handed to the stream at
 * once when nothing is unsent, else copied into the transport's own queue
 * and flushed as one batch when the stream has taken everything before it;
 * the byte count behind flow control is exact for libuv-backed streams.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type * as stream from 'node:stream';
import * as tty from 'node:tty';
import { inspect } from 'node:util';
import { InvalidStateError } from '../errors.js';
import type { EventLoop } from '../loop.js';
import { checkFactory } from '../validate.js';
import {
  ConnState,
  checkProtocol,
  collectBytes,
  FAILED,
  isBufferedProtocol,
  nodeSystemError,
  TransportBase,
  toBuffer,
} from './base.js';
import { prepareForLargeReads } from './heap.js';
import type { AnyProtocol, Bytes, ReadTransport, WriteTransport } from './interfaces.js';
import { COPY_MAX } from './stream.js';

/** asyncio's warning for writes dropped after a write pipe closed. */
const LOST_WRITE_WARNING = 'pipe closed by peer or os.write(pipe, data) raised exception.';

/** Stream high-water mark for pipes we open ourselves: asyncio reads 256 KiB at most per event; Node 20 defaults to 16 KiB. */
const PIPE_HIGH_WATER = 64 * 1024;

// ---- opening a pipe ------------------------------------------------------------

/** What `connectReadPipe`/`connectWritePipe` accept. */
export type PipeLike = number | stream.Readable | stream.Writable;

function isReadable(p: unknown): p is stream.Readable {
  return (
    p !== null &&
    typeof p === 'object' &&
    typeof (p as stream.Readable).read === 'function' &&
    typeof (p as stream.Readable).on === 'function'
  );
}

function isWritable(p: unknown): p is stream.Writable {
  return (
    p !== null &&
    typeof p === 'object' &&
    typeof (p as stream.Writable).write === 'function' &&
    typeof (p as stream.Writable).end === 'function' &&
    typeof (p as stream.Writable).on === 'function'
  );
}

/** The kind of descriptor, from fstat: asyncio accepts FIFOs, sockets and character devices only. */
type FdKind = 'fifo' | 'socket' | 'tty' | 'chr';

function fdKind(fd: number, mode: 'r' | 'w'): FdKind {
  const st = fs.fstatSync(fd); // EBADF and friends pass through as Node's own errors
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return tty.isatty(fd) ? 'tty' : 'chr';
  // asyncio raises ValueError here (semantics 8.1): a TypeError for a wrong kind of argument.
  throw new TypeError(
    mode === 'r'
      ? 'Pipe transport is for pipes/sockets only.'
      : 'Pipe transport is only for pipes, sockets and character devices',
  );
}

function checkFd(fd: number): void {
  if (!Number.isInteger(fd))
    throw new TypeError(`pipe must be an integer file descriptor, got ${fd}`);
  if (fd < 0) throw new RangeError(`pipe must be a file descriptor >= 0, got ${fd}`);
}

/**
 * The Node stream over a descriptor. Sockets are opened readable on the
 * write side too: the reader closing makes them readable, which is how
 * asyncio's write pipe notices it (semantics 8.7).
 */
function openFd(fd: number, kind: FdKind, mode: 'r' | 'w'): stream.Readable | stream.Writable {
  switch (kind) {
    case 'fifo':
      return new net.Socket({ fd, readable: mode === 'r', writable: mode === 'w' });
    case 'socket':
      return new net.Socket({ fd, readable: true, writable: mode === 'w', allowHalfOpen: true });
    case 'tty':
      return mode === 'r' ? new tty.ReadStream(fd) : new tty.WriteStream(fd);
    case 'chr':
      // A non-terminal character device (/dev/null, /dev/zero, ...): libuv
      // cannot poll these, so they go through the thread pool. Node closes
      // the descriptor when the stream is destroyed (autoClose).
      return mode === 'r'
        ? fs.createReadStream('', { fd, highWaterMark: PIPE_HIGH_WATER })
        : fs.createWriteStream('', { fd });
  }
}

/** Validate a read-pipe argument and, for a descriptor, check its type (before the factory runs). */
function prepareRead(pipe: unknown): () => stream.Readable {
  if (typeof pipe === 'number') {
    checkFd(pipe);
    const kind = fdKind(pipe, 'r');
    return () => openFd(pipe, kind, 'r') as stream.Readable;
  }
  if (isReadable(pipe)) return () => pipe;
  throw new TypeError(
    `pipe must be a file descriptor or a stream.Readable, got ${inspect(pipe, { depth: 0 })}`,
  );
}

function prepareWrite(pipe: unknown): () => [stream.Writable, boolean] {
  if (typeof pipe === 'number') {
    checkFd(pipe);
    const kind = fdKind(pipe, 'w');
    return () => [openFd(pipe, kind, 'w') as stream.Writable, kind === 'socket'];
  }
  if (isWritable(pipe)) return () => [pipe, pipe instanceof net.Socket && pipe.readable];
  throw new TypeError(
    `pipe must be a file descriptor or a stream.Writable, got ${inspect(pipe, { depth: 0 })}`,
  );
}

/**
 * `loop.connectReadPipe`: bind a protocol to the read end of a pipe.
 * Resolves with `[transport, protocol]` after `connectionMade` ran.
 */
export async function connectReadPipe<P>(
  loop: EventLoop,
  protocolFactory: () => P,
  pipe: number | stream.Readable,
): Promise<[ReadTransport, P]> {
  checkFactory(protocolFactory);
  const open = prepareRead(pipe);
  const protocol = protocolFactory();
  checkProtocol(protocol);
  const s = open();
  let t!: ReadPipeTransport;
  await new Promise<void>((resolve) => {
    t = new ReadPipeTransport(loop, s, protocol as AnyProtocol, { onMade: resolve });
    loop._track(t); // now: connectionLost (which untracks) can only come later
  });
  return [t, protocol];
}

/**
 * `loop.connectWritePipe`: bind a protocol to the write end of a pipe.
 * Resolves with `[transport, protocol]` after `connectionMade` ran.
 */
export async function connectWritePipe<P>(
  loop: EventLoop,
  protocolFactory: () => P,
  pipe: number | stream.Writable,
): Promise<[WriteTransport, P]> {
  checkFactory(protocolFactory);
  const open = prepareWrite(pipe);
  const protocol = protocolFactory();
  checkProtocol(protocol);
  const [s, watchReader] = open();
  let t!: WritePipeTransport;
  await new Promise<void>((resolve) => {
    t = new WritePipeTransport(loop, s, protocol as AnyProtocol, { onMade: resolve, watchReader });
    loop._track(t);
  });
  return [t, protocol];
}

/** Construction options shared by both pipe transports. */
export interface PipeTransportInit {
  /** Called once connectionMade has run (resolves the creating promise). */
  onMade?: () => void;
  /** Extra info entries besides `pipe`. */
  extra?: Record<string, unknown>;
}

/** The descriptor behind a stream, for util.inspect. */
function fdOf(s: object): number | undefined {
  const fd = (s as any)._handle?.fd ?? (s as any).fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

// ---- read pipe -----------------------------------------------------------------

/**
 * Symbols under which a stream points back to its pipe transports (shared
 * listeners). Two, because one Duplex may serve as both ends.
 */
const kReadPipe = Symbol('protoloop.readPipe');
const kWritePipe = Symbol('protoloop.writePipe');

/**
 * The read end of a pipe (asyncio's `_UnixReadPipeTransport`).
 *
 * Call grammar of its protocol:
 * `connectionMade [-> dataReceived]* [-> eofReceived]? -> connectionLost`
 * (a BufferedProtocol gets `getBuffer`/`bufferUpdated` pairs instead of
 * `dataReceived`).
 * At EOF the transport is closing at once, `eofReceived()` is called (its
 * return value is ignored: a read pipe has nothing to keep open) and
 * `connectionLost(null)` follows on a later turn. A read error ends in
 * `connectionLost(err)` and is reported to the loop's exception handler
 * (`Fatal read error on pipe transport`), except `EIO` (a pty hang-up),
 * which is quiet, as in asyncio.
 */
export class ReadPipeTransport extends TransportBase implements ReadTransport {
  /** @internal */ readonly _stream: stream.Readable;
  #paused = false;
  /** Reading was started (after connectionMade). */
  #started = false;
  /** The stream reported its end while we were not reading. */
  #endPending = false;
  #eof = false;
  /** The protocol has getBuffer (decided when the protocol is set, not per chunk). */
  #buffered: boolean;

  /** @internal Instances come from `loop.connectReadPipe` and `loop.subprocessExec`. */
  constructor(
    loop: EventLoop,
    s: stream.Readable,
    protocol: AnyProtocol,
    init: PipeTransportInit = {},
  ) {
    super(loop, protocol);
    this._stream = s;
    this.#buffered = isBufferedProtocol(protocol);
    this._extra.pipe = s;
    Object.assign(this._extra, init.extra);
    (s as any)[kReadPipe] = this;
    // Listeners are attached now, synchronously: what arrives before
    // connectionMade waits in the stream (bounded by its high-water mark).
    s.on('readable', onReadable);
    s.on('end', onReadEnd);
    s.on('error', onReadError);
    s.on('close', onReadClose);
    this._scheduleConnectionMade(() => {
      this.#started = true;
      this._pull();
      init.onMade?.();
    });
  }

  protected get _kind(): string {
    return 'pipe';
  }

  /** True unless reading is paused or the transport is closing (also after EOF). */
  isReading(): boolean {
    return this._state === ConnState.OPEN && !this.#paused;
  }

  /**
   * Stop delivering data until `resumeReading()`. Idempotent; a no-op once
   * closing. What the stream already holds stays there; the writer blocks
   * once the stream and the kernel's pipe buffer are full.
   */
  pauseReading(): void {
    if (this._state !== ConnState.OPEN) return;
    this.#paused = true;
  }

  /** Resume delivering data, on a later turn (never from inside this call). Idempotent. */
  resumeReading(): void {
    if (this._state !== ConnState.OPEN || !this.#paused) return;
    this.#paused = false;
    if (this.#started) this._loop.callSoon(pullPipe, this);
  }

  /**
   * @internal Deliver what the stream holds while the protocol wants it.
   * `read()` returns everything buffered, at most the stream's high-water
   * mark plus one read; the chunks are fresh buffers the protocol owns.
   */
  _pull(): void {
    const s = this._stream;
    while (this._state === ConnState.OPEN && !this.#paused && this.#started) {
      const chunk: unknown = s.read();
      if (chunk === null) {
        if (this.#endPending) {
          this.#endPending = false;
          this._onEof();
        }
        return;
      }
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : toBuffer(chunk, 'pipe chunk');
      if (data.length === 0) continue;
      // Node's read buffers are young ArrayBuffers freed by the collector,
      // like a socket's regions: the same heap and collector settings help.
      if (data.length > COPY_MAX) prepareForLargeReads();
      if (this.#buffered) {
        if (!this._feedBuffered(data)) return;
      } else if (this._callData('dataReceived', 'data_received', data) === FAILED) {
        return;
      }
    }
  }

  protected override _protocolChanged(): void {
    this.#buffered = isBufferedProtocol(this._protocol);
  }

  /** @internal The writer closed its end. */
  _onEof(): void {
    if (this._state !== ConnState.OPEN || this.#eof) return;
    if (!this.#started || this.#paused) {
      // A stream may announce its end while we do not read (net.Socket
      // does, when nothing is buffered): EOF waits for reading, as data does.
      this.#endPending = true;
      return;
    }
    this.#eof = true;
    this._state = ConnState.CLOSING;
    // asyncio ignores eof_received's result: a read pipe closes at EOF.
    if (this._callData('eofReceived', 'eof_received') === FAILED) return;
    this._scheduleConnectionLost(null);
  }

  /** asyncio's read pipe reports every fatal error but EIO (a pty hang-up). */
  protected override _quietError(exc: Error): boolean {
    return (exc as NodeJS.ErrnoException).code === 'EIO';
  }

  /** @internal */
  _onError(err: Error): void {
    this._fatalError(err, 'Fatal read error on pipe transport');
  }

  /** @internal The stream closed under us (destroyed by its owner) without an EOF. */
  _onClose(): void {
    // After an EOF (delivered, or waiting for resumeReading) the close is expected.
    if (this._state >= ConnState.LOST_SCHEDULED || this.#eof || this.#endPending) return;
    this._forceClose(null);
  }

  /** Stop reading at once and close the pipe; `connectionLost(null)` follows on a later turn. Idempotent. */
  close(): void {
    if (this._state !== ConnState.OPEN) return;
    this._forceClose(null);
  }

  protected _stopIO(_discard: boolean): void {
    // Nothing more is delivered (every path checks the state); closing the
    // descriptor now lets the writer see EPIPE at once.
    this._stream.destroy();
  }

  protected _release(): void {
    this._stream.destroy();
  }

  /** A read pipe has no write side. @internal */
  getWriteBufferSize(): number {
    return 0;
  }

  protected override _describe(): string[] {
    const d = super._describe();
    const fd = fdOf(this._stream);
    if (fd !== undefined) d.push(`fd=${fd}`);
    if (this._state === ConnState.OPEN) d.push(this.#paused ? 'read=paused' : 'read=polling');
    return d;
  }
}

function pullPipe(t: ReadPipeTransport): void {
  t._pull();
}

// Shared listener functions with a back-reference, instead of closures per pipe.
function onReadable(this: stream.Readable): void {
  (this as any)[kReadPipe]?._pull();
}
function onReadEnd(this: stream.Readable): void {
  (this as any)[kReadPipe]?._onEof();
}
function onReadError(this: stream.Readable, err: Error): void {
  (this as any)[kReadPipe]?._onError(err);
}
function onReadClose(this: stream.Readable): void {
  (this as any)[kReadPipe]?._onClose();
}

// ---- write pipe ----------------------------------------------------------------

/** Construction options of a write pipe. */
export interface WritePipeTransportInit extends PipeTransportInit {
  /**
   * The stream is a socket that can be read: its becoming readable (EOF or
   * data) means the reader went away, as asyncio's write pipe assumes.
   */
  watchReader?: boolean;
}

/**
 * The write end of a pipe (asyncio's `_UnixWritePipeTransport`), with write
 * flow control (64 KiB / 16 KiB watermarks, as every transport).
 *
 * Call grammar of its protocol:
 * `connectionMade [-> pauseWriting -> resumeWriting]* -> connectionLost`.
 *
 * `writeEof()` and `close()` both flush, then close the pipe (the reader
 * sees EOF) and call `connectionLost(null)`; `write()` after `writeEof()`
 * throws, a write after `close()` or after the connection is lost is
 * dropped (asyncio's warning from the 5th). The reader closing its end ends
 * the transport with `connectionLost(err)` (`EPIPE`) when data was still
 * unsent, else `connectionLost(null)`: noticed at once for a child's stdin
 * and for sockets, at the next write for a FIFO (Node cannot poll a
 * write-only descriptor).
 */
export class WritePipeTransport extends TransportBase implements WriteTransport {
  /** @internal */ readonly _stream: stream.Writable;
  /** Bytes queued in the transport, not yet given to the stream (copies). */
  #queue: Buffer[] = [];
  #queued = 0;
  /** Sizes of the writes handed to the stream whose callback has not run, in order. */
  #inflight: number[] = [];
  #inflightBytes = 0;
  /** Bytes handed over when the stream was destroyed under us (their fate is unknown). */
  #lostInStream = false;
  #eofWritten = false;
  /** close() was graceful: release by ending the stream, not by destroying it. */
  #graceful = false;

  /** @internal Instances come from `loop.connectWritePipe` and `loop.subprocessExec`. */
  constructor(
    loop: EventLoop,
    s: stream.Writable,
    protocol: AnyProtocol,
    init: WritePipeTransportInit = {},
  ) {
    super(loop, protocol);
    this._stream = s;
    this._extra.pipe = s;
    Object.assign(this._extra, init.extra);
    (s as any)[kWritePipe] = this;
    s.on('error', onWriteError);
    s.on('close', onWriteClose);
    if (init.watchReader) {
      s.on('readable', onReaderActivity);
      s.on('end', onReaderActivity);
    }
    this._scheduleConnectionMade(init.onMade);
  }

  protected get _kind(): string {
    return 'pipe';
  }

  /** Bytes not yet taken by the kernel: the transport's queue plus what the stream holds. */
  getWriteBufferSize(): number {
    return this.#queued + this.#unsentInStream();
  }

  /**
   * Unsent bytes inside the stream. For libuv streams (`net.Socket`, `tty`),
   * libuv's `writeQueueSize` is exact (`writableLength` counts a partly sent
   * chunk in full); other streams count what they hold. Exact only because
   * the stream never holds more than the one write in flight (see
   * {@link #canHandOver}).
   */
  #unsentInStream(): number {
    const h = (this._stream as any)._handle;
    if (h != null && typeof h.writeQueueSize === 'number') return h.writeQueueSize;
    return this._stream.writableLength ?? 0;
  }

  /**
   * True when the stream holds nothing at all, so a new write goes straight
   * to the kernel. `writeQueueSize` alone is not enough: when libuv writes a
   * request in full it reports the completion on the next loop iteration,
   * and until then Node's Writable holds every further write in its own
   * buffer, which `writeQueueSize` does not count.
   */
  #canHandOver(): boolean {
    return this.#queued === 0 && (this._stream.writableLength ?? 0) === 0;
  }

  /**
   * Write bytes: handed to the stream at once when nothing is unsent, else
   * copied into the queue. May call `pauseWriting()` synchronously. Throws
   * after `writeEof()`; dropped (and counted) after `close()` or loss.
   */
  write(data: Bytes): void {
    const buf = toBuffer(data);
    this.#checkWritable('write');
    if (buf.length === 0) return;
    if (!this.#acceptsWrites()) return;
    if (this.#canHandOver()) {
      this.#handOver(buf);
    } else {
      this.#queue.push(Buffer.from(buf));
      this.#queued += buf.length;
    }
    this._maybePauseProtocol();
  }

  /** Write every item, as one batch. */
  writelines(list: Iterable<Bytes>): void {
    const { bufs, total } = collectBytes(list);
    this.#checkWritable('writelines');
    if (total === 0) return;
    if (!this.#acceptsWrites()) return;
    if (this.#canHandOver()) {
      if (bufs.length === 1) this.#handOver(bufs[0]!);
      else this.#handOver(Buffer.concat(bufs, total), true);
    } else {
      this.#queue.push(Buffer.concat(bufs, total));
      this.#queued += total;
    }
    this._maybePauseProtocol();
  }

  #checkWritable(method: 'write' | 'writelines'): void {
    if (this.#eofWritten) throw new InvalidStateError(`Cannot call ${method}() after write_eof()`);
  }

  /** False (and the write counted as dropped) once closing or lost, as asyncio's write pipe. */
  #acceptsWrites(): boolean {
    if (this._state === ConnState.OPEN && !this._stream.destroyed) return true;
    if (this._state === ConnState.OPEN) {
      // The stream was destroyed under us (Node destroys a child's stdin
      // when the child exits) and its 'close' is still to come: these bytes
      // cannot be delivered, a broken pipe.
      this.#lostInStream = true;
      this._onReaderGone();
    }
    this._countLostWrite(LOST_WRITE_WARNING);
    return false;
  }

  /**
   * Give bytes to the stream; one shared completion callback, sizes kept in
   * order. The caller's bytes are copied (asyncio semantics 1.4: the caller
   * may reuse its buffer once write() returns), because a stream that does
   * not take everything at once keeps a reference to what it was given.
   * Queue flushes are our own copies already.
   */
  #handOver(buf: Buffer, owned = false): void {
    if (!owned) buf = Buffer.from(buf);
    this.#inflight.push(buf.length);
    this.#inflightBytes += buf.length;
    this._stream.write(buf, this.#onWritten);
  }

  /**
   * Completion of a stream write (in order). Errors also arrive through the
   * stream's 'error' event and are handled there. Node completes pending
   * writes "successfully" when a stream is destroyed; those bytes are
   * remembered as possibly lost.
   */
  #onWritten = (err?: Error | null): void => {
    const n = this.#inflight.shift() ?? 0;
    this.#inflightBytes -= n;
    if (err || this._stream.destroyed) {
      if (n > 0) this.#lostInStream = true;
      return;
    }
    if (this._state >= ConnState.LOST_SCHEDULED) return;
    if (this.#queued > 0 && (this._stream.writableLength ?? 0) === 0) this.#flushQueue();
    this._maybeResumeProtocol();
    this.#afterDrainCheck();
  };

  /** Hand the whole queue to the stream as one write. */
  #flushQueue(): void {
    const q = this.#queue;
    const total = this.#queued;
    this.#queue = [];
    this.#queued = 0;
    this.#handOver(q.length === 1 ? q[0]! : Buffer.concat(q, total), true);
  }

  /** With everything sent, a pending close()/writeEof() completes. */
  #afterDrainCheck(): void {
    if (this._state === ConnState.CLOSING && this.getWriteBufferSize() === 0) {
      this.#graceful = true;
      this._scheduleConnectionLost(null);
    }
  }

  /**
   * Flush, then close the pipe: the reader sees EOF and `connectionLost(null)`
   * follows (asyncio: `write_eof()` means close after flush). `write()` throws
   * afterwards. Idempotent.
   */
  writeEof(): void {
    if (this._state !== ConnState.OPEN) return;
    this.#eofWritten = true;
    this.close();
  }

  /** True: a write pipe can always signal EOF by closing. */
  canWriteEof(): boolean {
    return true;
  }

  /** Flush buffered data, then close the pipe; `connectionLost(null)` follows once. Idempotent. */
  close(): void {
    if (this._state !== ConnState.OPEN) return;
    this._state = ConnState.CLOSING;
    this.#afterDrainCheck();
  }

  /** Close at once, dropping buffered data; `connectionLost(null)` follows once. */
  abort(): void {
    this._forceClose(null);
  }

  /** @internal */
  _onError(err: Error): void {
    const syscall = (err as NodeJS.ErrnoException).syscall;
    const what = syscall === 'read' ? 'read' : 'write';
    this._fatalError(err, `Fatal ${what} error on pipe transport`);
  }

  /**
   * @internal The reader went away (asyncio's write pipe `_read_ready`):
   * `connectionLost(EPIPE)` if data was unsent, else `connectionLost(null)`.
   */
  _onReaderGone(): void {
    if (this._state >= ConnState.LOST_SCHEDULED) return;
    const pending = this.#queued > 0 || this.#inflightBytes > 0 || this.#lostInStream;
    this._forceClose(pending ? nodeSystemError('EPIPE', 'write') : null);
  }

  protected _stopIO(discard: boolean): void {
    if (!discard) return;
    this.#queue = [];
    this.#queued = 0;
    this._stream.destroy();
  }

  protected _release(): void {
    const s = this._stream;
    if (this.#graceful && !s.destroyed && !(s instanceof net.Socket)) {
      // A plain Writable (a file stream, a user's stream) learns of the end
      // through end(); it closes itself after 'finish'.
      s.end();
      return;
    }
    // Everything was taken by the kernel: closing the descriptor is the EOF.
    s.destroy();
  }

  protected override _describe(): string[] {
    const d = super._describe();
    const fd = fdOf(this._stream);
    if (fd !== undefined) d.push(`fd=${fd}`);
    d.push(`write=<bufsize=${this.getWriteBufferSize()}>`);
    return d;
  }
}

function onWriteError(this: stream.Writable, err: Error): void {
  (this as any)[kWritePipe]?._onError(err);
}
function onWriteClose(this: stream.Writable): void {
  (this as any)[kWritePipe]?._onReaderGone();
}
function onReaderActivity(this: stream.Writable): void {
  (this as any)[kWritePipe]?._onReaderGone();
}
