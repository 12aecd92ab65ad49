/**
 * Datagram endpoints over `node:dgram`: `loop.createDatagramEndpoint` and the
 * {@link DatagramEndpoint} transport, with asyncio's
 * `_SelectorDatagramTransport` semantics (asyncio-semantics section 5) and
 * the 3.13 decision that `sendto(b'')` sends a zero-length datagram.
 *
 * Call grammar (DatagramProtocol):
 *
 * ```
 * start -> connectionMade [-> datagramReceived | errorReceived]* -> connectionLost -> end
 * ```
 * with `pauseWriting`/`resumeWriting` alternating anywhere in between.
 *
 * Write path. asyncio tries `sendto()` at once and queues only what the
 * kernel refused (EAGAIN). libuv does the same one level down: Node calls
 * `uv_udp_try_send` first and, if the kernel would block (or libuv already
 * holds datagrams, which keeps FIFO order), queues the datagram in libuv,
 * which sends it when the socket is writable. So libuv's queue *is* the
 * transport's send buffer, and `getSendQueueSize()` reads its exact byte
 * count synchronously. That only holds if `socket.send()` reaches libuv
 * synchronously, and Node's dgram defers every unconnected send behind an
 * address lookup (`dns.lookup`, which answers even IP literals on the next
 * tick). Sockets created here therefore get a `lookup` that answers IP
 * literals synchronously; datagrams addressed to a host *name* wait in the
 * transport's own FIFO queue (counted too) until the name is resolved, so
 * they keep their order with the datagrams sent after them. The one case
 * left is a user-supplied unconnected socket, whose lookup is its own: there
 * the bytes given to Node are counted until Node's send callback, a bound
 * that is exact to within one tick.
 *
 * Loopback never pushes back on UDP (Linux frees a datagram's send-buffer
 * charge as soon as loopback takes it, and drops at the receiver instead), so
 * on loopback the buffer is normally empty; it fills on a real interface, or
 * behind a rate-limited queueing discipline.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';
import process from 'node:process';
import { inspect } from 'node:util';
import { isOSError, systemError } from '../errors.js';
import type { EventLoop } from '../loop.js';
import { nodeHasReusePort } from '../server.js';
import { checkFactory, checkOptions, checkPort } from '../validate.js';
import {
  asError,
  ConnState,
  checkProtocol,
  protocolName,
  TransportBase,
  toBuffer,
} from './base.js';
import type { Address, AnyProtocol, Bytes, DatagramTransport } from './interfaces.js';

/** Options of `loop.createDatagramEndpoint` (asyncio's keyword arguments). */
export interface CreateDatagramEndpointOptions {
  /** Bind to this `[host, port]` (port 0: ephemeral). */
  localAddr?: Address | null;
  /**
   * Connect to this `[host, port]`: `sendto(data)` then needs no address,
   * only datagrams from it are received, and ICMP errors reach
   * `errorReceived` (e.g. ECONNREFUSED).
   */
  remoteAddr?: Address | null;
  /** 4 or 6 to choose the address family; 0 (default) takes it from the addresses. */
  family?: 0 | 4 | 6;
  /** SO_REUSEPORT; needs Node.js 22.12+ or 23.1+ (rejected on older versions). */
  reusePort?: boolean | null;
  /**
   * SO_BROADCAST. As in asyncio, `remoteAddr` is then not connected but
   * becomes the default destination of `sendto(data)`.
   */
  allowBroadcast?: boolean | null;
  /** An existing `dgram.Socket`, bound or not, connected or not; the transport owns it from then on. */
  sock?: dgram.Socket | null;
}

const ENDPOINT_KEYS = [
  'localAddr',
  'remoteAddr',
  'family',
  'reusePort',
  'allowBroadcast',
  'sock',
] as const;

/** asyncio prints addresses as Python tuples in its messages. */
function pyAddr(a: Address): string {
  return `('${a[0]}', ${a[1]})`;
}

/** A `[host, port]` from Node's address objects (`sockname`/`peername` keep asyncio's key names). */
function addressOf(info: { address: string; port: number }): Address {
  return [info.address, info.port];
}

