/**
 * High-level streams over real sockets (TCP, Unix) and over the in-memory
 * pair: openConnection/startServer and the Unix variants with their
 * options, flow control in both directions, failures, and bad input.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  getRunningLoop,
  LimitOverrunError,
  openConnection,
  openUnixConnection,
  StreamReader,
  StreamReaderProtocol,
  StreamWriter,
  startServer,
  startUnixServer,
  type Transport,
} from '../src/index.js';
import { createTransportPair, type TransportPairOptions } from '../src/testing/index.js';
import { turns } from './conformance/stream.js';
import { clientTls, serverTls } from './helpers/certs.js';
import { takeHandlerCalls, until, useHarness } from './helpers/harness.js';
import { portOf } from './helpers/net.js';

const loop = getRunningLoop();
const b = (s: string): Buffer => Buffer.from(s);

/** Reader/writer pairs on both ends of an in-memory transport pair, once both are connected. */
async function streamPair(
  limit?: number,
  options?: TransportPairOptions,
): Promise<{
  a: [StreamReader, StreamWriter];
  b: [StreamReader, StreamWriter];
  ta: Transport;
  tb: Transport;
}> {
  const ra = new StreamReader(limit);
  const rb = new StreamReader(limit);
  const pa = new StreamReaderProtocol(ra);
  const pb = new StreamReaderProtocol(rb);
  let made = 0;
  for (const p of [pa, pb]) {
    const orig = p.connectionMade.bind(p);
    p.connectionMade = (t: Transport) => {
      orig(t);
      made++;
    };
  }
  const [ta, tb] = createTransportPair(pa, pb, options);
  await until(() => made === 2, 'connectionMade on both sides');
  return {
    a: [ra, new StreamWriter(ta, pa, ra, loop)],
    b: [rb, new StreamWriter(tb, pb, rb, loop)],
    ta,
    tb,
  };
}

