/**
 * asyncio's high-level streams (DESIGN 2.4): `openConnection`,
 * `startServer`, `openUnixConnection`, `startUnixServer`, built on the
 * loop's protocol-level methods, whose options they all take, plus `limit`.
 *
 * @module
 */
import { inspect } from 'node:util';
import type { CreateConnectionOptions, CreateUnixConnectionOptions } from '../connect.js';
import { getRunningLoop } from '../loop.js';
import type { CreateServerOptions, CreateUnixServerOptions, Server } from '../server.js';
import { type ClientConnectedCallback, StreamReaderProtocol } from './protocol.js';
import { checkLimit, StreamReader } from './reader.js';
import { StreamWriter } from './writer.js';

export { type ClientConnectedCallback, StreamReaderProtocol } from './protocol.js';
export { DEFAULT_LIMIT, StreamReader } from './reader.js';
export { type StreamStartTlsOptions, type StreamTlsContext, StreamWriter } from './writer.js';

/** The reader's buffer limit in bytes (default 64 KiB). */
export interface StreamLimitOption {
  /**
   * The reader's buffer limit in bytes (default 64 KiB): the longest line
   * `readline`/`readUntil` return, and half the buffer at which reading pauses.
   */
  limit?: number;
}
/** Options of {@link openConnection}: `limit` and every option of `loop.createConnection`. */
export interface OpenConnectionOptions extends CreateConnectionOptions, StreamLimitOption {}
/** Options of {@link startServer}: `limit` and every option of `loop.createServer`. */
export interface StartServerOptions extends CreateServerOptions, StreamLimitOption {}
/** Options of {@link openUnixConnection}: `limit` and every option of `loop.createUnixConnection`. */
export interface OpenUnixConnectionOptions extends CreateUnixConnectionOptions, StreamLimitOption {}
/** Options of {@link startUnixServer}: `limit` and every option of `loop.createUnixServer`. */
export interface StartUnixServerOptions extends CreateUnixServerOptions, StreamLimitOption {}

/** Split `limit` off the options; the rest goes to the loop method, which validates it. */
function splitLimit<O extends StreamLimitOption>(
  options: O,
  method: string,
): [number, Omit<O, 'limit'>] {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${method}() options must be an object, got ${inspect(options)}`);
  }
  const { limit, ...rest } = options;
  return [checkLimit(limit), rest];
}

function checkCallback(cb: unknown): void {
  if (typeof cb !== 'function') {
    throw new TypeError(
      `clientConnected must be a function (reader, writer) => ..., got ${inspect(cb, { depth: 0 })}`,
    );
  }
}

/**
 * Open a TCP connection (asyncio's `open_connection`): resolves with
 * `[reader, writer]` once connected. Takes every option of
 * `loop.createConnection` (`ssl`, `family`, `sock`, `localAddr`,
 * `serverHostname`, `happyEyeballsDelay`, `signal`, ...) plus `limit`.
 */
export async function openConnection(
  host?: string | null,
  port?: number | null,
  options: OpenConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  const [limit, rest] = splitLimit(options, 'openConnection');
  const loop = getRunningLoop();
  const reader = new StreamReader(limit, loop);
  const protocol = new StreamReaderProtocol(reader, null, loop);
  const [transport] = await loop.createConnection(() => protocol, host, port, rest);
  return [reader, new StreamWriter(transport, protocol, reader, loop)];
}

/**
 * Start a TCP server (asyncio's `start_server`): `clientConnected(reader,
 * writer)` is called for each connection; it may be async, and if it
 * rejects the loop's exception handler is told and that connection closed.
 * Takes every option of `loop.createServer` plus `limit`.
 */
export async function startServer(
  clientConnected: ClientConnectedCallback,
  host?: string | readonly string[] | null,
  port?: number | null,
  options: StartServerOptions = {},
): Promise<Server> {
  checkCallback(clientConnected);
  const [limit, rest] = splitLimit(options, 'startServer');
  const loop = getRunningLoop();
  return loop.createServer(
    () => new StreamReaderProtocol(new StreamReader(limit, loop), clientConnected, loop),
    host,
    port,
    rest,
  );
}

/** As {@link openConnection}, over the Unix socket at `path` (or `options.sock`). */
export async function openUnixConnection(
  path?: string | null,
  options: OpenUnixConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  const [limit, rest] = splitLimit(options, 'openUnixConnection');
  const loop = getRunningLoop();
  const reader = new StreamReader(limit, loop);
  const protocol = new StreamReaderProtocol(reader, null, loop);
  const [transport] = await loop.createUnixConnection(() => protocol, path, rest);
  return [reader, new StreamWriter(transport, protocol, reader, loop)];
}

/** As {@link startServer}, listening on the Unix socket at `path` (or `options.sock`). */
export async function startUnixServer(
  clientConnected: ClientConnectedCallback,
  path?: string | null,
  options: StartUnixServerOptions = {},
): Promise<Server> {
  checkCallback(clientConnected);
  const [limit, rest] = splitLimit(options, 'startUnixServer');
  const loop = getRunningLoop();
  return loop.createUnixServer(
    () => new StreamReaderProtocol(new StreamReader(limit, loop), clientConnected, loop),
    path,
    rest,
  );
}
