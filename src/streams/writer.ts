/**
 * StreamWriter: asyncio's `StreamWriter`, a transport plus `drain()` (wait
 * for write flow control), `waitClosed()` and `startTls()`.
 *
 * @module
 */
import type * as tls from 'node:tls';
import { inspect } from 'node:util';
import type { ClientTlsOptions } from '../connect.js';
import type { EventLoop } from '../loop.js';
import { type ServerTlsOptions, type StartTlsOptions, startTls } from '../tls.js';
import type { Bytes, Transport } from '../transports/interfaces.js';
import { checkOptions } from '../validate.js';
import type { StreamReaderProtocol } from './protocol.js';
import type { StreamReader } from './reader.js';

/** What `startTls` accepts: `true` (client, system CAs) or Node's own TLS options, or a SecureContext. */
export type StreamTlsContext = true | tls.ConnectionOptions | tls.TlsOptions | tls.SecureContext;

/** Options of {@link StreamWriter.startTls}. */
export interface StreamStartTlsOptions {
  /** The name to check the server's certificate against (client side). */
  serverHostname?: string | null;
  /** Seconds the TLS handshake may take (default 60). */
  sslHandshakeTimeout?: number | null;
  /** Seconds the TLS shutdown may take (default 30). */
  sslShutdownTimeout?: number | null;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** A promise that settles after the callbacks already in the loop's ready queue ran (asyncio's `sleep(0)`). */
function nextTurn(loop: EventLoop): Promise<void> {
  return new Promise((resolve) => loop.callSoon(resolve));
}

/**
 * The writing half of a stream connection: a thin layer over the
 * transport, plus `drain()`, `waitClosed()` and `startTls()`.
 *
 * ```ts
 * writer.write(data);
 * await writer.drain(); // waits only while the transport's buffer is over its high-water mark
 * ```
 */
export class StreamWriter {
  #transport: Transport;
  #protocol: StreamReaderProtocol;
  #reader: StreamReader | null;
  #loop: EventLoop;

  /**
   * Normally made by `openConnection`/`startServer`; construct one yourself
   * only around a transport whose protocol is `protocol`.
   */
  constructor(
    transport: Transport,
    protocol: StreamReaderProtocol,
    reader: StreamReader | null,
    loop: EventLoop,
  ) {
    this.#transport = transport;
    this.#protocol = protocol;
    this.#reader = reader;
    this.#loop = loop;
  }

  /** The underlying transport (a new one after `startTls`). */
  get transport(): Transport {
    return this.#transport;
  }

  /** Write bytes (never blocks; follow with `await drain()` to respect flow control). */
  write(data: Bytes): void {
    this.#transport.write(data);
  }

  /** Write every item of `data`, as one vectored write. */
  writelines(data: Iterable<Bytes>): void {
    this.#transport.writelines(data);
  }

  /** Close the write side after buffered data is sent (half-close). */
  writeEof(): void {
    this.#transport.writeEof();
  }

  /** True if the transport supports `writeEof()` (false over TLS). */
  canWriteEof(): boolean {
    return this.#transport.canWriteEof();
  }

  /** Close the connection after buffered data is sent; follow with `await waitClosed()`. */
  close(): void {
    this.#transport.close();
  }

  /** True once the transport is closing or closed. */
  isClosing(): boolean {
    return this.#transport.isClosing();
  }

  /**
   * Resolves once the connection is lost: cleanly, or rejects with the
   * error it failed with.
   */
  async waitClosed(): Promise<void> {
    await this.#protocol._getCloseWaiter();
  }

  /** The transport's extra info (`peername`, `sockname`, `socket`, TLS keys...). */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return this.#transport.getExtraInfo(name, defaultValue);
  }

  /**
   * Wait until it is appropriate to write more: resolves at once unless the
   * transport paused writing (buffer over the high-water mark), else when it
   * resumes (at or below the low-water mark). Any number of concurrent
   * callers all wait and all wake. Rejects with the connection's error once
   * it failed, or `ECONNRESET` "Connection lost" once it closed.
   */
  drain(): Promise<void> {
    // Fast path, the common case of `write(); await drain()`: nothing to
    // wait for, so no async frames are created.
    if (
      this.#protocol._writable() &&
      !this.#transport.isClosing() &&
      (this.#reader === null || this.#reader.exception() === null)
    ) {
      return RESOLVED;
    }
    return this.#drainSlow();
  }

  async #drainSlow(): Promise<void> {
    if (this.#reader !== null) {
      const exc = this.#reader.exception();
      if (exc !== null) throw exc;
    }
    if (this.#transport.isClosing()) {
      // Let a scheduled connectionLost run first, so that a loop of
      // write(); await drain() sees the connection end instead of spinning.
      await nextTurn(this.#loop);
    }
    await this.#protocol._drainHelper();
  }

  /**
   * Upgrade the connection to TLS (server side if this writer came from a
   * stream server). Waits for `drain()`, then `loop.startTls`; afterwards
   * `transport` is the TLS transport, and the reader reads decrypted data.
   */
  async startTls(sslcontext: StreamTlsContext, options: StreamStartTlsOptions = {}): Promise<void> {
    checkOptions(
      options,
      ['serverHostname', 'sslHandshakeTimeout', 'sslShutdownTimeout'],
      'startTls',
    );
    const serverSide = this.#protocol._clientConnectedCb !== null;
    await this.drain();
    const opts: StartTlsOptions = { serverSide };
    if (options.serverHostname != null) opts.serverHostname = options.serverHostname;
    if (options.sslHandshakeTimeout != null) opts.sslHandshakeTimeout = options.sslHandshakeTimeout;
    if (options.sslShutdownTimeout != null) opts.sslShutdownTimeout = options.sslShutdownTimeout;
    // Bytes the reader already holds came after the last line the
    // application read: in STARTTLS they are the start of the handshake
    // (a client may send its ClientHello right behind the command), so they
    // go to the TLS layer instead of being lost (CPython gh-142352).
    // Taken only once startTls has checked its arguments: a rejected call
    // leaves the reader as it was.
    const reader = this.#reader;
    const transport = await startTls(
      this.#loop,
      this.#transport,
      this.#protocol,
      sslcontext as ClientTlsOptions | ServerTlsOptions,
      opts,
      reader === null ? null : () => reader._takeBuffered(),
    );
    this.#transport = transport;
    this.#protocol._replaceTransport(transport);
  }

  /** How `util.inspect` shows the writer: its transport and reader. */
  [inspect.custom](): string {
    const info = ['StreamWriter', `transport=${inspect(this.#transport)}`];
    if (this.#reader !== null) info.push(`reader=${inspect(this.#reader)}`);
    return `<${info.join(' ')}>`;
  }
}
