/**
 * protoloop's own error classes. Node's system errors (`ECONNRESET`, `EPIPE`,
 * `ECONNREFUSED`, ...) pass through unchanged; these carry asyncio's names and
 * CPython's wording where users might search for it.
 *
 * @module
 */

/** The operation is not allowed in the object's current state (asyncio.InvalidStateError). */
export class InvalidStateError extends Error {
  /** Always `'InvalidStateError'`. */
  override name = 'InvalidStateError';
  /** A stable code to test for: `'ERR_INVALID_STATE'`. */
  readonly code = 'ERR_INVALID_STATE';
}

/** A Future or operation was cancelled (asyncio.CancelledError). */
export class CancelledError extends Error {
  /** Always `'CancelledError'`. */
  override name = 'CancelledError';
  /** A stable code to test for: `'ERR_CANCELLED'`. */
  readonly code = 'ERR_CANCELLED';
  constructor(message = '') {
    super(message);
  }
}

/** `sendfile` has no zero-copy path for this transport and `fallback` is false. */
export class SendfileNotAvailableError extends Error {
  /** Always `'SendfileNotAvailableError'`. */
  override name = 'SendfileNotAvailableError';
  /** A stable code to test for: `'ERR_SENDFILE_NOT_AVAILABLE'`. */
  readonly code = 'ERR_SENDFILE_NOT_AVAILABLE';
}

/** The stream ended before the requested number of bytes arrived (asyncio.IncompleteReadError). */
export class IncompleteReadError extends Error {
  /** Always `'IncompleteReadError'`. */
  override name = 'IncompleteReadError';
  /** A stable code to test for: `'ERR_INCOMPLETE_READ'`. */
  readonly code = 'ERR_INCOMPLETE_READ';
  /** The bytes read before the end of the stream. */
  readonly partial: Buffer;
  /** The number of bytes that were expected, or null when reading up to a separator. */
  readonly expected: number | null;
  constructor(partial: Buffer, expected: number | null) {
    const r = expected === null ? 'undefined' : String(expected);
    super(`${partial.length} bytes read on a total of ${r} expected bytes`);
    this.partial = partial;
    this.expected = expected;
  }
}

/** A separator was not found within the reader's limit (asyncio.LimitOverrunError). */
export class LimitOverrunError extends Error {
  /** Always `'LimitOverrunError'`. */
  override name = 'LimitOverrunError';
  /** A stable code to test for: `'ERR_LIMIT_OVERRUN'`. */
  readonly code = 'ERR_LIMIT_OVERRUN';
  /** The number of bytes to consume to get past the overrun. */
  readonly consumed: number;
  constructor(message: string, consumed: number) {
    super(message);
    this.consumed = consumed;
  }
}

/**
 * True for errors asyncio would see as OSError: Node system errors and TLS
 * errors, which carry a string `code` (`ECONNRESET`, `EPIPE`,
 * `ERR_SSL_WRONG_VERSION_NUMBER`, `CERT_HAS_EXPIRED`, ...), and timeouts. These
 * end a connection quietly; anything else (a bug in a protocol) is also
 * reported to the loop's exception handler.
 */
export function isOSError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) {
    return false;
  }
  if (err.name === 'TimeoutError') return true;
  return typeof (err as NodeJS.ErrnoException).code === 'string';
}

/** Build a Node-style system error (`code`, `errno`, `syscall`) for conditions we detect ourselves. */
export function systemError(
  code: string,
  message: string,
  syscall?: string,
): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${message}`);
  err.code = code;
  if (syscall !== undefined) err.syscall = syscall;
  return err;
}
