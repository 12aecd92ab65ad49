/**
 * Test harness: every test fails if it leaves a handle open (socket, server,
 * timer, child process) or if the loop's exception handler fired without the
 * test asking for it.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach } from 'node:test';
import { type ExceptionContext, getRunningLoop } from '../../src/index.js';

const loop = getRunningLoop();
let handlerCalls: ExceptionContext[] = [];
let baseline: Map<string, number> = new Map();

function countResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) {
    // The harness's own immediates and timers come and go.
    if (r === 'Immediate' || r === 'Timeout') continue;
    m.set(r, (m.get(r) ?? 0) + 1);
  }
  return m;
}

function leaked(): string[] {
  const now = countResources();
  const out: string[] = [];
  for (const [k, v] of now) {
    const before = baseline.get(k) ?? 0;
    if (v > before) out.push(`${k} x${v - before}`);
  }
  return out;
}

/** Exception-handler calls so far in this test; reading them marks them as expected. */
export function takeHandlerCalls(): ExceptionContext[] {
  const calls = handlerCalls;
  handlerCalls = [];
  return calls;
}

/** Wait until `pred()` is true, checking once per loop turn (bounded; no sleeping for time). */
export async function until(pred: () => boolean, what = 'condition', turns = 20000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Install the leak check and handler check around every test of the calling file. */
export function useHarness(): void {
  beforeEach(() => {
    handlerCalls = [];
    loop.setExceptionHandler((_l, ctx) => {
      handlerCalls.push(ctx);
    });
    baseline = countResources();
  });
  afterEach(async () => {
    const unexpected = handlerCalls;
    loop.setExceptionHandler(null);
    // Handles close asynchronously: give them a bounded number of turns.
    let left: string[] = [];
    for (let i = 0; i < 2000; i++) {
      left = leaked();
      if (left.length === 0) break;
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(left, [], `leaked handles: ${left.join(', ')}`);
    assert.equal(
      unexpected.length,
      0,
      `unexpected exception-handler calls: ${unexpected.map((c) => `${c.message} ${c.exception?.stack ?? ''}`).join('\n')}`,
    );
  });
}
