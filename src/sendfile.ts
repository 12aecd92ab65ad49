/**
 * `loop.sendfile(transport, file, offset, count, {fallback})`: asyncio's
 * `loop.sendfile` (semantics 9.20-9.25) on Node.
 *
 * Why there is no zero-copy ("native") path: Node.js exposes no sendfile(2)
 * or splice(2) through public API. libuv's `uv_fs_sendfile` is bound only
 * internally; `fs.copyFile` uses copy_file_range/sendfile for file-to-file
 * copies by path, and a socket cannot be opened by path (`/proc/self/fd/N` of
 * a socket gives ENXIO). A native addon would be a runtime dependency, which
 * protoloop does not take. So every transport uses the fallback, and
 * `fallback: false` rejects with {@link SendfileNotAvailableError} (asyncio
 * raises the same on a platform without `os.sendfile`); on TLS transports,
 * where asyncio has no native path either, it rejects with asyncio's
 * `RuntimeError` message as an InvalidStateError.
 *
 * The fallback reads the file in 256 KiB chunks (asyncio: 16 KiB; larger
 * chunks halve the CPU per MiB here), reading the next chunk while the
 * previous one is being written, and honours the transport's write flow
 * control as asyncio's `_SendfileFallbackProtocol` does: the protocol is
 * swapped for one that waits on pauseWriting/resumeWriting, reading is paused
 * and both are restored afterwards (with `resumeWriting()` if the protocol was
 * paused when sendfile started). While it runs, `transport.write()` throws
 * `unable to write; sendfile is in progress`, so no bytes can interleave.
 *
 * File position: the file is read with positional reads (pread) from
 * `offset`, always (asyncio's port recommendation 9.24), and the
 * descriptor's own position is left as it was. asyncio seeks the file to
 * `offset + bytesSent` afterwards; Node has no lseek, so protoloop cannot,
 * and the resolved byte count tells the caller that position instead.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import * as fs from 'node:fs';
import { inspect } from 'node:util';
import { InvalidStateError, SendfileNotAvailableError } from './errors.js';
import type { EventLoop } from './loop.js';
import { TransportBase } from './transports/base.js';
import type { WriteTransport } from './transports/interfaces.js';
import { StreamTransport } from './transports/stream.js';
import { checkOptions } from './validate.js';

/** Options of `loop.sendfile`. */
export interface SendfileOptions {
  /** Use the read-and-write fallback when there is no zero-copy path (default true). */
  fallback?: boolean;
}

/** A file for sendfile: a `fs.promises.FileHandle` or a file descriptor. */
export type SendfileFile = fs.promises.FileHandle | number;

/** Bytes read from the file per chunk by the fallback. */
export const FALLBACK_CHUNK = 256 * 1024;

export async function sendfile(
  loop: EventLoop,
  transport: WriteTransport,
  file: SendfileFile,
  offset: number = 0,
  count: number | null = null,
  options: SendfileOptions = {},
): Promise<number> {
  if (!(transport instanceof TransportBase)) {
    throw new TypeError(
      `transport must be a protoloop transport, got ${inspect(transport, { depth: 0 })}`,
    );
  }
  if (transport.isClosing()) throw new InvalidStateError('Transport is closing');
  if (!(transport instanceof StreamTransport)) {
    throw new InvalidStateError(`sendfile is not supported for transport ${inspect(transport)}`);
  }
  const fd = fileDescriptor(file);
  if (typeof offset !== 'number' || !Number.isInteger(offset)) {
    throw new TypeError(`offset must be a non-negative integer (got ${inspect(offset)})`);
  }
  if (offset < 0) throw new RangeError(`offset must be a non-negative integer (got ${offset})`);
  if (count !== null && count !== undefined) {
    if (typeof count !== 'number' || !Number.isInteger(count)) {
      throw new TypeError(`count must be a positive integer (got ${inspect(count)})`);
    }
    if (count <= 0) throw new RangeError(`count must be a positive integer (got ${count})`);
  } else {
    count = null;
  }
  checkOptions(options, ['fallback'], 'sendfile');
  const fallback = options.fallback ?? true;
  if (typeof fallback !== 'boolean') {
    throw new TypeError(`fallback must be a boolean, got ${inspect(fallback)}`);
  }
  if (transport._sendfileActive) throw new InvalidStateError('sendfile is already in progress');
  if (!fallback) {
    if ((transport._sock as { encrypted?: boolean }).encrypted === true) {
      throw new InvalidStateError(
        `fallback is disabled and native sendfile is not supported for transport ${inspect(transport)}`,
      );
    }
    throw new SendfileNotAvailableError(
      'sendfile(2) is not available: Node.js has no public zero-copy file-to-socket API',
    );
  }
  return sendfileFallback(loop, transport, fd, offset, count);
}

/** The descriptor of a FileHandle or a plain fd; TypeError otherwise. */
function fileDescriptor(file: unknown): number {
  if (typeof file === 'number') {
    if (!Number.isInteger(file) || file < 0) {
      throw new TypeError(`file must be a FileHandle or a file descriptor, got ${inspect(file)}`);
    }
    return file;
  }
  if (
    file !== null &&
    typeof file === 'object' &&
    typeof (file as { fd?: unknown }).fd === 'number' &&
    typeof (file as { read?: unknown }).read === 'function'
  ) {
    const fd = (file as { fd: number }).fd;
    if (fd < 0) throw new TypeError('I/O operation on closed file.');
    return fd;
  }
  throw new TypeError(
    `file must be a FileHandle or a file descriptor, got ${inspect(file, { depth: 0 })}`,
  );
}

