/** createConnection / createUnixConnection / connectAcceptedSocket beyond the conformance suite. */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { connectAddrs, interleaveAddrs } from '../src/connect.js';
import { getRunningLoop, Protocol, type Server, type Transport } from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { startPython } from './helpers/python.js';
import { BufferedRecorder, Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();

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

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('createConnection', () => {
  useHarness();

  test('argument errors use asyncio messages and reject before any socket exists', async () => {
    const f = () => new Protocol();
    await assert.rejects(loop.createConnection(42 as never, '127.0.0.1', 1), TypeError);
    await assert.rejects(loop.createConnection(f), {
      name: 'TypeError',
      message: 'host and port was not specified and no sock specified',
    });
    await assert.rejects(loop.createConnection(f, '127.0.0.1', 1, { sock: new net.Socket() }), {
      message: 'host/port and sock can not be specified at the same time',
    });
    await assert.rejects(loop.createConnection(f, '127.0.0.1', 1, { serverHostname: 'x' }), {
      message: 'server_hostname is only meaningful with ssl',
    });
    await assert.rejects(loop.createConnection(f, '127.0.0.1', 1, { sslHandshakeTimeout: 1 }), {
      message: 'ssl_handshake_timeout is only meaningful with ssl',
    });
    await assert.rejects(loop.createConnection(f, '127.0.0.1', 1, { sslShutdownTimeout: 1 }), {
      message: 'ssl_shutdown_timeout is only meaningful with ssl',
    });
    await assert.rejects(loop.createConnection(f, '127.0.0.1', 70000), RangeError);
    await assert.rejects(loop.createConnection(f, '127.0.0.1', 1.5), TypeError);
    await assert.rejects(
      loop.createConnection(f, '127.0.0.1', 1, { family: 5 as never }),
      RangeError,
    );
    await assert.rejects(loop.createConnection(f, '127.0.0.1', 1, { bogus: 1 } as never), {
      message: "createConnection() got an unexpected keyword argument 'bogus'",
    });
    await assert.rejects(loop.createConnection(f, null, null, { sock: {} as never }), {
      name: 'TypeError',
      message: /^A Stream Socket was expected, got/,
    });
    await assert.rejects(
      loop.createConnection(f, '127.0.0.1', 1, { localAddr: ['x'] as never }),
      TypeError,
    );
    await assert.rejects(
      loop.createConnection(f, '127.0.0.1', 1, { happyEyeballsDelay: -1 }),
      RangeError,
    );
    await assert.rejects(loop.createConnection(f, '127.0.0.1', 1, { interleave: 0 }), RangeError);
  });

  test('a refused connection rejects with ECONNREFUSED and leaves nothing open', async () => {
    const port = await closedPort();
    let made = 0;
    await assert.rejects(
      loop.createConnection(
        () => {
          made++;
          return new Protocol();
        },
        '127.0.0.1',
        port,
      ),
      { code: 'ECONNREFUSED' },
    );
    assert.equal(made, 0, 'the factory runs only after connecting');
  });

  test('the factory runs once, connectionMade runs before the promise resolves', async () => {
    const [server, port] = await echoServer();
    let calls = 0;
    const rec = new Recorder();
    const [t, p] = await loop.createConnection(
      () => {
        calls++;
        return rec;
      },
      '127.0.0.1',
      port,
    );
    assert.equal(calls, 1);
    assert.equal(p, rec);
    assert.deepEqual(rec.events, ['made']);
    assert.equal(rec.transport, t);
    assert.deepEqual(t.getExtraInfo('peername'), ['127.0.0.1', port]);
    const sockname = t.getExtraInfo('sockname') as [string, number];
    assert.equal(sockname[0], '127.0.0.1');
    assert.ok(t.getExtraInfo('socket') instanceof net.Socket);
    assert.match(
      inspect(t),
      /^<StreamTransport open peer=\[ '127\.0\.0\.1', \d+ \] read=polling write=<bufsize=0>>$/,
    );
    t.close();
    await rec.lost;
    assert.match(inspect(t), /closed/);
    server.close();
    await server.waitClosed();
  });

  test('a throwing factory rejects the call and closes the socket', async () => {
    const [server, port] = await echoServer();
    const boom = new Error('factory');
    await assert.rejects(
      loop.createConnection(
        () => {
          throw boom;
        },
        '127.0.0.1',
        port,
      ),
      boom,
    );
    server.close();
    await server.waitClosed();
  });

  test("localAddr binds the local end; a bind failure has asyncio's message and the errno code", async () => {
    const [server, port] = await echoServer();
    const free = await closedPort();
    const [t, rec] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port, {
      localAddr: ['127.0.0.1', free],
    });
    assert.deepEqual(t.getExtraInfo('sockname'), ['127.0.0.1', free]);
    t.close();
    await rec.lost;
    await assert.rejects(
      loop.createConnection(() => new Recorder(), '127.0.0.1', port, {
        localAddr: ['127.0.0.1', port],
      }),
      {
        code: 'EADDRINUSE',
        message: `error while attempting to bind on address ('127.0.0.1', ${port}): address already in use`,
      },
    );
    server.close();
    await server.waitClosed();
  });

  test('every address is tried in order; errors combine as asyncio does', async () => {
    const [server, port] = await echoServer();
    const refused = await closedPort();
    const v6 = { address: '::1', family: 6 };
    const v4 = { address: '127.0.0.1', family: 4 };
    // ::1 refuses (nothing listens there), 127.0.0.1 accepts.
    const win = await connectAddrs([v6, v4], port, null, null, undefined, false);
    assert.equal(win.sock.remoteAddress, '127.0.0.1');
    win.sock.destroy();
    // Happy eyeballs: a staggered race with a 10 ms delay.
    const race = await connectAddrs([v6, v4], port, null, 0.01, undefined, false);
    assert.equal(race.sock.remoteAddress, '127.0.0.1');
    race.sock.destroy();
    // All fail with different messages: "Multiple exceptions: ...".
    await assert.rejects(
      connectAddrs([v6, v4], refused, null, null, undefined, false),
      (err: Error) => {
        assert.match(
          err.message,
          /^Multiple exceptions: connect ECONNREFUSED ::1:\d+, connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
        );
        return true;
      },
    );
    // allErrors: an AggregateError (asyncio's ExceptionGroup) with every error.
    await assert.rejects(
      connectAddrs([v6, v4], refused, null, null, undefined, true),
      (err: AggregateError) => {
        assert.ok(err instanceof AggregateError);
        assert.equal(err.message, 'create_connection failed');
        assert.equal(err.errors.length, 2);
        return true;
      },
    );
    // One address: its own error.
    await assert.rejects(connectAddrs([v4], refused, null, null, undefined, false), {
      code: 'ECONNREFUSED',
    });
    server.close();
    await server.waitClosed();
  });

  test('interleave reorders addresses by family like asyncio', () => {
    const a = (address: string, family: number) => ({ address, family });
    const list = [a('6a', 6), a('6b', 6), a('6c', 6), a('4a', 4), a('4b', 4)];
    assert.deepEqual(
      interleaveAddrs(list, 1).map((x) => x.address),
      ['6a', '4a', '6b', '4b', '6c'],
    );
    assert.deepEqual(
      interleaveAddrs(list, 2).map((x) => x.address),
      ['6a', '6b', '4a', '6c', '4b'],
    );
  });

  test('happyEyeballsDelay and family work end to end with a host name', async () => {
    const [server, port] = await echoServer();
    const [t, rec] = await loop.createConnection(() => new Recorder(), 'localhost', port, {
      happyEyeballsDelay: 0.25,
      family: 4,
    });
    assert.equal((t.getExtraInfo('peername') as [string, number])[0], '127.0.0.1');
    t.close();
    await rec.lost;
    server.close();
    await server.waitClosed();
  });

  test('signal: an aborted signal rejects with AbortError; aborting a pending connect leaves no socket', async () => {
    await assert.rejects(
      loop.createConnection(() => new Protocol(), '127.0.0.1', 1, { signal: AbortSignal.abort() }),
      { name: 'AbortError' },
    );
    // A listener with a full backlog that never accepts: connect() stays pending.
    const py = await startPython(`
import socket, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
fill = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    fill.append(c)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`);
    const ac = new AbortController();
    const pending = loop.createConnection(() => new Protocol(), '127.0.0.1', Number(py.ready), {
      signal: ac.signal,
    });
    // The connect is in flight after one turn (an IP literal needs no DNS).
    await new Promise((r) => setImmediate(r));
    ac.abort();
    await assert.rejects(pending, { name: 'AbortError', code: 'ABORT_ERR' });
    py.child.stdin!.end();
    await py.exited;
  });

  test('a peer reset ends in connectionLost(ECONNRESET) once; nothing uncaught', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    srv.on('connection', (s) => {
      s.on('data', () => s.resetAndDestroy());
    });
    const [t, rec] = await loop.createConnection(
      () => new Recorder(),
      '127.0.0.1',
      (srv.address() as net.AddressInfo).port,
    );
    t.write(Buffer.from('trigger'));
    await rec.lost;
    assert.equal((rec.lostWith as NodeJS.ErrnoException).code, 'ECONNRESET');
    assert.equal(rec.events.filter((e) => e === 'lost').length, 1);
    assert.equal((t.getExtraInfo('peername') as [string, number] | undefined)?.[0], '127.0.0.1');
    srv.close();
  });

  test('owned bytes: chunks given to dataReceived are never overwritten by later reads', async () => {
    const [server, port] = await echoServer();
    const [t, rec] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    const expected: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const chunk = Buffer.alloc(997 + i, i & 0xff);
      expected.push(chunk);
      t.write(chunk);
      if (i % 50 === 0) await rec.receivedBytes(expected.reduce((n, b) => n + b.length, 0));
    }
    const total = Buffer.concat(expected);
    await rec.receivedBytes(total.length);
    // Every chunk object still holds what it held when it was delivered.
    assert.ok(Buffer.concat(rec.chunks).equals(total));
    t.close();
    await rec.lost;
    server.close();
    await server.waitClosed();
  });

  test('BufferedProtocol on a client reads straight into the protocol buffer (sizehint -1)', async () => {
    const [server, port] = await echoServer();
    const [t, rec] = await loop.createConnection(
      () => new BufferedRecorder(64 * 1024),
      '127.0.0.1',
      port,
    );
    const data = Buffer.alloc(300_000, 3);
    t.write(data);
    await rec.receivedBytes(data.length);
    assert.ok(rec.received.equals(data));
    assert.ok(rec.hints.includes(-1), `hints: ${rec.hints.slice(0, 5)}`);
    t.close();
    await rec.lost;
    server.close();
    await server.waitClosed();
  });
});

