/**
 * asyncio.Future for Node: a result slot with done callbacks scheduled on the
 * loop, awaitable like a Promise.
 *
 * @module
 */
import { inspect } from 'node:util';
import { CancelledError, InvalidStateError } from './errors.js';
import type { EventLoop } from './loop.js';
import { getRunningLoop } from './loop.js';

const PENDING = 0;
const CANCELLED = 1;
const FINISHED = 2;
type FutureState = typeof PENDING | typeof CANCELLED | typeof FINISHED;
const STATE_NAMES = ['pending', 'cancelled', 'finished'] as const;

/**
 * A Future with asyncio semantics: `setResult`/`setException` once,
 * `cancel()`, done callbacks run on the loop (never synchronously), and
 * `await future` works because a Future is a `PromiseLike`.
 *
 * `result()` on a pending Future throws {@link InvalidStateError}; on a
 * cancelled one it throws {@link CancelledError}.
 */
export class Future<T = unknown> implements PromiseLike<T> {
  #loop: EventLoop;
  #state: FutureState = PENDING;
  #result: T | undefined = undefined;
  #exception: Error | null = null;
  #cancelMessage: string | undefined = undefined;
  #callbacks: Array<(f: Future<T>) => void> = [];
  #promise: Promise<T> | null = null;
  #resolve: ((v: T) => void) | null = null;
  #reject: ((e: unknown) => void) | null = null;

  /** @throws TypeError `loop` is given but is not an event loop. */
  constructor(loop?: EventLoop) {
    // Checked here: a bad loop would otherwise only fail inside setResult(),
    // after the state changed, when the done callbacks are scheduled.
    if (
      loop !== undefined &&
      (loop === null || typeof (loop as { callSoon?: unknown }).callSoon !== 'function')
    ) {
      throw new TypeError(`loop must be an EventLoop, got ${inspect(loop, { depth: 0 })}`);
    }
    this.#loop = loop ?? getRunningLoop();
  }

  /** The loop this Future is bound to. */
  getLoop(): EventLoop {
    return this.#loop;
  }

  /** True once a result or exception is set, or the Future is cancelled. */
  done(): boolean {
    return this.#state !== PENDING;
  }

  /** True if the Future was cancelled. */
  cancelled(): boolean {
    return this.#state === CANCELLED;
  }

  /** The result; throws the exception if one was set, CancelledError if cancelled, InvalidStateError if pending. */
  result(): T {
    if (this.#state === CANCELLED) throw this.#makeCancelledError();
    if (this.#state !== FINISHED) throw new InvalidStateError('Result is not set.');
    if (this.#exception !== null) throw this.#exception;
    return this.#result as T;
  }

  /** The exception, or null; CancelledError if cancelled, InvalidStateError if pending. */
  exception(): Error | null {
    if (this.#state === CANCELLED) throw this.#makeCancelledError();
    if (this.#state !== FINISHED) throw new InvalidStateError('Exception is not set.');
    return this.#exception;
  }

  /** Mark the Future done with a result and schedule its callbacks. */
  setResult(value: T): void {
    if (this.#state !== PENDING) {
      throw new InvalidStateError(`${STATE_NAMES[this.#state]}: ${inspect(this)}`);
    }
    this.#result = value;
    this.#state = FINISHED;
    this.#resolve?.(value);
    this.#scheduleCallbacks();
  }

  /** Mark the Future done with an exception and schedule its callbacks. */
  setException(exc: Error): void {
    if (this.#state !== PENDING) {
      throw new InvalidStateError(`${STATE_NAMES[this.#state]}: ${inspect(this)}`);
    }
    if (!(exc instanceof Error)) {
      throw new TypeError('exception must be an Error instance');
    }
    if (exc instanceof CancelledError) {
      // asyncio: "StopIteration interacts badly with generators"; here a
      // CancelledError passed as an exception means cancellation.
      this.cancel(exc.message);
      return;
    }
    this.#exception = exc;
    this.#state = FINISHED;
    this.#reject?.(exc);
    this.#scheduleCallbacks();
  }

  /** Cancel the Future; returns false if it was already done. */
  cancel(msg?: string): boolean {
    if (this.#state !== PENDING) return false;
    this.#state = CANCELLED;
    this.#cancelMessage = msg;
    this.#reject?.(this.#makeCancelledError());
    this.#scheduleCallbacks();
    return true;
  }

  /** Add a callback run (on the loop, with this Future) when it is done; scheduled at once if already done. */
  addDoneCallback(cb: (f: Future<T>) => void): void {
    if (typeof cb !== 'function') throw new TypeError('callback must be a function');
    if (this.#state !== PENDING) this.#loop.callSoon(cb, this);
    else this.#callbacks.push(cb);
  }

  /** Remove every registration of `cb`; returns how many were removed. */
  removeDoneCallback(cb: (f: Future<T>) => void): number {
    const before = this.#callbacks.length;
    this.#callbacks = this.#callbacks.filter((c) => c !== cb);
    return before - this.#callbacks.length;
  }

  // biome-ignore lint/suspicious/noThenProperty: a Future is awaitable by design (asyncio.Future).
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#getPromise().then(onfulfilled, onrejected);
  }

  #getPromise(): Promise<T> {
    if (this.#promise === null) {
      if (this.#state === FINISHED) {
        this.#promise =
          this.#exception !== null
            ? Promise.reject(this.#exception)
            : Promise.resolve(this.#result as T);
      } else if (this.#state === CANCELLED) {
        this.#promise = Promise.reject(this.#makeCancelledError());
      } else {
        this.#promise = new Promise<T>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
      }
    }
    return this.#promise;
  }

  #makeCancelledError(): CancelledError {
    return new CancelledError(this.#cancelMessage ?? '');
  }

  #scheduleCallbacks(): void {
    const cbs = this.#callbacks;
    this.#callbacks = [];
    for (const cb of cbs) this.#loop.callSoon(cb, this);
  }

  /** How `util.inspect` (and `console.log`) shows the Future: `<Future pending>`, `<Future finished result=...>`. */
  [inspect.custom](): string {
    const state = STATE_NAMES[this.#state];
    if (this.#state === FINISHED) {
      return this.#exception !== null
        ? `<Future finished exception=${this.#exception.name}: ${this.#exception.message}>`
        : `<Future finished result=${inspect(this.#result, { depth: 0 })}>`;
    }
    return `<Future ${state}>`;
  }
}
