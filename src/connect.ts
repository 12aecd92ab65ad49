/**
 * Client-side connections: createConnection (with asyncio's address loop and
 * happy eyeballs), createUnixConnection, connectAcceptedSocket, socketpair.
 *
 * @module
 */
import * as dns from 'node:dns';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { EventLoop } from './loop.js';
import { checkProtocol } from './transports/base.js';
import type { Address, Transport } from './transports/interfaces.js';
import { ReadHook, StreamTransport } from './transports/stream.js';
import {
  checkAddress,
  checkFactory,
  checkOptions,
  checkPort,
  checkSslTimeouts,
  type SslTimeouts,
} from './validate.js';

/** TLS client options: Node's own vocabulary (or `true` for the system CAs). */
export type ClientTlsOptions =
  | boolean
  | import('node:tls').ConnectionOptions
  | import('node:tls').SecureContext;

/** Options of `loop.createConnection`. */
export interface CreateConnectionOptions extends SslTimeouts {
  /**
   * Wrap the connection in TLS: `true` (Node's default trusted CAs), Node's
   * `tls.ConnectionOptions`, or a `tls.SecureContext`.
   */
  ssl?: ClientTlsOptions | null;
  /** 4 or 6 to resolve `host` to that address family only; 0 (default) takes both. */
  family?: 0 | 4 | 6;
  /** An existing connected (or connecting) `net.Socket` to use instead of `host`/`port`; the transport owns it. */
  sock?: net.Socket | null;
  /** Bind the socket to this `[host, port]` before connecting (port 0: any). */
  localAddr?: Address | null;
  /**
   * With `ssl`: the name sent as SNI and checked against the server's
   * certificate (default: `host`); `''` skips the host name check.
   */
  serverHostname?: string | null;
  /**
   * Seconds to wait for one attempt before starting the next address in
   * parallel (RFC 8305 happy eyeballs; asyncio's `happy_eyeballs_delay`).
   * Default: try the addresses one after another.
   */
  happyEyeballsDelay?: number | null;
  /**
   * Reorder the resolved addresses by family: the first `interleave - 1`
   * of the first family, then alternating (default 1 when
   * `happyEyeballsDelay` is set).
   */
  interleave?: number | null;
  /** When every attempt fails, reject with an `AggregateError` of all their errors (asyncio's `all_errors`). */
  allErrors?: boolean;
  /** Abort a pending connection: rejects with Node's `AbortError` and leaves no socket open. */
  signal?: AbortSignal;
}

/** Options of `loop.createUnixConnection`. */
export interface CreateUnixConnectionOptions extends SslTimeouts {
  /** Wrap the connection in TLS, as for {@link CreateConnectionOptions.ssl}; needs `serverHostname`. */
  ssl?: ClientTlsOptions | null;
  /** An existing connected Unix `net.Socket` to use instead of `path`; the transport owns it. */
  sock?: net.Socket | null;
  /** With `ssl`: the name checked against the server's certificate (required with `ssl`). */
  serverHostname?: string | null;
  /** Abort a pending connection: rejects with Node's `AbortError`. */
  signal?: AbortSignal;
}

/** Options of `loop.connectAcceptedSocket`. */
export interface ConnectAcceptedSocketOptions extends SslTimeouts {
  /** Take the server side of a TLS handshake: Node's `tls.TlsOptions` (key and cert) or a `tls.SecureContext`. */
  ssl?: import('node:tls').TlsOptions | import('node:tls').SecureContext | null;
}

const CONNECTION_KEYS = [
  'ssl',
  'family',
  'sock',
  'localAddr',
  'serverHostname',
  'sslHandshakeTimeout',
  'sslShutdownTimeout',
  'happyEyeballsDelay',
  'interleave',
  'allErrors',
  'signal',
] as const;

/**
 * The TLS layer, installed by tls.ts so that plain connections do not load
 * `node:tls`. Upgrades a connected plain socket (client side).
 * @internal
 */
export interface TlsClientLayer {
  /** Validate `ssl` (and build its context) before anything connects. */
  checkClient(ssl: unknown): void;
  wrapClient(
    loop: EventLoop,
    sock: net.Socket,
    factory: () => object,
    ssl: ClientTlsOptions,
    serverHostname: string | null,
    timeouts: SslTimeouts,
    extra: Record<string, unknown>,
  ): Promise<[Transport, object]>;
}
/** @internal */
export const tlsLayer: { client: TlsClientLayer | null } = { client: null };

