/**
 * loop.sendfile over real sockets: a protoloop server sends, a raw Node
 * socket receives (semantics 9.20-9.25).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  getRunningLoop,
  InvalidStateError,
  SendfileNotAvailableError,
  type Server,
  type Transport,
} from '../src/index.js';
import { until, useHarness } from './helpers/harness.js';
import { Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();
let dir: string;
let path: string;
let emptyPath: string;
let bigPath: string;
const content = randomBytes(3 * 1024 * 1024 + 123);
/** More than loopback's kernel buffers hold, so that the sender has to wait. */
const BIG = 48 * 1024 * 1024;

before(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'protoloop-sendfile-'));
  path = join(dir, 'data.bin');
  emptyPath = join(dir, 'empty.bin');
  fs.writeFileSync(path, content);
  fs.writeFileSync(emptyPath, '');
  bigPath = join(dir, 'big.bin');
  fs.writeFileSync(bigPath, Buffer.alloc(BIG, 9));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A protoloop server connection (Recorder) and the raw client socket at the other end. */
interface Conn {
  t: Transport;
  rec: Recorder;
  peer: net.Socket;
  received: Buffer[];
  /** Resolves with everything the peer received once the server side closed. */
  ended: Promise<Buffer>;
  server: Server;
  dispose(): Promise<void>;
}

async function connect(): Promise<Conn> {
  let rec: Recorder | null = null;
  const server = await loop.createServer(() => (rec = new Recorder()), '127.0.0.1', 0);
  const port = (server.sockets[0]!.address() as net.AddressInfo).port;
  const peer = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const received: Buffer[] = [];
  peer.on('data', (d) => received.push(d));
  const ended = new Promise<Buffer>((resolve) => {
    peer.on('end', () => resolve(Buffer.concat(received)));
    peer.on('close', () => resolve(Buffer.concat(received)));
  });
  peer.on('error', () => {});
  await until(() => rec?.events.includes('made') === true, 'connectionMade');
  const r = rec as unknown as Recorder;
  return {
    t: r.transport,
    rec: r,
    peer,
    received,
    ended,
    server,
    async dispose() {
      peer.destroy();
      server.close();
      server.abortClients();
      await server.waitClosed();
    },
  };
}

/** Run `fn` with a fresh connection and `file` open; both are closed after, whatever happens. */
async function withFile(
  file: string,
  fn: (c: Conn, fh: fs.promises.FileHandle) => Promise<void>,
): Promise<void> {
  const c = await connect();
  const fh = await fs.promises.open(file, 'r');
  try {
    await fn(c, fh);
  } finally {
    await fh.close();
    await c.dispose();
  }
}