/**
 * The `lookup` of the sockets created here: IP literals are answered
 * synchronously, so that `socket.send()` reaches libuv (and the kernel)
 * before it returns; see the module comment. Names go to `dns.lookup`.
 */
function literalLookup(
  hostname: string,
  options: dns.LookupOneOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = net.isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  dns.lookup(hostname, options as dns.LookupOneOptions, callback);
}

/** A datagram waiting in the transport's queue for its destination's name to resolve. */
interface Pending {
  data: Buffer;
  host: string;
  port: number;
  /** The resolved address; `host` itself when it is an IP literal. */
  ip: string | null;
  /** The resolution failed: reported through errorReceived when its turn comes. */
  error: Error | null;
}

/** A datagram or receive error that arrived before connectionMade ran. */
type Early = { data: Buffer; addr: Address } | Error;

/** Construction options of a datagram transport. */
interface DatagramInit {
  /** The connected address (or, with allowBroadcast, the default destination). */
  address: Address | null;
  /** The address as the user wrote it (also accepted by `sendto`). */
  givenAddress: Address | null;
  /** The socket is connected (`send()` without an address). */
  connected: boolean;
  /** `socket.send()` reaches libuv synchronously (our lookup, or connected). */
  syncSend: boolean;
  /** Called once connectionMade has run (resolves the creating promise). */
  onMade: () => void;
}

/**
 * The datagram transport. Instances come from `loop.createDatagramEndpoint`.
 */
export class DatagramEndpoint extends TransportBase implements DatagramTransport {
  /** @internal */ readonly _sock: dgram.Socket;
  readonly #address: Address | null;
  readonly #givenAddress: Address | null;
  readonly #connected: boolean;
  readonly #syncSend: boolean;
  readonly #family: 4 | 6;
  /** Datagrams waiting for a name resolution, in order, with their byte count. */
  #queue: Pending[] = [];
  #queued = 0;
  /** Bytes given to a user socket's deferred send path, not yet acknowledged. */
  #deferred = 0;
  /** Events that arrived before connectionMade; null once delivered. */
  #early: Early[] | null = [];
  #sockClosed = false;

  constructor(loop: EventLoop, sock: dgram.Socket, protocol: AnyProtocol, init: DatagramInit) {
    super(loop, protocol);
    this._sock = sock;
    this.#address = init.address;
    this.#givenAddress = init.givenAddress;
    this.#connected = init.connected;
    this.#syncSend = init.syncSend;
    // Node sets `type` ('udp4' | 'udp6') on every dgram.Socket; @types/node omits it.
    this.#family = (sock as { type?: string }).type === 'udp6' ? 6 : 4;

    this._extra.socket = sock;
    try {
      this._extra.sockname = addressOf(sock.address());
    } catch {
      // getsockname failed: asyncio reports None.
    }
    // asyncio stores None for an unconnected endpoint, so a default passed
    // to getExtraInfo('peername', d) is not returned: keep null, not undefined.
    this._extra.peername = null;
    if (init.connected) {
      try {
        this._extra.peername = addressOf(sock.remoteAddress());
      } catch {
        // Not connected after all: stays null.
      }
    }

    // Node's dgram starts receiving when the socket is bound, which is
    // before connectionMade; what arrives in between is kept in #early and
    // delivered right after it (asyncio starts reading after connectionMade).
    sock.on('message', onMessage);
    sock.on('error', onError);
    sock.on('close', onClose);
    (sock as any)[kTransport] = this;

    loop._track(this);
    this._scheduleConnectionMade(() => {
      const early = this.#early;
      this.#early = null;
      if (early !== null) {
        for (const e of early) {
          if (this._state !== ConnState.OPEN) break;
          if (e instanceof Error) this._onError(e);
          else this._onMessage(e.data, e.addr);
        }
      }
      init.onMade();
    });
  }

  protected get _kind(): string {
    return 'datagram';
  }

  // ---- receiving --------------------------------------------------------------