/** An AbortError as Node's own APIs reject with. */
export function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason });
  err.name = 'AbortError';
  (err as NodeJS.ErrnoException).code = 'ABORT_ERR';
  return err;
}

/** Wrap a connected socket in a StreamTransport; resolves after connectionMade. */
export function makeStreamTransport<P>(
  loop: EventLoop,
  sock: net.Socket,
  factory: () => P,
  hook: ReadHook | null,
  extra?: Record<string, unknown>,
  attach?: (t: StreamTransport) => void,
): Promise<[Transport, P]> {
  let protocol: P;
  try {
    protocol = factory();
    checkProtocol(protocol);
  } catch (exc) {
    sock.destroy();
    return Promise.reject(exc);
  }
  return new Promise((resolve) => {
    const t: StreamTransport = new StreamTransport(loop, sock, protocol as object, {
      readHook: hook,
      extra,
      onMade: () => resolve([t, protocol]),
    });
    attach?.(t);
  });
}

interface Attempt {
  sock: net.Socket;
  hook: ReadHook;
}

/** Start one TCP connection attempt; paused, with our onread. */
function startAttempt(
  address: string,
  family: number,
  port: number,
  localAddr: Address | null,
): { sock: net.Socket; hook: ReadHook; done: Promise<Attempt> } {
  const hook = new ReadHook();
  const opts: net.NetConnectOpts = {
    host: address,
    port,
    family,
    allowHalfOpen: true,
    noDelay: true,
    onread: hook.onread,
  };
  if (localAddr !== null) {
    opts.localAddress = localAddr[0];
    opts.localPort = localAddr[1];
  }
  const sock = net.connect(opts);
  sock.pause();
  const done = new Promise<Attempt>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      sock.off('connect', onConnect);
      sock.destroy();
      if (err.syscall === 'bind' && localAddr !== null) {
        const e: NodeJS.ErrnoException = new Error(
          `error while attempting to bind on address ${pyAddr(localAddr)}: ${strerror(err)}`,
        );
        Object.assign(e, { code: err.code, errno: err.errno, syscall: 'bind', cause: err });
        reject(e);
      } else {
        reject(err);
      }
    };
    const onConnect = (): void => {
      sock.off('error', onError);
      resolve({ sock, hook });
    };
    sock.once('error', onError);
    sock.once('connect', onConnect);
  });
  return { sock, hook, done };
}

/** asyncio prints addresses as Python tuples in its messages. */
export function pyAddr(a: Address): string {
  return `('${a[0]}', ${a[1]})`;
}

/** The lowercased strerror part of a Node system error message ("connect EADDRINUSE x" -> "address already in use"). */
function strerror(err: NodeJS.ErrnoException): string {
  const map: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'cannot assign requested address',
    EACCES: 'permission denied',
    EINVAL: 'invalid argument',
  };
  return (err.code && map[err.code]) ?? err.message.toLowerCase();
}

/** asyncio's _interleave_addrinfos: first `interleave - 1` of the first family, then round-robin. */
export function interleaveAddrs<T extends { family: number }>(addrs: T[], interleave: number): T[] {
  const byFamily = new Map<number, T[]>();
  for (const a of addrs) {
    const list = byFamily.get(a.family);
    if (list === undefined) byFamily.set(a.family, [a]);
    else list.push(a);
  }
  const lists = [...byFamily.values()];
  const out: T[] = [];
  if (interleave > 1 && lists.length > 0) out.push(...lists[0]!.splice(0, interleave - 1));
  for (let i = 0; lists.some((l) => i < l.length); i++) {
    for (const l of lists) if (i < l.length) out.push(l[i]!);
  }
  return out;
}

/** Combine the errors of every attempt as asyncio does (semantics 9.4). */
function combineErrors(errors: Error[], allErrors: boolean): Error {
  if (allErrors) return new AggregateError(errors, 'create_connection failed');
  if (errors.length === 1) return errors[0]!;
  const first = String(errors[0]!.message);
  if (errors.every((e) => String(e.message) === first)) return errors[0]!;
  const err = new Error(`Multiple exceptions: ${errors.map((e) => e.message).join(', ')}`);
  (err as any).errors = errors;
  return err;
}

