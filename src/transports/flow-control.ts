/**
 * Write flow control: asyncio's watermarks as pure logic (sans-IO).
 *
 * One rule for every transport kind: pause when the buffer size goes
 * strictly over `high`; after that, resume when it drains to `low` or below.
 *
 * @module
 */
import { inspect } from 'node:util';

/** asyncio's default high-water mark (64 KiB); low defaults to high / 4. */
export const DEFAULT_HIGH_WATER = 64 * 1024;

/**
 * Resolve `setWriteBufferLimits(high, low)` arguments the way asyncio's
 * `_set_write_buffer_limits` does, or throw without side effects.
 */
export function resolveWriteBufferLimits(
  high?: number | null,
  low?: number | null,
): [number, number] {
  checkLimit(high, 'high');
  checkLimit(low, 'low');
  if (high === undefined || high === null) {
    high = low === undefined || low === null ? DEFAULT_HIGH_WATER : 4 * low;
  }
  if (low === undefined || low === null) low = Math.floor(high / 4);
  if (!(high >= low && low >= 0)) {
    throw new RangeError(`high (${high}) must be >= low (${low}) must be >= 0`);
  }
  return [high, low];
}

function checkLimit(v: unknown, name: string): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${inspect(v)}`);
  }
}

/** What the owner must do after a change in buffer size. */
export const FlowAction = { NONE: 0, PAUSE: 1, RESUME: 2 } as const;
export type FlowAction = (typeof FlowAction)[keyof typeof FlowAction];

/**
 * The watermark state of one transport. The transport owns the byte count
 * and asks this object what to do; calling the protocol is the transport's
 * job (so the call can be guarded in one place).
 */
export class WriteFlowControl {
  high = DEFAULT_HIGH_WATER;
  low = DEFAULT_HIGH_WATER / 4;
  /** True between a pauseWriting() and the next resumeWriting(). */
  paused = false;

  /** Validate and set the limits; throws (limits unchanged) on bad input. */
  setLimits(high?: number | null, low?: number | null): void {
    const [h, l] = resolveWriteBufferLimits(high, low);
    this.high = h;
    this.low = l;
  }

  /** After the buffer grew (or the limits changed): PAUSE if strictly over high and not paused. */
  afterGrow(size: number): FlowAction {
    if (!this.paused && size > this.high) {
      this.paused = true;
      return FlowAction.PAUSE;
    }
    return FlowAction.NONE;
  }

  /** After the buffer shrank: RESUME if paused and at or below low. */
  afterDrain(size: number): FlowAction {
    if (this.paused && size <= this.low) {
      this.paused = false;
      return FlowAction.RESUME;
    }
    return FlowAction.NONE;
  }
}
