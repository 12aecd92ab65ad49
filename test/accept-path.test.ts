/**
 * How a server sets up its accepted connections (src/server.ts,
 * adoptAccepted): `onread` installed in place on the accepted socket, or,
 * when that is unavailable, the handle re-wrapped in a new socket. Both
 * paths must keep every semantic: owned bytes, BufferedProtocol zero copy,
 * connection counting, and `sockname` known without a system call when the
 * listener is bound to one address.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { getRunningLoop, type Server, type Transport } from '../src/index.js';
import { _setInPlaceOnread, lastAcceptPath } from '../src/server.js';
import { until, useHarness } from './helpers/harness.js';
import { portOf, rawConnect, recording } from './helpers/net.js';
import { BufferedRecorder, Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();

/** One server, one raw client; the server side's recorder. */
async function accept<R extends Recorder>(
  make: () => R,
  host = '127.0.0.1',
): Promise<{ server: Server; client: net.Socket; rec: R }> {
  const { factory, recs } = recording(make);
  const server = await loop.createServer(factory, host, 0);
  const client = await rawConnect(portOf(server));
  await until(() => recs.length === 1 && recs[0]!.events.length > 0, 'connectionMade');
  return { server, client, rec: recs[0]! };
}

/**
 * TCP_NODELAY of a transport's socket, as the kernel has it: a python3
 * child inherits a duplicate of the descriptor (same socket) and asks.
 */
function noDelayOf(t: Transport): number {
  const fd = (t.getExtraInfo('socket') as net.Socket as any)._handle.fd as number;
  const out = execFileSync(
    'python3',
    [
      '-c',
      'import socket; s = socket.socket(fileno=3); ' +
        'print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)); s.detach()',
    ],
    { stdio: ['ignore', 'pipe', 'inherit', fd] },
  );
  return Number(out.toString().trim());
}

async function finish(server: Server, client: net.Socket, rec: Recorder): Promise<void> {
  client.end();
  await rec.eof;
  rec.transport.close();
  await rec.lost;
  client.destroy();
  server.close();
  await server.waitClosed();
}

for (const path of ['in-place', 'rewrap'] as const) {
  describe(`accepted connections (${path})`, () => {
    useHarness();

    const setUp = (): void => _setInPlaceOnread(path === 'in-place');

    test('reads with onread; bytes are owned and arrive in order', async () => {
      setUp();
      try {
        const { server, client, rec } = await accept(() => new Recorder());
        assert.equal(lastAcceptPath, path);
        // The transport's socket is the one net.Server accepted, or its successor.
        const sock = rec.transport.getExtraInfo('socket') as net.Socket;
        assert.ok(sock instanceof net.Socket);
        const parts: Buffer[] = [];
        for (let i = 0; i < 50; i++) parts.push(Buffer.alloc(i * 997 + 1, i));
        // One small write, then a large one (region reads), then small again.
        const all = Buffer.concat(parts);
        client.write(all);
        await rec.receivedBytes(all.length);
        assert.deepEqual(rec.received, all);
        // Every chunk still holds its bytes: nothing was read into them again.
        const kept = rec.chunks.map((c) => Buffer.from(c));
        client.write(Buffer.alloc(300_000, 0xee));
        await rec.receivedBytes(all.length + 300_000);
        for (let i = 0; i < kept.length; i++) assert.deepEqual(rec.chunks[i], kept[i]);
        // The server counts the connection on the socket that owns the handle.
        const count = await new Promise<number>((r, j) =>
          server.sockets[0]!.getConnections((e, n) => (e ? j(e) : r(n))),
        );
        assert.equal(count, 1);
        await finish(server, client, rec);
      } finally {
        _setInPlaceOnread(true);
      }
    });

    test('BufferedProtocol on the server side reads into its own buffer', async () => {
      setUp();
      try {
        const { server, client, rec } = await accept(() => new BufferedRecorder(1000));
        assert.equal(lastAcceptPath, path);
        const data = Buffer.alloc(25_000, 7);
        client.write(data);
        await rec.receivedBytes(data.length);
        assert.deepEqual(rec.received, data);
        assert.ok(rec.hints.length > 0);
        await finish(server, client, rec);
      } finally {
        _setInPlaceOnread(true);
      }
    });

    test('TCP_NODELAY is set on the accepted socket (semantics 1.24)', async () => {
      setUp();
      try {
        const { server, client, rec } = await accept(() => new Recorder());
        const noDelay = noDelayOf(rec.transport);
        await finish(server, client, rec);
        assert.equal(lastAcceptPath, path);
        assert.equal(noDelay, 1);
      } finally {
        _setInPlaceOnread(true);
      }
    });

    test('echo in both directions; the server closes cleanly when the client leaves', async () => {
      setUp();
      try {
        const { server, client, rec } = await accept(() => {
          const r = new Recorder();
          r.onData = (d) => r.transport.write(d);
          return r;
        });
        const got: Buffer[] = [];
        client.on('data', (d) => got.push(d));
        const msg = Buffer.alloc(70_000, 3);
        client.write(msg);
        await until(() => Buffer.concat(got).length === msg.length, 'echo');
        assert.deepEqual(Buffer.concat(got), msg);
        await finish(server, client, rec);
      } finally {
        _setInPlaceOnread(true);
      }
    });
  });
}

