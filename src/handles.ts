/**
 * Handle and TimerHandle: what callSoon/callLater/callAt return.
 *
 * @module
 */
import { inspect } from 'node:util';
import type { EventLoop } from './loop.js';

/** A callback scheduled on the loop; `cancel()` prevents it from running. */
export class Handle {
  /** @internal */ _callback: ((...args: any[]) => void) | null;
  /** @internal */ _args: any[];
  /** @internal */ _loop: EventLoop;
  #cancelled = false;

  /** @internal */
  constructor(callback: (...args: any[]) => void, args: any[], loop: EventLoop) {
    this._callback = callback;
    this._args = args;
    this._loop = loop;
  }

  /** Prevent the callback from running; a no-op if it already ran. */
  cancel(): void {
    if (!this.#cancelled) {
      this.#cancelled = true;
      this._callback = null;
      this._args = [];
    }
  }

  /** True if `cancel()` was called. */
  cancelled(): boolean {
    return this.#cancelled;
  }

  /** @internal Run the callback; an exception goes to the loop's exception handler. */
  _run(): void {
    const cb = this._callback;
    if (cb === null) return;
    try {
      cb(...this._args);
    } catch (exc) {
      this._loop.callExceptionHandler({
        message: `Exception in callback ${describeCallback(cb)}`,
        exception: exc instanceof Error ? exc : new Error(String(exc)),
        handle: this,
      });
    }
  }

  /** How `util.inspect` shows the handle: its class, whether cancelled, and the callback's name. */
  [inspect.custom](): string {
    const state = this.#cancelled ? ' cancelled' : '';
    return `<${this.constructor.name}${state} ${this._callback ? describeCallback(this._callback) : ''}>`;
  }
}

/** A Handle for a callback scheduled at a point in time (`callLater`/`callAt`). */
export class TimerHandle extends Handle {
  #when: number;
  /** @internal */ _timer: NodeJS.Timeout | null = null;

  /** @internal */
  constructor(when: number, callback: (...args: any[]) => void, args: any[], loop: EventLoop) {
    super(callback, args, loop);
    this.#when = when;
  }

  /** The absolute time, in loop.time() seconds, at which the callback is scheduled. */
  when(): number {
    return this.#when;
  }

  override cancel(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    super.cancel();
  }
}

export function describeCallback(cb: (...args: any[]) => void): string {
  return cb.name ? `${cb.name}()` : '<anonymous>()';
}
