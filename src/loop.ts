/**
 * The event loop: asyncio's loop API on top of Node's own event loop. One
 * ready queue drained per turn, timers, futures, the exception handler, and
 * the methods that create transports and servers.
 *
 * @module
 */
import type * as net from 'node:net';
import type * as stream from 'node:stream';
import { inspect } from 'node:util';
import {
  type ClientTlsOptions,
  type ConnectAcceptedSocketOptions,
  type CreateConnectionOptions,
  type CreateUnixConnectionOptions,
  connectAcceptedSocket,
  createConnection,
  createUnixConnection,
} from './connect.js';
import type { ExceptionContext, ExceptionHandler } from './context.js';
import { Future } from './futures.js';
import { Handle, TimerHandle } from './handles.js';
import type { BaseProtocol } from './protocols.js';
import { type SendfileFile, type SendfileOptions, sendfile } from './sendfile.js';
import {
  type CreateServerOptions,
  type CreateUnixServerOptions,
  createServer,
  createUnixServer,
  type Server,
} from './server.js';
import { type ServerTlsOptions, type StartTlsOptions, startTls } from './tls.js';
import {
  type CreateDatagramEndpointOptions,
  createDatagramEndpoint,
} from './transports/datagram.js';
import type {
  DatagramTransport,
  ReadTransport,
  SubprocessTransport,
  Transport,
  WriteTransport,
} from './transports/interfaces.js';
import { connectReadPipe, connectWritePipe } from './transports/pipes.js';
import {
  type SubprocessOptions,
  subprocessExec,
  subprocessShell,
} from './transports/subprocess.js';

/** Anything the loop tracks so that `run()` can close what is still open. */
export interface Closable {
  close(): void;
}

/**
 * asyncio's event loop, as a façade over Node's: `callSoon` callbacks go
 * through one ready queue drained once per turn (one `setImmediate` per
 * turn, not one per callback); `callLater`/`callAt` use Node timers;
 * durations are seconds.
 *
 * The transport-creating methods (`createConnection`, `createServer`, ...)
 * validate their arguments and delegate to the module of their transport
 * kind; this file holds the scheduling core.
 */
export class EventLoop {
  #ready: Handle[] = [];
  #drainScheduled = false;
  #handler: ExceptionHandler | null = null;
  /** @internal Transports and servers created through this loop and still open. */
  readonly _open = new Set<Closable>();
  #openWaiters: Array<() => void> = [];

  /** The loop's monotonic clock, in seconds. */
  time(): number {
    return performance.now() / 1000;
  }

  /** Schedule `callback(...args)` on the next turn of the loop, after callbacks already scheduled. */
  callSoon<A extends any[]>(callback: (...args: A) => void, ...args: A): Handle {
    checkCallback(callback, 'callSoon');
    const h = new Handle(callback, args, this);
    this._schedule(h);
    return h;
  }

  /** @internal Append a handle to the ready queue. */
  _schedule(h: Handle): void {
    this.#ready.push(h);
    if (!this.#drainScheduled) {
      this.#drainScheduled = true;
      setImmediate(this.#drain);
    }
  }

  /**
   * Run the callbacks that were ready when this turn started; those they
   * schedule run on the next turn, as in asyncio's `_run_once`.
   */
  #drain = (): void => {
    this.#drainScheduled = false;
    const batch = this.#ready;
    this.#ready = [];
    for (let i = 0; i < batch.length; i++) batch[i]!._run();
  };

  /** Schedule `callback(...args)` after `delay` seconds. */
  callLater<A extends any[]>(
    delay: number,
    callback: (...args: A) => void,
    ...args: A
  ): TimerHandle {
    if (typeof delay !== 'number' || Number.isNaN(delay)) {
      throw new TypeError(`delay must be a number, got ${inspect(delay)}`);
    }
    return this.callAt(this.time() + delay, callback, ...args);
  }

  /** Schedule `callback(...args)` at `when`, a time of `loop.time()`. */
  callAt<A extends any[]>(when: number, callback: (...args: A) => void, ...args: A): TimerHandle {
    if (typeof when !== 'number' || Number.isNaN(when)) {
      throw new TypeError(`when must be a number, got ${inspect(when)}`);
    }
    checkCallback(callback, 'callAt');
    const h = new TimerHandle(when, callback, args, this);
    const ms = Math.max(0, (when - this.time()) * 1000);
    // Node clamps delays above 2^31-1 ms to 1 ms; keep far timers far.
    h._timer = setTimeout(runTimer, Math.min(ms, 2 ** 31 - 1), h);
    return h;
  }

  /** A new Future bound to this loop. */
  createFuture<T = unknown>(): Future<T> {
    return new Future<T>(this);
  }