/** Try the addresses in order, or as a staggered race (happy eyeballs). */
export function connectAddrs(
  addrs: dns.LookupAddress[],
  port: number,
  localAddr: Address | null,
  delay: number | null,
  signal: AbortSignal | undefined,
  allErrors: boolean,
): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const live = new Set<net.Socket>();
    const errors: Error[] = [];
    let next = 0;
    let running = 0;
    let settled = false;
    let timer: NodeJS.Timeout | null = null;
    const finish = (err: Error | null, win?: Attempt): void => {
      if (settled) return;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const s of live) if (s !== win?.sock) s.destroy();
      live.clear();
      if (err !== null) reject(err);
      else resolve(win!);
    };
    const onAbort = (): void => finish(abortError(signal!));
    const startNext = (): void => {
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      if (settled || next >= addrs.length) return;
      const idx = next++;
      const a = addrs[idx]!;
      const att = startAttempt(a.address, a.family, port, localAddr);
      live.add(att.sock);
      running++;
      att.done.then(
        (win) => {
          running--;
          live.delete(win.sock);
          if (settled) win.sock.destroy();
          else finish(null, win);
        },
        (err: Error) => {
          running--;
          live.delete(att.sock);
          errors[idx] = err;
          if (settled) return;
          if (next < addrs.length) startNext();
          else if (running === 0) finish(combineErrors(errors.filter(Boolean), allErrors));
        },
      );
      if (delay !== null && next < addrs.length) timer = setTimeout(startNext, delay * 1000);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    startNext();
  });
}

async function resolveHost(host: string, family: number): Promise<dns.LookupAddress[]> {
  const ipFamily = net.isIP(host);
  if (ipFamily !== 0) return [{ address: host, family: ipFamily }];
  const addrs = await dns.promises.lookup(host, { all: true, family });
  if (addrs.length === 0) throw new Error('getaddrinfo() returned empty list');
  // Duplicates (the same address twice) are tried once.
  const seen = new Set<string>();
  return addrs.filter((a) => !seen.has(a.address) && seen.add(a.address));
}

