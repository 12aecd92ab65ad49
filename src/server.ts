/**
 * Servers: createServer / createUnixServer and the Server object, with
 * asyncio 3.12.1+ `waitClosed` and 3.13 `closeClients`/`abortClients`.
 *
 * @module
 */

import * as dns from 'node:dns';
import { lstatSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import process from 'node:process';
import { inspect } from 'node:util';
import { pyAddr, requireTlsServer, tlsServerLayer } from './connect.js';
import { InvalidStateError } from './errors.js';
import type { EventLoop } from './loop.js';
import { checkProtocol, type TransportBase } from './transports/base.js';
import { ReadHook, StreamTransport } from './transports/stream.js';
import {
  checkFactory,
  checkOptions,
  checkPort,
  checkSslTimeouts,
  type SslTimeouts,
} from './validate.js';

/** TLS server options: Node's own vocabulary. */
export type ServerTlsOptions = import('node:tls').TlsOptions | import('node:tls').SecureContext;

/** Options of `loop.createServer`. */
export interface CreateServerOptions extends SslTimeouts {
  /** 4 or 6 to listen on addresses of that family only; 0 (default) takes both. */
  family?: 0 | 4 | 6;
  /** An existing `net.Server`, listening or not, to serve instead of `host`/`port`; the Server owns it. */
  sock?: net.Server | null;
  /** The listen(2) backlog (default 100, as asyncio). */
  backlog?: number;
  /** Serve TLS: Node's `tls.TlsOptions` (key and cert, ...) or a `tls.SecureContext`. */
  ssl?: ServerTlsOptions | null;
  /**
   * Only `true` (or unset) is accepted: libuv always sets SO_REUSEADDR on
   * listening TCP sockets, so `false` is a TypeError.
   */
  reuseAddress?: boolean | null;
  /** SO_REUSEPORT; needs Node.js 22.12+ or 23.1+ (a TypeError on older versions). */
  reusePort?: boolean | null;
  /** Enable TCP keep-alive on every accepted connection. */
  keepAlive?: boolean | null;
  /** Start listening at once (default true); with false, call `startServing()` or `serveForever()`. */
  startServing?: boolean;
}

/** Options of `loop.createUnixServer`. */
export interface CreateUnixServerOptions extends SslTimeouts {
  /** An existing Unix `net.Server`, listening or not, to serve instead of `path`; the Server owns it. */
  sock?: net.Server | null;
  /** The listen(2) backlog (default 100, as asyncio). */
  backlog?: number;
  /** Serve TLS: Node's `tls.TlsOptions` (key and cert, ...) or a `tls.SecureContext`. */
  ssl?: ServerTlsOptions | null;
  /** Start listening at once (default true); with false, call `startServing()` or `serveForever()`. */
  startServing?: boolean;
}

/** asyncio's default backlog. */
const DEFAULT_BACKLOG = 100;

/** Error codes of accept(2) that mean "out of descriptors/memory": keep serving. */
const ACCEPT_RESOURCE_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

/** What one listening socket binds to. */
interface ListenSpec {
  options: net.ListenOptions;
  /** For error messages: the address as asyncio prints it. */
  label: string;
}

/** True when this Node's `listen()` knows `reusePort` (22.12+, 23.1+). */
export function nodeHasReusePort(): boolean {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** Node's symbol-keyed slots in which a `net.Socket` keeps its `onread` option. */
interface OnreadSlots {
  /** The buffer of the next read (or `true` before a generator ran). */
  buffer: symbol;
  /** The `onread.buffer` generator, called after every read. */
  gen: symbol;
  /** The `onread.callback`. */
  cb: symbol;
}

let onreadSlots: OnreadSlots | null | undefined;

/**
 * Find the slots once, by building two handle-less sockets with a known
 * `onread` and matching the values by identity (so a Node whose internals
 * differ yields null, never a wrong slot). Node's `onStreamRead` reads a
 * socket's next buffer, callback and generator from these slots on every
 * read; the constructor's `onread` option only fills them in.
 */
function findOnreadSlots(): OnreadSlots | null {
  if (onreadSlots !== undefined) return onreadSlots;
  onreadSlots = null;
  try {
    const gen = (): Uint8Array => probeBuf;
    const cb = (): boolean => true;
    const probeBuf = new Uint8Array(1);
    const a = new net.Socket({
      onread: { buffer: gen, callback: cb },
    } as net.SocketConstructorOpts);
    const b = new net.Socket({
      onread: { buffer: probeBuf, callback: cb },
    } as net.SocketConstructorOpts);
    const find = (sock: net.Socket, value: unknown): symbol | undefined =>
      Object.getOwnPropertySymbols(sock).find((k) => (sock as any)[k] === value);
    const slots = { buffer: find(b, probeBuf), gen: find(a, gen), cb: find(a, cb) };
    a.destroy();
    b.destroy();
    if (slots.buffer !== undefined && slots.gen !== undefined && slots.cb !== undefined) {
      onreadSlots = slots as OnreadSlots;
    }
  } catch {
    // Not this Node's layout: accepted sockets are re-wrapped instead.
  }
  return onreadSlots;
}

/** @internal For tests: skip (or again allow) the in-place `onread` setup. */
export function _setInPlaceOnread(enabled: boolean): void {
  onreadSlots = enabled ? undefined : null;
}

/** @internal For tests: how the last accepted connection was set up to read. */
export let lastAcceptPath: 'in-place' | 'rewrap' | 'data' = 'data';

/**
 * Make an accepted connection read with our `onread` (Node's net.Server
 * cannot pass `onread` to accepted sockets).
 *
 * First choice, in place: fill the accepted socket's `onread` slots and
 * hand its handle the first buffer (`useUserBuffer`), exactly what the
 * socket's constructor does with an `onread` option. This saves building a
 * second `net.Socket` per connection (about a tenth of the server's CPU per
 * connection in the connection-rate benchmark). Preconditions, checked: the
 * slots were found (see {@link findOnreadSlots}) and are empty on this
 * socket, the server runs with `pauseOnConnect` (the handle is not reading
 * and nothing was read), and the handle is a libuv stream
 * (`useUserBuffer`).
 *
 * Second choice, re-wrap: move the handle into `new net.Socket({handle,
 * onread})`. Last resort (anything unexpected): keep the accepted socket
 * and its 'data' events; slower, same semantics. The slots, `handle` and
 * `_handle` are not public API, hence the checks and the fallbacks.
 */
function adoptAccepted(accepted: net.Socket): { sock: net.Socket; hook: ReadHook | null } {
  const handle = (accepted as any)._handle;
  lastAcceptPath = 'data';
  if (
    handle == null ||
    handle.reading === true ||
    typeof handle.readStart !== 'function' ||
    typeof handle.useUserBuffer !== 'function' ||
    accepted.readableLength !== 0
  ) {
    return { sock: accepted, hook: null };
  }
  const hook = new ReadHook();
  const slots = findOnreadSlots();
  const a = accepted as any;
  if (slots !== null && a[slots.buffer] === null && a[slots.gen] === null && a[slots.cb] === null) {
    const first = hook.onread.buffer as () => Uint8Array;
    a[slots.gen] = first;
    a[slots.cb] = hook.onread.callback;
    const buf = first();
    a[slots.buffer] = buf;
    handle.useUserBuffer(buf);
    lastAcceptPath = 'in-place';
    return { sock: accepted, hook };
  }
  let sock: net.Socket;
  try {
    sock = new net.Socket({
      handle,
      allowHalfOpen: true,
      readable: true,
      writable: true,
      noDelay: (accepted as any)._server?.noDelay === true,
      onread: hook.onread,
      pauseOnCreate: true,
    } as net.SocketConstructorOpts);
  } catch {
    return { sock: accepted, hook: null };
  }
  // The old wrapper must never touch the handle again.
  (accepted as any)._handle = null;
  // The net.Server counts the connection on the old wrapper; move that to
  // the new socket, whose destroy() then decrements it, so that
  // getConnections() stays right and the server's 'close' event (which
  // node:cluster waits for when a worker disconnects) still comes.
  (sock as any)._server = (accepted as any)._server;
  (accepted as any)._server = null;
  lastAcceptPath = 'rewrap';
  return { sock, hook };
}

/**
 * The local address of every connection a TCP listener accepts, when the
 * listener is bound to one specific address (not 0.0.0.0 or ::): then
 * getsockname(2) on an accepted socket could only return this, so the
 * transport's `sockname` needs no system call. Null for wildcard listeners.
 */
const listenerAddresses = new WeakMap<net.Server, readonly [string, number] | null>();
function listenerAddress(srv: net.Server): readonly [string, number] | null {
  let v = listenerAddresses.get(srv);
  if (v === undefined) {
    const a = srv.address();
    v =
      a !== null && typeof a === 'object' && a.address !== '0.0.0.0' && a.address !== '::'
        ? [a.address, a.port]
        : null;
    // Only cache a known answer: a user's server may not be listening yet.
    if (a !== null) listenerAddresses.set(srv, v);
  }
  return v;
}

/** A listening server: asyncio's `Server`. */
export class Server implements AsyncDisposable {
  #loop: EventLoop;
  #factory: () => unknown;
  #servers: net.Server[];
  #specs: ListenSpec[];
  #ssl: ServerTlsOptions | null;
  #timeouts: SslTimeouts;
  #keepAlive: boolean;
  #unixPath: string | null;
  #serving = false;
  #closed = false;
  #conns = new Set<TransportBase>();
  #closeWaiters: Array<() => void> = [];
  #serveForeverWaiter: (() => void) | null = null;
  #foreverActive = false;

  /** @internal */
  constructor(
    loop: EventLoop,
    factory: () => unknown,
    servers: net.Server[],
    specs: ListenSpec[],
    opts: {
      ssl: ServerTlsOptions | null;
      timeouts: SslTimeouts;
      keepAlive: boolean;
      unixPath: string | null;
    },
  ) {
    this.#loop = loop;
    this.#factory = factory;
    this.#servers = servers;
    this.#specs = specs;
    this.#ssl = opts.ssl;
    this.#timeouts = opts.timeouts;
    this.#keepAlive = opts.keepAlive;
    this.#unixPath = opts.unixPath;
    for (const srv of servers) {
      srv.on('connection', (s: net.Socket) => this.#onConnection(s, srv));
      srv.on('error', (err: Error) => this.#onServerError(srv, err));
    }
    loop._track(this);
  }

  /** The listening `net.Server`s (empty before startServing() and after close()). */
  get sockets(): readonly net.Server[] {
    return this.#serving && !this.#closed ? [...this.#servers] : [];
  }

  /** The loop the server was created on. */
  getLoop(): EventLoop {
    return this.#loop;
  }

  /** True while the server accepts connections. */
  isServing(): boolean {
    return this.#serving && !this.#closed;
  }

  /** Start listening; idempotent. */
  async startServing(): Promise<void> {
    if (this.#serving || this.#closed) return;
    this.#serving = true;
    try {
      // A server given already listening (createServer({sock})) stays as it is.
      await Promise.all(
        this.#servers.map((srv, i) => (srv.listening ? undefined : listen(srv, this.#specs[i]!))),
      );
    } catch (err) {
      this.#serving = false;
      for (const srv of this.#servers) if (srv.listening) srv.close();
      throw err;
    }
  }

  /** Start serving if needed; resolves when close() is called. */
  async serveForever(): Promise<void> {
    if (this.#foreverActive) {
      throw new InvalidStateError(
        `server ${inspect(this)} is already being awaited on serveForever()`,
      );
    }
    if (this.#closed) throw new InvalidStateError(`server ${inspect(this)} is closed`);
    this.#foreverActive = true;
    try {
      await this.startServing();
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        this.#serveForeverWaiter = resolve;
      });
    } finally {
      this.#foreverActive = false;
    }
  }

  /** Stop listening (new clients are refused); existing connections stay open. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const srv of this.#servers) if (srv.listening) srv.close();
    this.#serving = false;
    const w = this.#serveForeverWaiter;
    this.#serveForeverWaiter = null;
    w?.();
    this.#loop._forget(this);
    this.#maybeWakeClosed();
  }

  /** close() every connection attached to this server. */
  closeClients(): void {
    for (const t of [...this.#conns]) t.close();
  }

  /** abort() every connection attached to this server. */
  abortClients(): void {
    for (const t of [...this.#conns]) (t as unknown as { abort(): void }).abort();
  }

  /** Resolves once the server is closed and every attached connection has called connectionLost. */
  waitClosed(): Promise<void> {
    if (this.#closed && this.#conns.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  /** `await using server = ...`: `close()`, then `await waitClosed()` at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }

  /** @internal A connection of this server ended. */
  _detach(t: TransportBase): void {
    this.#conns.delete(t);
    this.#maybeWakeClosed();
  }

  /** @internal A connection of this server started (also used by startTls to hand over). */
  _attach(t: TransportBase): void {
    this.#conns.add(t);
    t._server = this;
  }

  #attach = (t: StreamTransport): void => this._attach(t);

  #maybeWakeClosed(): void {
    if (!this.#closed || this.#conns.size > 0) return;
    const w = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const f of w) f();
  }

  #onConnection(accepted: net.Socket, srv: net.Server): void {
    if (this.#closed) {
      accepted.destroy();
      return;
    }
    if (this.#keepAlive) accepted.setKeepAlive(true);
    const extra: Record<string, unknown> = {};
    if (this.#unixPath !== null) {
      extra.sockname = this.#unixPath;
      extra.peername = '';
    }
    if (this.#ssl !== null) {
      accepted.on('error', noop); // until the TLS transport owns it
      const layer = tlsServerLayer.server;
      if (layer === null) {
        accepted.destroy();
        return;
      }
      accepted.resume();
      layer
        .wrapServer(
          this.#loop,
          accepted,
          this.#factory as () => object,
          this.#ssl,
          this.#timeouts,
          extra,
          this.#attach,
        )
        .catch(noop); // handshake failures end that connection only (asyncio logs them in debug mode)
      return;
    }
    const { sock, hook } = adoptAccepted(accepted);
    // Errors the socket emits once no transport listens (after a startTls()
    // hand-over, after connectionLost) are not uncaught exceptions.
    sock.on('error', noop);
    // As asyncio outside debug mode: a factory that fails (or returns no
    // protocol) costs that connection only, silently.
    let protocol: unknown;
    try {
      protocol = this.#factory();
      checkProtocol(protocol);
    } catch {
      sock.destroy();
      return;
    }
    let t: StreamTransport;
    try {
      t = new StreamTransport(this.#loop, sock, protocol as object, {
        readHook: hook,
        extra,
        knownSockname: this.#unixPath === null ? listenerAddress(srv) : null,
      });
    } catch {
      sock.destroy();
      return;
    }
    this._attach(t);
  }

  #onServerError(srv: net.Server, err: NodeJS.ErrnoException): void {
    // listen()/bind() failures reject startServing(); they are not reported twice.
    if (err.syscall === 'listen' || err.syscall === 'bind') return;
    if (
      err.syscall === 'accept' &&
      err.code !== undefined &&
      ACCEPT_RESOURCE_ERRORS.has(err.code)
    ) {
      // libuv keeps the listening socket armed (and drops the connection it
      // could not accept), so the server accepts again once descriptors are
      // free; asyncio reports the same condition with this message.
      this.#loop.callExceptionHandler({
        message: 'socket.accept() out of system resource',
        exception: err,
        socket: srv,
      });
      return;
    }
    this.#loop.callExceptionHandler({
      message: 'Error on a listening socket',
      exception: err,
      socket: srv,
    });
  }

  /** How `util.inspect` shows the server: its listening addresses. */
  [inspect.custom](): string {
    const socks = this.sockets.map((s) => inspect(s.address()));
    return `<Server sockets=(${socks.join(', ')})>`;
  }
}

function noop(): void {}

/** Listen, mapping bind errors to asyncio's message (code kept). */
function listen(srv: net.Server, spec: ListenSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const e: NodeJS.ErrnoException = new Error(
        `error while attempting to bind on address ${spec.label}: ${describeCode(err)}`,
      );
      Object.assign(e, { code: err.code, errno: err.errno, syscall: err.syscall, cause: err });
      reject(e);
    };
    srv.once('error', onError);
    srv.listen(spec.options, () => {
      srv.off('error', onError);
      resolve();
    });
  });
}

function describeCode(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address already in use';
    case 'EADDRNOTAVAIL':
      return 'cannot assign requested address';
    case 'EACCES':
      return 'permission denied';
    default:
      return err.message.toLowerCase();
  }
}