describe('accepted connections: sockname', () => {
  useHarness();

  test('a listener on one address gives that address without asking the kernel', async () => {
    const { factory, recs } = recording();
    const server = await loop.createServer(factory, '127.0.0.1', 0);
    const port = portOf(server);
    const c1 = await rawConnect(port);
    const c2 = await rawConnect(port);
    await until(() => recs.length === 2 && recs.every((r) => r.events.length > 0), 'both made');
    const [a, b] = recs as [Recorder, Recorder];
    assert.deepEqual(a.transport.getExtraInfo('sockname'), ['127.0.0.1', port]);
    // Each connection has its own tuple.
    (a.transport.getExtraInfo('sockname') as unknown[])[0] = 'changed';
    assert.deepEqual(b.transport.getExtraInfo('sockname'), ['127.0.0.1', port]);
    const peers = [a, b].map((r) => (r.transport.getExtraInfo('peername') as [string, number])[1]);
    assert.deepEqual(peers.sort(), [c1.localPort, c2.localPort].sort());
    c1.destroy();
    c2.destroy();
    await Promise.all([a.lost, b.lost]);
    server.close();
    await server.waitClosed();
  });

  test('a wildcard listener reports the real local address (getsockname)', async () => {
    const { server, client, rec } = await accept(() => new Recorder(), '0.0.0.0');
    const port = portOf(server);
    await finish(server, client, rec);
    // Read at close, so still known after the connection is gone.
    assert.deepEqual(rec.transport.getExtraInfo('sockname'), ['127.0.0.1', port]);
  });

  test("a user's net.Server without noDelay: accepted sockets still get TCP_NODELAY", async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { factory, recs } = recording();
    const server = await loop.createServer(factory, undefined, undefined, { sock: srv });
    const client = await rawConnect(portOf(srv));
    await until(() => recs.length === 1 && recs[0]!.events.length > 0, 'connectionMade');
    const noDelay = noDelayOf(recs[0]!.transport);
    await finish(server, client, recs[0]!);
    assert.equal(noDelay, 1);
  });

  test('client connections from createConnection get TCP_NODELAY too', async () => {
    const { server, client, rec } = await accept(() => new Recorder());
    const [t, proto] = await loop.createConnection(
      () => new Recorder(),
      '127.0.0.1',
      portOf(server),
    );
    const noDelay = noDelayOf(t);
    t.close();
    await proto.lost;
    await finish(server, client, rec);
    assert.equal(noDelay, 1);
  });

  test('a factory that throws costs that connection only', async () => {
    let n = 0;
    const server = await loop.createServer(
      () => {
        n++;
        if (n === 1) throw new Error('no protocol for you');
        const r = new Recorder();
        r.onData = (d) => r.transport.write(d);
        return r;
      },
      '127.0.0.1',
      0,
    );
    const c1 = await rawConnect(portOf(server));
    await new Promise((r) => c1.on('close', r));
    const c2 = await rawConnect(portOf(server));
    c2.write('ping');
    const echoed = await new Promise<Buffer>((r) => c2.once('data', r));
    assert.equal(echoed.toString(), 'ping');
    c2.destroy();
    server.close();
    await server.abortClients();
    await server.waitClosed();
  });
});
