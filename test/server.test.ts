/** createServer / createUnixServer and the Server object. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { getRunningLoop, Protocol } from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { portOf, rawConnect, recording } from './helpers/net.js';
import { Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();

describe('createServer', () => {
  useHarness();

  test('argument errors', async () => {
    const f = () => new Protocol();
    await assert.rejects(loop.createServer(f), {
      name: 'TypeError',
      message: 'Neither host/port nor sock were specified',
    });
    await assert.rejects(loop.createServer('x' as never, '127.0.0.1', 0), TypeError);
    await assert.rejects(loop.createServer(f, '127.0.0.1', 0, { sock: net.createServer() }), {
      message: 'host/port and sock can not be specified at the same time',
    });
    await assert.rejects(loop.createServer(f, '127.0.0.1', 0, { ssl: true as never }), {
      name: 'TypeError',
      message: 'ssl argument must be an SSLContext or None',
    });
    await assert.rejects(loop.createServer(f, '127.0.0.1', 0, { sslHandshakeTimeout: 1 }), {
      message: 'ssl_handshake_timeout is only meaningful with ssl',
    });
    await assert.rejects(loop.createServer(f, '127.0.0.1', 0, { backlog: -1 }), RangeError);
    await assert.rejects(loop.createServer(f, '127.0.0.1', 99999), RangeError);
    await assert.rejects(
      loop.createServer(f, '127.0.0.1', 0, { keepAlive: 'yes' as never }),
      TypeError,
    );
    await assert.rejects(loop.createServer(f, 5 as never, 0), TypeError);
  });

  test('reusePort rejects with a clear error on Node versions that lack it', async () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    const supported = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
    if (supported) {
      const s = await loop.createServer(() => new Protocol(), '127.0.0.1', 0, { reusePort: true });
      s.close();
      await s.waitClosed();
    } else {
      await assert.rejects(
        loop.createServer(() => new Protocol(), '127.0.0.1', 0, { reusePort: true }),
        {
          name: 'TypeError',
          message: /^reusePort is not supported by Node\.js v20/,
        },
      );
    }
  });

  test("a port in use fails with asyncio's bind message, and nothing stays open", async () => {
    const first = await loop.createServer(() => new Protocol(), '127.0.0.1', 0);
    const port = portOf(first);
    await assert.rejects(
      loop.createServer(() => new Protocol(), '127.0.0.1', port),
      {
        code: 'EADDRINUSE',
        message: `error while attempting to bind on address ('127.0.0.1', ${port}): address already in use`,
      },
    );
    first.close();
    await first.waitClosed();
  });

  test('a list of hosts binds each address once; port 0 gives ephemeral ports', async () => {
    const server = await loop.createServer(
      () => new Recorder(),
      ['127.0.0.1', '::1', '127.0.0.1'],
      0,
    );
    assert.equal(server.sockets.length, 2);
    const families = server.sockets.map((s) => (s.address() as net.AddressInfo).family).sort();
    assert.deepEqual(families, ['IPv4', 'IPv6']);
    for (const s of server.sockets) {
      const a = s.address() as net.AddressInfo;
      const c = await rawConnect(a.port, a.address);
      c.destroy();
    }
    server.close();
    assert.deepEqual(server.sockets, []);
    await server.waitClosed();
  });

  test('host null listens on all interfaces', async () => {
    const server = await loop.createServer(() => new Recorder(), null, 0);
    const c = await rawConnect(portOf(server));
    c.destroy();
    server.close();
    await server.waitClosed();
  });

  test('startServing: false listens only at startServing(); it is idempotent', async () => {
    const server = await loop.createServer(() => new Recorder(), '127.0.0.1', 0, {
      startServing: false,
    });
    assert.equal(server.isServing(), false);
    assert.deepEqual(server.sockets, []);
    await server.startServing();
    await server.startServing();
    assert.equal(server.isServing(), true);
    const c = await rawConnect(portOf(server));
    c.destroy();
    server.close();
    assert.equal(server.isServing(), false);
    await server.waitClosed();
  });

  test('close() refuses new clients but leaves connections open; waitClosed waits for them (3.12.1+)', async () => {
    const { factory, recs } = recording();
    const server = await loop.createServer(factory, '127.0.0.1', 0);
    const port = portOf(server);
    const [t, client] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    await recs[0]?.when(() => true);
    await new Promise<void>((r) => {
      const check = (): void =>
        recs.length === 1 && recs[0]!.events.length > 0 ? r() : void setImmediate(check);
      check();
    });
    server.close();
    server.close();
    await assert.rejects(rawConnect(port), { code: 'ECONNREFUSED' });
    let waited = false;
    const w = server.waitClosed().then(() => {
      waited = true;
    });
    // The existing connection still works.
    t.write(Buffer.from('still here'));
    await recs[0]!.receivedBytes(10);
    assert.equal(waited, false);
    t.close();
    await Promise.all([client.lost, recs[0]!.lost]);
    await w;
    assert.equal(waited, true);
    await server.waitClosed(); // later calls return at once
  });

  test('closeClients() and abortClients() end attached connections', async () => {
    const { factory, recs } = recording();
    const server = await loop.createServer(factory, '127.0.0.1', 0);
    const port = portOf(server);
    const [, c1] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    const [, c2] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    await new Promise<void>((r) => {
      const check = (): void =>
        recs.length === 2 && recs.every((x) => x.events.length > 0)
          ? r()
          : void setImmediate(check);
      check();
    });
    server.close();
    server.closeClients();
    await Promise.all([...recs.map((r) => r.lost), c1.lost, c2.lost]);
    assert.ok(recs.every((r) => r.lostWith === null));
    await server.waitClosed();

    const recs2: Recorder[] = [];
    const server2 = await loop.createServer(
      () => {
        const r = new Recorder();
        recs2.push(r);
        return r;
      },
      '127.0.0.1',
      0,
    );
    const [, c3] = await loop.createConnection(() => new Recorder(), '127.0.0.1', portOf(server2));
    await new Promise<void>((r) => {
      const check = (): void =>
        recs2.length === 1 && recs2[0]!.events.length > 0 ? r() : void setImmediate(check);
      check();
    });
    server2.abortClients();
    await recs2[0]!.lost;
    await c3.lost;
    server2.close();
    await server2.waitClosed();
  });

  test('serveForever resolves on close(); a second caller and a closed server are errors', async () => {
    const server = await loop.createServer(() => new Recorder(), '127.0.0.1', 0, {
      startServing: false,
    });
    const forever = server.serveForever();
    await assert.rejects(server.serveForever(), {
      name: 'InvalidStateError',
      message: /is already being awaited on serveForever\(\)$/,
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(server.isServing(), true);
    loop.callSoon(() => server.close());
    await forever;
    await assert.rejects(server.serveForever(), { message: /is closed$/ });
    await server.waitClosed();
  });

  test('await using closes the server and waits', async () => {
    let port: number;
    {
      await using server = await loop.createServer(() => new Recorder(), '127.0.0.1', 0);
      port = portOf(server);
    }
    await assert.rejects(rawConnect(port), { code: 'ECONNREFUSED' });
  });

  test('sock: an existing net.Server, listening or not, is owned from then on', async () => {
    const raw = net.createServer();
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const { factory, recs } = recording();
    const server = await loop.createServer(factory, null, null, { sock: raw });
    assert.equal(server.sockets[0], raw);
    const [t, c] = await loop.createConnection(() => new Recorder(), '127.0.0.1', portOf(server));
    t.write(Buffer.from('ping'));
    await new Promise<void>((r) => {
      const check = (): void =>
        recs.length === 1 && recs[0]!.received.length === 4 ? r() : void setImmediate(check);
      check();
    });
    t.close();
    await c.lost;
    server.close();
    await server.waitClosed();
    assert.equal(raw.listening, false);
  });
});

describe('createUnixServer', () => {
  useHarness();

  test('extra info, stale socket files replaced, a regular file refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protoloop-unix-'));
    try {
      const path = join(dir, 's.sock');
      const recs: Recorder[] = [];
      const server = await loop.createUnixServer(() => {
        const r = new Recorder();
        recs.push(r);
        return r;
      }, path);
      const [t, c] = await loop.createUnixConnection(() => new Recorder(), path);
      assert.equal(t.getExtraInfo('peername'), path);
      assert.equal(t.getExtraInfo('sockname'), '');
      await new Promise<void>((r) => {
        const check = (): void =>
          recs.length === 1 && recs[0]!.events.length > 0 ? r() : void setImmediate(check);
        check();
      });
      assert.equal(recs[0]!.transport.getExtraInfo('sockname'), path);
      assert.equal(recs[0]!.transport.getExtraInfo('peername'), '');
      t.close();
      await Promise.all([c.lost, recs[0]!.lost]);
      server.close();
      await server.waitClosed();

      // A socket file left behind by a dead server is replaced.
      const stale = net.createServer();
      const stalePath = join(dir, 'stale.sock');
      await new Promise<void>((r) => stale.listen(stalePath, r));
      (stale as any)._handle?.close?.(); // simulate a crash: the file stays
      (stale as any)._handle = null;
      const s2 = await loop.createUnixServer(() => new Recorder(), stalePath);
      s2.close();
      await s2.waitClosed();

      const file = join(dir, 'regular');
      writeFileSync(file, 'x');
      await assert.rejects(
        loop.createUnixServer(() => new Recorder(), file),
        {
          code: 'EADDRINUSE',
          message: `Address '${file}' is already in use`,
        },
      );
      await assert.rejects(
        loop.createUnixServer(() => new Recorder()),
        {
          message: 'path was not specified, and no sock specified',
        },
      );
      await assert.rejects(
        loop.createUnixConnection(() => new Recorder()),
        {
          message: 'no path and sock were specified',
        },
      );
      await assert.rejects(
        loop.createUnixConnection(() => new Recorder(), join(dir, 'missing')),
        {
          code: 'ENOENT',
        },
      );
      await assert.rejects(
        loop.createUnixConnection(() => new Recorder(), path, { serverHostname: 'x' }),
        {
          message: 'server_hostname is only meaningful with ssl',
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