const SERVER_KEYS = [
  'family',
  'sock',
  'backlog',
  'ssl',
  'reuseAddress',
  'reusePort',
  'keepAlive',
  'sslHandshakeTimeout',
  'sslShutdownTimeout',
  'startServing',
] as const;

function checkServerSsl(ssl: unknown, timeouts: SslTimeouts): ServerTlsOptions | null {
  if (ssl === undefined || ssl === null || ssl === false) {
    checkSslTimeouts(timeouts, false);
    return null;
  }
  if (typeof ssl === 'boolean') throw new TypeError('ssl argument must be an SSLContext or None');
  if (typeof ssl !== 'object')
    throw new TypeError(`ssl must be TLS options or a SecureContext, got ${inspect(ssl)}`);
  checkSslTimeouts(timeouts, true);
  requireTlsServer().checkServer(ssl);
  return ssl as ServerTlsOptions;
}

function checkBacklog(backlog: unknown): number {
  if (backlog === undefined) return DEFAULT_BACKLOG;
  if (typeof backlog !== 'number' || !Number.isInteger(backlog)) {
    throw new TypeError(`backlog must be an integer, got ${inspect(backlog)}`);
  }
  if (backlog < 0) throw new RangeError(`backlog must be >= 0, got ${backlog}`);
  return backlog;
}