/** A raw Node server whose accepted sockets go to `onConn`; closed by the returned function. */
async function rawServer(
  onConn: (s: net.Socket) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const srv = net.createServer({ allowHalfOpen: true }, onConn);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

describe('streams over TCP', () => {
  useHarness();

  test('echo server and client: readline, readExactly, readUntil, read to EOF, for await', async () => {
    const served: string[] = [];
    const server = await startServer(
      async (reader, writer) => {
        for await (const line of reader) {
          served.push(line.toString());
          writer.write(Buffer.from(line.toString().toUpperCase()));
          await writer.drain();
        }
        writer.close();
        await writer.waitClosed();
      },
      '127.0.0.1',
      0,
    );
    const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
    assert.deepEqual(writer.getExtraInfo('peername'), ['127.0.0.1', portOf(server)]);
    assert.equal(writer.getExtraInfo('nope', 7), 7);
    assert.equal(writer.canWriteEof(), true);
    assert.ok(writer.transport.getExtraInfo('socket') instanceof net.Socket);
    writer.write(b('hello\n'));
    assert.equal((await reader.readline()).toString(), 'HELLO\n');
    writer.writelines([b('abc'), b('def\nxyz!\n')]);
    assert.equal((await reader.readExactly(4)).toString(), 'ABCD');
    assert.equal((await reader.readUntil(b('\n'))).toString(), 'EF\n');
    assert.equal((await reader.readUntil([b('!'), b('\n')])).toString(), 'XYZ!');
    writer.write(b('last line without newline'));
    writer.writeEof();
    assert.equal((await reader.read()).toString(), '\nLAST LINE WITHOUT NEWLINE');
    assert.equal(reader.atEof(), true);
    assert.equal(writer.isClosing(), false); // half-open: the write side stayed usable
    writer.close();
    assert.equal(writer.isClosing(), true);
    await writer.waitClosed();
    assert.deepEqual(served, ['hello\n', 'abcdef\n', 'xyz!\n', 'last line without newline']);
    server.close();
    await server.waitClosed();
  });

  test('every createConnection/createServer option passes through; limit is validated', async () => {
    let accepted = 0;
    const server = await startServer(
      (_r, w) => {
        accepted++;
        w.close();
      },
      '127.0.0.1',
      0,
      { backlog: 10, startServing: false, keepAlive: true, limit: 10 },
    );
    assert.equal(server.isServing(), false);
    await server.startServing();
    const [r1, w1] = await openConnection('127.0.0.1', portOf(server), {
      family: 4,
      localAddr: ['127.0.0.1', 0],
      happyEyeballsDelay: 0.25,
      limit: 100,
    });
    assert.equal((w1.getExtraInfo('sockname') as [string, number])[0], '127.0.0.1');
    assert.equal((await r1.read()).length, 0);
    w1.close();
    await w1.waitClosed();
    // An existing socket (sock).
    const raw = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
    const [r2, w2] = await openConnection(null, null, { sock: raw });
    assert.equal((await r2.read()).length, 0);
    w2.close();
    await w2.waitClosed();
    assert.equal(accepted, 2);
    // Unknown options are rejected by the loop method, limit by the streams layer.
    await assert.rejects(openConnection('127.0.0.1', portOf(server), { bogus: 1 } as never), {
      name: 'TypeError',
      message: "createConnection() got an unexpected keyword argument 'bogus'",
    });
    await assert.rejects(openConnection('127.0.0.1', portOf(server), { limit: 0 }), {
      name: 'RangeError',
      message: 'Limit cannot be <= 0',
    });
    await assert.rejects(openConnection('127.0.0.1', portOf(server), null as never), TypeError);
    await assert.rejects(startServer(null as never, '127.0.0.1', 0), /clientConnected/);
    await assert.rejects(
      startServer(() => {}, '127.0.0.1', 0, { limit: -1 }),
      RangeError,
    );
    await assert.rejects(
      startServer(() => {}, '127.0.0.1', 0, { reuseAddress: 'yes' } as never),
      TypeError,
    );
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(openConnection('127.0.0.1', portOf(server), { signal: ac.signal }), {
      name: 'AbortError',
    });
    server.close();
    await server.waitClosed();
  });

  test('a client callback that rejects is reported and its connection closed', async () => {
    const boom = new Error('handler failed');
    const server = await startServer(
      async (reader) => {
        await reader.readline();
        throw boom;
      },
      '127.0.0.1',
      0,
    );
    const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
    writer.write(b('go\n'));
    assert.equal((await reader.read()).length, 0); // the server closed
    const calls = takeHandlerCalls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.message, 'Unhandled exception in client_connected_cb');
    assert.equal(calls[0]!.exception, boom);
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });

  test('a client callback that throws synchronously is handled the same way', async () => {
    const server = await startServer(
      () => {
        throw new TypeError('sync failure');
      },
      '127.0.0.1',
      0,
    );
    const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
    assert.equal((await reader.read()).length, 0);
    const calls = takeHandlerCalls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.message, 'Unhandled exception in client_connected_cb');
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });

  test('reading after the connection failed rejects with that failure; so do drain and waitClosed', async () => {
    const raw = await rawServer((s) => s.once('data', () => s.resetAndDestroy()));
    const [reader, writer] = await openConnection('127.0.0.1', raw.port);
    writer.write(b('reset me'));
    const err = await reader.read().then(
      () => assert.fail('read should reject'),
      (e: NodeJS.ErrnoException) => e,
    );
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(reader.exception(), err);
    await assert.rejects(reader.readline(), (e) => e === err);
    await assert.rejects(reader.readExactly(1), (e) => e === err);
    await assert.rejects(writer.drain(), (e) => e === err);
    await assert.rejects(writer.waitClosed(), (e) => e === err);
    writer.write(b('dropped')); // after the loss: dropped, no throw
    await raw.close();
  });

  test('concurrent drain() calls all wait while paused, then all reject with the connection error', async () => {
    let peer: net.Socket | null = null;
    const raw = await rawServer((s) => {
      s.pause(); // never read: the client's buffers fill
      peer = s;
    });
    const [, writer] = await openConnection('127.0.0.1', raw.port);
    const chunk = Buffer.alloc(256 * 1024);
    for (let i = 0; i < 1000 && writer.transport.getWriteBufferSize() <= 65536; i++) {
      writer.write(chunk);
      await turns(1);
    }
    assert.ok(writer.transport.getWriteBufferSize() > 65536, 'the writer is paused');
    const settled: string[] = [];
    const drains = Array.from({ length: 5 }, (_, i) =>
      writer.drain().then(
        () => settled.push(`ok${i}`),
        (e: NodeJS.ErrnoException) => settled.push(`${e.code}${i}`),
      ),
    );
    await turns(20);
    assert.deepEqual(settled, [], 'nobody is woken while paused');
    await until(() => peer !== null);
    peer!.resetAndDestroy();
    await Promise.all(drains);
    assert.equal(settled.length, 5);
    for (const s of settled) assert.match(s, /^(ECONNRESET|EPIPE)\d$/);
    await assert.rejects(writer.drain(), { code: /ECONNRESET|EPIPE/ });
    await raw.close();
  });

  test('drain after a clean close rejects with ECONNRESET "Connection lost"', async () => {
    const server = await startServer((_r, w) => w.close(), '127.0.0.1', 0);
    const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
    await writer.drain(); // open and not paused: at once
    assert.equal((await reader.read()).length, 0);
    writer.close();
    await assert.rejects(writer.drain(), { code: 'ECONNRESET', message: 'Connection lost' });
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });

  test('an endless line cannot grow the reader past its limit (the transport is paused)', async () => {
    const limit = 4096;
    let serverWriter: StreamWriter | null = null;
    const stop = { v: false };
    const server = await startServer(
      async (_r, w) => {
        serverWriter = w;
        const junk = Buffer.alloc(8192, 0x78); // 'x', never a newline
        try {
          while (!stop.v) {
            w.write(junk);
            await w.drain();
          }
        } catch {
          // the client went away: expected
        }
        w.close();
      },
      '127.0.0.1',
      0,
    );
    const [reader, writer] = await openConnection('127.0.0.1', portOf(server), { limit });
    const proto = writer.transport.getProtocol() as StreamReaderProtocol;
    let maxBuffered = 0;
    const feed = proto.dataReceived.bind(proto);
    proto.dataReceived = (d: Buffer) => {
      feed(d);
      maxBuffered = Math.max(maxBuffered, reader._bufferSize);
    };
    await assert.rejects(reader.readline(), (e: unknown) => {
      assert.ok(e instanceof LimitOverrunError);
      assert.equal(e.message, 'Separator is not found, and chunk exceed the limit');
      return true;
    });
    // The reader stops reading past twice the limit: at most one read (256 KiB) more.
    await until(() => !writer.transport.isReading(), 'the reader paused the transport');
    await turns(50);
    assert.ok(maxBuffered <= 2 * limit + 256 * 1024, `buffered ${maxBuffered}`);
    const pausedAt = reader._bufferSize;
    await turns(50);
    assert.equal(reader._bufferSize, pausedAt, 'nothing more is buffered while paused');
    await until(() => serverWriter !== null);
    stop.v = true;
    writer.transport.abort();
    await assert.rejects(writer.drain());
    server.close();
    await server.waitClosed();
  });

  test('the reader resumes the transport once reads bring the buffer back to the limit', async () => {
    const total = 1024 * 1024;
    const server = await startServer(
      async (_r, w) => {
        w.write(Buffer.alloc(total, 0x61));
        await w.drain();
        w.close();
      },
      '127.0.0.1',
      0,
    );
    const [reader, writer] = await openConnection('127.0.0.1', portOf(server), { limit: 1024 });
    await until(() => !writer.transport.isReading(), 'paused');
    assert.ok(reader._bufferSize > 2048);
    let got = 0;
    for (;;) {
      const chunk = await reader.read(1000);
      if (chunk.length === 0) break;
      got += chunk.length;
    }
    assert.equal(got, total);
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });

  test('startTls over streams: a ClientHello sent right behind the command is not lost (gh-142352)', async () => {
    let serverDone!: Promise<string>;
    const server = await startServer(
      (reader, writer) => {
        serverDone = (async () => {
          const cmd = (await reader.readline()).toString();
          assert.equal(cmd, 'STARTTLS\n');
          // Let the client's ClientHello arrive and land in the reader's buffer.
          await until(() => reader._bufferSize > 0);
          await writer.startTls(serverTls());
          const secret = (await reader.readline()).toString();
          writer.write(Buffer.from(`got ${secret}`));
          await writer.drain();
          writer.close();
          await writer.waitClosed();
          return secret;
        })();
      },
      '127.0.0.1',
      0,
    );
    const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
    // The client does not wait for a reply: the handshake follows the command at once.
    writer.write(Buffer.from('STARTTLS\n'));
    await writer.startTls(clientTls(), { serverHostname: 'localhost' });
    assert.ok(writer.getExtraInfo('ssl_object'));
    writer.write(Buffer.from('over tls\n'));
    assert.equal((await reader.read()).toString(), 'got over tls\n');
    assert.equal(await serverDone, 'over tls\n');
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  });

  test('startTls: bad options reject; a failed handshake rejects', async () => {
    const server = await startServer((_r, w) => w.close(), '127.0.0.1', 0);
    const [, writer] = await openConnection('127.0.0.1', portOf(server));
    await assert.rejects(writer.startTls(true, { bogus: 1 } as never), {
      name: 'TypeError',
      message: "startTls() got an unexpected keyword argument 'bogus'",
    });
    // With a peer that closed, the handshake fails and the call rejects.
    await assert.rejects(writer.startTls(clientTls(), { serverHostname: 'localhost' }));
    writer.close();
    await writer.waitClosed().catch(() => {});
    server.close();
    await server.waitClosed();
  });
});

