/**
 * One stream transport over a Node `net.Socket` (TCP, Unix, accepted sockets,
 * and `tls.TLSSocket`, which is a `net.Socket`): asyncio's
 * `_SelectorSocketTransport` semantics on Node's handles.
 *
 * Read path, chosen once per socket: sockets that protoloop creates (client
 * connections and accepted connections) read with Node's `onread` into
 * memory the transport hands out (see {@link ReadHook}); a socket the user
 * passes in (`sock`) is read through `'data'` events, whose chunks Node
 * allocates afresh per read and so are already owned.
 *
 * Small reads (at most {@link COPY_MAX} bytes) land in one shared scratch
 * buffer and are copied into a shared slab; larger ones go straight into the
 * connection's own region. Either way `dataReceived` gets bytes nobody will
 * write into again, and an idle connection holds no read buffer.
 *
 * Write path: when nothing is unsent, write at once with one write(2) on the
 * socket's descriptor ({@link StreamTransport.write}); a tail the kernel did
 * not take is copied and handed to the socket, and later writes are copied
 * into the transport's own queue, flushed as one vectored write when the
 * kernel has taken everything before it. The transport keeps the byte
 * counts, so flow control is exact to the byte.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import process from 'node:process';
import { getSystemErrorName, inspect } from 'node:util';
import { InvalidStateError } from '../errors.js';
import type { EventLoop } from '../loop.js';
import {
  asError,
  ConnState,
  collectBytes,
  FAILED,
  isBufferedProtocol,
  nodeSystemError,
  TransportBase,
  toBuffer,
} from './base.js';
import { prepareForLargeReads } from './heap.js';
import type { AnyProtocol, Bytes, Transport } from './interfaces.js';

/** asyncio reads at most 256 KiB per readiness event (max_size); so do we. */
export const MAX_READ = 256 * 1024;
/** The first region a connection reads into once it reads more than COPY_MAX at a time. */
const MIN_REGION = 16 * 1024;
/**
 * Reads of at most this many bytes are copied out of the shared scratch
 * buffer into the shared copy slab instead of going into a region of the
 * connection's own. Copying a few KiB costs about what carving a region view
 * costs (measured: 130-230 ns per read either way), and it means a
 * connection exchanging small messages, or idle after them, holds no read
 * region at all: memory per idle connection stays that of a raw Node socket.
 */
export const COPY_MAX = 4 * 1024;
/** After this many small reads in a row, a connection gives its region up. */
const SMALL_READS_TO_DROP = 4;
/** Size of the shared slab that small reads are copied into. */
const COPY_SLAB = 64 * 1024;

/**
 * One shared buffer that every connection's *first* read lands in. Safe to
 * share because libuv calls the read callback synchronously after each
 * read() and the callback copies the bytes out before any other socket can
 * read: JavaScript runs one read callback at a time. It keeps idle
 * connections from each reserving a region of their own (memory per idle
 * connection stays that of a raw Node socket).
 */
const scratch = Buffer.allocUnsafeSlow(MAX_READ);

/**
 * The slab small reads are copied into: consecutive, never-reused slices,
 * as Node's own Buffer pool hands out (a slice keeps its slab alive, so the
 * slab is small). Shared by all connections; JavaScript runs one read
 * callback at a time.
 */
let copySlab = Buffer.allocUnsafeSlow(COPY_SLAB);
let copyPos = 0;
/** A view of the start of `scratch`, remade only when the read size changes. */
let scratchView = new Uint8Array(0);

/** Copy `n` bytes from the start of `scratch` into a fresh, owned slice. */
function copyOut(n: number): Buffer {
  if (n > COPY_MAX) {
    const big = Buffer.allocUnsafe(n);
    scratch.copy(big, 0, 0, n);
    return big;
  }
  if (copyPos + n > COPY_SLAB) {
    copySlab = Buffer.allocUnsafeSlow(COPY_SLAB);
    copyPos = 0;
  }
  const pos = copyPos;
  if (scratchView.length !== n) scratchView = new Uint8Array(scratch.buffer, scratch.byteOffset, n);
  copySlab.set(scratchView, pos);
  // Keep slices 8-byte aligned, as Node's pool does.
  copyPos = (pos + n + 7) & ~7;
  return Buffer.from(copySlab.buffer, copySlab.byteOffset + pos, n);
}

/**
 * Node's stream-write binding (`process.binding('stream_wrap')`: the
 * `WriteWrap` request class and the shared state array that reports how a
 * write went), for writing small messages with the socket handle's own
 * `writeBuffer` (see {@link StreamTransport.write}). Null where it is
 * missing or different, and where asking for it would print a deprecation
 * warning (`--pending-deprecation`): writes then use `fs.writeSync`.
 */