  /** @internal A datagram arrived; Node allocated `data` for it, so it is owned already. */
  _onMessage(data: Buffer, addr: Address): void {
    if (this._state !== ConnState.OPEN) return; // nothing is delivered after close()
    if (this.#early !== null) {
      this.#early.push({ data, addr });
      return;
    }
    // A throw takes the fatal path (DESIGN 3.7: unlike asyncio, we close).
    this._callData('datagramReceived', 'datagram_received', data, addr);
  }

  /**
   * @internal An error event of the socket: a receive error (ECONNREFUSED
   * from an ICMP port unreachable on a connected endpoint, ...) reaches
   * errorReceived and the endpoint stays open; anything that is not a system
   * error is fatal, as asyncio's `'Fatal read error on datagram transport'`.
   */
  _onError(err: Error): void {
    if (this._state !== ConnState.OPEN) return;
    if (this.#early !== null) {
      this.#early.push(err);
      return;
    }
    if (isOSError(err)) this.#errorReceived(err);
    else this._fatalError(err, 'Fatal read error on datagram transport');
  }

  /** @internal The socket closed without passing through close()/abort() (closed by its owner). */
  _onClose(): void {
    this.#sockClosed = true;
    this._forceClose(null);
  }

  /**
   * errorReceived is not a data callback: as in asyncio (semantics 10.4) a
   * throw is reported as a callback error and the endpoint stays open.
   */
  #errorReceived(err: Error): void {
    const p = this._protocol;
    const fn = p.errorReceived;
    if (typeof fn !== 'function') return;
    try {
      fn.call(p, err);
    } catch (exc) {
      this._loop.callExceptionHandler({
        message: `Exception in callback ${protocolName(p)}.error_received(${inspect(err)})`,
        exception: asError(exc),
        transport: this,
        protocol: p,
      });
    }
  }

  // ---- sending ------------------------------------------------------------------

  /**
   * Send one datagram to `addr`, or to the connected address when `addr` is
   * omitted. Empty data sends a zero-length datagram (asyncio 3.13). Never
   * blocks; may call `pauseWriting()` synchronously. A send error (ICMP
   * refusal, EMSGSIZE for a datagram over the maximum size, an unresolvable
   * name) reaches `errorReceived` on a later tick and the endpoint stays
   * open. After the endpoint is closed, datagrams are dropped (asyncio logs
   * a warning from the 5th one on).
   *
   * @throws TypeError data not bytes-like; `addr` not a `[host, port]`
   *   tuple; `addr` other than the connected address ("Invalid address:
   *   must be None or ('host', port)", asyncio's message); no `addr` on an
   *   unconnected endpoint.
   * @throws RangeError port outside 1..65535.
   */
  sendto(data: Bytes, addr?: Address | null): void {
    const buf = toBuffer(data);
    let host: string;
    let port: number;
    const address = this.#address;
    if (address !== null) {
      if (addr !== undefined && addr !== null && !this.#isOwnAddress(addr)) {
        throw new TypeError(`Invalid address: must be None or ${pyAddr(address)}`);
      }
      [host, port] = address;
    } else {
      if (addr === undefined || addr === null) {
        throw new TypeError('addr is required: this datagram endpoint is not connected');
      }
      checkDestination(addr, 'addr');
      [host, port] = addr;
    }
    if (this._state >= ConnState.LOST_SCHEDULED) {
      this._countLostWrite();
      return;
    }
    // CLOSING still accepts datagrams: they are sent before connectionLost,
    // as asyncio appends them to the buffer it flushes (semantics 5.9).
    //
    // Always a private copy: if the kernel would block, libuv keeps a
    // reference to what it was given, and the caller may reuse its buffer
    // as soon as sendto() returns (asyncio queues bytes(data), 5.6). A UDP
    // datagram is at most 64 KiB and the copy is cheap next to the syscall.
    const copy = Buffer.from(buf);
    if (this.#queue.length > 0 || (!this.#connected && net.isIP(host) === 0)) {
      this.#enqueue(copy, host, port);
    } else {
      this.#send(copy, host, port);
    }
    this._maybePauseProtocol();
  }

  /** `addr` names the connected address: as resolved, or as the user wrote it. */
  #isOwnAddress(addr: unknown): boolean {
    if (!Array.isArray(addr) || addr.length !== 2) return false;
    for (const a of [this.#address, this.#givenAddress]) {
      if (a !== null && addr[0] === a[0] && addr[1] === a[1]) return true;
    }
    return false;
  }

  /** Hand one datagram to Node. Errors come back through the send callback. */
  #send(data: Buffer, host: string, port: number): void {
    const sock = this._sock;
    try {
      if (this.#connected) {
        sock.send(data, this.#onSent);
      } else if (this.#syncSend) {
        sock.send(data, port, host, this.#onSent);
      } else {
        // A user-supplied unconnected socket: its lookup defers the send, so
        // count the bytes until Node acknowledges them. This slow path takes
        // a closure per datagram to know the size it acknowledges.
        const n = data.length;
        this.#deferred += n;
        sock.send(data, port, host, (err) => {
          this.#deferred -= n;
          this.#onSent(err);
        });
      }
    } catch (exc) {
      // Node's synchronous checks (a socket closed by its owner, ...).
      this.#sendFailed(asError(exc));
    }
  }

  /**
   * Completion of one send (one bound function per transport, no closure
   * per datagram). For a datagram the kernel took at once Node calls it on
   * the next tick; for one libuv queued, when libuv has sent it.
   */
  #onSent = (err?: Error | null): void => {
    if (err) this.#sendFailed(err);
    this.#afterSend();
  };

  /**
   * A send failed. System errors (ECONNREFUSED, EMSGSIZE, EHOSTUNREACH,
   * ENOTFOUND...) reach errorReceived and the endpoint stays open, as
   * asyncio's OSError path (5.4); anything else is fatal (5.5).
   */
  #sendFailed(err: Error): void {
    // After abort() the socket is closed and libuv cancels what it held
    // (ECANCELED): that is not news for the protocol.
    if (this.#sockClosed || this._state === ConnState.LOST) return;
    if (isOSError(err)) this.#errorReceived(err);
    else this._fatalError(err, 'Fatal write error on datagram transport');
  }

  /** The buffer shrank: maybe resumeWriting(), maybe finish a pending close(). */
  #afterSend(): void {
    if (this._state >= ConnState.LOST_SCHEDULED) return;
    this._maybeResumeProtocol();
    if (this._state === ConnState.CLOSING && this.getWriteBufferSize() === 0) {
      this._scheduleConnectionLost(null);
    }
  }

  /** Queue a datagram behind a name resolution (keeps FIFO order). */
  #enqueue(data: Buffer, host: string, port: number): void {
    const p: Pending = { data, host, port, ip: net.isIP(host) !== 0 ? host : null, error: null };
    this.#queue.push(p);
    this.#queued += data.length;
    if (p.ip === null) {
      // Slow path (a host name per datagram): one lookup and closure each.
      dns.lookup(host, { family: this.#family }, (err, ip) => {
        if (err) p.error = err;
        else p.ip = ip;
        this.#flushQueue();
      });
    }
  }

  /** Send the queued datagrams whose destination is known, in order. */
  #flushQueue(): void {
    if (this._state >= ConnState.LOST_SCHEDULED) return; // aborted: the queue was dropped
    const q = this.#queue;
    let i = 0;
    for (; i < q.length; i++) {
      const p = q[i]!;
      if (p.ip === null && p.error === null) break;
      this.#queued -= p.data.length;
      if (p.error !== null) this.#sendFailed(p.error);
      else this.#send(p.data, p.ip!, p.port);
      if (this._state >= ConnState.LOST_SCHEDULED) return;
    }
    if (i > 0) this.#queue = q.slice(i);
    this.#afterSend();
  }

  /**
   * Bytes accepted by `sendto()` and not yet handed to the kernel: the
   * datagrams waiting for a name resolution plus libuv's send queue (exact,
   * read synchronously), or for a user-supplied unconnected socket the bytes
   * Node has not acknowledged yet.
   */
  getWriteBufferSize(): number {
    if (this.#sockClosed) return this.#queued;
    return (
      this.#queued + (this.#syncSend ? this._sock.getSendQueueSize() : Math.max(0, this.#deferred))
    );
  }

  // ---- closing -----------------------------------------------------------------

  /**
   * Stop receiving at once, send what is queued, then `connectionLost(null)`
   * once. Idempotent.
   */
  close(): void {
    if (this._state !== ConnState.OPEN) return;
    this._state = ConnState.CLOSING;
    this.#early = null;
    if (this.getWriteBufferSize() === 0) this._scheduleConnectionLost(null);
  }

  /** Close at once, dropping queued datagrams; `connectionLost(null)` follows. */
  abort(): void {
    this._forceClose(null);
  }

  protected _stopIO(discard: boolean): void {
    this.#early = null;
    if (discard) {
      this.#queue = [];
      this.#queued = 0;
      this.#deferred = 0;
      this.#closeSocket();
    }
  }

  protected _release(): void {
    this.#closeSocket();
  }

  #closeSocket(): void {
    if (this.#sockClosed) return;
    this.#sockClosed = true;
    try {
      this._sock.close();
    } catch {
      // Already closed by its owner (ERR_SOCKET_DGRAM_NOT_RUNNING).
    }
  }

  protected override _describe(): string[] {
    const d = super._describe();
    const peer = this._extra.peername as Address | null;
    const name = this._extra.sockname as Address | undefined;
    if (name !== undefined) d.push(`sockname=${pyAddr(name)}`);
    if (peer !== null) d.push(`peer=${pyAddr(peer)}`);
    d.push(`write=<bufsize=${this.getWriteBufferSize()}>`);
    return d;
  }
}

