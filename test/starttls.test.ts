/**
 * loop.startTls(): upgrading live connections in both directions, losslessly,
 * with flow-control state kept, and every way an upgrade can fail ending in
 * connectionLost(err) for the protocol.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import type * as tls from 'node:tls';
import { getRunningLoop, type Server, type Transport } from '../src/index.js';
import { startTls } from '../src/tls.js';
import { turns } from './conformance/stream.js';
import { clientTls, serverTls } from './helpers/certs.js';
import { until, useHarness } from './helpers/harness.js';
import { Recorder } from './helpers/recorder.js';

useHarness();
const loop = getRunningLoop();

interface PlainPair {
  a: Recorder;
  b: Recorder;
  server: Server;
  close(): Promise<void>;
}

/** A plain TCP connection between two recorders (a connects, b accepts). */
async function plainPair(
  b: Recorder = new Recorder(),
  a: Recorder = new Recorder(),
): Promise<PlainPair> {
  const server = await loop.createServer(() => b, '127.0.0.1', 0);
  await loop.createConnection(
    () => a,
    '127.0.0.1',
    (server.sockets[0]!.address() as net.AddressInfo).port,
  );
  await until(() => b.events[0] === 'made', 'server connectionMade');
  return {
    a,
    b,
    server,
    close: async () => {
      server.close();
      await server.waitClosed();
    },
  };
}

/** Upgrade both ends of a plain pair; the recorders carry on over TLS. */
async function upgradeBoth(p: PlainPair): Promise<[Transport, Transport]> {
  const [ta, tb] = await Promise.all([
    loop.startTls(p.a.transport, p.a, clientTls(), { serverHostname: 'localhost' }),
    loop.startTls(p.b.transport, p.b, serverTls(), { serverSide: true }),
  ]);
  p.a.transport = ta;
  p.b.transport = tb;
  return [ta, tb];
}

async function rejection(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  assert.fail('expected a rejection');
}

describe('startTls', () => {
  test('a STARTTLS line protocol: the server upgrades on the command, the client after the reply', async () => {
    const b = new Recorder();
    let serverTlsTransport: Promise<Transport> | null = null;
    b.onData = (d) => {
      if (d.toString() === 'STARTTLS\r\n') {
        b.transport.write(Buffer.from('220 ready\r\n'));
        // Called at once, with the reply maybe still unsent: it goes first.
        serverTlsTransport = loop.startTls(b.transport, b, serverTls(), { serverSide: true });
      }
    };
    const p = await plainPair(b);
    const oldA = p.a.transport;
    const oldB = p.b.transport;
    oldA.write(Buffer.from('STARTTLS\r\n'));
    await p.a.receivedBytes(11);
    assert.equal(p.a.received.toString(), '220 ready\r\n');
    const ta = await loop.startTls(oldA, p.a, clientTls(), { serverHostname: 'localhost' });
    const tb = await serverTlsTransport!;
    p.a.transport = ta;
    p.b.transport = tb;
    assert.ok(ta.getExtraInfo('ssl_object'));
    assert.deepEqual(ta.getExtraInfo('peername'), oldA.getExtraInfo('peername'));
    assert.equal((ta.getExtraInfo('peercert') as tls.PeerCertificate).subject.CN, 'localhost');
    // The old transports are retired.
    assert.equal(oldA.isClosing(), true);
    assert.equal(oldB.isClosing(), true);
    assert.equal(oldA.isReading(), false);
    b.onData = (d) => tb.write(Buffer.from(`echo ${d}`));
    ta.write(Buffer.from('secret'));
    await p.a.receivedBytes(11 + 11);
    assert.equal(p.a.received.toString(), '220 ready\r\necho secret');
    // connectionMade once each; nothing lost or repeated.
    assert.equal(p.a.events.filter((e) => e === 'made').length, 1);
    assert.equal(p.b.events.filter((e) => e === 'made').length, 1);
    ta.close();
    await Promise.all([p.a.lost, p.b.lost]);
    assert.deepEqual(p.a.grammar, ['made', 'data', 'lost']);
    assert.deepEqual(p.b.grammar, ['made', 'data', 'eof', 'lost']);
    assert.equal(p.a.lostWith, null);
    await p.close();
  });

  test('the old transport: writes are dropped, close() reaches the new transport', async () => {
    const p = await plainPair();
    const oldA = p.a.transport;
    const [ta] = await upgradeBoth(p);
    oldA.write(Buffer.from('plain after upgrade')); // dropped, not sent in clear
    oldA.close();
    assert.equal(ta.isClosing(), true);
    await Promise.all([p.a.lost, p.b.lost]);
    assert.equal(p.b.received.length, 0);
    await p.close();
  });

  test('a server connection stays attached across the upgrade (waitClosed waits for it)', async () => {
    const p = await plainPair();
    await upgradeBoth(p);
    p.server.close();
    let closed = false;
    const waiting = p.server.waitClosed().then(() => {
      closed = true;
    });
    await turns(20);
    assert.equal(closed, false);
    p.server.closeClients(); // reaches the TLS transport
    await waiting;
    await Promise.all([p.a.lost, p.b.lost]);
  });

  test('TLS over TLS: a TLS transport can be upgraded again', async () => {
    const p = await plainPair();
    await upgradeBoth(p);
    const [ta, tb] = await upgradeBoth(p);
    p.b.onData = (d) => tb.write(d);
    ta.write(Buffer.from('twice wrapped'));
    await p.a.receivedBytes(13);
    assert.equal(p.a.received.toString(), 'twice wrapped');
    ta.close();
    await Promise.all([p.a.lost, p.b.lost]);
    await p.close();
  });
});