  /** Set (or with null, reset) the handler that `callExceptionHandler` calls. */
  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== 'function') {
      throw new TypeError(`A callable object or None is expected, got ${inspect(handler)}`);
    }
    this.#handler = handler;
  }

  /** The current exception handler, or null for the default. */
  getExceptionHandler(): ExceptionHandler | null {
    return this.#handler;
  }

  /**
   * Print the context as asyncio's default handler logs it: the message,
   * then `key: value` for the other keys sorted by name, then the
   * exception's stack.
   */
  defaultExceptionHandler(context: ExceptionContext): void {
    checkContext(context);
    const lines = [context.message || 'Unhandled exception in event loop'];
    for (const key of Object.keys(context).sort()) {
      if (key === 'message' || key === 'exception') continue;
      lines.push(`${key}: ${inspect(context[key], { depth: 1, breakLength: Infinity })}`);
    }
    const exc = context.exception;
    if (exc !== undefined && exc !== null) {
      lines.push(exc instanceof Error && exc.stack ? exc.stack : inspect(exc));
    }
    console.error(lines.join('\n'));
  }

  /**
   * Call the custom exception handler if set, else the default; never
   * throws, except a TypeError when `context` is not an object.
   */
  callExceptionHandler(context: ExceptionContext): void {
    checkContext(context);
    const handler = this.#handler;
    if (handler === null) {
      try {
        this.defaultExceptionHandler(context);
      } catch {
        // The default handler only prints; nothing sensible remains to do.
      }
      return;
    }
    try {
      handler(this, context);
    } catch (exc) {
      try {
        this.defaultExceptionHandler({
          message: 'Unhandled error in exception handler',
          exception: exc instanceof Error ? exc : new Error(String(exc)),
          context,
        });
      } catch {
        // As above.
      }
    }
  }

  // ---- transports and servers ------------------------------------------------

  /**
   * Open a TCP connection (or wrap `options.sock`) and bind a protocol to it.
   * Resolves with `[transport, protocol]` after `connectionMade` ran.
   * Every resolved address is tried in order (or raced with
   * `happyEyeballsDelay`); `signal` aborts a pending attempt.
   */
  createConnection<P>(
    protocolFactory: () => P,
    host?: string | null,
    port?: number | null,
    options?: CreateConnectionOptions,
  ): Promise<[Transport, P]> {
    return createConnection(this, protocolFactory, host, port, options);
  }

  /**
   * Listen on `host` (a name, a list of names, or null for all interfaces)
   * and `port` (0 for an ephemeral port), or serve `options.sock`.
   */
  createServer(
    protocolFactory: () => unknown,
    host?: string | readonly string[] | null,
    port?: number | null,
    options?: CreateServerOptions,
  ): Promise<Server> {
    return createServer(this, protocolFactory, host, port, options);
  }

  /** Connect to the Unix socket at `path` (or wrap `options.sock`). */
  createUnixConnection<P>(
    protocolFactory: () => P,
    path?: string | null,
    options?: CreateUnixConnectionOptions,
  ): Promise<[Transport, P]> {
    return createUnixConnection(this, protocolFactory, path, options);
  }

  /** Listen on the Unix socket at `path` (a stale socket file is replaced). */
  createUnixServer(
    protocolFactory: () => unknown,
    path?: string | null,
    options?: CreateUnixServerOptions,
  ): Promise<Server> {
    return createUnixServer(this, protocolFactory, path, options);
  }

  /** Bind a protocol to a socket accepted outside protoloop (server side for TLS). */
  connectAcceptedSocket<P>(
    protocolFactory: () => P,
    sock: net.Socket,
    options?: ConnectAcceptedSocketOptions,
  ): Promise<[Transport, P]> {
    return connectAcceptedSocket(this, protocolFactory, sock, options);
  }

  /**
   * Open a UDP endpoint: bound to `localAddr`, connected to `remoteAddr`,
   * both, or wrapping `options.sock` (a `dgram.Socket`). Resolves with
   * `[transport, protocol]` after `connectionMade` ran.
   */
  createDatagramEndpoint<P>(
    protocolFactory: () => P,
    options?: CreateDatagramEndpointOptions,
  ): Promise<[DatagramTransport, P]> {
    return createDatagramEndpoint(this, protocolFactory, options);
  }

  /**
   * Bind a protocol to the read end of a pipe: a file descriptor (a pipe or
   * FIFO, a socket, a character device; a regular file is rejected) or a
   * Node `Readable`. The transport owns it and closes it when done.
   */
  connectReadPipe<P>(
    protocolFactory: () => P,
    pipe: number | stream.Readable,
  ): Promise<[ReadTransport, P]> {
    return connectReadPipe(this, protocolFactory, pipe);
  }

  /**
   * Bind a protocol to the write end of a pipe: a file descriptor (a pipe or
   * FIFO, a socket, a character device; a regular file is rejected) or a
   * Node `Writable`. The transport owns it and closes it when done.
   */
  connectWritePipe<P>(
    protocolFactory: () => P,
    pipe: number | stream.Writable,
  ): Promise<[WriteTransport, P]> {
    return connectWritePipe(this, protocolFactory, pipe);
  }

  /**
   * Run `program` with `args` (no shell) under a `SubprocessProtocol`.
   * Resolves after `connectionMade` ran; a missing program rejects with
   * Node's `ENOENT` error. See {@link SubprocessOptions}.
   */
  subprocessExec<P>(
    protocolFactory: () => P,
    program: string,
    args?: readonly string[],
    options?: SubprocessOptions,
  ): Promise<[SubprocessTransport, P]> {
    return subprocessExec(this, protocolFactory, program, args, options);
  }

  /** Run `cmd` with `/bin/sh -c` under a `SubprocessProtocol`; as `subprocessExec`. */
  subprocessShell<P>(
    protocolFactory: () => P,
    cmd: string,
    options?: SubprocessOptions,
  ): Promise<[SubprocessTransport, P]> {
    return subprocessShell(this, protocolFactory, cmd, options);
  }

  /**
   * Upgrade a live connection to TLS (STARTTLS), client side or with
   * `serverSide: true` server side. `sslcontext` is `true` (client: Node's
   * default trusted CAs), Node's TLS options, or a `tls.SecureContext`.
   * Resolves with a new transport once the handshake is done; `protocol`
   * gets no second `connectionMade`, and the old transport must not be used
   * again (its `close()`/`abort()` reach the new one). Nothing received
   * before the upgrade is lost and flow-control state carries over. A failed
   * or timed-out upgrade rejects and ends in `protocol.connectionLost(err)`.
   */
  startTls(
    transport: Transport,
    protocol: BaseProtocol | object,
    sslcontext: ClientTlsOptions | ServerTlsOptions,
    options?: StartTlsOptions,
  ): Promise<Transport> {
    return startTls(this, transport, protocol, sslcontext, options);
  }

  /**
   * Send a file (a FileHandle or a descriptor) over a stream transport,
   * `count` bytes (default: to the end) from `offset`; resolves with the
   * number of bytes sent. Node has no zero-copy path, so this reads and writes
   * under the transport's flow control; `fallback: false` rejects with
   * SendfileNotAvailableError. See src/sendfile.ts.
   */
  sendfile(
    transport: WriteTransport,
    file: SendfileFile,
    offset?: number,
    count?: number | null,
    options?: SendfileOptions,
  ): Promise<number> {
    return sendfile(this, transport, file, offset, count, options);
  }

  /** @internal Track something `run()` must close; untrack it with `_forget`. */
  _track(c: Closable): void {
    this._open.add(c);
  }

  /** @internal */
  _forget(c: Closable): void {
    if (this._open.delete(c) && this._open.size === 0) {
      const waiters = this.#openWaiters;
      this.#openWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** @internal Close everything still open and wait until it is gone. */
  async _closeAll(): Promise<void> {
    for (const c of [...this._open]) {
      try {
        c.close();
      } catch (exc) {
        this.callExceptionHandler({
          message: 'Error while closing at the end of run()',
          exception: exc as Error,
        });
      }
    }
    if (this._open.size > 0) {
      await new Promise<void>((resolve) => this.#openWaiters.push(resolve));
    }
  }

  /** How `util.inspect` shows the loop: callbacks ready to run and transports/servers still open. */
  [inspect.custom](): string {
    return `<EventLoop running=true ready=${this.#ready.length} open=${this._open.size}>`;
  }
}

function runTimer(h: TimerHandle): void {
  h._timer = null;
  h._run();
}

function checkContext(context: unknown): void {
  if (context === null || typeof context !== 'object') {
    throw new TypeError(`context must be an object, got ${inspect(context)}`);
  }
}

function checkCallback(cb: unknown, method: string): void {
  if (typeof cb !== 'function') {
    throw new TypeError(`a callable object was expected by ${method}(), got ${inspect(cb)}`);
  }
}

let theLoop: EventLoop | null = null;

/** The loop of this thread. Under Node a loop is always running. */
export function getRunningLoop(): EventLoop {
  if (theLoop === null) theLoop = new EventLoop();
  return theLoop;
}

/**
 * asyncio.run: await `main()`, then close every transport and server made
 * through the loop that is still open (waiting for their `connectionLost`),
 * then resolve with main's result or reject with its error.
 */
export async function run<T>(main: () => Promise<T>): Promise<T> {
  if (typeof main !== 'function') {
    throw new TypeError(`a coroutine function was expected, got ${inspect(main)}`);
  }
  const loop = getRunningLoop();
  try {
    return await main();
  } finally {
    await loop._closeAll();
  }
}
