/**
 * The exception-handler context, as in asyncio.
 *
 * @module
 */
import type { EventLoop } from './loop.js';

/** What `callExceptionHandler` receives: asyncio's context dict. */
export interface ExceptionContext {
  message: string;
  exception?: Error;
  transport?: unknown;
  protocol?: unknown;
  future?: unknown;
  handle?: unknown;
  socket?: unknown;
  [key: string]: unknown;
}

/** A custom exception handler, as set with `loop.setExceptionHandler`. */
export type ExceptionHandler = (loop: EventLoop, context: ExceptionContext) => void;
