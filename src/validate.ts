/**
 * Argument checks shared by the loop's methods: clear TypeError/RangeError
 * messages that name the argument, or asyncio's message where it has one.
 *
 * @module
 */
import { inspect } from 'node:util';

/** The TLS timeouts every TLS-capable method takes (seconds). */
export interface SslTimeouts {
  /** With `ssl`: seconds the TLS handshake may take (default 60), then the connection is aborted (`ConnectionAbortedError`). */
  sslHandshakeTimeout?: number | null;
  /** With `ssl`: seconds the closing TLS exchange may take (default 30), then `connectionLost(TimeoutError)`. */
  sslShutdownTimeout?: number | null;
}

export function checkFactory(f: unknown, name = 'protocolFactory'): void {
  if (typeof f !== 'function') {
    throw new TypeError(
      `${name} must be a callable returning a protocol, got ${inspect(f, { depth: 0 })}`,
    );
  }
}

/** Options must be a plain object with known keys only (asyncio rejects unknown keyword arguments). */
export function checkOptions(options: unknown, keys: readonly string[], method: string): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${method}() options must be an object, got ${inspect(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!keys.includes(k) && (options as Record<string, unknown>)[k] !== undefined) {
      throw new TypeError(`${method}() got an unexpected keyword argument '${k}'`);
    }
  }
}

export function checkPort(port: unknown, name: string): void {
  if (typeof port !== 'number' || !Number.isInteger(port)) {
    throw new TypeError(`${name} must be an integer, got ${inspect(port)}`);
  }
  if (port < 0 || port > 65535) throw new RangeError(`${name} must be in 0..65535, got ${port}`);
}

/** An address tuple `[host, port]`. */
export function checkAddress(addr: unknown, name: string): void {
  if (!Array.isArray(addr) || addr.length !== 2 || typeof addr[0] !== 'string') {
    throw new TypeError(`${name} must be a [host, port] tuple, got ${inspect(addr)}`);
  }
  checkPort(addr[1], `${name} port`);
}

/** asyncio's checks of ssl_handshake_timeout / ssl_shutdown_timeout (semantics 6.4). */
export function checkSslTimeouts(options: SslTimeouts, ssl: boolean): void {
  for (const [key, snake] of [
    ['sslHandshakeTimeout', 'ssl_handshake_timeout'],
    ['sslShutdownTimeout', 'ssl_shutdown_timeout'],
  ] as const) {
    const v = options[key];
    if (v === undefined || v === null) continue;
    if (!ssl) throw new TypeError(`${snake} is only meaningful with ssl`);
    if (typeof v !== 'number' || Number.isNaN(v)) {
      throw new TypeError(`${snake} should be a positive number, got ${inspect(v)}`);
    }
    if (v <= 0) throw new RangeError(`${snake} should be a positive number, got ${v}`);
  }
}
