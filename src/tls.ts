/**
 * TLS over `node:tls`: `ssl` on connections and servers, and `loop.startTls()`.
 *
 * A TLS transport is the stream transport over Node's `tls.TLSSocket` (in
 * Node the TLS socket *is* a `net.Socket`), so reading, writing, flow
 * control and the callback grammar are the stream transport's, with one
 * rule for every transport kind (pause strictly over high; asyncio's TLS
 * quirks of `>=` and 512 KiB are not copied). What TLS adds is the phase of
 * the TLS session on top of the connection state:
 *
 * ```
 *  HANDSHAKE ──handshake done──► WRAPPED ──close(), buffer drained──► SHUTDOWN
 *     │ error, EOF, timeout,                                  │ close_notify sent and the
 *     │ close()/abort()                                       │ peer's close_notify (or EOF) seen
 *     ▼                                                       ▼
 *  FAILED: the creating promise rejects; the      connectionLost(null), or connectionLost(
 *  protocol hears connectionLost(err) only when   TimeoutError) after sslShutdownTimeout
 *  it already had connectionMade (startTls)
 * ```
 *
 * Handshakes are bounded by `sslHandshakeTimeout` (60 s), the closing
 * exchange by `sslShutdownTimeout` (30 s), both in seconds as in asyncio.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { inspect } from 'node:util';
import { type ClientTlsOptions, tlsLayer, tlsServerLayer } from './connect.js';
import { InvalidStateError } from './errors.js';
import type { TimerHandle } from './handles.js';
import type { EventLoop } from './loop.js';
import type { ServerTlsOptions } from './server.js';
import { ConnState, checkProtocol, FAILED, protocolName } from './transports/base.js';
import type { AnyProtocol, Transport } from './transports/interfaces.js';
import { StreamTransport } from './transports/stream.js';
import { checkOptions, checkSslTimeouts, type SslTimeouts } from './validate.js';

/** asyncio's SSL_HANDSHAKE_TIMEOUT, seconds. */
export const SSL_HANDSHAKE_TIMEOUT = 60;
/** asyncio's SSL_SHUTDOWN_TIMEOUT, seconds. */
export const SSL_SHUTDOWN_TIMEOUT = 30;

export type { ServerTlsOptions };

/** Options of `loop.startTls`. */
export interface StartTlsOptions extends SslTimeouts {
  /** Take the server side of the handshake (default false: client). */
  serverSide?: boolean;
  /**
   * Client side: the name sent as SNI and checked against the certificate;
   * `''` skips the host name check (the chain is still verified).
   */
  serverHostname?: string | null;
}

// ---- errors ---------------------------------------------------------------------

function tlsError(name: string, code: string, message: string): Error {
  const err: NodeJS.ErrnoException = new Error(message);
  err.name = name;
  err.code = code;
  return err;
}

/** asyncio's ConnectionAbortedError for a handshake over time (semantics 6.6). */
function handshakeTimeoutError(timeout: number): Error {
  return tlsError(
    'ConnectionAbortedError',
    'ERR_TLS_HANDSHAKE_TIMEOUT',
    `SSL handshake is taking longer than ${timeout} seconds: aborting the connection`,
  );
}

/** asyncio's TimeoutError when the closing exchange does not finish (semantics 6.10). */
function shutdownTimeoutError(): Error {
  return tlsError('TimeoutError', 'ERR_TLS_SHUTDOWN_TIMEOUT', 'SSL shutdown timed out');
}

function handshakeAbortedError(): Error {
  return tlsError(
    'ConnectionAbortedError',
    'ECONNABORTED',
    'SSL handshake aborted: the transport was closed',
  );
}

/** The peer went away mid-handshake (asyncio: ConnectionResetError, semantics 6.7). */
function handshakeResetError(): Error {
  return tlsError('ConnectionResetError', 'ECONNRESET', 'Connection lost during the SSL handshake');
}

// ---- contexts -------------------------------------------------------------------

/** `tls.SecureContext` is exported as a value by Node, but typed only as an interface. */
const SecureContextClass = (tls as unknown as { SecureContext?: new () => object }).SecureContext;