/** Symbol under which a socket points back to its transport (shared listeners below). */
const kTransport = Symbol('protoloop.datagramTransport');

// Shared listener functions with a back-reference, instead of closures per endpoint.
function onMessage(this: dgram.Socket, data: Buffer, rinfo: dgram.RemoteInfo): void {
  (this as any)[kTransport]?._onMessage(data, [rinfo.address, rinfo.port]);
}
function onError(this: dgram.Socket, err: Error): void {
  (this as any)[kTransport]?._onError(err);
}
function onClose(this: dgram.Socket): void {
  const t: DatagramEndpoint | undefined = (this as any)[kTransport];
  if (t !== undefined && t._state < ConnState.LOST_SCHEDULED) t._onClose();
}

// ---- argument checks --------------------------------------------------------------

function checkBool(v: unknown, name: string): void {
  if (v !== undefined && v !== null && typeof v !== 'boolean') {
    throw new TypeError(`${name} must be a boolean, got ${inspect(v)}`);
  }
}

/** asyncio: addresses must be 2-tuples (`TypeError('2-tuple is expected')`, semantics 5.17). */
function checkTuple(addr: unknown, name: string): asserts addr is Address {
  if (!Array.isArray(addr) || addr.length !== 2) {
    throw new TypeError(`2-tuple is expected: ${name} must be [host, port], got ${inspect(addr)}`);
  }
  if (typeof addr[0] !== 'string' || addr[0] === '') {
    throw new TypeError(`${name} host must be a non-empty string, got ${inspect(addr[0])}`);
  }
}