interface StreamWrap {
  WriteWrap: new () => object;
  state: Int32Array;
  kLastWriteWasAsync: number;
}
function streamWrap(): StreamWrap | null {
  const pending =
    process.execArgv.some((a) => a.startsWith('--pending-deprecation')) ||
    /--pending-deprecation/.test(process.env.NODE_OPTIONS ?? '') ||
    process.env.NODE_PENDING_DEPRECATION === '1';
  const binding = (process as { binding?: (name: string) => unknown }).binding;
  if (pending || typeof binding !== 'function') return null;
  try {
    const b = binding.call(process, 'stream_wrap') as any;
    if (
      typeof b.WriteWrap === 'function' &&
      b.streamBaseState instanceof Int32Array &&
      typeof b.kLastWriteWasAsync === 'number'
    ) {
      return {
        WriteWrap: b.WriteWrap,
        state: b.streamBaseState,
        kLastWriteWasAsync: b.kLastWriteWasAsync,
      };
    }
  } catch {
    // Not available on this Node: fall back.
  }
  return null;
}
const SW = streamWrap();
/**
 * Writes of at most this many bytes go through the handle's writeBuffer,
 * from a staged copy. Measured (A/B, 10 KiB echo): 16 KiB instead of 4 KiB
 * gave BufferedProtocol 1.05x the req/s (user CPU 4.10 -> 3.54 us per
 * request) and Protocol 1.07x: the copy of a message that size costs less
 * than `fs.writeSync`'s overhead. At 100 KiB a 64 KiB stage changed nothing.
 */
export const STAGE_MAX = 16 * 1024;
/**
 * The staging buffer small writes are copied into before `writeBuffer`:
 * shared, since the copy is written at once; when libuv keeps part of it for
 * later (the kernel did not take everything), it is given to that write
 * and a new one is made.
 */
let stage = Buffer.allocUnsafeSlow(STAGE_MAX);
/**
 * The request object every handle write passes. A write the kernel takes
 * whole never touches it, so one serves all connections (a request per
 * connection would add its size to every idle connection); a write libuv
 * keeps takes it, with its callback, and a new one is made.
 */
let sharedReq: any = SW === null ? null : new SW.WriteWrap();

/** `oncomplete` of a kept handle write; `this` is its request. */
function onHandleWritten(this: any, status: number): void {
  const t: StreamTransport = this.transport;
  this.transport = null;
  this.buffer = null;
  t._handleWritten(status);
}
let stageView = new Uint8Array(0);

/** A libuv error code as Node reports it (`write EPIPE`, code, errno, syscall). */
function uvError(err: number, syscall: string): Error {
  return nodeSystemError(getSystemErrorName(err), syscall);
}

/** Node's handle classes that are plain stream sockets (TLSWrap, JSStream... are not). */
const RAW_HANDLES = new Set(['TCP', 'Pipe']);