describe('startTls is lossless', () => {
  test('plain bytes written just before the upgrade reach the peer before the handshake', async () => {
    const p = await plainPair();
    p.a.transport.pauseReading();
    // Write until some of it stays queued: the peer does not read.
    const chunks: Buffer[] = [];
    for (let i = 0; i < 64 && p.b.transport.getWriteBufferSize() === 0; i++) {
      const chunk = Buffer.alloc(1024 * 1024, 97 + (i % 26));
      chunks.push(chunk);
      p.b.transport.write(chunk);
    }
    assert.ok(p.b.transport.getWriteBufferSize() > 0);
    const big = Buffer.concat(chunks);
    const upgradeB = loop.startTls(p.b.transport, p.b, serverTls(), { serverSide: true });
    p.a.transport.resumeReading();
    await p.a.receivedBytes(big.length);
    assert.ok(p.a.received.equals(big));
    const ta = await loop.startTls(p.a.transport, p.a, clientTls(), {
      serverHostname: 'localhost',
    });
    const tb = await upgradeB;
    tb.write(Buffer.from('!'));
    await p.a.receivedBytes(big.length + 1);
    ta.close();
    await Promise.all([p.a.lost, p.b.lost]);
    await p.close();
  });

  /** The client sends STARTTLS and its ClientHello without waiting; the server's protocol paused on the command. */
  async function clientHelloWaiting(
    serverPair: () => Promise<PlainPair>,
  ): Promise<{ p: PlainPair; clientUpgrade: Promise<Transport> }> {
    const p = await serverPair();
    p.b.onData = (d) => {
      if (d.toString() === 'STARTTLS\r\n') p.b.transport.pauseReading();
    };
    const rawA = p.a.transport.getExtraInfo('socket') as net.Socket;
    p.a.transport.write(Buffer.from('STARTTLS\r\n'));
    await p.b.receivedBytes(10);
    const written = rawA.bytesWritten;
    const clientUpgrade = loop.startTls(p.a.transport, p.a, clientTls(), {
      serverHostname: 'localhost',
    });
    await until(() => rawA.bytesWritten > written, 'ClientHello sent');
    return { p, clientUpgrade };
  }

  test('a ClientHello that arrived while reading was paused (held by the kernel, onread sockets)', async () => {
    const { p, clientUpgrade } = await clientHelloWaiting(() => plainPair());
    const tb = await loop.startTls(p.b.transport, p.b, serverTls(), { serverSide: true });
    const ta = await clientUpgrade;
    // Paused reading carries over the upgrade.
    assert.equal(tb.isReading(), false);
    tb.resumeReading();
    ta.write(Buffer.from('after'));
    await p.b.receivedBytes(10 + 5);
    assert.equal(p.b.received.toString(), 'STARTTLS\r\nafter');
    tb.close();
    await Promise.all([p.a.lost, p.b.lost]);
    await p.close();
  });

  test('a ClientHello that Node had already buffered (sockets read through data events)', async () => {
    let srv: net.Server | null = null;
    const { p, clientUpgrade } = await clientHelloWaiting(async () => {
      srv = net.createServer();
      await new Promise<void>((r) => srv!.listen(0, '127.0.0.1', r));
      const accepted = new Promise<net.Socket>((r) => srv!.once('connection', r));
      const a = new Recorder();
      const b = new Recorder();
      await loop.createConnection(() => a, '127.0.0.1', (srv!.address() as net.AddressInfo).port);
      await loop.connectAcceptedSocket(() => b, await accepted);
      return { a, b, server: null as never, close: async () => {} };
    });
    const rawB = p.b.transport.getExtraInfo('socket') as net.Socket;
    // The accepted socket keeps reading into its buffer while paused.
    await until(() => rawB.readableLength > 0, 'ClientHello buffered by Node');
    const tb = await loop.startTls(p.b.transport, p.b, serverTls(), { serverSide: true });
    const ta = await clientUpgrade;
    // Paused reading carries over the upgrade.
    assert.equal(tb.isReading(), false);
    tb.resumeReading();
    ta.write(Buffer.from('after'));
    await p.b.receivedBytes(15);
    assert.equal(p.b.received.toString(), 'STARTTLS\r\nafter');
    tb.close();
    await Promise.all([p.a.lost, p.b.lost]);
    srv!.close();
  });

  test('handshake bytes the protocol already received can be handed back (stream readers, gh-142352)', async () => {
    // The command and the ClientHello arrive in one read.
    const b = new Recorder();
    b.onMade = (t) => t.pauseReading();
    const p = await plainPair(b);
    const rawA = p.a.transport.getExtraInfo('socket') as net.Socket;
    p.a.transport.write(Buffer.from('STARTTLS\r\n'));
    const clientUpgrade = loop.startTls(p.a.transport, p.a, clientTls(), {
      serverHostname: 'localhost',
    });
    await until(() => rawA.bytesWritten > 10, 'ClientHello sent');
    let upgrade: Promise<Transport> | null = null;
    b.onData = (d) => {
      const nl = d.indexOf('\n');
      assert.equal(d.subarray(0, nl + 1).toString(), 'STARTTLS\r\n');
      assert.ok(d.length > nl + 1, 'the ClientHello came in the same chunk');
      upgrade = startTls(
        loop,
        b.transport,
        b,
        serverTls(),
        { serverSide: true },
        d.subarray(nl + 1),
      );
    };
    b.transport.resumeReading();
    await until(() => upgrade !== null);
    const tb = await upgrade!;
    const ta = await clientUpgrade;
    tb.write(Buffer.from('done'));
    await p.a.receivedBytes(4);
    ta.close();
    await Promise.all([p.a.lost, p.b.lost]);
    await p.close();
  });
});

