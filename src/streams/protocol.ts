/**
 * StreamReaderProtocol: the protocol between a transport and a
 * StreamReader/StreamWriter pair (asyncio's `StreamReaderProtocol` with its
 * `FlowControlMixin`).
 *
 * @module
 */
import { inspect } from 'node:util';
import { systemError } from '../errors.js';
import type { Future } from '../futures.js';
import { type EventLoop, getRunningLoop } from '../loop.js';
import { Protocol } from '../protocols.js';
import { asError } from '../transports/base.js';
import type { Transport } from '../transports/interfaces.js';
import type { StreamReader } from './reader.js';
import { StreamWriter } from './writer.js';

/**
 * Called for each connection a stream server accepts. May return a
 * promise; if it rejects (or the callback throws), the loop's exception
 * handler gets `Unhandled exception in client_connected_cb` and the
 * connection is closed.
 */
export type ClientConnectedCallback = (
  reader: StreamReader,
  writer: StreamWriter,
) => void | PromiseLike<void>;

/** asyncio's ConnectionResetError('Connection lost'), as a Node system error. */
function connectionLostError(): Error {
  const err = systemError('ECONNRESET', 'Connection lost');
  err.message = 'Connection lost';
  return err;
}

/**
 * Adapts a transport to a {@link StreamReader} (data, EOF and failure go to
 * the reader) and gives {@link StreamWriter.drain} its flow control: the
 * transport's `pauseWriting`/`resumeWriting` make `drain()` wait, and any
 * number of concurrent `drain()` calls all wait and all wake.
 *
 * With a `clientConnectedCb` (servers), `connectionMade` creates the
 * StreamWriter and calls the callback with the reader and writer.
 */
export class StreamReaderProtocol extends Protocol {
  /** @internal */ readonly _loop: EventLoop;
  #reader: StreamReader | null;
  /** @internal */ readonly _clientConnectedCb: ClientConnectedCallback | null;
  #transport: Transport | null = null;
  #overSsl = false;
  // FlowControlMixin state.
  #paused = false;
  #connectionLost = false;
  #lostExc: Error | null = null;
  #drainWaiters = new Set<Future<void>>();
  /** Resolves on connectionLost(null), rejects with its error; a Future, so an unobserved failure is never an unhandled rejection. */
  #closed: Future<void>;

  /**
   * @param streamReader The reader fed by this protocol (or null).
   * @param clientConnectedCb For servers: called with (reader, writer) on connectionMade.
   * @param loop The loop (default: the running loop).
   */
  constructor(
    streamReader: StreamReader | null,
    clientConnectedCb: ClientConnectedCallback | null = null,
    loop?: EventLoop,
  ) {
    super();
    if (clientConnectedCb !== null && typeof clientConnectedCb !== 'function') {
      throw new TypeError(
        `clientConnectedCb must be a function, got ${inspect(clientConnectedCb, { depth: 0 })}`,
      );
    }
    this._loop = loop ?? getRunningLoop();
    this.#reader = streamReader;
    this._clientConnectedCb = clientConnectedCb;
    this.#closed = this._loop.createFuture<void>();
  }

  /** @internal The writer after startTls: the reader pauses the new transport. */
  _replaceTransport(transport: Transport): void {
    this.#transport = transport;
    this.#overSsl = transport.getExtraInfo('sslcontext') != null;
    this.#reader?._replaceTransport(transport);
  }

  override connectionMade(transport: Transport): void {
    this.#transport = transport;
    const reader = this.#reader;
    if (reader !== null) reader.setTransport(transport);
    this.#overSsl = transport.getExtraInfo('sslcontext') != null;
    const cb = this._clientConnectedCb;
    if (cb === null) return;
    const writer = new StreamWriter(transport, this, reader, this._loop);
    let res: void | PromiseLike<void>;
    try {
      res = cb(reader!, writer);
    } catch (exc) {
      // asyncio only sees async callbacks fail this way; a synchronous throw
      // is treated the same so that it never escapes into the transport.
      this.#clientFailed(asError(exc), transport);
      return;
    }
    if (res !== null && typeof res === 'object' && typeof res.then === 'function') {
      res.then(undefined, (exc: unknown) => this.#clientFailed(asError(exc), transport));
    }
  }

  #clientFailed(exc: Error, transport: Transport): void {
    this._loop.callExceptionHandler({
      message: 'Unhandled exception in client_connected_cb',
      exception: exc,
      transport,
    });
    transport.close();
  }

  override connectionLost(exc: Error | null): void {
    const reader = this.#reader;
    if (reader !== null) {
      if (exc === null) reader.feedEof();
      else reader.setException(exc);
    }
    if (!this.#closed.done()) {
      if (exc === null) this.#closed.setResult(undefined);
      else this.#closed.setException(exc);
    }
    // FlowControlMixin: wake paused drain() callers.
    this.#connectionLost = true;
    this.#lostExc = exc;
    if (this.#paused) {
      for (const w of this.#drainWaiters) {
        if (w.done()) continue;
        if (exc === null) w.setResult(undefined);
        else w.setException(exc);
      }
    }
    this.#reader = null;
    this.#transport = null;
  }

  override dataReceived(data: Buffer): void {
    // The transport hands over bytes the protocol owns, so the reader may
    // keep them without a copy.
    this.#reader?._feedOwned(data);
  }

  /**
   * EOF goes to the reader. Returns true (keep the write side open: the
   * writer stays usable after the peer's EOF), except over TLS, which has
   * no half-close (semantics 10.9).
   */
  override eofReceived(): boolean {
    this.#reader?.feedEof();
    return !this.#overSsl;
  }

  override pauseWriting(): void {
    this.#paused = true;
  }

  override resumeWriting(): void {
    this.#paused = false;
    // Every waiter, however many: CPython issue 74116 was a single waiter slot.
    for (const w of this.#drainWaiters) if (!w.done()) w.setResult(undefined);
  }

  /** @internal True when drain() has nothing to wait for (the fast path of StreamWriter.drain). */
  _writable(): boolean {
    return !this.#connectionLost && !this.#paused;
  }

  /** @internal Wait while the transport's write buffer is over the high-water mark. */
  async _drainHelper(): Promise<void> {
    if (this.#connectionLost) throw this.#lostExc ?? connectionLostError();
    if (!this.#paused) return;
    const waiter = this._loop.createFuture<void>();
    this.#drainWaiters.add(waiter);
    try {
      await waiter;
    } finally {
      this.#drainWaiters.delete(waiter);
    }
  }

  /** @internal What StreamWriter.waitClosed awaits. */
  _getCloseWaiter(): Future<void> {
    return this.#closed;
  }

  /** How `util.inspect` shows the protocol: new, connected or lost, and paused. */
  [inspect.custom](): string {
    const state = this.#connectionLost ? 'lost' : this.#transport !== null ? 'connected' : 'new';
    return `<StreamReaderProtocol ${state}${this.#paused ? ' paused' : ''}>`;
  }
}
