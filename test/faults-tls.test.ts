/**
 * TLS faults: a misbehaving peer (garbage, a tampered record, a truncated
 * handshake, a close without close_notify, a reset; played by raw `net`
 * sockets relaying a real TLS peer, test/helpers/mitm.ts) and close()/abort()
 * during a pending startTls(). Each ends in connectionLost(err) once and
 * nothing else on the side that had connectionMade; a creating call that
 * never got there rejects, and its protocol hears nothing. The harness fails
 * any test that leaves a handle open or reaches the exception handler.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import * as tls from 'node:tls';
import { getRunningLoop, type Server, type Transport } from '../src/index.js';
import { turns } from './conformance/stream.js';
import { certs, clientTls, serverTls } from './helpers/certs.js';
import { until, useHarness } from './helpers/harness.js';
import { type Mitm, mitm, type Relay, type Tamper } from './helpers/mitm.js';
import { portOf, recording, recordingServer } from './helpers/net.js';
import { Recorder } from './helpers/recorder.js';

useHarness();
const loop = getRunningLoop();

const GARBAGE = Buffer.from('this is not a TLS record, just noise\r\n');

async function rejection(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  assert.fail('expected a rejection');
}

function lostCount(r: Recorder): number {
  return r.events.filter((e) => e === 'lost').length;
}

/** A Node TLS server that greets with 'hello' and keeps reading; its sockets are kept. */
async function nodeTlsServer(): Promise<{
  server: tls.Server;
  sockets: tls.TLSSocket[];
  close(): Promise<void>;
}> {
  const sockets: tls.TLSSocket[] = [];
  const server = tls.createServer(serverTls(), (s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.resume();
    s.write('hello');
  });
  // Handshake failures the client provoked: not this test's subject.
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A protoloop TLS client connected through a relay to a Node TLS server, greeted. */
async function clientThroughRelay(hooks: { toClient?: Tamper } = {}): Promise<{
  t: Transport;
  r: Recorder;
  relay: Relay;
  peer: Awaited<ReturnType<typeof nodeTlsServer>>;
  m: Mitm;
  close(): Promise<void>;
}> {
  const peer = await nodeTlsServer();
  const m = await mitm(portOf(peer.server), hooks);
  const [t, r] = await loop.createConnection(() => new Recorder(), '127.0.0.1', m.port, {
    ssl: clientTls(),
    serverHostname: 'localhost',
  });
  await r.receivedBytes(5);
  return {
    t,
    r,
    relay: await m.relay(),
    peer,
    m,
    close: async () => {
      await m.close();
      await peer.close();
    },
  };
}

describe('a misbehaving TLS server (protoloop is the client)', () => {
  test('garbage after the handshake: connectionLost(ERR_SSL_*) once, nothing else', async () => {
    const c = await clientThroughRelay();
    c.relay.down.write(GARBAGE);
    await c.r.lost;
    assert.match(String((c.r.lostWith as NodeJS.ErrnoException).code), /^ERR_SSL_/);
    assert.deepEqual(c.r.grammar, ['made', 'data', 'lost']);
    assert.equal(c.r.received.toString(), 'hello');
    c.t.write(Buffer.from('dropped')); // after the loss: dropped, no throw
    await turns(10);
    assert.equal(lostCount(c.r), 1);
    await c.close();
  });

  test('a tampered record (one bit flipped): bad record MAC, the tampered bytes never delivered', async () => {
    let armed = false;
    const c = await clientThroughRelay({
      toClient: (chunk, relay) => {
        if (armed) {
          const b = Buffer.from(chunk);
          b[b.length - 1]! ^= 0x01;
          chunk = b;
        }
        relay.down.write(chunk);
      },
    });
    armed = true;
    c.peer.sockets[0]!.write('second record');
    await c.r.lost;
    assert.match(String((c.r.lostWith as NodeJS.ErrnoException).code), /^ERR_SSL_/);
    assert.equal(c.r.received.toString(), 'hello');
    assert.deepEqual(c.r.grammar, ['made', 'data', 'lost']);
    await c.close();
  });

  test('a close without close_notify (TCP FIN): eofReceived, then connectionLost(null), as asyncio', async () => {
    // asyncio (3.11, checked with python3) treats an EOF in the wrapped
    // state as the peer's close: eof_received(), then connection_lost(None).
    const c = await clientThroughRelay();
    c.relay.up.pause(); // whatever the server says from now on stays unsent
    c.relay.down.end();
    await c.r.lost;
    assert.deepEqual(c.r.grammar, ['made', 'data', 'eof', 'lost']);
    assert.equal(c.r.lostWith, null);
    await c.close();
  });

  test('a reset after the handshake: connectionLost(ECONNRESET) once', async () => {
    const c = await clientThroughRelay();
    c.relay.down.resetAndDestroy();
    await c.r.lost;
    assert.equal((c.r.lostWith as NodeJS.ErrnoException).code, 'ECONNRESET');
    assert.deepEqual(c.r.grammar, ['made', 'data', 'lost']);
    await c.close();
  });

  test('a truncated handshake (the ServerHello cut short, then FIN): the call rejects, the protocol hears nothing', async () => {
    const peer = await nodeTlsServer();
    const m = await mitm(portOf(peer.server), {
      toClient: (chunk, relay) => {
        relay.down.end(chunk.subarray(0, 20));
        relay.up.pause();
      },
    });
    const { factory, recs: made } = recording();
    const err = await rejection(
      loop.createConnection(factory, '127.0.0.1', m.port, {
        ssl: clientTls(),
        serverHostname: 'localhost',
      }),
    );
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(made.length, 1);
    assert.deepEqual(made[0]!.events, []);
    await m.close();
    await peer.close();
  });
});

describe('a misbehaving TLS client (protoloop is the server)', () => {
  /** A protoloop TLS server behind a relay; `recs` are its protocols. */
  async function serverBehindRelay(hooks: { toServer?: Tamper } = {}): Promise<{
    server: Server;
    recs: Recorder[];
    m: Mitm;
    close(): Promise<void>;
  }> {
    const { server, recs, close } = await recordingServer({ ssl: serverTls() });
    const m = await mitm(portOf(server), hooks);
    return {
      server,
      recs,
      m,
      close: async () => {
        await m.close();
        await close();
      },
    };
  }

  /** A Node TLS client through the relay, connected and having sent 'hi'. */
  async function nodeClient(port: number): Promise<tls.TLSSocket> {
    const c = tls.connect({ port, host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
    c.on('error', () => {});
    c.resume();
    await new Promise((r) => c.once('secureConnect', r));
    c.write('hi');
    return c;
  }

  /** The server still serves: a well-behaved client gets through and is echoed nothing but served. */
  async function stillServes(port: number, recs: Recorder[]): Promise<void> {
    const before = recs.length;
    const [t, r] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port, {
      ssl: clientTls(),
      serverHostname: 'localhost',
    });
    await until(() => recs[before]?.events[0] === 'made', 'the next connection');
    t.close();
    await r.lost;
    await recs[before]!.lost;
  }

  test('garbage after the handshake: connectionLost(ERR_SSL_*) once; the server keeps serving', async () => {
    const s = await serverBehindRelay();
    const c = await nodeClient(s.m.port);
    await until(() => s.recs[0]?.received.length === 2, 'the greeting');
    (await s.m.relay()).up.write(GARBAGE);
    const r = s.recs[0]!;
    await r.lost;
    assert.match(String((r.lostWith as NodeJS.ErrnoException).code), /^ERR_SSL_/);
    assert.deepEqual(r.grammar, ['made', 'data', 'lost']);
    c.destroy();
    await stillServes(portOf(s.server), s.recs);
    await s.close();
  });

  test('a close without close_notify: eofReceived, then connectionLost(null)', async () => {
    const s = await serverBehindRelay();
    const c = await nodeClient(s.m.port);
    await until(() => s.recs[0]?.received.length === 2, 'the greeting');
    const relay = await s.m.relay();
    relay.down.pause(); // the client's close_notify, if any, stays unsent
    relay.up.end();
    const r = s.recs[0]!;
    await r.lost;
    assert.deepEqual(r.grammar, ['made', 'data', 'eof', 'lost']);
    assert.equal(r.lostWith, null);
    c.destroy();
    await s.close();
  });

  test('a truncated ClientHello, then FIN: the protocol hears nothing; the server keeps serving', async () => {
    const s = await serverBehindRelay({
      toServer: (chunk, relay) => {
        relay.up.end(chunk.subarray(0, 30));
        relay.down.pause();
      },
    });
    const c = tls.connect({ port: s.m.port, host: '127.0.0.1', ca: certs.ca, servername: 'x' });
    c.on('error', () => {});
    await until(() => s.recs.length === 1, 'the accepted connection');
    await until(() => s.server.sockets.length > 0 && (s.m.relays[0]?.up.destroyed ?? false));
    assert.deepEqual(s.recs[0]!.events, []);
    c.destroy();
    await stillServes(portOf(s.server), s.recs);
    await s.close();
  });
});

describe('writes after close() on TLS', () => {
  test('once close_notify is sent: dropped and counted, connectionLost(null), not "write after end"', async () => {
    let b: Recorder | null = null;
    const server = await loop.createServer(() => (b = new Recorder()), '127.0.0.1', 0, {
      ssl: serverTls(),
    });
    const [t, a] = await loop.createConnection(() => new Recorder(), '127.0.0.1', portOf(server), {
      ssl: clientTls(),
      serverHostname: 'localhost',
    });
    await until(() => b !== null && b.events[0] === 'made', 'server connectionMade');
    t.write(Buffer.from('before close'));
    await b!.receivedBytes(12);
    await until(() => t.getWriteBufferSize() === 0, 'the write completed');
    t.close(); // nothing buffered: close_notify goes at once
    t.write(Buffer.alloc(70_000));
    t.writelines([Buffer.from('late'), Buffer.alloc(70_000)]);
    assert.equal(t.getWriteBufferSize(), 0);
    await Promise.all([a.lost, b!.lost]);
    assert.equal(a.lostWith, null);
    assert.deepEqual(a.grammar, ['made', 'lost']);
    assert.equal(b!.lostWith, null);
    assert.deepEqual(b!.grammar, ['made', 'data', 'eof', 'lost']);
    assert.equal(b!.received.toString(), 'before close');
    server.close();
    await server.waitClosed();
  });
});

describe('startTls faults end in connectionLost(err) once', () => {
  /** A plain protoloop client connection to `port`. */
  async function plainClient(port: number): Promise<Recorder> {
    const [, r] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    return r;
  }

  /** A raw server that answers the first bytes it gets (a ClientHello) with `reply`. */
  async function rawPeer(reply: ((s: net.Socket) => void) | null): Promise<{
    port: number;
    sockets: net.Socket[];
    close(): Promise<void>;
  }> {
    const sockets: net.Socket[] = [];
    const srv = net.createServer({ allowHalfOpen: true }, (s) => {
      sockets.push(s);
      s.on('error', () => {});
      if (reply !== null) s.once('data', () => reply(s));
      else s.resume();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return {
      port: portOf(srv),
      sockets,
      close: async () => {
        for (const s of sockets) s.destroy();
        await new Promise((r) => srv.close(r));
      },
    };
  }

  async function failedUpgrade(r: Recorder, upgrade: Promise<Transport>): Promise<Error> {
    const err = await rejection(upgrade);
    await r.lost;
    assert.equal(r.lostWith, err, 'the protocol loses the connection with the same error');
    assert.deepEqual(r.events, ['made', 'lost']);
    await turns(10);
    assert.equal(lostCount(r), 1);
    return err;
  }

  for (const how of ['close', 'abort'] as const) {
    test(`${how}() of the old transport while the handshake is pending (client side, silent peer)`, async () => {
      const peer = await rawPeer(null); // takes the ClientHello, never answers
      const r = await plainClient(peer.port);
      const old = r.transport;
      const upgrade = loop.startTls(old, r, clientTls(), { serverHostname: 'localhost' });
      await until(() => peer.sockets.length === 1 && peer.sockets[0]!.bytesRead > 0, 'ClientHello');
      old.write(Buffer.from('dropped: the old transport is retired'));
      old[how]();
      old[how](); // idempotent
      const err = (await failedUpgrade(r, upgrade)) as NodeJS.ErrnoException;
      assert.equal(err.code, 'ECONNABORTED');
      assert.match(err.message, /SSL handshake aborted/);
      // The peer sees the connection go.
      await until(() => peer.sockets[0]!.destroyed || peer.sockets[0]!.readableEnded, 'peer EOF');
      await peer.close();
    });
  }

  test('garbage in answer to the ClientHello: ERR_SSL_* for the call and the protocol', async () => {
    const peer = await rawPeer((s) => s.write(GARBAGE));
    const r = await plainClient(peer.port);
    const err = (await failedUpgrade(
      r,
      loop.startTls(r.transport, r, clientTls(), { serverHostname: 'localhost' }),
    )) as NodeJS.ErrnoException;
    assert.match(String(err.code), /^ERR_SSL_/);
    await peer.close();
  });

  test('a truncated ServerHello, then FIN: ECONNRESET for the call and the protocol', async () => {
    const tlsPeer = await nodeTlsServer();
    const m = await mitm(portOf(tlsPeer.server), {
      toClient: (chunk, relay) => {
        relay.down.end(chunk.subarray(0, 20));
        relay.up.pause();
      },
    });
    const r = await plainClient(m.port);
    const err = (await failedUpgrade(
      r,
      loop.startTls(r.transport, r, clientTls(), { serverHostname: 'localhost' }),
    )) as NodeJS.ErrnoException;
    assert.equal(err.code, 'ECONNRESET');
    await m.close();
    await tlsPeer.close();
  });

  test('server side: a truncated ClientHello, then FIN: ECONNRESET for the call and the protocol', async () => {
    let b: Recorder | null = null;
    const server = await loop.createServer(() => (b = new Recorder()), '127.0.0.1', 0);
    const raw = net.connect(portOf(server), '127.0.0.1');
    raw.on('error', () => {});
    await until(() => b !== null && b.events[0] === 'made', 'server connectionMade');
    const r = b!;
    const upgrade = loop.startTls(r.transport, r, serverTls(), { serverSide: true });
    // The first 30 bytes of a real ClientHello: a record header announcing more.
    const hello = await clientHelloBytes();
    raw.end(hello.subarray(0, 30));
    const err = (await failedUpgrade(r, upgrade)) as NodeJS.ErrnoException;
    assert.equal(err.code, 'ECONNRESET');
    raw.destroy();
    server.close();
    await server.waitClosed();
  });
});

/** A real ClientHello, as Node's TLS client sends it (captured by a raw server). */
async function clientHelloBytes(): Promise<Buffer> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) =>
    srv.once('connection', (s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
      });
    }),
  );
  const c = tls.connect({ port: portOf(srv), host: '127.0.0.1', servername: 'localhost' });
  c.on('error', () => {});
  const hello = await got;
  c.destroy();
  await new Promise((r) => srv.close(r));
  assert.equal(hello[0], 0x16, 'a handshake record');
  return hello;
}
