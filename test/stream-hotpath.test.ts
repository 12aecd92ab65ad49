/**
 * The fast paths of the stream transport keep asyncio's semantics: direct
 * writes copy what the kernel does not take (1.4), small reads copied out of
 * the shared scratch buffer and large reads carved from a region are both
 * owned by the receiver, and a write error on the direct path ends the
 * connection once.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { getRunningLoop, Protocol, type Server, type Transport } from '../src/index.js';
import { STAGE_MAX } from '../src/transports/stream.js';
import { until, useHarness } from './helpers/harness.js';
import { Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();

/** A raw Node server whose one accepted socket the test drives. */
async function rawServer(): Promise<{
  server: net.Server;
  port: number;
  accepted: Promise<net.Socket>;
}> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port, accepted };
}

function readAll(sock: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  sock.on('data', (d) => parts.push(d));
  return new Promise((resolve) => sock.on('end', () => resolve(Buffer.concat(parts))));
}

async function echoServer(): Promise<[Server, number]> {
  class Echo extends Protocol {
    t!: Transport;
    override connectionMade(t: Transport) {
      this.t = t;
    }
    override dataReceived(d: Buffer) {
      this.t.write(d);
    }
  }
  const server = await loop.createServer(() => new Echo(), '127.0.0.1', 0);
  return [server, (server.sockets[0]!.address() as net.AddressInfo).port];
}

describe('stream transport fast paths', () => {
  useHarness();

  test('write(): bytes the kernel did not take are copied; the caller may reuse its buffer', async () => {
    const { server, port, accepted } = await rawServer();
    const [t, rec] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    const peer = await accepted; // paused: reads nothing yet
    const size = 32 * 1024 * 1024; // more than loopback's kernel buffers hold
    const buf = Buffer.alloc(size, 0xaa);
    t.write(buf);
    assert.ok(t.getWriteBufferSize() > 0, 'the kernel could not take it all');
    buf.fill(0x55); // the caller reuses its buffer at once
    const parts = [Buffer.from('|'), Buffer.alloc(100_000, 0xbb)];
    t.writelines(parts); // queued behind: copied too
    parts[1]!.fill(0x66);
    t.writeEof();
    const all = readAll(peer);
    peer.resume();
    const got = await all;
    assert.equal(got.length, size + 100_001);
    assert.ok(got.subarray(0, size).every((b) => b === 0xaa));
    assert.equal(got[size], '|'.charCodeAt(0));
    assert.ok(got.subarray(size + 1).every((b) => b === 0xbb));
    t.close();
    await rec.lost;
    peer.destroy();
    server.close();
  });

  test('small writes through the handle: a write libuv keeps part of is staged, so the caller may reuse its buffer', async () => {
    const { server, port, accepted } = await rawServer();
    const [t, rec] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    const peer = await accepted; // paused: reads nothing yet
    const block = STAGE_MAX;
    const buf = Buffer.alloc(block);
    // One reused buffer, a new value per write, until the kernel stops
    // taking whole writes: that write is the one libuv keeps part of.
    let n = 0;
    while (t.getWriteBufferSize() === 0) {
      assert.ok(n < 100_000, 'the kernel buffers never filled');
      buf.fill(n & 0xff);
      t.write(buf);
      n++;
    }
    buf.fill(0xee); // reused at once, while libuv still holds the rest of the last write
    for (let i = 0; i < 3; i++) {
      buf.fill((n + i) & 0xff);
      t.write(buf); // queued behind it: copied
    }
    n += 3;
    t.writeEof();
    const all = readAll(peer);
    peer.resume();
    const got = await all;
    assert.equal(got.length, n * block);
    for (let i = 0; i < n; i++) {
      const v = i & 0xff;
      assert.ok(
        got.subarray(i * block, (i + 1) * block).every((b) => b === v),
        `block ${i} of ${n} holds the bytes written`,
      );
    }
    t.close();
    await rec.lost;
    peer.destroy();
    server.close();
  });

  test('writelines() on an idle socket is one vectored write; an untaken tail is copied', async () => {
    const { server, port, accepted } = await rawServer();
    const [t, rec] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    const peer = await accepted;
    const a = Buffer.alloc(20 * 1024 * 1024, 1);
    const b = Buffer.alloc(20 * 1024 * 1024, 2);
    t.writelines([a, Buffer.alloc(0), b]);
    assert.ok(t.getWriteBufferSize() > 0);
    a.fill(7);
    b.fill(8);
    t.writeEof();
    const all = readAll(peer);
    peer.resume();
    const got = await all;
    assert.equal(got.length, a.length + b.length);
    assert.ok(got.subarray(0, a.length).every((x) => x === 1));
    assert.ok(got.subarray(a.length).every((x) => x === 2));
    t.close();
    await rec.lost;
    peer.destroy();
    server.close();
  });

  test('small reads (copied) and large reads (regions) interleaved: every chunk stays owned', async () => {
    const [server, port] = await echoServer();
    const [t, rec] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    const expected: Buffer[] = [];
    let total = 0;
    for (let i = 0; i < 72; i++) {
      // 1 byte, a few KiB around COPY_MAX (4 KiB), a few hundred KiB, and a
      // run of small messages (the connection gives its region up).
      const size = [1, 4095, 4097, 300_000, 17, 65_536, 5, 6, 7, 8, 9, 200_000][i % 12]!;
      const chunk = Buffer.alloc(size, (i * 37) & 0xff);
      expected.push(chunk);
      total += size;
      t.write(chunk);
      // Waiting for the echo makes the sizes of the reads follow the writes.
      await rec.receivedBytes(total);
    }
    assert.ok(Buffer.concat(rec.chunks).equals(Buffer.concat(expected)));
    t.close();
    await rec.lost;
    server.close();
    await server.waitClosed();
  });

  test('a write error on the direct path ends the connection with connectionLost(err), once', async () => {
    const { server, port, accepted } = await rawServer();
    const [t, rec] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    const peer = await accepted;
    peer.resetAndDestroy();
    // Keep writing until the reset is seen (by the write or by the read side).
    await until(
      () => {
        if (!t.isClosing()) t.write(Buffer.alloc(1024, 1));
        return rec.events.includes('lost');
      },
      'connectionLost',
      100_000,
    );
    assert.equal(rec.events.filter((e) => e === 'lost').length, 1);
    assert.ok(rec.lostWith instanceof Error);
    assert.ok(
      ['ECONNRESET', 'EPIPE'].includes((rec.lostWith as NodeJS.ErrnoException).code ?? ''),
      String(rec.lostWith),
    );
    server.close();
  });
});
