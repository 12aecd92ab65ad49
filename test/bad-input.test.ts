/**
 * Bad input to every public method of the core: wrong types, out-of-range
 * numbers, calls after close. A clear error, no crash, no state change.
 */
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { test } from 'node:test';
import { getRunningLoop, Protocol } from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();
useHarness();

test('transport methods reject bad arguments and leave the state unchanged', async () => {
  let b: Recorder | null = null;
  const server = await loop.createServer(() => (b = new Recorder()), '127.0.0.1', 0);
  const [t, a] = await loop.createConnection(
    () => new Recorder(),
    '127.0.0.1',
    (server.sockets[0]!.address() as net.AddressInfo).port,
  );
  const state = () => [
    t.isClosing(),
    t.isReading(),
    t.getWriteBufferSize(),
    ...t.getWriteBufferLimits(),
  ];
  const initial = state();
  const bad: unknown[] = ['str', 1, null, undefined, {}, [1, 2], Symbol('s'), () => {}];
  for (const v of bad) {
    assert.throws(() => t.write(v as never), TypeError);
    assert.throws(() => t.writelines(v as never), TypeError);
  }
  assert.throws(() => t.writelines([Buffer.from('ok'), 'bad'] as never), TypeError);
  for (const [h, l] of [
    [-1, undefined],
    [1, 2],
    [1.5, undefined],
    ['9', undefined],
    [undefined, -3],
    [Number.NaN, undefined],
  ]) {
    assert.throws(
      () => t.setWriteBufferLimits(h as never, l as never),
      (e: Error) => e instanceof TypeError || e instanceof RangeError,
    );
  }
  assert.throws(() => t.getExtraInfo(5 as never), TypeError);
  assert.throws(() => t.setProtocol(null as never), TypeError);
  assert.throws(() => t.setProtocol('p' as never), TypeError);
  assert.deepEqual(state(), initial);
  assert.equal(t.getProtocol(), a);

  t.close();
  // After close: nothing throws except type errors; nothing changes.
  t.close();
  t.abort();
  t.pauseReading();
  t.resumeReading();
  t.writeEof();
  assert.equal(t.isReading(), false);
  assert.throws(() => t.write('after close' as never), TypeError);
  await a.lost;
  await (b as Recorder | null)?.lost;
  server.close();
  await server.waitClosed();
});

test('loop methods reject bad arguments synchronously or by rejecting', async () => {
  assert.throws(() => loop.callSoon(null as never), TypeError);
  assert.throws(() => loop.callLater(undefined as never, () => {}), TypeError);
  assert.throws(() => loop.callAt('now' as never, () => {}), TypeError);
  await assert.rejects(
    loop.createServer(() => new Protocol(), '127.0.0.1', -1),
    RangeError,
  );
  await assert.rejects(
    loop.createServer(() => new Protocol(), '127.0.0.1', 0, null as never),
    TypeError,
  );
  await assert.rejects(
    loop.createServer(() => new Protocol(), '127.0.0.1', 0, { backlog: 1.5 }),
    TypeError,
  );
  await assert.rejects(
    loop.createUnixServer(() => new Protocol(), 42 as never),
    TypeError,
  );
  await assert.rejects(
    loop.createUnixConnection(() => new Protocol(), 42 as never),
    TypeError,
  );
  await assert.rejects(
    loop.connectAcceptedSocket(() => new Protocol(), 'sock' as never),
    TypeError,
  );
  await assert.rejects(
    loop.createConnection(() => new Protocol(), '', 80),
    TypeError,
  );
  await assert.rejects(
    loop.createConnection(() => 'not a protocol' as never, null, null, {}),
    TypeError,
  );
});

test('a factory that returns a non-object is a TypeError, and the socket is closed', async () => {
  const server = await loop.createServer(() => new Protocol(), '127.0.0.1', 0);
  await assert.rejects(
    loop.createConnection(
      () => 42 as never,
      '127.0.0.1',
      (server.sockets[0]!.address() as net.AddressInfo).port,
    ),
    { name: 'TypeError', message: /^protocol must be an object/ },
  );
  server.close();
  server.closeClients();
  await server.waitClosed();
});