describe('startTls keeps flow-control state', () => {
  test('paused for writing before the upgrade: resumeWriting follows after it (gh-109051); limits kept', async () => {
    const p = await plainPair();
    p.a.transport.pauseReading();
    p.b.transport.setWriteBufferLimits(100_000, 10_000);
    let sent = 0;
    for (let i = 0; i < 64 && !p.b.events.includes('pause'); i++) {
      p.b.transport.write(Buffer.alloc(1024 * 1024, 'x'));
      sent += 1024 * 1024;
    }
    assert.deepEqual(p.b.events, ['made', 'pause']);
    const upgradeB = loop.startTls(p.b.transport, p.b, serverTls(), { serverSide: true });
    p.a.transport.resumeReading();
    await p.a.receivedBytes(sent);
    const ta = await loop.startTls(p.a.transport, p.a, clientTls(), {
      serverHostname: 'localhost',
    });
    const tb = await upgradeB;
    p.b.transport = tb;
    assert.deepEqual(tb.getWriteBufferLimits(), [10_000, 100_000]);
    await p.b.when(() => p.b.events.includes('resume'));
    assert.deepEqual(p.b.events, ['made', 'pause', 'resume']);
    // And flow control goes on over TLS with those limits.
    ta.pauseReading();
    tb.write(Buffer.alloc(100_001));
    assert.deepEqual(p.b.events.slice(-1), ['pause']);
    ta.resumeReading();
    await p.b.when(() => p.b.events.filter((e) => e === 'resume').length === 2);
    ta.close();
    await Promise.all([p.a.lost, p.b.lost]);
    await p.close();
  });

  test('reading paused by the protocol stays paused over TLS', async () => {
    const p = await plainPair();
    p.b.transport.pauseReading();
    const [ta, tb] = await upgradeBoth(p);
    assert.equal(tb.isReading(), false);
    ta.write(Buffer.from('held'));
    await turns(30);
    assert.deepEqual(p.b.events, ['made']);
    tb.resumeReading();
    await p.b.receivedBytes(4);
    ta.close();
    await Promise.all([p.a.lost, p.b.lost]);
    await p.close();
  });
});

