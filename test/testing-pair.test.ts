/**
 * `protoloop/testing` createTransportPair: what the conformance suite does
 * not cover: the order of connectionMade, determinism, capacity and its
 * validation, extra info, and the package export.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTransportPair, DEFAULT_CAPACITY } from '../src/testing/index.js';
import { turns } from './conformance/stream.js';
import { until, useHarness } from './helpers/harness.js';
import { Recorder } from './helpers/recorder.js';

describe('createTransportPair', () => {
  useHarness();

  test('synchronous; connectionMade reaches A, then B on a later turn', async () => {
    const order: string[] = [];
    const a = new Recorder();
    const b = new Recorder();
    a.onMade = () => order.push('A');
    b.onMade = () => order.push('B');
    const [ta, tb] = createTransportPair(a, b);
    assert.deepEqual(order, []);
    assert.equal(ta.getProtocol(), a);
    assert.equal(tb.getProtocol(), b);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['A']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['A', 'B']);
    ta.close();
    await Promise.all([a.lost, b.lost]);
  });

  test('data written before connectionMade is delivered after it', async () => {
    const a = new Recorder();
    const b = new Recorder();
    const [ta] = createTransportPair(a, b);
    ta.write(Buffer.from('early'));
    await b.receivedBytes(5);
    assert.deepEqual(b.events.slice(0, 2), ['made', 'data']);
    ta.close();
    await Promise.all([a.lost, b.lost]);
  });

  test('deterministic: the same calls give the same callbacks, turn by turn', async () => {
    async function scenario(): Promise<string[]> {
      const log: string[] = [];
      const mk = (name: string): Recorder => {
        const r = new Recorder();
        r.onData = (d) => log.push(`${name}:data:${d.length}`);
        const pause = r.pauseWriting.bind(r);
        r.pauseWriting = () => {
          log.push(`${name}:pause`);
          pause();
        };
        const resume = r.resumeWriting.bind(r);
        r.resumeWriting = () => {
          log.push(`${name}:resume`);
          resume();
        };
        return r;
      };
      const a = mk('A');
      const b = mk('B');
      const [ta, tb] = createTransportPair(a, b, { capacity: 1000 });
      b.onMade = (t) => t.write(Buffer.alloc(3000, 2));
      ta.write(Buffer.alloc(70_000, 1));
      for (let turn = 0; turn < 120; turn++) {
        log.push(`turn${turn}:${ta.getWriteBufferSize()}/${tb.getWriteBufferSize()}`);
        await new Promise((r) => setImmediate(r));
      }
      ta.close();
      tb.close();
      await Promise.all([a.lost, b.lost]);
      return log;
    }
    const first = await scenario();
    const second = await scenario();
    assert.ok(first.includes('A:pause') && first.includes('A:resume'));
    assert.deepEqual(second, first);
  });

  test('capacity: writes beyond it stay queued in the writer; Infinity never queues', async () => {
    assert.equal(DEFAULT_CAPACITY, 65536);
    const a = new Recorder();
    const b = new Recorder();
    b.onMade = (t) => t.pauseReading();
    const [ta, tb] = createTransportPair(a, b, { capacity: 100 });
    ta.write(Buffer.alloc(150));
    assert.equal(ta.getWriteBufferSize(), 50);
    await turns(10);
    assert.equal(ta.getWriteBufferSize(), 50, 'nothing moves while the peer does not read');
    tb.resumeReading();
    await b.receivedBytes(150);
    assert.equal(ta.getWriteBufferSize(), 0);
    ta.close();
    await Promise.all([a.lost, b.lost]);

    const c = new Recorder();
    const d = new Recorder();
    d.onMade = (t) => t.pauseReading();
    const [tc] = createTransportPair(c, d, { capacity: Number.POSITIVE_INFINITY });
    tc.write(Buffer.alloc(10 * 1024 * 1024));
    assert.equal(tc.getWriteBufferSize(), 0);
    assert.ok(!c.events.includes('pause'));
    tc.abort();
    await until(() => c.events.includes('lost') && d.events.includes('made'));
    d.transport.close();
    await d.lost;
  });

  test('extra info: peername/sockname default to "" and can be given per side', async () => {
    const a = new Recorder();
    const b = new Recorder();
    const [ta, tb] = createTransportPair(a, b, {
      extraA: { peername: ['10.0.0.2', 443], custom: 1 },
    });
    assert.deepEqual(ta.getExtraInfo('peername'), ['10.0.0.2', 443]);
    assert.equal(ta.getExtraInfo('sockname'), '');
    assert.equal(ta.getExtraInfo('custom'), 1);
    assert.equal(tb.getExtraInfo('peername'), '');
    assert.equal(tb.getExtraInfo('custom', 'none'), 'none');
    assert.throws(() => ta.getExtraInfo(3 as never), TypeError);
    ta.close();
    await Promise.all([a.lost, b.lost]);
  });

  test('writes toward a peer that is gone are dropped; the writer can still close', async () => {
    const a = new Recorder();
    const b = new Recorder();
    a.keepOpen = true;
    const [ta, tb] = createTransportPair(a, b, { capacity: 10 });
    await until(() => b.events.includes('made'));
    tb.close();
    await a.eof; // kept open: A may still write
    await b.lost;
    ta.write(Buffer.alloc(100_000));
    assert.equal(ta.getWriteBufferSize(), 0, 'the peer is gone: nothing waits for it');
    ta.close();
    await a.lost;
    assert.equal(a.lostWith, null);
    assert.deepEqual(a.grammar, ['made', 'eof', 'lost']);
  });

  test('bad arguments are clear errors', () => {
    const p = new Recorder();
    assert.throws(
      () => createTransportPair(null as never, p),
      /protocolA must be a protocol object/,
    );
    assert.throws(() => createTransportPair(p, 5 as never), /protocolB/);
    assert.throws(() => createTransportPair(p, p, { capacity: 0 }), RangeError);
    assert.throws(() => createTransportPair(p, p, { capacity: 1.5 }), RangeError);
    assert.throws(() => createTransportPair(p, p, { capacity: '1' as never }), TypeError);
    assert.throws(() => createTransportPair(p, p, { bogus: 1 } as never), /unexpected option/);
    assert.throws(() => createTransportPair(p, p, { extraA: 3 as never }), TypeError);
    assert.throws(() => createTransportPair(p, p, null as never), TypeError);
  });

  test('the package exports it as protoloop/testing', async () => {
    const mod = (await import('protoloop/testing' as string)) as Record<string, unknown>;
    assert.equal(typeof mod.createTransportPair, 'function');
    assert.deepEqual(Object.keys(mod).sort(), ['DEFAULT_CAPACITY', 'createTransportPair']);
  });
});