/** True for errno codes that mean "the kernel's send buffer is full, try later". */
function wouldBlock(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

/**
 * The `onread` option for a socket protoloop creates, bound to its transport
 * once that exists. Node calls `buffer()` once when the handle is set up and
 * again after every read (for the next read), and `callback(n, buf)` after
 * every read with the buffer the bytes went into.
 */
export class ReadHook {
  /** @internal */ _t: StreamTransport | null = null;
  readonly onread: net.OnReadOpts = {
    buffer: (): Uint8Array => (this._t === null ? scratch : this._t._nextReadBuffer()),
    callback: (n: number, buf: Uint8Array): boolean =>
      this._t === null ? false : this._t._onRead(n, buf),
  };
}

/** Construction options of a stream transport. */
export interface StreamTransportInit {
  /** Present when the socket was created with this hook's `onread`. */
  readHook?: ReadHook | null;
  /** Extra info entries that override what is read from the socket. */
  extra?: Record<string, unknown>;
  /**
   * The socket's local address when the caller knows it without a system
   * call (a listener bound to one address); shared, copied when asked for.
   */
  knownSockname?: readonly [string, number] | null;
  /** Called once connectionMade has run (resolves the creating promise). */
  onMade?: () => void;
  /**
   * Do not start the connection in the constructor: the owner calls
   * `_begin()` later (TLS: once the handshake is done).
   */
  deferStart?: boolean;
}

/** A socket's address as asyncio reports it: `[host, port]`, or a path for Unix sockets. */
function addressOf(info: net.AddressInfo | string | {} | null | undefined): unknown {
  if (info === null || info === undefined) return undefined;
  if (typeof info === 'string') return info;
  const a = info as Partial<net.AddressInfo>;
  if (typeof a.address === 'string' && typeof a.port === 'number') return [a.address, a.port];
  return undefined;
}

/** The stream transport. Instances come from the loop's create* methods. */
export class StreamTransport extends TransportBase implements Transport {
  /** @internal */ readonly _sock: net.Socket;
  #hook: ReadHook | null;
  /** True when the current protocol has getBuffer (decided at setProtocol, not per read). */
  #buffered: boolean;
  /** The connection's own read region (onread path); null while reads go to scratch. */
  #region: Uint8Array | null = null;
  #regionWant = MIN_REGION;
  /** Consecutive reads of at most COPY_MAX bytes into the region. */
  #smallReads = 0;
  /** The protocol buffer handed to Node for the next read, and whose it is. */
  #protoBuf: Uint8Array | null = null;
  #protoBufOwner: object | null = null;
  /** pauseReading() is in effect. */
  #paused = false;
  /** Reading was started (after connectionMade). */
  #started = false;
  #eofReceived = false;
  #eofWritten = false;
  #endCalled = false;
  /** Bytes queued in the transport, not yet given to the socket (copies). */
  #queue: Buffer[] = [];
  #queued = 0;
  /**
   * The socket's descriptor for direct writes, and the handle it belongs to;
   * -1 when the socket is not a plain TCP/Unix socket (TLS, a JS stream) or
   * on Windows. See {@link StreamTransport.write}.
   */
  #fd = -1;
  #handle: object | null = null;
  /** @internal Set while loop.sendfile() owns the transport. */
  _sendfileActive = false;
  /**
   * @internal Set by startTls(): the TLS transport that took over this
   * connection; close() and abort() on this (retired) transport reach it.
   */
  _upgradedTo: { close(): void; abort(): void } | null = null;
  /**
   * @internal Set by a subclass that has shut the write side while closing
   * (TLS: close_notify and FIN sent, the transport waits for the peer's).
   * Writes are dropped from then on, as after the connection is lost;
   * handing them to the ended socket would fail with "write after end".
   */
  _writeShut = false;
  /**
   * Unsent bytes are counted by the socket's Writable (`writableLength`), not
   * by libuv: true for TLS sockets, whose handle's `writeQueueSize` counts
   * encrypted bytes, TLS records included (handshake and session tickets).
   */
  readonly #appLevelCount: boolean;
  #onMade: (() => void) | null;

  constructor(
    loop: EventLoop,
    sock: net.Socket,
    protocol: AnyProtocol,
    init: StreamTransportInit = {},
  ) {
    super(loop, protocol);
    this._sock = sock;
    this.#buffered = isBufferedProtocol(protocol);
    this.#hook = init.readHook ?? null;
    if (this.#hook !== null) this.#hook._t = this;
    this.#appLevelCount = (sock as { encrypted?: unknown }).encrypted === true;
    this.#onMade = init.onMade ?? null;
    this.#foreignWrites = sock.writableLength > 0;
    this.#knownSockname = init.knownSockname ?? null;

    this._extra.socket = sock;
    Object.assign(this._extra, init.extra);
    if (this._extra.peername === undefined) {
      this.#peerHost = sock.remoteAddress;
      this.#peerPort = sock.remotePort;
    }
    // TCP_NODELAY (semantics 1.24); a no-op on Unix sockets, whose handles
    // have no setNoDelay.
    sock.setNoDelay(true);

    // Reading starts after connectionMade, never before (semantics 10.6).
    sock.pause();
    sock.on('end', onEnd);
    sock.on('error', onError);
    sock.on('close', onClose);
    if (this.#hook === null) sock.on('data', onData);
    (sock as any)[kTransport] = this;
    const h = (sock as any)._handle;
    if (
      process.platform !== 'win32' &&
      h != null &&
      RAW_HANDLES.has(h.constructor?.name) &&
      typeof h.fd === 'number' &&
      h.fd >= 0
    ) {
      this.#fd = h.fd;
      this.#handleWrites = SW !== null && typeof h.writeBuffer === 'function';
      this.#handle = h;
    }

    loop._track(this);
    if (!init.deferStart) this._begin(true);
  }

  /**
   * @internal Start the connection: `connectionMade` (unless `callMade` is
   * false: after startTls() the protocol already had it), then reading, then
   * the `onMade` hook; all on a later turn, never from the caller's stack.
   */
  _begin(callMade: boolean): void {
    const start = (): void => {
      this.#started = true;
      if (this._state === ConnState.OPEN && !this.#paused) this._sock.resume();
      const onMade = this.#onMade;
      this.#onMade = null;
      onMade?.();
    };
    if (callMade) this._scheduleConnectionMade(start);
    else
      this._loop.callSoon(() => {
        if (this._state !== ConnState.LOST) start();
      });
  }

  /**
   * @internal For tests: which of the paths that rest on Node internals this
   * transport takes. `read`: 'onread' when the socket reads through our
   * {@link ReadHook}, 'data' for 'data' events. `write`: 'direct' when
   * write() can call write(2) on the socket's descriptor, 'socket' when it
   * hands bytes to `socket.write()`. `count`: what the unsent byte count
   * inside the socket is read from (libuv's exact `writeQueueSize`, or
   * Node's `writableLength`).
   */
  _paths(): { read: 'onread' | 'data'; write: 'handle' | 'direct' | 'socket'; count: string } {
    const h = (this._sock as any)._handle;
    return {
      read: this.#hook !== null ? 'onread' : 'data',
      write: this.#handleWrites ? 'handle' : this.#fd >= 0 ? 'direct' : 'socket',
      count:
        !this.#appLevelCount && h != null && typeof h.writeQueueSize === 'number'
          ? 'writeQueueSize'
          : 'writableLength',
    };
  }

  protected get _kind(): string {
    return 'socket';
  }

  /**
   * The tuples `sockname` and `peername` are built when first asked for (or
   * when the socket is about to close, so they stay readable after
   * connectionLost), not in the constructor: an idle connection keeps only
   * the peer's host string and port, about 300 bytes of heap less. The peer
   * is read at once all the same, because after a reset the kernel no
   * longer knows it (getsockname keeps working until the descriptor closes).
   */
  #namesResolved = false;
  #knownSockname: readonly [string, number] | null;
  #peerHost: string | undefined;
  #peerPort: number | undefined;

  /** @internal Read `sockname`/`peername` from the socket once (getsockname/getpeername). */
  _resolveNames(): void {
    if (this.#namesResolved) return;
    this.#namesResolved = true;
    const sock = this._sock;
    const known = this.#knownSockname;
    if (this._extra.sockname === undefined && known !== null) {
      this._extra.sockname = [known[0], known[1]];
    } else if (this._extra.sockname === undefined) {
      try {
        const v = addressOf(sock.address());
        if (v !== undefined) this._extra.sockname = v;
      } catch {
        // getsockname failed: asyncio reports None.
      }
    }
    if (this._extra.peername === undefined) {
      const host = this.#peerHost;
      const port = this.#peerPort;
      if (typeof host === 'string' && typeof port === 'number') this._extra.peername = [host, port];
    }
  }

  override getExtraInfo(name: string, defaultValue?: unknown): unknown {
    if (name === 'sockname' || name === 'peername') this._resolveNames();
    return super.getExtraInfo(name, defaultValue);
  }

  // ---- reading ----------------------------------------------------------------

  isReading(): boolean {
    return this._state === ConnState.OPEN && !this.#paused;
  }

  pauseReading(): void {
    if (this._state !== ConnState.OPEN || this.#paused) return;
    this.#paused = true;
    this._sock.pause();
  }

  resumeReading(): void {
    if (this._state !== ConnState.OPEN || !this.#paused) return;
    this.#paused = false;
    if (this.#started && !this.#eofReceived) this._sock.resume();
  }

  protected override _protocolChanged(): void {
    this.#buffered = isBufferedProtocol(this._protocol);
  }

  /**
   * @internal The buffer Node reads into next. For a BufferedProtocol that is
   * the protocol's own buffer (zero copy); otherwise the connection's region.
   * Called by Node right after `_onRead` returns.
   */
  _nextReadBuffer(): Uint8Array {
    this.#protoBuf = null;
    if (this.#buffered && this._state === ConnState.OPEN && this.#started && !this.#paused) {
      const buf = this.#protocolBuffer();
      if (buf !== null) {
        this.#protoBuf = buf;
        this.#protoBufOwner = this._protocol;
        return buf;
      }
    }
    return this.#region ?? scratch;
  }

  /** The last `getBuffer()` result that passed validation, and the buffer made of it. */
  #gotBuffer: unknown = null;
  #gotView: Uint8Array | null = null;

  /**
   * `getBuffer(-1)` for the next read, validated as `_getProtocolBuffer`
   * does. A protocol that returns the same object on every call (the usual
   * case) is validated once: only its length is checked again, since a view
   * of a resizable buffer can shrink to nothing. The method is called
   * directly, not through `_callData`, whose property load by name is shared
   * by every callback and so is slow in this, the hottest, call.
   */
  #protocolBuffer(): Uint8Array | null {
    const p = this._protocol;
    let r: unknown;
    try {
      r = (p as { getBuffer(sizehint: number): unknown }).getBuffer(-1);
    } catch (exc) {
      this._fatalError(asError(exc), 'Fatal error: protocol.get_buffer() call failed.');
      return null;
    }
    if (r === this.#gotBuffer && this.#gotView!.length !== 0) return this.#gotView;
    const buf = this._checkProtocolBuffer(r);
    this.#gotBuffer = buf === null ? null : r;
    this.#gotView = buf;
    return buf;
  }

  /**
   * @internal `onread` callback: `n` bytes are at the start of `buf`.
   * Returning false makes Node stop reading. Node calls `_nextReadBuffer`
   * right after this returns, for the next read.
   */
  _onRead(n: number, buf: Uint8Array): boolean {
    if (this._state !== ConnState.OPEN || this.#paused) {
      // Reading is stopped synchronously on pause and close, so this only
      // happens when a read was already in Node's hands; like asyncio after
      // close(), nothing is delivered.
      return false;
    }
    let data: Buffer;
    if (buf === this.#protoBuf && this.#protoBufOwner === this._protocol) {
      // Zero copy: the bytes are already in the protocol's buffer. Called
      // directly, as dataReceived below (same guard as _callData).
      const p = this._protocol;
      try {
        if (typeof p.bufferUpdated === 'function') p.bufferUpdated(n);
      } catch (exc) {
        this._fatalError(asError(exc), 'Fatal error: protocol.buffer_updated() call failed.');
      }
      return this._state === ConnState.OPEN && !this.#paused;
    } else if (buf === scratch) {
      // A small read, or the first read after a quiet spell: copy out before
      // any other connection's read reuses scratch (JavaScript runs one read
      // callback at a time, so nothing can read into it before this returns).
      data = copyOut(n);
      if (n > COPY_MAX) {
        // Busy with large reads: the next read goes into a region of our own,
        // room for a few reads like this one.
        this.#regionWant = Math.max(MIN_REGION, Math.min(MAX_READ, n * 4));
        prepareForLargeReads();
        this.#region = Buffer.allocUnsafeSlow(this.#regionWant);
        this.#smallReads = 0;
      }
    } else if (buf === this.#region) {
      // Hand out [0, n) of the region, owned by the receiver; the region
      // moves past it so those bytes are never read into again.
      const region = buf;
      data = Buffer.from(region.buffer, region.byteOffset, n);
      // Small reads in a row mean the connection went back to small messages
      // (one small read alone is often the tail of a large message): drop the
      // region, so that an idle connection keeps none (its unused rest is
      // freed with the slices already given out).
      this.#smallReads = n <= COPY_MAX ? this.#smallReads + 1 : 0;
      if (this.#smallReads >= SMALL_READS_TO_DROP) {
        this.#region = null;
      } else {
        // Grow while reads are large relative to the region (a full read
        // may have more behind it), then keep room for a read like this one,
        // so that messages are not split across regions.
        if (n === region.length || n * 4 > this.#regionWant) {
          this.#regionWant = Math.min(MAX_READ, this.#regionWant * 2);
        }
        const rest = region.length - n;
        this.#region =
          rest < Math.max(n, this.#regionWant >> 2)
            ? Buffer.allocUnsafeSlow(this.#regionWant)
            : new Uint8Array(region.buffer, region.byteOffset + n, rest);
      }
    } else {
      // A protocol buffer handed out before setProtocol() switched protocols.
      data = Buffer.from(Buffer.from(buf.buffer, buf.byteOffset, n));
    }
    if (this.#buffered) {
      this._deliver(data);
    } else {
      // dataReceived called directly (the hot path): same guard as _callData.
      const p = this._protocol;
      if (typeof p.dataReceived === 'function') {
        try {
          p.dataReceived(data);
        } catch (exc) {
          this._fatalError(asError(exc), 'Fatal error: protocol.data_received() call failed.');
        }
      }
    }
    return this._state === ConnState.OPEN && !this.#paused;
  }

  /** @internal Deliver owned bytes to the current protocol (both read paths). */
  _deliver(data: Buffer): void {
    if (!this.#buffered) {
      this._callData('dataReceived', 'data_received', data);
      return;
    }
    this._feedBuffered(data);
  }

  /** @internal EOF from the peer. */
  _onEof(): void {
    if (this._state !== ConnState.OPEN || this.#eofReceived) return;
    this.#eofReceived = true;
    const keepOpen = this._callData('eofReceived', 'eof_received');
    if (keepOpen === FAILED) return;
    if (!keepOpen) this.close();
  }

  // ---- writing ----------------------------------------------------------------

  /** Bytes not yet handed to the kernel: our queue plus libuv's unsent bytes. */
  getWriteBufferSize(): number {
    // Nothing is in the socket while every write handed to it has called
    // back (cheap to know); otherwise ask libuv for the exact unsent count.
    return this.#queued + (this.#socketIdle() ? 0 : this.#unsentInSocket());
  }

  /**
   * Unsent bytes inside the socket. libuv's `write_queue_size` (exposed on
   * the handle as `writeQueueSize`, updated synchronously by every write) is
   * exact; `writableLength` counts a partly sent chunk in full, so it is only
   * the fallback for handles without the field. On TLS sockets the handle's
   * count is in encrypted bytes and includes the TLS layer's own records, so
   * there the application-level `writableLength` is the right measure: a
   * chunk counts until all of its records reached the kernel.
   */
  #unsentInSocket(): number {
    if (this.#appLevelCount) return this._sock.writableLength;
    const h = (this._sock as any)._handle;
    if (h != null && typeof h.writeQueueSize === 'number') return h.writeQueueSize;
    return this._sock.writableLength;
  }

  /**
   * True when the socket has no write in progress at all. Not the same as
   * "nothing unsent": libuv lowers writeQueueSize as soon as the kernel takes
   * the bytes, but reports the completion one loop phase later, and until
   * then Node's Writable would buffer a new write behind the old one, out of
   * our count. So the transport hands bytes to the socket only when Node holds
   * none (every write it handed over has called back, {@link #sockWrites});
   * the socket then never buffers our data and writeQueueSize stays the
   * exact unsent count.
   */
  #socketIdle(): boolean {
    if (this.#sockWrites !== 0) return false;
    if (this.#foreignWrites) {
      if (this._sock.writableLength !== 0) return false;
      this.#foreignWrites = false;
    }
    return true;
  }

  /**
   * Writes handed to the socket whose callback has not run yet: while there
   * are none, Node holds none of our bytes. Counted here rather than read
   * from `writableLength` on every write: that getter is shared by every
   * stream class in the process, so its property load is megamorphic, and
   * it was a measurable part of the per-message cost.
   */
  #sockWrites = 0;
  /** The socket came with writes of someone else's pending: ask Node until it holds none. */
  #foreignWrites: boolean;

  /**
   * Write at once when nothing is unsent, else copy into the queue.
   *
   * The direct write: one `fs.writeSync` (write(2)) on the socket's
   * descriptor. Preconditions, checked: the socket is a plain TCP or Unix
   * socket (its handle is Node's `TCP` or `Pipe`, not TLS), nothing is
   * queued here or in Node (no socket write pending, so the bytes cannot
   * overtake earlier ones), and the handle is still the one the descriptor
   * came from (Node sets `_handle` to null when it closes the socket, so a
   * descriptor number reused by another file is never written to). What
   * the kernel does not take is copied and given to the socket, so the
   * caller may reuse its buffer as soon as write() returns (semantics 1.4)
   * without a copy in the common case where the kernel takes everything.
   * It also skips the stream machinery Node runs per `socket.write()` (a
   * write request object and a next-tick callback).
   */
  write(data: Bytes): void {
    const buf = toBuffer(data);
    if (this.#eofWritten || this._sendfileActive) this.#checkWritable('write');
    if (buf.length === 0) return;
    if (this._state >= ConnState.LOST_SCHEDULED || this._writeShut) {
      this._countLostWrite();
      return;
    }
    // CLOSING still accepts writes: asyncio appends them and flushes them
    // before connectionLost (semantics 1.7).
    if (this.#queued !== 0 || !this.#socketIdle()) {
      this.#enqueue(buf);
    } else if (this.#handleWrites && buf.length <= STAGE_MAX) {
      if (this.#handleWrite(buf) <= 0) return; // all sent, or failed
    } else if (this.#fd >= 0) {
      const sent = this.#writeNow(buf);
      if (sent === buf.length || sent < 0) return; // all sent (buffer size unchanged), or failed
      this.#sendCopy(buf, sent);
    } else {
      // Not a raw socket (TLS): Node tries the write synchronously and
      // keeps what the kernel did not take; writeQueueSize counts it.
      this.#sockWrites++;
      this._sock.write(buf, this.#onWritten);
    }
    this._maybePauseProtocol();
  }

  /** Small writes go through the handle's own `writeBuffer` (set up with #fd). */
  #handleWrites = false;

  /**
   * Write a small `buf` with the socket handle's `writeBuffer`, as Node's
   * own `socket.write()` does underneath, without the stream machinery and
   * without `fs.writeSync`'s per-call cost (its tracing checks alone cost
   * about what the system call's entry does). The bytes are copied into the
   * shared staging buffer first: libuv writes what the kernel takes at once
   * and keeps a pointer to the rest, which must not be the caller's memory
   * (the caller may reuse it as soon as write() returns). Returns 0 when all
   * was sent, 1 when libuv keeps the rest (counted by writeQueueSize until
   * it calls back), -1 after a fatal error.
   */
  #handleWrite(buf: Uint8Array): number {
    const h = (this._sock as any)._handle;
    if (h !== this.#handle) return 0; // closed under us: nothing to send to
    const n = buf.length;
    if (stageView.length !== n) stageView = new Uint8Array(stage.buffer, stage.byteOffset, n);
    const view = stageView;
    view.set(buf);
    const req = sharedReq!;
    const err: number = h.writeBuffer(req, view);
    if (err !== 0) {
      // A failed write may have set the request up before failing: it is
      // not reused.
      sharedReq = new SW!.WriteWrap();
      this._onError(uvError(err, 'write'));
      return -1;
    }
    if (SW!.state[SW!.kLastWriteWasAsync] === 0) return 0;
    // libuv keeps the unsent rest of `view`: the staging buffer and this
    // request belong to that write now (it calls back on a later turn, so
    // setting its callback here is in time).
    req.buffer = view;
    req.transport = this;
    req.oncomplete = onHandleWritten;
    sharedReq = new SW!.WriteWrap();
    stage = Buffer.allocUnsafeSlow(STAGE_MAX);
    stageView = new Uint8Array(0);
    this.#sockWrites++;
    return 1;
  }

  /** @internal A handle write that libuv kept has finished (`status` < 0: failed). */
  _handleWritten(status: number): void {
    if (status < 0) {
      this.#sockWrites--;
      if (this._state < ConnState.LOST_SCHEDULED) this._onError(uvError(status, 'write'));
      return;
    }
    this.#onWritten(null);
  }

  /** write(2) `buf` now; the number of bytes the kernel took, or -1 after a fatal error. */
  #writeNow(buf: Uint8Array): number {
    if ((this._sock as any)._handle !== this.#handle) return 0;
    try {
      return fs.writeSync(this.#fd, buf);
    } catch (err) {
      if (wouldBlock(err)) return 0;
      this._onError(err as Error);
      return -1;
    }
  }

  /** writev(2) the list now; bytes taken, or -1 after a fatal error. */
  #writevNow(bufs: Buffer[]): number {
    if ((this._sock as any)._handle !== this.#handle) return 0;
    try {
      return fs.writevSync(this.#fd, bufs);
    } catch (err) {
      if (wouldBlock(err)) return 0;
      this._onError(err as Error);
      return -1;
    }
  }

  /** Give a private copy of `buf[from:]` to the socket, which writes it when the kernel has room. */
  #sendCopy(buf: Uint8Array, from: number): void {
    const tail = Buffer.allocUnsafe(buf.length - from);
    tail.set(from === 0 ? buf : buf.subarray(from));
    this.#sockWrites++;
    this._sock.write(tail, this.#onWritten);
  }

  writelines(list: Iterable<Bytes>): void {
    const { bufs, total } = collectBytes(list);
    this.#checkWritable('writelines');
    if (total === 0) return;
    if (this._state >= ConnState.LOST_SCHEDULED || this._writeShut) {
      this._countLostWrite();
      return;
    }
    if (this.#queued !== 0 || !this.#socketIdle()) {
      for (const b of bufs) this.#enqueue(b);
    } else if (this.#fd >= 0) {
      // One vectored write (writev) for the whole list; same preconditions as write().
      const sent = bufs.length === 1 ? this.#writeNow(bufs[0]!) : this.#writevNow(bufs);
      if (sent === total || sent < 0) return;
      this.#sendCopy(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs, total), sent);
    } else {
      // One vectored write (writev) for the whole list.
      const sock = this._sock;
      this.#sockWrites++;
      sock.cork();
      for (let i = 0; i < bufs.length - 1; i++) sock.write(bufs[i]!);
      sock.write(bufs[bufs.length - 1]!, this.#onWritten);
      sock.uncork();
    }
    this._maybePauseProtocol();
  }

  #checkWritable(method: 'write' | 'writelines'): void {
    if (this.#eofWritten) throw new InvalidStateError(`Cannot call ${method}() after write_eof()`);
    if (this._sendfileActive)
      throw new InvalidStateError(`unable to ${method}; sendfile is in progress`);
  }

  /** Queue a private copy: the caller may reuse its buffer once write() returns (semantics 1.4). */
  #enqueue(buf: Buffer): void {
    this.#queue.push(Buffer.from(buf));
    this.#queued += buf.length;
  }

  /** Give the whole queue to the socket as one vectored write. */
  #flushQueue(): void {
    const q = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    const sock = this._sock;
    this.#sockWrites++;
    if (q.length === 1) {
      sock.write(q[0]!, this.#onWritten);
      return;
    }
    sock.cork();
    for (let i = 0; i < q.length - 1; i++) sock.write(q[i]!);
    sock.write(q[q.length - 1]!, this.#onWritten);
    sock.uncork();
  }

  /**
   * Completion of a socket write (Node calls it on the next tick for a write
   * the kernel took at once, else when libuv finishes). Errors arrive through
   * the socket's 'error' event as well and are handled there.
   */
  #onWritten = (err?: Error | null): void => {
    this.#sockWrites--;
    if (err || this._state >= ConnState.LOST_SCHEDULED) return;
    if (this.#queued > 0 && this.#socketIdle()) this.#flushQueue();
    this._maybeResumeProtocol();
    this._afterDrainCheck();
  };

  /** @internal With everything sent: finish a pending close() or writeEof(). */
  _afterDrainCheck(): void {
    if (this.getWriteBufferSize() !== 0) return;
    if (this._state === ConnState.CLOSING) {
      this._scheduleConnectionLost(null);
    } else if (this.#eofWritten && !this.#endCalled && this._state === ConnState.OPEN) {
      this.#endCalled = true;
      this._sock.end();
    }
  }

  writeEof(): void {
    if (this._state !== ConnState.OPEN || this.#eofWritten) return;
    this.#eofWritten = true;
    this._afterDrainCheck();
  }

  canWriteEof(): boolean {
    return true;
  }

  // ---- closing ----------------------------------------------------------------

  close(): void {
    if (this._upgradedTo !== null) {
      this._upgradedTo.close();
      return;
    }
    if (this._state !== ConnState.OPEN) return;
    this._state = ConnState.CLOSING;
    this._sock.pause(); // no data after close(), even if some is in the kernel (1.13)
    this._afterDrainCheck();
  }

  abort(): void {
    if (this._upgradedTo !== null) {
      this._upgradedTo.abort();
      return;
    }
    this._forceClose(null);
  }

  /**
   * @internal startTls(): retire this transport and give its socket to a TLS
   * layer. Reading stops at once, so no further plain-text byte reaches the
   * protocol: what the kernel or Node still holds goes to the TLS layer
   * (Node's TLSSocket feeds the socket's readable buffer to TLS first).
   * Bytes still queued here go to the socket now; Node's TLSSocket holds
   * its own records back until the writes issued before it have finished,
   * so the plain text reaches the peer before the handshake. The transport
   * ends without connectionLost: the protocol carries on over TLS, and
   * close()/abort() on this object reach `successor`.
   *
   * Returns whether the protocol had paused reading.
   */
  _handOver(successor: { close(): void; abort(): void }): { readingPaused: boolean } {
    const sock = this._sock;
    const readingPaused = this.#paused;
    this.#paused = true;
    sock.pause();
    if (this.#queued > 0) this.#flushQueue();
    sock.off('end', onEnd);
    sock.off('error', onError);
    sock.off('close', onClose);
    sock.off('data', onData);
    delete (sock as any)[kTransport];
    if (this.#hook !== null) this.#hook._t = null;
    // LOST without a protocol call: write completions still pending on the
    // socket see this state and do nothing.
    this._state = ConnState.LOST;
    this._upgradedTo = successor;
    return { readingPaused };
  }

  protected _stopIO(discard: boolean): void {
    this._sock.pause();
    if (discard) {
      this.#queue = [];
      this.#queued = 0;
      this._resolveNames();
      this._sock.destroy();
    }
  }

  protected _release(): void {
    this._resolveNames();
    this._sock.destroy();
  }

  /** @internal A socket error: reset, broken pipe, TLS failure... */
  _onError(err: Error): void {
    const syscall = (err as NodeJS.ErrnoException).syscall;
    const what = syscall === 'write' || syscall === 'writev' ? 'write' : 'read';
    this._fatalError(err, `Fatal ${what} error on ${this._kind} transport`);
  }

  /** @internal The socket closed without passing through close()/abort()/an error. */
  _onClose(): void {
    if (this._state >= ConnState.LOST_SCHEDULED) return;
    if (this._state === ConnState.OPEN && this.#eofReceived && this.#endCalled) {
      // Both directions shut down cleanly; Node destroys such a socket by
      // itself, but in asyncio the transport stays until close() (1.10).
      return;
    }
    this._forceClose(null);
  }

  protected override _describe(): string[] {
    const d = super._describe();
    this._resolveNames();
    const peer = this._extra.peername ?? this._extra.sockname;
    if (peer !== undefined)
      d.push(typeof peer === 'string' ? `path=${peer}` : `peer=${inspect(peer)}`);
    if (this._state === ConnState.OPEN) d.push(this.#paused ? 'read=paused' : 'read=polling');
    d.push(`write=<bufsize=${this.getWriteBufferSize()}>`);
    return d;
  }
}

/** Symbol under which a socket points back to its transport (shared listeners below). */
const kTransport = Symbol('protoloop.transport');

// Shared listener functions with a back-reference, instead of closures per connection.
function onEnd(this: net.Socket): void {
  (this as any)[kTransport]?._onEof();
}
function onError(this: net.Socket, err: Error): void {
  (this as any)[kTransport]?._onError(err);
}
function onClose(this: net.Socket): void {
  (this as any)[kTransport]?._onClose();
}
function onData(this: net.Socket, chunk: Buffer): void {
  const t: StreamTransport | undefined = (this as any)[kTransport];
  // 'data' chunks are fresh Buffers from Node (one allocation per read), so
  // they are owned already: no copy. Large ones are malloc'ed and freed by
  // the collector like our own regions, so they profit from warmHeap() and
  // tuneExternalGc() too.
  if (chunk.length > COPY_MAX) prepareForLargeReads();
  if (t !== undefined && t._state === ConnState.OPEN && t.isReading()) t._deliver(chunk);
}