function isSecureContext(v: unknown): v is tls.SecureContext {
  if (typeof v !== 'object' || v === null) return false;
  if (SecureContextClass !== undefined && v instanceof SecureContextClass) return true;
  return v.constructor?.name === 'SecureContext' && 'context' in v;
}

interface ClientConfig {
  context: tls.SecureContext;
  /** The user's connection options ({} for `true` or a SecureContext). */
  user: tls.ConnectionOptions;
}

/** Built once per options object: parsing keys and CA bundles is not free. */
const clientContexts = new WeakMap<object, tls.SecureContext>();
let defaultClientContext: tls.SecureContext | null = null;

/**
 * `ssl` of a client: `true` (Node's default trust store: its bundled root
 * CAs, plus `NODE_EXTRA_CA_CERTS` or OpenSSL's store with
 * `--use-openssl-ca`), Node's `tls.ConnectionOptions`, or a SecureContext.
 */
function clientConfig(ssl: unknown): ClientConfig {
  if (ssl === true) {
    defaultClientContext ??= tls.createSecureContext();
    return { context: defaultClientContext, user: {} };
  }
  if (isSecureContext(ssl)) return { context: ssl, user: {} };
  if (typeof ssl === 'object' && ssl !== null && !Array.isArray(ssl)) {
    const user = ssl as tls.ConnectionOptions;
    let context = clientContexts.get(user);
    if (context === undefined) {
      context = user.secureContext ?? tls.createSecureContext(user);
      clientContexts.set(user, context);
    }
    return { context, user };
  }
  throw new TypeError(
    `ssl must be true, TLS connection options or a tls.SecureContext, got ${inspect(ssl, { depth: 0 })}`,
  );
}

/**
 * The options for `tls.connect()` over an existing socket. `hostname` is
 * both SNI and the name the certificate must match (asyncio's
 * server_hostname); `''` keeps chain verification but skips the name check;
 * null leaves both to the user's options.
 */
function connectOptions(
  cfg: ClientConfig,
  hostname: string | null,
  socket: net.Socket,
): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { ...cfg.user, secureContext: cfg.context, socket };
  if (hostname === '') {
    o.checkServerIdentity = () => undefined;
  } else if (hostname !== null) {
    // With a socket given, `host` only names the peer for the identity check.
    o.host = hostname;
    // SNI must not be an IP address (RFC 6066; Node warns, DEP0123).
    if (net.isIP(hostname) === 0) o.servername = hostname;
    else delete o.servername;
  }
  return o;
}

