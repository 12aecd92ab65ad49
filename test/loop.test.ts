/** The loop: ready queue, timers, futures, exception handler, run(). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  CancelledError,
  EventLoop,
  Future,
  getRunningLoop,
  InvalidStateError,
  Protocol,
  run,
} from '../src/index.js';
import { takeHandlerCalls, until, useHarness } from './helpers/harness.js';

const loop = getRunningLoop();

describe('loop scheduling', () => {
  useHarness();

  test('getRunningLoop returns one loop per thread', () => {
    assert.ok(loop instanceof EventLoop);
    assert.equal(getRunningLoop(), loop);
  });

  test('time() is monotonic seconds', () => {
    const a = loop.time();
    const b = loop.time();
    assert.ok(b >= a);
    assert.ok(Math.abs(a - performance.now() / 1000) < 1);
  });

  test('callSoon runs in FIFO order, never synchronously, with arguments', async () => {
    const order: string[] = [];
    loop.callSoon((x: string) => order.push(x), 'a');
    loop.callSoon((x: string, y: string) => order.push(x + y), 'b', 'c');
    assert.deepEqual(order, []);
    await until(() => order.length === 2);
    assert.deepEqual(order, ['a', 'bc']);
  });

  test('callbacks scheduled during a drain run after the whole current batch', async () => {
    const order: string[] = [];
    loop.callSoon(() => {
      order.push('a');
      loop.callSoon(() => order.push('nested'));
    });
    loop.callSoon(() => order.push('b'));
    await until(() => order.length === 3);
    assert.deepEqual(order, ['a', 'b', 'nested']);
  });

  test('cancel() stops a handle; cancelled() tells', async () => {
    let ran = false;
    const h = loop.callSoon(() => {
      ran = true;
    });
    h.cancel();
    assert.equal(h.cancelled(), true);
    const done = loop.createFuture();
    loop.callSoon(() => done.setResult(null));
    await done;
    assert.equal(ran, false);
  });

  test('callLater and callAt fire in time order; when() is absolute', async () => {
    const order: number[] = [];
    const t0 = loop.time();
    const h2 = loop.callLater(0.02, () => order.push(2));
    const h1 = loop.callAt(t0 + 0.01, () => order.push(1));
    assert.ok(Math.abs(h1.when() - (t0 + 0.01)) < 1e-9);
    assert.ok(h2.when() >= t0 + 0.02);
    const h3 = loop.callLater(0.005, () => order.push(3));
    h3.cancel();
    await until(() => order.length === 2);
    assert.deepEqual(order, [1, 2]);
    assert.ok(loop.time() >= h2.when() - 0.002);
  });

  test('bad arguments are TypeErrors', () => {
    assert.throws(() => loop.callSoon(42 as never), TypeError);
    assert.throws(() => loop.callLater('1' as never, () => {}), TypeError);
    assert.throws(() => loop.callAt(Number.NaN, () => {}), TypeError);
    assert.throws(() => loop.setExceptionHandler(5 as never), TypeError);
  });

  test('an exception in a callback goes to the exception handler; the loop keeps running', async () => {
    const err = new Error('cb failed');
    loop.callSoon(function failing() {
      throw err;
    });
    let after = false;
    loop.callSoon(() => {
      after = true;
    });
    await until(() => after);
    const [ctx] = takeHandlerCalls();
    assert.equal(ctx!.message, 'Exception in callback failing()');
    assert.equal(ctx!.exception, err);
    assert.ok(ctx!.handle);
  });
});

describe('exception handler', () => {
  test('the default handler prints the message, sorted keys, then the stack, like asyncio', () => {
    const lines: string[] = [];
    const orig = console.error;
    console.error = (s: string) => lines.push(s);
    try {
      loop.defaultExceptionHandler({
        message: 'Something failed',
        exception: new Error('inner'),
        transport: 'T',
        protocol: 'P',
      });
    } finally {
      console.error = orig;
    }
    const out = lines.join('\n').split('\n');
    assert.equal(out[0], 'Something failed');
    assert.equal(out[1], "protocol: 'P'");
    assert.equal(out[2], "transport: 'T'");
    assert.match(out[3]!, /^Error: inner/);
  });

  test('a failing custom handler is reported as "Unhandled error in exception handler"', () => {
    const lines: string[] = [];
    const orig = console.error;
    console.error = (s: string) => lines.push(s);
    try {
      loop.setExceptionHandler(() => {
        throw new Error('handler broke');
      });
      assert.ok(loop.getExceptionHandler());
      loop.callExceptionHandler({ message: 'original' });
    } finally {
      loop.setExceptionHandler(null);
      console.error = orig;
    }
    assert.equal(loop.getExceptionHandler(), null);
    assert.match(lines.join('\n'), /^Unhandled error in exception handler/);
    assert.match(lines.join('\n'), /handler broke/);
  });
});

describe('Future', () => {
  useHarness();

  test('result/exception before done raise InvalidStateError', () => {
    const f = new Future<number>();
    assert.equal(f.done(), false);
    assert.throws(() => f.result(), { name: 'InvalidStateError', message: 'Result is not set.' });
    assert.throws(() => f.exception(), InvalidStateError);
    assert.equal(f.getLoop(), loop);
  });

  test('setResult once; done callbacks run on the loop, not synchronously', async () => {
    const f = loop.createFuture<number>();
    const seen: number[] = [];
    const cb = (fut: Future<number>) => seen.push(fut.result());
    f.addDoneCallback(cb);
    f.addDoneCallback(cb);
    assert.equal(f.removeDoneCallback(cb), 2);
    f.addDoneCallback(cb);
    f.setResult(7);
    assert.deepEqual(seen, []);
    assert.throws(() => f.setResult(8), InvalidStateError);
    assert.throws(() => f.setException(new Error('x')), InvalidStateError);
    assert.equal(await f, 7);
    await until(() => seen.length === 1);
    assert.deepEqual(seen, [7]);
    // A callback added after completion is scheduled at once.
    f.addDoneCallback(cb);
    await until(() => seen.length === 2);
  });

  test('setException: awaiting rejects; result() throws it', async () => {
    const f = new Future();
    const e = new Error('bad');
    f.setException(e);
    assert.equal(f.exception(), e);
    assert.throws(() => f.result(), e);
    await assert.rejects(async () => await f, e);
    assert.throws(() => new Future().setException('str' as never), TypeError);
  });

  test('cancel: CancelledError from result() and await; cancel() after done is false', async () => {
    const f = new Future();
    const p = (async () => await f)();
    assert.equal(f.cancel('stop'), true);
    assert.equal(f.cancelled(), true);
    assert.equal(f.cancel(), false);
    assert.throws(() => f.result(), CancelledError);
    await assert.rejects(p, { name: 'CancelledError', message: 'stop' });
    const g = new Future();
    g.setResult(1);
    assert.equal(g.cancel(), false);
  });

  test('inspect shows the state', () => {
    const f = new Future();
    assert.equal(inspect(f), '<Future pending>');
    f.setResult(3);
    assert.equal(inspect(f), '<Future finished result=3>');
  });
});

describe('run()', () => {
  test('run() closes transports and servers still open and waits for connectionLost', () => {
    // In a child process, so the loop's end-of-run closing is observed whole.
    const script = `
      import { run, getRunningLoop, Protocol } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
      const lost = [];
      class P extends Protocol { connectionLost(e) { lost.push(e); } }
      const r = await run(async () => {
        const loop = getRunningLoop();
        const srv = await loop.createServer(() => new P(), '127.0.0.1', 0);
        await loop.createConnection(() => new P(), '127.0.0.1', srv.sockets[0].address().port);
        return 'result';
      });
      console.log(r, lost.length, lost.every((e) => e === null), process.getActiveResourcesInfo().filter(x => x.startsWith('TCP')).length);
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(out.stderr, '');
    // The client's connectionLost ran; the server side is closed by the client's close.
    assert.match(out.stdout, /^result [12] true \d\n$/);
  });

  test("run() rejects with main()'s error, and a non-function is a TypeError", async () => {
    await assert.rejects(
      run(async () => {
        throw new RangeError('main failed');
      }),
      RangeError,
    );
    await assert.rejects(run(5 as never), TypeError);
  });

  test('Protocol defaults are no-ops (eofReceived returns undefined: auto-close)', () => {
    const p = new Protocol();
    assert.equal(p.eofReceived(), undefined);
    assert.equal(p.dataReceived(Buffer.from('x')), undefined);
  });
});