/** asyncio raises ConnectionError here; Node code expects a `code`. */
function connectionError(message: string): Error {
  const err = new Error(message) as NodeJS.ErrnoException;
  err.name = 'ConnectionError';
  err.code = 'ECONNRESET';
  return err;
}

function noop(): void {}

/** A promise with its settle functions, whose rejection is never "unhandled". */
interface Waiter {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function waiter(): Waiter {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(noop);
  return { promise, resolve, reject };
}

/**
 * The protocol installed while the fallback runs: asyncio's
 * `_SendfileFallbackProtocol`. It turns pauseWriting/resumeWriting into a
 * waiter the send loop awaits and forwards connectionLost to the original
 * protocol.
 */
class SendfileFallbackProtocol {
  readonly #t: StreamTransport;
  readonly #proto: Record<string, any>;
  readonly #shouldResumeReading: boolean;
  readonly #shouldResumeWriting: boolean;
  #writeReady: Waiter | null = null;

  constructor(t: StreamTransport) {
    this.#t = t;
    this.#proto = t.getProtocol() as Record<string, any>;
    this.#shouldResumeReading = t.isReading();
    this.#shouldResumeWriting = t._flow.paused;
    t.pauseReading();
    t.setProtocol(this);
    if (this.#shouldResumeWriting) this.#writeReady = waiter();
  }

  /** Resolves when the transport may take more; rejects once the connection is gone. */
  drain(): Promise<void> | null {
    if (this.#t.isClosing()) return Promise.reject(connectionError('Connection closed by peer'));
    return this.#writeReady?.promise ?? null;
  }

  connectionMade(): void {
    throw new InvalidStateError('Invalid state: connection should have been established already.');
  }

  connectionLost(exc: Error | null): void {
    this.#writeReady?.reject(exc ?? connectionError('Connection is closed by peer'));
    this.#writeReady = null;
    this.#proto.connectionLost?.(exc);
  }

  pauseWriting(): void {
    if (this.#writeReady === null) this.#writeReady = waiter();
  }

  resumeWriting(): void {
    const w = this.#writeReady;
    this.#writeReady = null;
    w?.resolve();
  }

  dataReceived(): void {
    throw new InvalidStateError('Invalid state: reading should be paused');
  }

  eofReceived(): void {
    throw new InvalidStateError('Invalid state: reading should be paused');
  }

  /**
   * Put the original protocol back and restore reading. Then make the
   * protocol's view of write flow control match the transport's: if it was
   * paused when sendfile started and the transport is not paused now, it gets
   * resumeWriting() (asyncio's rule); if the last chunk left the transport
   * paused, it gets pauseWriting() now (or, paused at the start, nothing), so
   * that the resumeWriting() the transport sends once it drains answers a
   * pause the protocol saw. pauseWriting/resumeWriting keep alternating.
   */
  restore(): void {
    const t = this.#t;
    if (t.getProtocol() === this) t.setProtocol(this.#proto);
    if (this.#shouldResumeReading) t.resumeReading();
    this.#writeReady = null;
    if (t.isClosing()) return;
    const pausedNow = t._flow.paused;
    if (this.#shouldResumeWriting && !pausedNow) this.#callFlow('resumeWriting');
    else if (!this.#shouldResumeWriting && pausedNow) this.#callFlow('pauseWriting');
  }

  /** As the transport calls them: an exception is reported, never fatal (semantics 2.8). */
  #callFlow(name: 'pauseWriting' | 'resumeWriting'): void {
    const fn = this.#proto[name];
    if (typeof fn !== 'function') return;
    try {
      fn.call(this.#proto);
    } catch (exc) {
      this.#t._loop.callExceptionHandler({
        message: `protocol.${name === 'pauseWriting' ? 'pause_writing' : 'resume_writing'}() failed`,
        exception: exc instanceof Error ? exc : new Error(String(exc)),
        transport: this.#t,
        protocol: this.#proto,
      });
    }
  }
}

function readAt(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Read chunks and write them, one chunk read ahead, under the transport's flow control. */
async function sendfileFallback(
  _loop: EventLoop,
  t: StreamTransport,
  fd: number,
  offset: number,
  count: number | null,
): Promise<number> {
  const chunk = count === null ? FALLBACK_CHUNK : Math.min(count, FALLBACK_CHUNK);
  // Two buffers: one being filled by the thread pool while the other is
  // written. Reusing a buffer after write() returned is safe because write()
  // copies whatever the kernel did not take at once (semantics 1.4).
  const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)] as const;
  const proto = new SendfileFallbackProtocol(t);
  t._sendfileActive = true;
  let total = 0;
  let pos = offset;
  let which = 0;
  const want = (): number => (count === null ? chunk : Math.min(chunk, offset + count - pos));
  let next: Promise<number> | null = want() > 0 ? readAt(fd, bufs[0], want(), pos) : null;
  try {
    while (next !== null) {
      const n = await next;
      next = null;
      if (n === 0) break;
      const buf = bufs[which]!;
      pos += n;
      which ^= 1;
      const w = want();
      if (w > 0) next = readAt(fd, bufs[which]!, w, pos);
      const ready = proto.drain();
      if (ready !== null) await ready;
      // Our own write: lift the guard that stops everyone else's.
      t._sendfileActive = false;
      try {
        t.write(buf.subarray(0, n));
      } finally {
        t._sendfileActive = true;
      }
      total += n;
    }
    return total;
  } finally {
    next?.catch(noop);
    t._sendfileActive = false;
    proto.restore();
  }
}
