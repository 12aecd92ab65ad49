/**
 * The exception-handler context, as in asyncio.
 *
 * @module
 */
import type { EventLoop } from './loop.js';

/** What `callExceptionHandler` receives: asyncio's context dict. */
export interface ExceptionContext {
  /** What happened, in asyncio's wording (e.g. `Fatal error: protocol.data_received() call failed.`). */
  message: string;
  /** The error that was caught, if any. */
  exception?: Error;
  /** The transport concerned, if any. */
  transport?: unknown;
  /** The protocol concerned, if any. */
  protocol?: unknown;
  /** The Future concerned, if any. */
  future?: unknown;
  /** The Handle whose callback threw, if any. */
  handle?: unknown;
  /** The socket concerned (a listening `net.Server` for accept errors), if any. */
  socket?: unknown;
  /** Any other key, printed by the default handler as `key: value`. */
  [key: string]: unknown;
}

/** A custom exception handler, as set with `loop.setExceptionHandler`. */
export type ExceptionHandler = (loop: EventLoop, context: ExceptionContext) => void;
