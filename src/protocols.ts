/**
 * Protocol base classes: subclass them as in Python, or pass any object with
 * the right methods (the transport calls only what is present). A protocol
 * is a BufferedProtocol when it has a `getBuffer` method.
 *
 * @module
 */
import type {
  Address,
  BaseTransport,
  DatagramTransport,
  SubprocessTransport,
  Transport,
} from './transports/interfaces.js';

/**
 * The callbacks every protocol may receive.
 *
 * Call grammar: `connectionMade` once, then the callbacks of the subclass,
 * then `connectionLost` once; `pauseWriting`/`resumeWriting` alternate,
 * pause first, anywhere in between.
 */
export class BaseProtocol {
  /** The connection is up; `transport` is yours until `connectionLost`. */
  connectionMade(_transport: BaseTransport): void {}
  /** The connection is gone: `null` on a clean close or EOF, the error on a fault. Called once. */
  connectionLost(_exc: Error | null): void {}
  /** The transport's write buffer went over the high-water mark. */
  pauseWriting(): void {}
  /** The transport's write buffer drained to the low-water mark or below. */
  resumeWriting(): void {}
}

/**
 * A streaming protocol.
 *
 * `start -> connectionMade [-> dataReceived]* [-> eofReceived]? -> connectionLost -> end`
 */
export class Protocol extends BaseProtocol {
  override connectionMade(_transport: Transport): void {}
  /** Bytes arrived: never empty, and owned by the protocol (never reused by the transport). */
  dataReceived(_data: Buffer): void {}
  /**
   * The peer sent EOF. Return falsy (the default) to close the transport;
   * return true to keep the write side open (half-close).
   */
  eofReceived(): boolean | void {}
}

/**
 * A streaming protocol that supplies its own receive buffer (zero-copy).
 *
 * `start -> connectionMade [-> getBuffer [-> bufferUpdated]?]* [-> eofReceived]? -> connectionLost -> end`
 */
export class BufferedProtocol extends BaseProtocol {
  override connectionMade(_transport: Transport): void {}
  /**
   * Return the buffer the next bytes are read into; `sizehint` is the
   * recommended minimum size, or -1 for any size. An empty buffer is an error.
   */
  getBuffer(_sizehint: number): Uint8Array {
    throw new Error('BufferedProtocol.getBuffer() must be implemented');
  }
  /** `nbytes` (> 0) bytes were written at the start of the last buffer returned by `getBuffer`. */
  bufferUpdated(_nbytes: number): void {}
  /** As {@link Protocol.eofReceived}. */
  eofReceived(): boolean | void {}
}

/**
 * A datagram protocol.
 *
 * `start -> connectionMade [-> datagramReceived | errorReceived]* -> connectionLost -> end`
 */
export class DatagramProtocol extends BaseProtocol {
  override connectionMade(_transport: DatagramTransport): void {}
  /** A datagram arrived from `addr`. It may be empty. */
  datagramReceived(_data: Buffer, _addr: Address): void {}
  /** A send or receive failed (e.g. ECONNREFUSED after an ICMP error); the endpoint stays open. */
  errorReceived(_exc: Error): void {}
}

/**
 * A protocol for a child process.
 *
 * `start -> connectionMade [-> pipeDataReceived]* [-> pipeConnectionLost]* -> processExited -> connectionLost -> end`
 * (protoloop guarantees this order: all output and every pipeConnectionLost
 * come before processExited.)
 */
export class SubprocessProtocol extends BaseProtocol {
  override connectionMade(_transport: SubprocessTransport): void {}
  /** The child wrote `data` to its stdout (fd 1) or stderr (fd 2). */
  pipeDataReceived(_fd: number, _data: Buffer): void {}
  /** One of the child's pipes closed. */
  pipeConnectionLost(_fd: number, _exc: Error | null): void {}
  /** The child exited; `getReturncode()` is set. */
  processExited(): void {}
}