/** A destination: a `[host, port]` with a port a datagram can be sent to (not 0). */
function checkDestination(addr: unknown, name: string): asserts addr is Address {
  checkTuple(addr, name);
  checkPort(addr[1], `${name} port`);
  if (addr[1] === 0) throw new RangeError(`${name} port must be in 1..65535, got 0`);
}

// ---- createDatagramEndpoint ---------------------------------------------------------

/** Resolve a host for one family (0: any), IP literals without DNS. */
async function resolve(host: string, family: 0 | 4 | 6): Promise<dns.LookupAddress[]> {
  const literal = net.isIP(host);
  const addrs =
    literal !== 0
      ? [{ address: host, family: literal }].filter((a) => family === 0 || a.family === family)
      : await dns.promises.lookup(host, { all: true, family });
  if (addrs.length === 0) {
    // asyncio's OSError (5.18), with an errno-style code so it reads as a system error.
    throw systemError(
      'ENOTFOUND',
      `getaddrinfo() returned empty list for ${inspect(host)} (family ${family})`,
      'getaddrinfo',
    );
  }
  return addrs;
}

function once(sock: dgram.Socket, event: 'listening' | 'connect', start: () => void) {
  return new Promise<void>((resolve, reject) => {
    const onErr = (e: Error): void => {
      sock.off(event, onOk);
      reject(e);
    };
    const onOk = (): void => {
      sock.off('error', onErr);
      resolve();
    };
    sock.once('error', onErr);
    sock.once(event, onOk);
    try {
      start();
    } catch (e) {
      sock.off('error', onErr);
      sock.off(event, onOk);
      reject(e);
    }
  });
}