function checkBool(v: unknown, name: string): void {
  if (v !== undefined && v !== null && typeof v !== 'boolean') {
    throw new TypeError(`${name} must be a boolean, got ${inspect(v)}`);
  }
}

function newNetServer(): net.Server {
  return net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
}

/** Take ownership of a user's net.Server. */
function adoptNetServer(sock: unknown, expected: string): net.Server {
  if (!(sock instanceof net.Server))
    throw new TypeError(`${expected} ${inspect(sock, { depth: 0 })}`);
  // Our accept path needs half-open sockets and paused handles.
  (sock as any).allowHalfOpen = true;
  (sock as any).pauseOnConnect = true;
  return sock;
}

export async function createServer(
  loop: EventLoop,
  protocolFactory: () => unknown,
  host?: string | readonly string[] | null,
  port?: number | null,
  options: CreateServerOptions = {},
): Promise<Server> {
  checkFactory(protocolFactory);
  checkOptions(options, SERVER_KEYS, 'createServer');
  const ssl = checkServerSsl(options.ssl, options);
  const backlog = checkBacklog(options.backlog);
  checkBool(options.reuseAddress, 'reuseAddress');
  checkBool(options.reusePort, 'reusePort');
  checkBool(options.keepAlive, 'keepAlive');
  checkBool(options.startServing, 'startServing');
  if (options.reuseAddress === false) {
    throw new TypeError(
      'reuseAddress=false is not supported: libuv always sets SO_REUSEADDR on listening TCP sockets',
    );
  }
  if (options.reusePort && !nodeHasReusePort()) {
    throw new TypeError(
      `reusePort is not supported by Node.js ${process.version} (it needs 22.12+ or 23.1+)`,
    );
  }
  const family = options.family ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) {
    throw new RangeError(`family must be 0, 4 or 6, got ${inspect(family)}`);
  }
  const sock = options.sock ?? null;
  let servers: net.Server[];
  let specs: ListenSpec[];
  if ((host != null && host !== '') || port != null) {
    if (sock !== null)
      throw new TypeError('host/port and sock can not be specified at the same time');
    const p = port ?? 0;
    checkPort(p, 'port');
    const hosts =
      host == null || host === ''
        ? [null]
        : typeof host === 'string'
          ? [host]
          : Array.isArray(host)
            ? host
            : (() => {
                throw new TypeError(
                  `host must be a string or a list of strings, got ${inspect(host)}`,
                );
              })();
    specs = [];
    const seen = new Set<string>();
    for (const h of hosts) {
      if (h === null) {
        specs.push({
          options: { port: p, backlog, reusePort: !!options.reusePort } as net.ListenOptions,
          label: `('', ${p})`,
        });
        continue;
      }
      if (typeof h !== 'string') throw new TypeError(`host must be a string, got ${inspect(h)}`);
      const addrs = net.isIP(h)
        ? [{ address: h, family: net.isIP(h) }]
        : await dns.promises.lookup(h, { all: true, family });
      if (addrs.length === 0) throw new Error(`getaddrinfo('${h}') returned empty list`);
      for (const a of addrs) {
        if (family !== 0 && a.family !== family) continue;
        if (seen.has(a.address)) continue;
        seen.add(a.address);
        specs.push({
          options: {
            host: a.address,
            port: p,
            backlog,
            ipv6Only: a.family === 6,
            reusePort: !!options.reusePort,
          } as net.ListenOptions,
          label: pyAddr([a.address, p]),
        });
      }
    }
    servers = specs.map(() => newNetServer());
  } else {
    if (sock === null) throw new TypeError('Neither host/port nor sock were specified');
    servers = [adoptNetServer(sock, 'A Stream Socket was expected, got')];
    specs = [{ options: { backlog }, label: inspect(sock.address()) }];
  }
  return finishServer(
    loop,
    protocolFactory,
    servers,
    specs,
    ssl,
    options,
    !!options.keepAlive,
    null,
  );
}