interface ServerConfig {
  context: tls.SecureContext;
  /** TLSSocket options that are not part of the context (ALPN, SNI, PSK). */
  socketOptions: Record<string, unknown>;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

const SERVER_SOCKET_KEYS = [
  'ALPNProtocols',
  'ALPNCallback',
  'SNICallback',
  'pskCallback',
  'pskIdentityHint',
  'enableTrace',
] as const;

const serverConfigs = new WeakMap<object, ServerConfig>();

/**
 * `ssl` of a server: Node's `tls.TlsOptions` (as for `tls.createServer`,
 * with `requestCert`/`rejectUnauthorized` meaning what they mean there) or a
 * SecureContext. The context is built once per options object, so a server
 * parses its key and certificate once, not per connection.
 */
function serverConfig(ssl: unknown): ServerConfig {
  if (typeof ssl !== 'object' || ssl === null || Array.isArray(ssl)) {
    throw new TypeError('Server side SSL needs a valid SSLContext');
  }
  let cfg = serverConfigs.get(ssl);
  if (cfg !== undefined) return cfg;
  if (isSecureContext(ssl)) {
    cfg = { context: ssl, socketOptions: {}, requestCert: false, rejectUnauthorized: true };
  } else {
    const o = ssl as tls.TlsOptions & Record<string, unknown>;
    if (
      o.secureContext === undefined &&
      o.key === undefined &&
      o.pfx === undefined &&
      o.cert === undefined &&
      o.SNICallback === undefined &&
      o.pskCallback === undefined
    ) {
      throw new TypeError(
        'Server side SSL needs a valid SSLContext: give key and cert (or pfx, secureContext, SNICallback)',
      );
    }
    const socketOptions: Record<string, unknown> = {};
    for (const k of SERVER_SOCKET_KEYS) if (o[k] !== undefined) socketOptions[k] = o[k];
    cfg = {
      context: o.secureContext ?? tls.createSecureContext(o),
      socketOptions,
      requestCert: !!o.requestCert,
      // As tls.createServer: on by default, effective with requestCert.
      rejectUnauthorized: o.rejectUnauthorized !== false,
    };
  }
  serverConfigs.set(ssl, cfg);
  return cfg;
}

/** The server side of a handshake over an accepted (or upgraded) socket. */
function serverSocket(sock: net.Socket, cfg: ServerConfig): tls.TLSSocket {
  const t = new tls.TLSSocket(sock, {
    ...cfg.socketOptions,
    isServer: true,
    secureContext: cfg.context,
    requestCert: cfg.requestCert,
    rejectUnauthorized: cfg.rejectUnauthorized,
  });
  // A TLSSocket made outside tls.Server reports TLS errors only through the
  // internal '_tlsError' event until "control is released", which
  // tls.connect() does at once for clients. Do the same; where that method
  // is missing, TlsTransport listens to '_tlsError' instead.
  const release = (t as unknown as { _releaseControl?: () => boolean })._releaseControl;
  if (typeof release === 'function') release.call(t);
  return t;
}

/**
 * A standalone server TLSSocket accepts any client certificate (Node's
 * verify callback always accepts; tls.Server checks afterwards). Check as
 * tls.Server does and reject an unauthorized client when asked to.
 */
function verifyClient(sock: tls.TLSSocket, cfg: ServerConfig): Error | null {
  if (!cfg.requestCert) return null;
  const handle = (sock as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  const err =
    typeof handle?.verifyError === 'function'
      ? handle.verifyError()
      : new Error('cannot verify the client certificate on this Node.js version');
  const s = sock as unknown as { authorized: boolean; authorizationError: unknown };
  if (err) {
    s.authorized = false;
    s.authorizationError = (err as NodeJS.ErrnoException).code ?? err.message;
    return cfg.rejectUnauthorized ? err : null;
  }
  s.authorized = true;
  return null;
}

/**
 * The secret-key bits of a cipher suite, from its name (what Python's
 * `SSLSocket.cipher()` reports, as OpenSSL's SSL_CIPHER_get_bits). Null for
 * a suite this table does not know.
 */
export function cipherBits(name: string): number | null {
  const n = name.toUpperCase();
  if (n.includes('CHACHA20')) return 256;
  const m = /(?:AES|CAMELLIA|ARIA)[-_]?(128|256)/.exec(n);
  if (m) return Number(m[1]);
  if (/3DES|DES-CBC3|DES_EDE3/.test(n)) return 112;
  if (/SM4|RC4|IDEA|SEED/.test(n)) return 128;
  if (n.includes('DES')) return 56;
  if (n.includes('NULL')) return 0;
  return null;
}

// ---- the transport --------------------------------------------------------------

/** The TLS session's phase on top of the connection state (see the module diagram). */
export const TlsPhase = { HANDSHAKE: 0, WRAPPED: 1, SHUTDOWN: 2, FAILED: 3 } as const;
export type TlsPhase = (typeof TlsPhase)[keyof typeof TlsPhase];
const PHASE_NAMES = ['handshake', 'wrapped', 'shutdown', 'failed'] as const;

interface TlsTransportInit {
  side: 'client' | 'server';
  context: tls.SecureContext;
  timeouts: SslTimeouts;
  extra: Record<string, unknown>;
  /** Made by startTls: the protocol already had connectionMade. */
  upgrade: boolean;
  /** Server side: how to check the client's certificate. */
  verify: ServerConfig | null;
  /** The handshake succeeded (after connectionMade, or for startTls before reading starts). */
  onReady: () => void;
  /** The handshake failed: Node's error, or a timeout/abort/reset error of ours. */
  onFail: (err: Error) => void;
}

/** A stream transport over a `tls.TLSSocket`. Instances come from the loop. */
export class TlsTransport extends StreamTransport {
  #phase: TlsPhase = TlsPhase.HANDSHAKE;
  /** The handshake timer, later the shutdown timer. */
  #timer: TimerHandle | null = null;
  readonly #shutdownTimeout: number;
  readonly #upgrade: boolean;
  readonly #verify: ServerConfig | null;
  #settle: { ready: () => void; fail: (err: Error) => void } | null;
  /** The peer's close_notify (or EOF) arrived. */
  #peerEof = false;
  /** Our close_notify and FIN reached the kernel. */
  #finished = false;

  /** @internal */
  constructor(loop: EventLoop, sock: tls.TLSSocket, protocol: AnyProtocol, init: TlsTransportInit) {
    super(loop, sock, protocol, {
      extra: init.extra,
      deferStart: true,
      onMade: init.upgrade ? undefined : init.onReady,
    });
    // TLS has no half-close, and the closing exchange is ours to run: Node
    // must not end the socket by itself when the peer's close_notify comes
    // (a user-given socket may have been made with allowHalfOpen false).
    sock.allowHalfOpen = true;
    this.#upgrade = init.upgrade;
    this.#verify = init.verify;
    this.#settle = { ready: init.onReady, fail: init.onFail };
    // The protocol of an upgraded connection was made long ago: a failed
    // handshake must reach its connectionLost.
    if (init.upgrade) this._made = true;
    this._extra.sslcontext = init.context;
    this.#shutdownTimeout = init.timeouts.sslShutdownTimeout ?? SSL_SHUTDOWN_TIMEOUT;
    const hsTimeout = init.timeouts.sslHandshakeTimeout ?? SSL_HANDSHAKE_TIMEOUT;
    this.#timer = loop.callLater(hsTimeout, () => {
      this.#timer = null;
      if (this.#phase === TlsPhase.HANDSHAKE) this._forceClose(handshakeTimeoutError(hsTimeout));
    });
    // Once per connection, so a closure is fine here. Clients wait for
    // 'secureConnect': tls.connect() has checked the certificate by then.
    sock.once(init.side === 'client' ? 'secureConnect' : 'secure', () => this.#onSecure());
    if (
      init.side === 'server' &&
      !(sock as unknown as { _controlReleased?: boolean })._controlReleased
    ) {
      sock.on('_tlsError', (err: Error) => this._onError(err));
    }
  }

  protected override get _kind(): string {
    return 'SSL';
  }

  #onSecure(): void {
    if (this.#phase !== TlsPhase.HANDSHAKE || this._state !== ConnState.OPEN) return;
    const sock = this._sock as tls.TLSSocket;
    if (this.#verify !== null) {
      const err = verifyClient(sock, this.#verify);
      if (err !== null) {
        this._forceClose(err);
        return;
      }
    }
    this.#phase = TlsPhase.WRAPPED;
    this.#cancelTimer();
    const c = sock.getCipher();
    Object.assign(this._extra, {
      peercert: sock.getPeerCertificate(),
      cipher: [c.name, c.version, cipherBits(c.name)],
      compression: null,
      ssl_object: sock,
    });
    const settle = this.#settle!;
    this.#settle = null;
    if (!this.#upgrade) {
      // connectionMade, then reading, then the creating promise resolves.
      this._begin(true);
      return;
    }
    // startTls resolves first, so the code awaiting it holds the new
    // transport before anything is delivered; reading starts next turn.
    settle.ready();
    this._begin(false);
    if (this._flow.paused) {
      // The protocol was paused for writing on the plain transport, whose
      // bytes have all gone by now (the handshake followed them): tell it,
      // so it is not left paused for good (CPython gh-109051).
      this._loop.callSoon(() => {
        if (this._state === ConnState.OPEN || this._state === ConnState.CLOSING)
          this._maybeResumeProtocol();
      });
    }
  }

  #cancelTimer(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  /**
   * Every way a connection ends goes through here; during the handshake it
   * also settles the creating promise (rejects), with `exc` or, for a plain
   * abort, an error that says so.
   */
  override _forceClose(exc: Error | null): void {
    if (this.#phase === TlsPhase.HANDSHAKE && this._state < ConnState.LOST_SCHEDULED) {
      this.#phase = TlsPhase.FAILED;
      this.#cancelTimer();
      const err = exc ?? handshakeAbortedError();
      const settle = this.#settle;
      this.#settle = null;
      super._forceClose(err);
      settle?.fail(err);
      return;
    }
    super._forceClose(exc);
  }

  /** @internal */
  override _onError(err: Error): void {
    if (this.#phase === TlsPhase.HANDSHAKE) {
      // Certificate, protocol and network errors: quiet (they carry a code),
      // the creating call rejects with Node's error.
      this._forceClose(err);
      return;
    }
    if (this.#phase === TlsPhase.SHUTDOWN && this.#peerEof) {
      // Both sides said goodbye; a peer that closed its socket right after
      // its close_notify may reset ours as our close_notify lands. Clean.
      this._forceClose(null);
      return;
    }
    super._onError(err);
  }

  /** @internal The peer's close_notify, or EOF. */
  override _onEof(): void {
    if (this.#phase === TlsPhase.HANDSHAKE) {
      // A client socket that tls.connect() already destroyed emits its own
      // ECONNRESET error next; let that one through.
      if (!this._sock.destroyed) this._forceClose(handshakeResetError());
      return;
    }
    if (this.#peerEof) return;
    this.#peerEof = true;
    if (this._state === ConnState.OPEN) {
      const keepOpen = this._callData('eofReceived', 'eof_received');
      if (keepOpen === FAILED) return;
      if (keepOpen) console.warn('returning true from eof_received() has no effect when using ssl');
      this.close();
      return;
    }
    this.#maybeDone();
  }

  /** @internal */
  override _onClose(): void {
    if (this.#phase === TlsPhase.HANDSHAKE) {
      this._forceClose(handshakeResetError());
      return;
    }
    super._onClose();
  }

  /** TLS cannot half-close. */
  override canWriteEof(): boolean {
    return false;
  }

  /** Always throws: TLS cannot half-close (asyncio raises NotImplementedError). */
  override writeEof(): void {
    throw new Error("SSL doesn't support half-closes");
  }

  /**
   * Flush what is buffered, send close_notify, wait for the peer's, then
   * `connectionLost(null)`; the exchange is bounded by `sslShutdownTimeout`
   * (then `connectionLost(TimeoutError)`). During the handshake: abort.
   */
  override close(): void {
    if (this._upgradedTo !== null || this._state !== ConnState.OPEN) {
      super.close();
      return;
    }
    if (this.#phase === TlsPhase.HANDSHAKE) {
      this._forceClose(handshakeAbortedError());
      return;
    }
    this.#timer = this._loop.callLater(this.#shutdownTimeout, () => {
      this.#timer = null;
      if (this._state === ConnState.CLOSING) this._forceClose(shutdownTimeoutError());
    });
    super.close();
  }

  /** @internal With everything written and the transport closing: send close_notify. */
  override _afterDrainCheck(): void {
    if (
      this._state !== ConnState.CLOSING ||
      this.#phase !== TlsPhase.WRAPPED ||
      this.getWriteBufferSize() !== 0
    ) {
      return;
    }
    this.#phase = TlsPhase.SHUTDOWN;
    // Nothing more can follow our close_notify: later writes are dropped
    // (asyncio drops writes once its SSL protocol is shutting down).
    this._writeShut = true;
    const sock = this._sock;
    // end(): close_notify, then FIN. Reading goes on (nothing is delivered
    // after close()) so that the peer's close_notify is seen.
    sock.end(this.#onFinished);
    sock.resume();
  }

  #onFinished = (err?: Error | null): void => {
    if (err) return; // the 'error' event handles it
    this.#finished = true;
    this.#maybeDone();
  };

  #maybeDone(): void {
    if (this.#finished && this.#peerEof && this._state === ConnState.CLOSING) {
      this._scheduleConnectionLost(null);
    }
  }

  protected override _release(): void {
    this.#cancelTimer();
    super._release();
  }

  protected override _describe(): string[] {
    const d = super._describe();
    d.splice(1, 0, `tls=${PHASE_NAMES[this.#phase]}`);
    return d;
  }
}

// ---- entry points ---------------------------------------------------------------

/** createConnection/createUnixConnection with `ssl`: the client side over a connected socket. */
function wrapClient(
  loop: EventLoop,
  sock: net.Socket,
  factory: () => object,
  ssl: ClientTlsOptions,
  serverHostname: string | null,
  timeouts: SslTimeouts,
  extra: Record<string, unknown>,
): Promise<[Transport, object]> {
  let cfg: ClientConfig;
  let protocol: object;
  let tlsSock: tls.TLSSocket;
  try {
    cfg = clientConfig(ssl);
    // As asyncio: the factory runs once connected, before the handshake.
    protocol = factory();
    checkProtocol(protocol);
    tlsSock = tls.connect(connectOptions(cfg, serverHostname, sock));
  } catch (exc) {
    sock.destroy();
    return Promise.reject(exc);
  }
  return new Promise((resolve, reject) => {
    const t: TlsTransport = new TlsTransport(loop, tlsSock, protocol, {
      side: 'client',
      context: cfg.context,
      timeouts,
      extra,
      upgrade: false,
      verify: null,
      onReady: () => resolve([t, protocol]),
      onFail: reject,
    });
  });
}

/** createServer/createUnixServer/connectAcceptedSocket with `ssl`: the server side. */
function wrapServer(
  loop: EventLoop,
  sock: net.Socket,
  factory: () => object,
  ssl: object,
  timeouts: SslTimeouts,
  extra: Record<string, unknown>,
  attach: ((t: StreamTransport) => void) | null,
): Promise<[Transport, object]> {
  let cfg: ServerConfig;
  let protocol: object;
  let tlsSock: tls.TLSSocket;
  try {
    cfg = serverConfig(ssl);
    protocol = factory();
    checkProtocol(protocol);
    tlsSock = serverSocket(sock, cfg);
  } catch (exc) {
    sock.destroy();
    return Promise.reject(exc);
  }
  return new Promise((resolve, reject) => {
    const t: TlsTransport = new TlsTransport(loop, tlsSock, protocol, {
      side: 'server',
      context: cfg.context,
      timeouts,
      extra,
      upgrade: false,
      verify: cfg,
      onReady: () => resolve([t, protocol]),
      onFail: reject,
    });
    // A server's connection counts as attached from here, handshake
    // included (semantics 9.16): closeClients() aborts a pending handshake.
    attach?.(t);
  });
}

const START_TLS_KEYS = [
  'serverSide',
  'serverHostname',
  'sslHandshakeTimeout',
  'sslShutdownTimeout',
] as const;

/**
 * `loop.startTls()`: upgrade a live stream connection (plain, or TLS for
 * TLS over TLS) in place. The protocol keeps its connectionMade; the promise
 * resolves with the new transport after the handshake, before any data
 * reaches the protocol over TLS. The old transport is retired at once: it
 * reads nothing more, drops writes, and its close()/abort() reach the new
 * one.
 *
 * Lossless: whatever arrived after the protocol's last dataReceived (in the
 * kernel, or buffered by Node for sockets read through 'data' events) goes
 * to the TLS layer, and bytes still queued for writing reach the peer before
 * the first TLS record. `pending` (internal: for a stream reader that has
 * read ahead, CPython gh-142352) are bytes the protocol received but that
 * belong to the handshake; they are fed to TLS before anything else. It may
 * be a function that gives them, called only once the arguments passed
 * their checks, so that a rejected call takes nothing from the reader.
 *
 * Flow control carries over: the limits, the protocol's paused state
 * (resumeWriting follows once the buffer is at or below low, CPython
 * gh-109051) and a paused reading side. A failed, timed-out or aborted
 * upgrade rejects and ends in `connectionLost(err)` for the protocol.
 */
export async function startTls(
  loop: EventLoop,
  transport: Transport,
  protocol: AnyProtocol,
  sslcontext: ClientTlsOptions | ServerTlsOptions,
  options: StartTlsOptions = {},
  pending?: Uint8Array | (() => Uint8Array | null) | null,
): Promise<Transport> {
  if (!(transport instanceof StreamTransport)) {
    throw new TypeError(
      `transport ${inspect(transport, { depth: 0 })} is not supported by start_tls()`,
    );
  }
  checkProtocol(protocol);
  checkOptions(options, START_TLS_KEYS, 'startTls');
  const serverSide = options.serverSide ?? false;
  if (typeof serverSide !== 'boolean') {
    throw new TypeError(`serverSide must be a boolean, got ${inspect(serverSide)}`);
  }
  checkSslTimeouts(options, true);
  const serverHostname = options.serverHostname ?? null;
  if (serverHostname !== null && typeof serverHostname !== 'string') {
    throw new TypeError(`serverHostname must be a string, got ${inspect(serverHostname)}`);
  }
  if (
    sslcontext !== true &&
    (typeof sslcontext !== 'object' || sslcontext === null || Array.isArray(sslcontext))
  ) {
    throw new TypeError(
      `sslcontext is expected to be true, TLS options or a tls.SecureContext, got ${inspect(sslcontext, { depth: 0 })}`,
    );
  }
  let server: ServerConfig | null = null;
  let client: ClientConfig | null = null;
  let hostname: string | null = null;
  if (serverSide) {
    if (sslcontext === true) throw new TypeError('Server side SSL needs a valid SSLContext');
    if (serverHostname !== null)
      throw new TypeError('server_hostname can only be specified in client mode');
    server = serverConfig(sslcontext);
  } else {
    client = clientConfig(sslcontext);
    hostname = serverHostname ?? client.user.servername ?? null;
    if (
      hostname === null &&
      client.user.rejectUnauthorized !== false &&
      client.user.checkServerIdentity === undefined
    ) {
      throw new TypeError(
        'startTls() needs serverHostname on the client side (an empty string skips the host name check)',
      );
    }
  }
  if (
    pending !== undefined &&
    pending !== null &&
    !(pending instanceof Uint8Array) &&
    typeof pending !== 'function'
  ) {
    throw new TypeError(
      `pending must be a Uint8Array or a function, got ${inspect(pending, { depth: 0 })}`,
    );
  }
  if (transport._state !== ConnState.OPEN || transport._upgradedTo !== null) {
    throw new InvalidStateError('Transport is closing');
  }
  if (transport._sendfileActive) {
    throw new InvalidStateError('unable to start TLS; sendfile is in progress');
  }

  const old = transport;
  const sock = old._sock;
  old._resolveNames();
  const extra = { peername: old._extra.peername, sockname: old._extra.sockname };
  const { high, low, paused } = old._flow;
  return new Promise<Transport>((resolve, reject) => {
    let t: TlsTransport | null = null;
    const { readingPaused } = old._handOver({
      close: () => t?.close(),
      abort: () => t?.abort(),
    });
    // Node's TLSSocket feeds a socket's readable buffer to TLS before
    // reading on; bytes put back at its front come first.
    const bytes = typeof pending === 'function' ? pending() : pending;
    if (bytes && bytes.length > 0) sock.unshift(Buffer.from(bytes));
    let tlsSock: tls.TLSSocket;
    try {
      tlsSock =
        server !== null
          ? serverSocket(sock, server)
          : tls.connect(connectOptions(client!, hostname, sock));
    } catch (exc) {
      // Not expected with validated options; still, end as a failed upgrade.
      sock.destroy();
      loop._forget(old);
      old._server?._detach(old);
      loop.callSoon(lostAfterFailedUpgrade, loop, protocol, exc as Error);
      reject(exc);
      return;
    }
    t = new TlsTransport(loop, tlsSock, protocol, {
      side: serverSide ? 'server' : 'client',
      context: server !== null ? server.context : client!.context,
      timeouts: options,
      extra,
      upgrade: true,
      verify: server,
      onReady: () => resolve(t!),
      onFail: reject,
    });
    t._flow.high = high;
    t._flow.low = low;
    t._flow.paused = paused;
    if (readingPaused) t.pauseReading();
    // A server's connection stays attached across the upgrade.
    const srv = old._server;
    if (srv !== null) {
      old._server = null;
      srv._attach(t);
      srv._detach(old);
    }
    loop._forget(old);
  });
}

function lostAfterFailedUpgrade(loop: EventLoop, protocol: AnyProtocol, exc: Error): void {
  const p = protocol as { connectionLost?: (e: Error | null) => void };
  if (typeof p.connectionLost !== 'function') return;
  try {
    p.connectionLost(exc);
  } catch (err) {
    loop.callExceptionHandler({
      message: `Exception in callback ${protocolName(protocol)}.connection_lost(${inspect(exc)})`,
      exception: err instanceof Error ? err : new Error(String(err)),
      protocol,
    });
  }
}

tlsLayer.client = {
  checkClient(ssl: unknown): void {
    clientConfig(ssl);
  },
  wrapClient,
};
tlsServerLayer.server = {
  checkServer(ssl: unknown): void {
    serverConfig(ssl);
  },
  wrapServer,
};