describe('loop.sendfile', () => {
  useHarness();

  test('sends the whole file (FileHandle) and resolves with the byte count', async () => {
    await withFile(path, async (c, fh) => {
      const n = await loop.sendfile(c.t, fh);
      assert.equal(n, content.length);
      c.t.close();
      const got = await c.ended;
      assert.ok(got.equals(content));
      await c.rec.lost;
      assert.equal(c.rec.lostWith, null);
    });
  });

  test('offset and count select a byte range; a plain descriptor works too', async () => {
    const fd = fs.openSync(path, 'r');
    try {
      for (const [offset, count, expected] of [
        [1000, 5000, content.subarray(1000, 6000)],
        [content.length - 10, 1000, content.subarray(content.length - 10)],
        [300_000, null, content.subarray(300_000)],
        [content.length + 5, null, Buffer.alloc(0)],
        [0, 1, content.subarray(0, 1)],
      ] as const) {
        const c = await connect();
        const n = await loop.sendfile(c.t, fd, offset, count);
        assert.equal(n, expected.length, `offset ${offset} count ${count}`);
        c.t.close();
        const got = await c.ended;
        assert.ok(got.equals(expected), `offset ${offset} count ${count}`);
        await c.dispose();
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  test('an empty file sends nothing and resolves with 0', async () => {
    await withFile(emptyPath, async (c, fh) => {
      assert.equal(await loop.sendfile(c.t, fh), 0);
      c.t.write(Buffer.from('after'));
      c.t.close();
      assert.equal((await c.ended).toString(), 'after');
    });
  });

  test("the descriptor's own position is left as it was (positional reads; Node has no lseek)", async () => {
    const c = await connect();
    const fd = fs.openSync(path, 'r');
    try {
      const first = Buffer.alloc(10);
      fs.readSync(fd, first, 0, 10, null); // position is now 10
      const n = await loop.sendfile(c.t, fd, 100, 50);
      assert.equal(n, 50);
      const next = Buffer.alloc(10);
      fs.readSync(fd, next, 0, 10, null);
      assert.ok(next.equals(content.subarray(10, 20)), 'sequential reads continue at 10');
      c.t.close();
      assert.ok((await c.ended).equals(content.subarray(100, 150)));
    } finally {
      fs.closeSync(fd);
      await c.dispose();
    }
  });

  test('data written before and after stays in order; write() during sendfile throws', async () => {
    await withFile(path, async (c, fh) => {
      c.t.write(Buffer.from('pre:'));
      const p = loop.sendfile(c.t, fh, 0, 200_000);
      assert.throws(() => c.t.write(Buffer.from('x')), {
        name: 'InvalidStateError',
        message: 'unable to write; sendfile is in progress',
      });
      assert.throws(() => c.t.writelines([Buffer.from('x')]), InvalidStateError);
      assert.equal(await p, 200_000);
      c.t.write(Buffer.from(':post'));
      c.t.close();
      const got = await c.ended;
      assert.ok(
        got.equals(
          Buffer.concat([Buffer.from('pre:'), content.subarray(0, 200_000), Buffer.from(':post')]),
        ),
      );
    });
  });

  test('honours write flow control; protocol and reading are restored afterwards', async () => {
    await withFile(bigPath, async (c, fh) => {
      c.t.setWriteBufferLimits(32 * 1024);
      c.peer.pause(); // the peer stops reading: the kernel buffers fill up
      let maxBuffered = 0;
      const sampler = setInterval(() => {
        maxBuffered = Math.max(maxBuffered, c.t.getWriteBufferSize());
      }, 1);
      const p = loop.sendfile(c.t, fh);
      // The transport's protocol is swapped while the transfer runs.
      assert.notEqual(c.t.getProtocol(), c.rec);
      await until(() => c.t.getWriteBufferSize() > 0, 'a full pipe', 200_000);
      c.peer.resume();
      const n = await p;
      clearInterval(sampler);
      assert.equal(n, BIG);
      // Bounded by the high-water mark plus one chunk (the fallback writes 256 KiB at a time).
      assert.ok(maxBuffered <= 32 * 1024 + 256 * 1024, `buffered up to ${maxBuffered}`);
      assert.equal(c.t.getProtocol(), c.rec);
      assert.ok(c.t.isReading());
      // The protocol's flow-control view matches the transport's: paused now
      // only if the last chunk left the transport paused.
      const flow = c.rec.events.filter((e) => e === 'pause' || e === 'resume');
      assert.deepEqual(flow, (c.t as any)._flow.paused ? ['pause'] : []);
      // Reading works again: the peer sends, the protocol receives.
      c.peer.write('ping');
      await until(() => c.rec.chunks.length > 0, 'data after sendfile', 200_000);
      assert.equal(Buffer.concat(c.rec.chunks).toString(), 'ping');
      c.t.close();
      const got = await c.ended;
      assert.deepEqual(
        c.rec.events.filter((e) => e === 'pause' || e === 'resume'),
        flow.length ? ['pause', 'resume'] : [],
      );
      assert.equal(got.length, BIG);
      assert.ok(got.every((b) => b === 9));
    });
  });

  test('a protocol paused for writing when sendfile starts gets resumeWriting() at the end', async () => {
    await withFile(path, async (c, fh) => {
      c.peer.pause();
      c.t.setWriteBufferLimits(1024);
      const big = Buffer.alloc(BIG, 1);
      c.t.write(big);
      assert.ok(c.rec.events.includes('pause'), 'paused by the big write');
      const p = loop.sendfile(c.t, fh, 0, 10_000);
      c.peer.resume();
      assert.equal(await p, 10_000);
      c.t.close();
      const got = await c.ended;
      assert.ok(got.equals(Buffer.concat([big, content.subarray(0, 10_000)])));
      // Paused once by the big write, resumed once (by sendfile's restore or,
      // if the last chunk left the transport paused, when it drained).
      assert.deepEqual(
        c.rec.events.filter((e) => e === 'pause' || e === 'resume'),
        ['pause', 'resume'],
      );
    });
  });

  test('a transfer that ends with the transport paused leaves the protocol paused (then resumed)', async () => {
    await withFile(path, async (c, fh) => {
      c.peer.pause();
      c.t.setWriteBufferLimits(1024 * 1024 * 1024);
      c.t.write(Buffer.alloc(BIG, 1)); // fills the kernel; the rest waits in the transport
      c.t.setWriteBufferLimits(c.t.getWriteBufferSize() + 5000); // not paused yet
      assert.ok(!c.rec.events.includes('pause'));
      assert.equal(await loop.sendfile(c.t, fh, 0, 10_000), 10_000);
      // The last chunk pushed the transport over the mark while sendfile's
      // protocol was installed; the restored protocol is told now.
      assert.deepEqual(c.rec.events.slice(-1), ['pause']);
      c.peer.resume();
      c.t.close();
      const got = await c.ended;
      assert.equal(got.length, BIG + 10_000);
      assert.deepEqual(
        c.rec.events.filter((e) => e === 'pause' || e === 'resume'),
        ['pause', 'resume'],
      );
    });
  });

  test('the peer closing mid-transfer rejects with a connection error; the transport closes', async () => {
    await withFile(bigPath, async (c, fh) => {
      let got = 0;
      c.peer.on('data', (d) => {
        got += d.length;
        if (got > 256 * 1024 && !c.peer.destroyed) c.peer.resetAndDestroy();
      });
      const err = await loop.sendfile(c.t, fh).then(
        () => assert.fail('sendfile resolved'),
        (e: NodeJS.ErrnoException) => e,
      );
      assert.ok(
        ['ECONNRESET', 'EPIPE'].includes(err.code ?? ''),
        `code ${err.code}: ${err.message}`,
      );
      assert.ok(c.t.isClosing());
      await c.rec.lost;
      assert.equal(c.rec.events.filter((e) => e === 'lost').length, 1);
      assert.ok(c.rec.lostWith instanceof Error);
    });
  });

  test('argument and state errors', async () => {
    await withFile(path, async (c, fh) => {
      await assert.rejects(loop.sendfile(c.t, fh, -1), {
        name: 'RangeError',
        message: 'offset must be a non-negative integer (got -1)',
      });
      await assert.rejects(loop.sendfile(c.t, fh, 1.5), {
        name: 'TypeError',
        message: 'offset must be a non-negative integer (got 1.5)',
      });
      await assert.rejects(loop.sendfile(c.t, fh, 0, 0), {
        name: 'RangeError',
        message: 'count must be a positive integer (got 0)',
      });
      await assert.rejects(loop.sendfile(c.t, fh, 0, 'c' as any), {
        name: 'TypeError',
        message: "count must be a positive integer (got 'c')",
      });
      await assert.rejects(loop.sendfile(c.t, 'file.txt' as any), TypeError);
      await assert.rejects(loop.sendfile(c.t, -3), TypeError);
      await assert.rejects(loop.sendfile({} as any, fh), TypeError);
      await assert.rejects(loop.sendfile(c.t, fh, 0, null, { fallbak: true } as any), {
        name: 'TypeError',
        message: "sendfile() got an unexpected keyword argument 'fallbak'",
      });
      await assert.rejects(loop.sendfile(c.t, fh, 0, null, { fallback: false }), (e: Error) => {
        assert.ok(e instanceof SendfileNotAvailableError);
        return true;
      });
      // Nothing was sent by the rejected calls.
      assert.equal(c.t.getWriteBufferSize(), 0);
      const closed = await fs.promises.open(path, 'r');
      await closed.close();
      await assert.rejects(loop.sendfile(c.t, closed), {
        name: 'TypeError',
        message: 'I/O operation on closed file.',
      });
      c.t.close();
      await assert.rejects(loop.sendfile(c.t, fh), {
        name: 'InvalidStateError',
        message: 'Transport is closing',
      });
      assert.equal((await c.ended).length, 0);
    });
  });
});