async function finishServer(
  loop: EventLoop,
  factory: () => unknown,
  servers: net.Server[],
  specs: ListenSpec[],
  ssl: ServerTlsOptions | null,
  options: SslTimeouts & { startServing?: boolean },
  keepAlive: boolean,
  unixPath: string | null,
): Promise<Server> {
  const timeouts = {
    sslHandshakeTimeout: options.sslHandshakeTimeout,
    sslShutdownTimeout: options.sslShutdownTimeout,
  };
  const server = new Server(loop, factory, servers, specs, { ssl, timeouts, keepAlive, unixPath });
  if (options.startServing !== false) {
    try {
      await server.startServing();
    } catch (err) {
      server.close();
      throw err;
    }
  }
  return server;
}

const UNIX_SERVER_KEYS = [
  'sock',
  'backlog',
  'ssl',
  'sslHandshakeTimeout',
  'sslShutdownTimeout',
  'startServing',
] as const;

export async function createUnixServer(
  loop: EventLoop,
  protocolFactory: () => unknown,
  path?: string | null,
  options: CreateUnixServerOptions = {},
): Promise<Server> {
  checkFactory(protocolFactory);
  checkOptions(options, UNIX_SERVER_KEYS, 'createUnixServer');
  const ssl = checkServerSsl(options.ssl, options);
  const backlog = checkBacklog(options.backlog);
  checkBool(options.startServing, 'startServing');
  const sock = options.sock ?? null;
  if (path != null) {
    if (sock !== null) throw new TypeError('path and sock can not be specified at the same time');
    if (typeof path !== 'string' || path === '') {
      throw new TypeError(`path must be a non-empty string, got ${inspect(path)}`);
    }
    if (!path.startsWith('\0')) {
      // asyncio replaces a stale socket file and refuses anything else.
      try {
        const st = lstatSync(path);
        if (st.isSocket()) unlinkSync(path);
        else {
          const e: NodeJS.ErrnoException = new Error(`Address '${path}' is already in use`);
          e.code = 'EADDRINUSE';
          throw e;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    const srv = newNetServer();
    return finishServer(
      loop,
      protocolFactory,
      [srv],
      [{ options: { path, backlog }, label: `'${path}'` }],
      ssl,
      options,
      false,
      path,
    );
  }
  if (sock === null) throw new TypeError('path was not specified, and no sock specified');
  const srv = adoptNetServer(sock, 'A UNIX Domain Stream Socket was expected, got');
  const addr = srv.address();
  return finishServer(
    loop,
    protocolFactory,
    [srv],
    [{ options: { backlog }, label: inspect(addr) }],
    ssl,
    options,
    false,
    typeof addr === 'string' ? addr : null,
  );
}
