/**
 * The transport interfaces (DESIGN 2.2). Instances come only from the loop.
 *
 * @module
 */

/** An IP address and port. A Unix socket address is its path string. */
export type Address = [host: string, port: number];

/** What `write()` accepts. A string is a TypeError. */
export type Bytes = Uint8Array | ArrayBufferView | ArrayBuffer;

/** Any protocol object: the transport calls the methods that are present. */
export type AnyProtocol = object;

/** What every transport offers. */
export interface BaseTransport {
  /** Close: flush buffered data, then `connectionLost(null)` once. Idempotent. */
  close(): void;
  /** True once the transport is closing or closed. */
  isClosing(): boolean;
  /** Optional information: `socket`, `peername`, `sockname`, TLS keys, `pipe`, `subprocess`. */
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  /** Switch the protocol; takes effect at the next read; `connectionMade` is not called. */
  setProtocol(protocol: AnyProtocol): void;
  /** The current protocol, also after the connection is lost. */
  getProtocol(): AnyProtocol;
}

/** A transport that reads. */
export interface ReadTransport extends BaseTransport {
  /** True unless reading is paused or the transport is closing. */
  isReading(): boolean;
  /** Stop delivering data until `resumeReading()`. Idempotent. */
  pauseReading(): void;
  /** Resume delivering data. Idempotent. */
  resumeReading(): void;
}

/** A transport that writes, with asyncio's write flow control. */
export interface WriteTransport extends BaseTransport {
  /** Set the watermarks (defaults 64 KiB / high÷4); `low <= high`, neither negative. */
  setWriteBufferLimits(high?: number, low?: number): void;
  /** Bytes accepted by `write()` and not yet handed to the kernel. */
  getWriteBufferSize(): number;
  /** `[low, high]`. */
  getWriteBufferLimits(): [low: number, high: number];
  /** Queue bytes; never blocks; may call `pauseWriting()` synchronously. */
  write(data: Bytes): void;
  /** Write every item of `list`, as one vectored write. */
  writelines(list: Iterable<Bytes>): void;
  /** Close the write side after flushing (half-close). */
  writeEof(): void;
  /** True if `writeEof()` is supported. */
  canWriteEof(): boolean;
  /** Close at once, dropping buffered data; `connectionLost(null)` follows. */
  abort(): void;
}

/** A bidirectional stream transport (TCP, Unix, TLS, in-memory). */
export interface Transport extends ReadTransport, WriteTransport {}

/** A datagram endpoint. */
export interface DatagramTransport extends BaseTransport {
  /**
   * Send one datagram to `addr`, or to the connected address when omitted.
   * Empty data sends a zero-length datagram. Never blocks; may call
   * `pauseWriting()` synchronously. Send errors reach `errorReceived`.
   */
  sendto(data: Bytes, addr?: Address): void;
  /** Close at once, dropping queued datagrams; `connectionLost(null)` follows. */
  abort(): void;
  /** Bytes accepted by `sendto()` and not yet handed to the kernel. */
  getWriteBufferSize(): number;
  /** Set the watermarks (defaults 64 KiB / high÷4); `low <= high`, neither negative. */
  setWriteBufferLimits(high?: number, low?: number): void;
  /** `[low, high]`. */
  getWriteBufferLimits(): [low: number, high: number];
}

/** A child process with its pipes. */
export interface SubprocessTransport extends BaseTransport {
  /** The child's process id. */
  getPid(): number;
  /** `null` while the child runs; then its exit code, or `-N` when signal N killed it. */
  getReturncode(): number | null;
  /**
   * The transport of the child's stdin (fd 0, a WriteTransport), stdout
   * (1) or stderr (2) (ReadTransports), or null when that stream is not a
   * `PIPE`.
   */
  getPipeTransport(fd: number): ReadTransport | WriteTransport | null;
  /**
   * Send `signal` (a name such as `'SIGHUP'`, or a number) to the child. A
   * no-op once the child exited; Node's `ESRCH` error after `connectionLost`.
   */
  sendSignal(signal: NodeJS.Signals | number): void;
  /** `sendSignal('SIGTERM')`. */
  terminate(): void;
  /** `sendSignal('SIGKILL')`. */
  kill(): void;
}