describe('python3 asyncio as a live peer', () => {
  useHarness();

  test('an asyncio client talks to a protoloop echo server', async () => {
    const [server, port] = await echoServer();
    const py = await startPython(
      `
import asyncio, sys
async def main():
    r, w = await asyncio.open_connection('127.0.0.1', int(sys.argv[1]))
    print('connected', flush=True)
    w.write(b'hello from asyncio\\n' * 1000)
    w.write_eof()
    data = await r.read()
    print(len(data), data[:18].decode(), flush=True)
    w.close()
    await w.wait_closed()
asyncio.run(main())
`,
      [String(port)],
    );
    assert.equal(py.ready, 'connected');
    const out = await py.exited;
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, 'connected\n19000 hello from asyncio\n');
    server.close();
    await server.waitClosed();
  });

  test('a protoloop client half-closes against an asyncio server that replies then closes', async () => {
    const py = await startPython(`
import asyncio
class P(asyncio.Protocol):
    def connection_made(self, t): self.t = t; self.n = 0
    def data_received(self, d): self.n += len(d)
    def eof_received(self):
        self.t.write(b'got %d bytes' % self.n)
        # returning None: asyncio closes after flushing
async def main():
    srv = await asyncio.get_running_loop().create_server(P, '127.0.0.1', 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(30)
asyncio.run(main())
`);
    const [t, rec] = await loop.createConnection(
      () => new Recorder(),
      '127.0.0.1',
      Number(py.ready),
    );
    t.writelines([Buffer.alloc(100_000), Buffer.alloc(23_456)]);
    t.writeEof();
    await rec.lost;
    assert.equal(rec.received.toString(), 'got 123456 bytes');
    assert.deepEqual(rec.grammar, ['made', 'data', 'eof', 'lost']);
    assert.equal(rec.lostWith, null);
    py.child.kill();
    await py.exited;
  });
});