export async function createConnection<P>(
  loop: EventLoop,
  protocolFactory: () => P,
  host?: string | null,
  port?: number | null,
  options: CreateConnectionOptions = {},
): Promise<[Transport, P]> {
  checkFactory(protocolFactory);
  checkOptions(options, CONNECTION_KEYS, 'createConnection');
  const { ssl = null, sock = null, signal } = options;
  const serverHostname = options.serverHostname ?? null;
  if (serverHostname !== null && !ssl) {
    throw new TypeError('server_hostname is only meaningful with ssl');
  }
  if (serverHostname !== null && typeof serverHostname !== 'string') {
    throw new TypeError(`serverHostname must be a string, got ${inspect(serverHostname)}`);
  }
  checkSslTimeouts(options, !!ssl);
  if (ssl) requireTls().checkClient(ssl);
  if (ssl && serverHostname === null && !host) {
    throw new TypeError('You must set server_hostname when using ssl without a host');
  }
  const family = options.family ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) {
    throw new RangeError(`family must be 0, 4 or 6, got ${inspect(family)}`);
  }
  const localAddr = options.localAddr ?? null;
  if (localAddr !== null) checkAddress(localAddr, 'localAddr');
  const delay = options.happyEyeballsDelay ?? null;
  if (delay !== null && (typeof delay !== 'number' || !(delay >= 0))) {
    throw new RangeError(`happyEyeballsDelay must be a non-negative number, got ${inspect(delay)}`);
  }
  let interleave = options.interleave ?? null;
  if (interleave !== null && (!Number.isInteger(interleave) || interleave < 1)) {
    throw new RangeError(`interleave must be a positive integer, got ${inspect(interleave)}`);
  }
  if (delay !== null && interleave === null) interleave = 1;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${inspect(signal)}`);
  }
  if (options.allErrors !== undefined && typeof options.allErrors !== 'boolean') {
    throw new TypeError(`allErrors must be a boolean, got ${inspect(options.allErrors)}`);
  }

  let connected: Attempt | { sock: net.Socket; hook: null };
  if (host != null || port != null) {
    if (sock !== null)
      throw new TypeError('host/port and sock can not be specified at the same time');
    if (typeof host !== 'string' || host === '') {
      throw new TypeError(`host must be a non-empty string, got ${inspect(host)}`);
    }
    checkPort(port, 'port');
    if (signal?.aborted) throw abortError(signal);
    let addrs = await resolveHost(host, family);
    if (localAddr !== null) {
      const localFamily = net.isIP(localAddr[0]);
      if (localFamily !== 0) {
        addrs = addrs.filter((a) => a.family === localFamily);
        if (addrs.length === 0) {
          throw new Error(`no matching local address with family=${localFamily} found`);
        }
      }
    }
    if (interleave !== null) addrs = interleaveAddrs(addrs, interleave);
    if (signal?.aborted) throw abortError(signal);
    connected = await connectAddrs(addrs, port!, localAddr, delay, signal, !!options.allErrors);
  } else {
    if (sock === null) throw new TypeError('host and port was not specified and no sock specified');
    connected = { sock: await adoptSocket(sock, 'A Stream Socket was expected, got'), hook: null };
  }

  if (ssl) {
    const layer = requireTls();
    return layer.wrapClient(
      loop,
      connected.sock,
      protocolFactory as () => object,
      ssl,
      serverHostname ?? host ?? '',
      options,
      {},
    ) as Promise<[Transport, P]>;
  }
  return makeStreamTransport(loop, connected.sock, protocolFactory, connected.hook);
}

/** @internal */
export function requireTls(): TlsClientLayer {
  if (tlsLayer.client === null) throw new Error('protoloop: the TLS layer is not loaded');
  return tlsLayer.client;
}

/** Check a user-supplied socket and wait until it is connected. */
async function adoptSocket(sock: unknown, expected: string): Promise<net.Socket> {
  if (!(sock instanceof net.Socket))
    throw new TypeError(`${expected} ${inspect(sock, { depth: 0 })}`);
  if (sock.destroyed) throw new TypeError(`${expected} a destroyed socket`);
  if (sock.connecting) {
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void => {
        sock.off('connect', onOk);
        reject(e);
      };
      const onOk = (): void => {
        sock.off('error', onErr);
        resolve();
      };
      sock.once('error', onErr);
      sock.once('connect', onOk);
    });
  }
  return sock;
}

const UNIX_KEYS = [
  'ssl',
  'sock',
  'serverHostname',
  'sslHandshakeTimeout',
  'sslShutdownTimeout',
  'signal',
] as const;

export async function createUnixConnection<P>(
  loop: EventLoop,
  protocolFactory: () => P,
  path?: string | null,
  options: CreateUnixConnectionOptions = {},
): Promise<[Transport, P]> {
  checkFactory(protocolFactory);
  checkOptions(options, UNIX_KEYS, 'createUnixConnection');
  const { ssl = null, sock = null, signal } = options;
  const serverHostname = options.serverHostname ?? null;
  if (ssl) {
    if (serverHostname === null)
      throw new TypeError('you have to pass server_hostname when using ssl');
  } else if (serverHostname !== null) {
    throw new TypeError('server_hostname is only meaningful with ssl');
  }
  checkSslTimeouts(options, !!ssl);
  if (ssl) requireTls().checkClient(ssl);
  let connected: { sock: net.Socket; hook: ReadHook | null };
  let extra: Record<string, unknown>;
  if (path != null) {
    if (sock !== null) throw new TypeError('path and sock can not be specified at the same time');
    if (typeof path !== 'string' || path === '') {
      throw new TypeError(`path must be a non-empty string, got ${inspect(path)}`);
    }
    if (signal?.aborted) throw abortError(signal);
    const hook = new ReadHook();
    const s = net.connect({ path, allowHalfOpen: true, onread: hook.onread });
    s.pause();
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        s.destroy();
        reject(abortError(signal!));
      };
      s.once('error', (e) => {
        signal?.removeEventListener('abort', onAbort);
        s.destroy();
        reject(e);
      });
      s.once('connect', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    connected = { sock: s, hook };
    extra = { peername: path, sockname: '' };
  } else {
    if (sock === null) throw new TypeError('no path and sock were specified');
    const s = await adoptSocket(sock, 'A UNIX Domain Stream Socket was expected, got');
    connected = { sock: s, hook: null };
    extra = unixNames(s);
  }
  if (ssl) {
    return requireTls().wrapClient(
      loop,
      connected.sock,
      protocolFactory as () => object,
      ssl,
      serverHostname,
      options,
      extra,
    ) as Promise<[Transport, P]>;
  }
  return makeStreamTransport(loop, connected.sock, protocolFactory, connected.hook, extra);
}

/** Sockets made by socketpair() are unnamed on both ends. */
const kUnnamed = Symbol('protoloop.unnamed');

/** Extra-info names of a Unix socket we did not connect ourselves. */
export function unixNames(sock: net.Socket): Record<string, unknown> {
  if ((sock as any)[kUnnamed]) return { peername: '', sockname: '' };
  if (sock.remoteFamily === 'IPv4' || sock.remoteFamily === 'IPv6') return {};
  const addr = sock.address();
  return { sockname: typeof addr === 'string' ? addr : '', peername: '' };
}

/** Accepted sockets given by the user keep the 'data' read path; TLS goes server side. */
export async function connectAcceptedSocket<P>(
  loop: EventLoop,
  protocolFactory: () => P,
  sock: net.Socket,
  options: ConnectAcceptedSocketOptions = {},
): Promise<[Transport, P]> {
  checkFactory(protocolFactory);
  checkOptions(
    options,
    ['ssl', 'sslHandshakeTimeout', 'sslShutdownTimeout'],
    'connectAcceptedSocket',
  );
  checkSslTimeouts(options, !!options.ssl);
  if ((options.ssl as unknown) === true)
    throw new TypeError('ssl argument must be an SSLContext or None');
  if (options.ssl) requireTlsServer().checkServer(options.ssl);
  const s = await adoptSocket(sock, 'A Stream Socket was expected, got');
  const extra = unixNames(s);
  if (options.ssl) {
    return requireTlsServer().wrapServer(
      loop,
      s,
      protocolFactory as () => object,
      options.ssl,
      options,
      extra,
      null,
    ) as Promise<[Transport, P]>;
  }
  return makeStreamTransport(loop, s, protocolFactory, null, extra);
}

/** @internal The server side of the TLS layer (installed by tls.ts). */
export interface TlsServerLayer {
  /** Validate server-side `ssl` and build its context once (cached per options object). */
  checkServer(ssl: unknown): void;
  wrapServer(
    loop: EventLoop,
    sock: net.Socket,
    factory: () => object,
    ssl: object,
    timeouts: SslTimeouts,
    extra: Record<string, unknown>,
    attach: ((t: StreamTransport) => void) | null,
  ): Promise<[Transport, object]>;
}
/** @internal */
export const tlsServerLayer: { server: TlsServerLayer | null } = { server: null };

/** @internal */
export function requireTlsServer(): TlsServerLayer {
  if (tlsServerLayer.server === null) throw new Error('protoloop: the TLS layer is not loaded');
  return tlsServerLayer.server;
}

/**
 * A connected pair of Unix stream sockets, as Python's `socket.socketpair()`.
 * Node has no socketpair(2); the pair is made through a private listening
 * socket in a fresh temporary directory, removed before this resolves.
 *
 * Both ends are returned as fresh connected sockets that nobody reads yet:
 * neither handle has started reading (what the peer sends waits in the
 * kernel, as with Python's pair), and neither stream is paused, so a user's
 * `on('data')` or `on('readable')` starts reading as on any new socket.
 * Because nothing was read in JavaScript, a transport that adopts an end
 * (`createConnection({ sock })`, `connectAcceptedSocket`, a pipe) or a
 * child process given an end as a stdio slot gets every byte.
 */
export async function socketpair(): Promise<[net.Socket, net.Socket]> {
  const dir = mkdtempSync(join(tmpdir(), 'protoloop-sp-'));
  const path = join(dir, 's');
  // pauseOnConnect: the accepted end's handle does not start reading.
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const a = net.connect({ path, allowHalfOpen: true });
    // Paused before it connects, so that Node does not start reading it on
    // 'connect' (net.Socket reads at once unless the stream is paused).
    a.pause();
    await new Promise<void>((resolve, reject) => {
      a.once('error', reject);
      a.once('connect', () => {
        a.off('error', reject);
        resolve();
      });
    });
    const b = await accepted;
    for (const s of [a, b]) {
      // Back to a new stream's flowing state, null (neither flowing nor
      // paused), so that a 'data' listener resumes it as on any socket; the
      // handle stays stopped until a consumer asks. `readableFlowing` is
      // Readable's own settable property (net.Socket sets it to false the
      // same way for pauseOnConnect).
      (s as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
      (s as any)[kUnnamed] = true;
    }
    return [a, b];
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