/** Create, bind and connect one socket of `family`; closed again on failure. */
async function openSocket(
  family: 4 | 6,
  local: Address | null,
  remote: Address | null,
  allowBroadcast: boolean,
  reusePort: boolean,
): Promise<dgram.Socket> {
  const opts: dgram.SocketOptions = { type: family === 6 ? 'udp6' : 'udp4', lookup: literalLookup };
  // SO_REUSEADDR stays off unless asked, as in asyncio (5.19).
  if (reusePort) (opts as any).reusePort = true;
  const sock = dgram.createSocket(opts);
  try {
    const any = family === 6 ? '::' : '0.0.0.0';
    // Bind first when there is a local address, for broadcast (setBroadcast
    // needs a socket), and with no address at all: Node receives only on a
    // bound socket (asyncio would leave it unbound until the first send).
    if (local !== null || allowBroadcast || remote === null) {
      const [host, port] = local ?? [any, 0];
      await once(sock, 'listening', () => sock.bind({ address: host, port, exclusive: true }));
    }
    if (allowBroadcast) sock.setBroadcast(true);
    if (remote !== null && !allowBroadcast) {
      await once(sock, 'connect', () => sock.connect(remote[1], remote[0]));
    }
    return sock;
  } catch (exc) {
    try {
      sock.close();
    } catch {
      // Already closed.
    }
    throw exc;
  }
}

/** Bind a user-supplied socket if needed; tell whether it is connected. */
async function adoptSocket(sock: dgram.Socket): Promise<Address | null> {
  let bound = true;
  try {
    sock.address();
  } catch (exc) {
    if ((exc as NodeJS.ErrnoException).code === 'ERR_SOCKET_DGRAM_NOT_RUNNING') {
      throw new TypeError('A UDP Socket was expected, got a closed dgram.Socket');
    }
    bound = false; // EBADF: not bound yet (or binding)
  }
  if (!bound) {
    await once(sock, 'listening', () => {
      try {
        sock.bind({ port: 0, exclusive: true });
      } catch (exc) {
        // A bind already in progress: wait for its 'listening'.
        if ((exc as NodeJS.ErrnoException).code !== 'ERR_SOCKET_ALREADY_BOUND') throw exc;
      }
    });
  }
  try {
    return addressOf(sock.remoteAddress());
  } catch {
    return null;
  }
}

function makeTransport<P>(
  loop: EventLoop,
  sock: dgram.Socket,
  factory: () => P,
  init: Omit<DatagramInit, 'onMade'>,
): Promise<[DatagramTransport, P]> {
  let protocol: P;
  try {
    protocol = factory();
    checkProtocol(protocol);
  } catch (exc) {
    try {
      sock.close();
    } catch {
      // Already closed.
    }
    return Promise.reject(exc);
  }
  return new Promise((resolve) => {
    const t: DatagramEndpoint = new DatagramEndpoint(loop, sock, protocol as object, {
      ...init,
      onMade: () => resolve([t, protocol]),
    });
  });
}