describe('streams over Unix sockets', () => {
  useHarness();

  test('startUnixServer and openUnixConnection (path and sock)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protoloop-streams-'));
    const path = join(dir, 's');
    try {
      const server = await startUnixServer(
        async (reader, writer) => {
          const data = await reader.read();
          writer.write(Buffer.concat([b('got '), data]));
          writer.close();
        },
        path,
        { limit: 1024, backlog: 5 },
      );
      const [reader, writer] = await openUnixConnection(path, { limit: 10 });
      assert.equal(writer.getExtraInfo('peername'), path);
      writer.write(b('ping'));
      writer.writeEof();
      assert.equal((await reader.read()).toString(), 'got ping');
      writer.close();
      await writer.waitClosed();
      const raw = net.connect({ path, allowHalfOpen: true });
      const [r2, w2] = await openUnixConnection(null, { sock: raw });
      w2.writeEof();
      assert.equal((await r2.read()).toString(), 'got ');
      w2.close();
      await w2.waitClosed();
      await assert.rejects(openUnixConnection(path, { limit: 1.5 }), TypeError);
      await assert.rejects(
        startUnixServer(() => {}, null),
        /path was not specified/,
      );
      server.close();
      await server.waitClosed();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('streams over the in-memory pair', () => {
  useHarness();

  test('a line protocol, end to end, deterministic', async () => {
    const { a, b: side } = await streamPair();
    const [ra, wa] = a;
    const [rb, wb] = side;
    const server = (async () => {
      for await (const line of rb) wb.write(Buffer.from(`echo: ${line}`));
      wb.close();
    })();
    wa.write(b('one\ntwo\n'));
    assert.equal((await ra.readline()).toString(), 'echo: one\n');
    assert.equal((await ra.readline()).toString(), 'echo: two\n');
    wa.writeEof();
    assert.equal((await ra.read()).length, 0);
    await server;
    await wb.waitClosed();
    wa.close();
    await wa.waitClosed();
  });

  test('concurrent drain(): every caller waits while paused and all wake on resume (CPython issue 74116)', async () => {
    // The peer's reader holds at most 2 x 1 KiB before it pauses its transport,
    // so nothing drains A's buffer until the peer reads.
    const { a, b: side, ta, tb } = await streamPair(1024, { capacity: 1024 });
    const [, wa] = a;
    const [rb] = side;
    wa.write(Buffer.alloc(100_000, 1));
    assert.ok(ta.getWriteBufferSize() > 65536);
    await until(() => !tb.isReading(), 'the peer paused');
    const woken: number[] = [];
    const drains = Array.from({ length: 10 }, (_, i) => wa.drain().then(() => woken.push(i)));
    await turns(20);
    assert.ok(ta.getWriteBufferSize() > 16384);
    assert.deepEqual(woken, []);
    // The peer reads; once the buffer is at the low-water mark every drain() resolves.
    let read = 0;
    while (woken.length < 10) read += (await rb.read(65536)).length;
    await Promise.all(drains);
    assert.deepEqual(
      woken.sort((x, y) => x - y),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.ok(ta.getWriteBufferSize() <= 16384);
    await wa.drain(); // not paused: at once
    while (read < 100_000) read += (await rb.read(65536)).length;
    wa.close();
    assert.equal((await rb.read()).length, 0);
    side[1].close();
    await Promise.all([wa.waitClosed(), side[1].waitClosed()]);
  });

  test('concurrent drain() calls wake when the connection is lost while paused', async () => {
    const { a, b: side, ta } = await streamPair(undefined, { capacity: 10 });
    const [, wa] = a;
    wa.write(Buffer.alloc(70_000));
    const results = await (async () => {
      const drains = [wa.drain(), wa.drain(), wa.drain()].map((p) =>
        p.then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      );
      ta.abort();
      return Promise.all(drains);
    })();
    // asyncio wakes them with a plain result on a clean loss; later drains reject.
    assert.deepEqual(results, ['ok', 'ok', 'ok']);
    await assert.rejects(wa.drain(), { code: 'ECONNRESET', message: 'Connection lost' });
    await side[0].read();
    side[1].close();
    await side[1].waitClosed();
  });

  test('the reader pauses the transport past twice its limit and resumes at the limit', async () => {
    const limit = 1000;
    const { a, b: side, tb } = await streamPair(limit, { capacity: 300 });
    const [, wa] = a;
    const [rb, wb] = side;
    wa.write(Buffer.alloc(10_000, 0x61));
    await until(() => !tb.isReading(), 'reader paused');
    assert.ok(rb._bufferSize > 2 * limit);
    assert.ok(rb._bufferSize <= 2 * limit + 300);
    await turns(20);
    assert.ok(rb._bufferSize <= 2 * limit + 300, 'nothing more while paused');
    await rb.read(rb._bufferSize - limit - 1); // still above the limit
    assert.equal(tb.isReading(), false);
    await rb.read(1); // at the limit: resumed
    assert.equal(tb.isReading(), true);
    wa.close();
    let got = 0;
    for (;;) {
      const c = await rb.read(4096);
      if (c.length === 0) break;
      got += c.length;
    }
    assert.ok(got > 0 && got < 10_000);
    wb.close();
    await Promise.all([wa.waitClosed(), wb.waitClosed()]);
  });

  test('an endless line over the pair: LimitOverrunError, buffer bounded by 2 x limit + one read', async () => {
    const limit = 512;
    const { a, b: side, tb } = await streamPair(limit, { capacity: 256 });
    const [, wa] = a;
    const [rb, wb] = side;
    let stop = false;
    const writer = (async () => {
      const junk = Buffer.alloc(4096, 0x2d);
      while (!stop) {
        wa.write(junk);
        await wa.drain();
      }
    })().catch(() => {});
    let max = 0;
    const proto = tb.getProtocol() as StreamReaderProtocol;
    const feed = proto.dataReceived.bind(proto);
    proto.dataReceived = (d: Buffer) => {
      feed(d);
      max = Math.max(max, rb._bufferSize);
    };
    await assert.rejects(rb.readline(), LimitOverrunError);
    await until(() => !tb.isReading());
    await turns(50);
    assert.ok(max <= 2 * limit + 256, `max buffered ${max}`);
    stop = true;
    wb.close();
    wa.close();
    await writer;
    await Promise.all([wa.waitClosed(), wb.waitClosed()]);
  });

  test('StreamReaderProtocol keeps the write side open on EOF (half-close)', async () => {
    const { a, b: side, tb } = await streamPair();
    const [ra, wa] = a;
    const [rb, wb] = side;
    wa.write(b('question'));
    wa.writeEof();
    assert.equal((await rb.read()).toString(), 'question');
    assert.equal(rb.atEof(), true);
    assert.equal(tb.isClosing(), false);
    wb.write(b('answer'));
    wb.close();
    assert.equal((await ra.read()).toString(), 'answer');
    await wb.waitClosed();
    // Both directions are shut, and A is still open until it closes, as in asyncio.
    assert.equal(wa.isClosing(), false);
    wa.close();
    await wa.waitClosed();
  });
});
