/**
 * Faults on real TCP connections: each ends in connectionLost(err) once and
 * nothing else (no uncaught exception, no exception-handler call, no hang).
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { getRunningLoop, type Server } from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();

async function pairWithServer(makeB: () => Recorder = () => new Recorder()): Promise<{
  a: Recorder;
  b: Recorder;
  server: Server;
}> {
  let b: Recorder | null = null;
  const server = await loop.createServer(() => (b = makeB()), '127.0.0.1', 0);
  const [, a] = await loop.createConnection(
    () => new Recorder(),
    '127.0.0.1',
    (server.sockets[0]!.address() as net.AddressInfo).port,
  );
  while (b === null || (b as Recorder).events.length === 0)
    await new Promise((r) => setImmediate(r));
  server.close();
  return { a, b: b as Recorder, server };
}

describe('faults', () => {
  useHarness();

  test('a peer reset in the middle of a large write', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    let got = 0;
    srv.on('connection', (s) => {
      s.on('data', (d) => {
        got += d.length;
        if (got > 1_000_000) s.resetAndDestroy();
      });
    });
    const [t, rec] = await loop.createConnection(
      () => new Recorder(),
      '127.0.0.1',
      (srv.address() as net.AddressInfo).port,
    );
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < 32; i++) t.write(big); // 32 MiB: far more than the kernel takes
    await rec.lost;
    const code = (rec.lostWith as NodeJS.ErrnoException | null)?.code;
    assert.ok(code === 'ECONNRESET' || code === 'EPIPE', `lost with ${rec.lostWith}`);
    assert.equal(rec.events.filter((e) => e === 'lost').length, 1);
    assert.ok(!rec.events.includes('resume'));
    t.write(big); // dropped, counted, no throw
    srv.close();
  });

  test('a peer that half-closes while we are paused: EOF arrives once, after resumeReading', async () => {
    const { a, b, server } = await pairWithServer();
    b.transport.pauseReading();
    a.transport.write(Buffer.from('last words'));
    a.transport.writeEof();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(b.events, ['made']);
    b.transport.resumeReading();
    await b.lost;
    assert.deepEqual(b.grammar, ['made', 'data', 'eof', 'lost']);
    assert.equal(b.received.toString(), 'last words');
    await a.lost;
    await server.waitClosed();
  });

  test('abort() while paused for writing: connectionLost(null) once, no resumeWriting', async () => {
    const { a, b, server } = await pairWithServer();
    b.transport.pauseReading();
    const chunk = Buffer.alloc(256 * 1024);
    for (let i = 0; i < 1000 && !a.events.includes('pause'); i++) {
      a.transport.write(chunk);
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(a.events.includes('pause'));
    assert.ok(a.transport.getWriteBufferSize() > 65536);
    a.transport.abort();
    await a.lost;
    assert.equal(a.lostWith, null);
    assert.ok(!a.events.includes('resume'));
    b.transport.resumeReading();
    await b.lost;
    await server.waitClosed();
  });

  test('a slow reader that never reads: the writer is paused and memory stays bounded', async () => {
    const { a, b, server } = await pairWithServer();
    b.transport.pauseReading();
    // A well-behaved producer: writes only while not paused.
    let paused = false;
    a.pauseWriting = () => {
      paused = true;
    };
    a.resumeWriting = () => {
      paused = false;
    };
    const chunk = Buffer.alloc(64 * 1024);
    let written = 0;
    let maxBuffered = 0;
    const heapBefore = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 2000; i++) {
      if (!paused) {
        a.transport.write(chunk);
        written += chunk.length;
      }
      maxBuffered = Math.max(maxBuffered, a.transport.getWriteBufferSize());
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(paused, 'the producer was paused');
    // Bounded: the transport holds at most high water + one chunk.
    assert.ok(maxBuffered <= 65536 + chunk.length, `buffered ${maxBuffered}`);
    assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 32 * 1024 * 1024);
    assert.ok(written < 64 * 1024 * 1024, `wrote ${written}: the kernel absorbed it all?`);
    a.transport.abort();
    b.transport.abort();
    await Promise.all([a.lost, b.lost]);
    await server.waitClosed();
  });
});