describe('a failed startTls ends in connectionLost(err)', () => {
  test('handshake timeout: rejects with the timeout error, the protocol loses the connection with it', async () => {
    const p = await plainPair();
    const err = await rejection(
      loop.startTls(p.b.transport, p.b, serverTls(), {
        serverSide: true,
        sslHandshakeTimeout: 0.1,
      }),
    );
    assert.equal(
      err.message,
      'SSL handshake is taking longer than 0.1 seconds: aborting the connection',
    );
    await p.b.lost;
    assert.equal(p.b.lostWith, err);
    assert.deepEqual(p.b.events, ['made', 'lost']);
    await p.a.lost; // the peer sees the connection go
    await p.close();
  });

  test('the peer closes during startTls: ECONNRESET for the call and the protocol', async () => {
    const p = await plainPair();
    const upgrade = loop.startTls(p.a.transport, p.a, clientTls(), { serverHostname: 'localhost' });
    p.b.transport.close();
    const err = await rejection(upgrade);
    assert.equal(err.code, 'ECONNRESET');
    await p.a.lost;
    assert.equal(p.a.lostWith, err);
    assert.equal(p.a.events.filter((e) => e === 'lost').length, 1);
    await p.b.lost;
    await p.close();
  });

  test('closing the old transport during startTls aborts the upgrade', async () => {
    const p = await plainPair();
    const old = p.b.transport;
    const upgrade = loop.startTls(old, p.b, serverTls(), { serverSide: true });
    old.close();
    const err = await rejection(upgrade);
    assert.equal(err.code, 'ECONNABORTED');
    assert.match(err.message, /SSL handshake aborted/);
    await p.b.lost;
    assert.equal(p.b.lostWith, err);
    await p.a.lost;
    await p.close();
  });

  test('an untrusted certificate: Node error for the call and the protocol', async () => {
    const b = new Recorder();
    const p = await plainPair(b);
    const serverSide = loop.startTls(p.b.transport, p.b, serverTls(), { serverSide: true });
    const err = await rejection(
      loop.startTls(p.a.transport, p.a, true, { serverHostname: 'localhost' }),
    );
    assert.equal(err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await p.a.lost;
    assert.equal(p.a.lostWith, err);
    // The server's side of the handshake fails too (the client aborted).
    const serverErr = await rejection(serverSide);
    await p.b.lost;
    assert.equal(p.b.lostWith, serverErr);
    await p.close();
  });
});

describe('startTls argument checks', () => {
  test('wrong arguments are TypeErrors and leave the connection as it was', async () => {
    const p = await plainPair();
    const t = p.a.transport;
    await assert.rejects(loop.startTls({} as never, p.a, true, { serverHostname: 'x' }), {
      name: 'TypeError',
      message: /is not supported by start_tls\(\)/,
    });
    await assert.rejects(loop.startTls(t, p.a, null as never), {
      name: 'TypeError',
      message: /^sslcontext is expected to be true, TLS options or a tls.SecureContext, got null/,
    });
    await assert.rejects(loop.startTls(t, p.a, true, { serverSide: true }), {
      name: 'TypeError',
      message: 'Server side SSL needs a valid SSLContext',
    });
    await assert.rejects(
      loop.startTls(t, p.a, serverTls(), { serverSide: true, serverHostname: 'x' }),
      /server_hostname can only be specified in client mode/,
    );
    await assert.rejects(loop.startTls(t, p.a, clientTls()), /needs serverHostname/);
    await assert.rejects(loop.startTls(t, p.a, true, { foo: 1 } as never), {
      name: 'TypeError',
      message: "startTls() got an unexpected keyword argument 'foo'",
    });
    await assert.rejects(
      loop.startTls(t, p.a, true, { serverHostname: 'x', sslHandshakeTimeout: 0 }),
      { name: 'RangeError', message: 'ssl_handshake_timeout should be a positive number, got 0' },
    );
    await assert.rejects(
      loop.startTls(t, p.a, true, { serverHostname: 'x', sslShutdownTimeout: -1 }),
      RangeError,
    );
    await assert.rejects(loop.startTls(t, null as never, true, { serverHostname: 'x' }), TypeError);
    // Still a working plain connection.
    assert.equal(t.isClosing(), false);
    t.write(Buffer.from('plain'));
    await p.b.receivedBytes(5);
    t.close();
    await Promise.all([p.a.lost, p.b.lost]);
    await p.close();
  });
});