/**
 * asyncio's `create_datagram_endpoint` (semantics 5.14-5.20) over
 * `node:dgram`. Resolves after `connectionMade` ran.
 */
export async function createDatagramEndpoint<P>(
  loop: EventLoop,
  protocolFactory: () => P,
  options: CreateDatagramEndpointOptions = {},
): Promise<[DatagramTransport, P]> {
  checkFactory(protocolFactory);
  checkOptions(options, ENDPOINT_KEYS, 'createDatagramEndpoint');
  const sock = options.sock ?? null;
  if (sock !== null) {
    if (!(sock instanceof dgram.Socket)) {
      throw new TypeError(`A UDP Socket was expected, got ${inspect(sock, { depth: 0 })}`);
    }
    const modifiers = ENDPOINT_KEYS.filter((k) => k !== 'sock' && options[k]).map(
      (k) => `${k}=${inspect(options[k])}`,
    );
    if (modifiers.length > 0) {
      throw new TypeError(
        `socket modifier keyword arguments can not be used when sock is specified. (${modifiers.join(', ')})`,
      );
    }
    const peer = await adoptSocket(sock);
    return makeTransport(loop, sock, protocolFactory, {
      address: peer,
      givenAddress: null,
      connected: peer !== null,
      // A connected send skips the lookup; an unconnected one goes through
      // the socket's own (deferred) lookup.
      syncSend: peer !== null,
    });
  }

  checkBool(options.reusePort, 'reusePort');
  checkBool(options.allowBroadcast, 'allowBroadcast');
  const family = options.family ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) {
    throw new RangeError(`family must be 0, 4 or 6, got ${inspect(family)}`);
  }
  const localAddr = options.localAddr ?? null;
  const remoteAddr = options.remoteAddr ?? null;
  if (localAddr !== null) {
    checkTuple(localAddr, 'localAddr');
    checkPort(localAddr[1], 'localAddr port');
  }
  if (remoteAddr !== null) checkDestination(remoteAddr, 'remoteAddr');
  if (options.reusePort && !nodeHasReusePort()) {
    throw new TypeError(
      `reusePort is not supported by Node.js ${process.version} (it needs 22.12+ or 23.1+)`,
    );
  }
  if (localAddr === null && remoteAddr === null && family === 0) {
    throw new TypeError('unexpected address family');
  }
  const allowBroadcast = !!options.allowBroadcast;

  // Resolve both ends, then try each family they share (asyncio pairs them
  // by family, semantics 5.18), in the order the local end resolved.
  const locals = localAddr !== null ? await resolve(localAddr[0], family) : null;
  const remotes = remoteAddr !== null ? await resolve(remoteAddr[0], family) : null;
  let families: Array<4 | 6>;
  if (locals !== null || remotes !== null) {
    const order = (locals ?? remotes)!.map((a) => a.family as 4 | 6);
    families = [...new Set(order)].filter(
      (f) =>
        (locals === null || locals.some((a) => a.family === f)) &&
        (remotes === null || remotes.some((a) => a.family === f)),
    );
    if (families.length === 0) throw new TypeError('can not get address information');
  } else {
    families = [family as 4 | 6];
  }

  const errors: Error[] = [];
  for (const f of families) {
    const l = locals?.find((a) => a.family === f);
    const r = remotes?.find((a) => a.family === f);
    const local: Address | null = l ? [l.address, localAddr![1]] : null;
    const remote: Address | null = r ? [r.address, remoteAddr![1]] : null;
    let s: dgram.Socket;
    try {
      s = await openSocket(f, local, remote, allowBroadcast, !!options.reusePort);
    } catch (exc) {
      errors.push(asError(exc));
      continue;
    }
    return makeTransport(loop, s, protocolFactory, {
      address: remote,
      givenAddress: remoteAddr,
      connected: remote !== null && !allowBroadcast,
      syncSend: true,
    });
  }
  // Every candidate failed: the first error, as asyncio (5.20).
  throw errors[0]!;
}
