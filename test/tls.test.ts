/**
 * TLS transports made by createConnection/createServer/connectAcceptedSocket
 * with `ssl`: extra info, no half-close, flow control, argument checks,
 * every handshake failure, the handshake and shutdown timeouts, client
 * certificates, and a server's connections during their handshake.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as tls from 'node:tls';
import {
  type CreateServerOptions,
  getRunningLoop,
  InvalidStateError,
  type Transport,
} from '../src/index.js';
import { turns } from './conformance/stream.js';
import { certs, clientTls, serverTls } from './helpers/certs.js';
import { until, useHarness } from './helpers/harness.js';
import { portOf, recording, recordingServer } from './helpers/net.js';
import { Recorder } from './helpers/recorder.js';

useHarness();
const loop = getRunningLoop();

/** A protoloop TLS client (a Recorder) to `port` on 127.0.0.1, trusting the test CA. */
function tlsConnect(port: number): Promise<[Transport, Recorder]> {
  return loop.createConnection(() => new Recorder(), '127.0.0.1', port, {
    ssl: clientTls(),
    serverHostname: 'localhost',
  });
}

/** A TLS server whose protocols are recorded. */
function tlsServer(
  ssl: tls.TlsOptions | tls.SecureContext = serverTls(),
  options: CreateServerOptions = {},
): ReturnType<typeof recordingServer> {
  return recordingServer({ ssl, ...options });
}

/** A plain TCP server (a peer that speaks no TLS, or says nothing). */
async function plainServer(onConnection: (s: net.Socket) => void): Promise<{
  port: number;
  sockets: net.Socket[];
  closed: Promise<void>[];
  close(): Promise<void>;
}> {
  const sockets: net.Socket[] = [];
  const closed: Promise<void>[] = [];
  const srv = net.createServer((s) => {
    sockets.push(s);
    closed.push(new Promise((r) => s.once('close', () => r())));
    s.on('error', () => {});
    s.resume();
    onConnection(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: portOf(srv),
    sockets,
    closed,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

/** The rejection of a promise (fails if it resolves). */
async function rejection(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  assert.fail('expected a rejection');
}

describe('TLS transport', () => {
  test('extra info: peercert, cipher, compression, sslcontext, ssl_object and the socket keys', async () => {
    const s = await tlsServer();
    const [t] = await loop.createConnection(() => new Recorder(), 'localhost', portOf(s.server), {
      ssl: clientTls(),
      family: 4,
    });
    await until(() => s.recs[0]?.events[0] === 'made');
    const sock = t.getExtraInfo('socket');
    assert.ok(sock instanceof tls.TLSSocket);
    assert.equal(t.getExtraInfo('ssl_object'), sock);
    const cert = t.getExtraInfo('peercert') as tls.PeerCertificate;
    assert.equal(cert.subject.CN, 'localhost');
    const cipher = t.getExtraInfo('cipher') as [string, string, number];
    const c = (sock as tls.TLSSocket).getCipher();
    assert.deepEqual(cipher, [c.name, c.version, c.name.includes('256') ? 256 : 128]);
    assert.equal(t.getExtraInfo('compression'), null);
    const ctx = t.getExtraInfo('sslcontext') as tls.SecureContext;
    assert.ok(ctx && typeof ctx === 'object' && 'context' in ctx);
    assert.deepEqual(t.getExtraInfo('peername'), ['127.0.0.1', portOf(s.server)]);
    assert.equal((t.getExtraInfo('sockname') as [string, number])[0], '127.0.0.1');
    // The server side: no client certificate was asked for.
    const st = s.recs[0]!.transport;
    assert.deepEqual(st.getExtraInfo('peercert'), {});
    assert.deepEqual(st.getExtraInfo('cipher'), cipher);
    assert.deepEqual(st.getExtraInfo('peername'), t.getExtraInfo('sockname'));
    t.close();
    await Promise.all([(t.getProtocol() as Recorder).lost, s.recs[0]!.lost]);
    // Still readable after the connection is gone.
    assert.equal((t.getExtraInfo('peercert') as tls.PeerCertificate).subject.CN, 'localhost');
    await s.close();
  });

  test('a SecureContext given as ssl is the sslcontext; TLS options work too', async () => {
    const serverCtx = tls.createSecureContext(serverTls());
    const clientCtx = tls.createSecureContext(clientTls());
    const s = await tlsServer(serverCtx);
    const [t, p] = await loop.createConnection(
      () => new Recorder(),
      '127.0.0.1',
      portOf(s.server),
      {
        ssl: clientCtx,
        serverHostname: 'localhost',
      },
    );
    assert.equal(t.getExtraInfo('sslcontext'), clientCtx);
    await until(() => s.recs[0]?.events[0] === 'made');
    assert.equal(s.recs[0]!.transport.getExtraInfo('sslcontext'), serverCtx);
    t.close();
    await p.lost;
    await s.close();
  });

  test('no half-close: canWriteEof() is false and writeEof() throws', async () => {
    const s = await tlsServer();
    const [t, p] = await tlsConnect(portOf(s.server));
    assert.equal(t.canWriteEof(), false);
    assert.throws(() => t.writeEof(), {
      name: 'Error',
      message: "SSL doesn't support half-closes",
    });
    t.write(Buffer.from('still writable'));
    await until(() => s.recs[0]?.received.length === 14);
    t.close();
    await Promise.all([p.lost, s.recs[0]!.lost]);
    assert.throws(() => t.writeEof(), /SSL doesn't support half-closes/);
    await s.close();
  });

  test('flow control is the same rule as every transport: pause strictly over high (64 KiB)', async () => {
    const s = await tlsServer();
    const [t, p] = await tlsConnect(portOf(s.server));
    await until(() => s.recs[0]?.events[0] === 'made');
    s.recs[0]!.transport.pauseReading();
    assert.deepEqual(t.getWriteBufferLimits(), [16384, 65536]);
    t.write(Buffer.alloc(65536));
    // Application bytes are counted, not TLS records.
    assert.equal(t.getWriteBufferSize(), 65536);
    assert.ok(!p.events.includes('pause'), 'paused at exactly high');
    t.write(Buffer.alloc(1));
    assert.equal(t.getWriteBufferSize(), 65537);
    assert.deepEqual(p.events, ['made', 'pause']);
    s.recs[0]!.transport.resumeReading();
    let sizeAtResume = -1;
    p.resumeWriting = function (this: Recorder) {
      sizeAtResume = t.getWriteBufferSize();
      Recorder.prototype.resumeWriting.call(this);
    };
    await p.when(() => p.events.includes('resume'));
    assert.ok(sizeAtResume <= 16384, `resumed at ${sizeAtResume}`);
    await until(() => s.recs[0]!.received.length === 65537);
    assert.equal(t.getWriteBufferSize(), 0);
    t.close();
    await Promise.all([p.lost, s.recs[0]!.lost]);
    await s.close();
  });

  test('a close_notify with eofReceived returning true: warned, and the transport closes anyway', async () => {
    const s = await tlsServer();
    const [t, p] = await loop.createConnection(
      () => {
        const r = new Recorder();
        r.keepOpen = true;
        return r;
      },
      '127.0.0.1',
      portOf(s.server),
      { ssl: clientTls(), serverHostname: 'localhost' },
    );
    await until(() => s.recs[0]?.events[0] === 'made');
    const warns: string[] = [];
    const orig = console.warn;
    console.warn = (...a: unknown[]) => void warns.push(a.join(' '));
    try {
      s.recs[0]!.transport.close();
      await p.lost;
    } finally {
      console.warn = orig;
    }
    assert.deepEqual(warns, ['returning true from eof_received() has no effect when using ssl']);
    assert.deepEqual(p.grammar, ['made', 'eof', 'lost']);
    assert.equal(p.lostWith, null);
    assert.equal(t.isClosing(), true);
    await s.recs[0]!.lost;
    await s.close();
  });

  test('BufferedProtocol over TLS reads into the protocol buffer', async () => {
    const s = await tlsServer();
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(1000);
    let lost = false;
    const [t] = await loop.createConnection(
      () => ({
        getBuffer: () => buf,
        bufferUpdated: (n: number) => void chunks.push(Buffer.from(buf.subarray(0, n))),
        connectionLost: () => void (lost = true),
      }),
      '127.0.0.1',
      portOf(s.server),
      { ssl: clientTls(), serverHostname: 'localhost' },
    );
    await until(() => s.recs[0]?.events[0] === 'made');
    const data = Buffer.alloc(50_000, 'z');
    s.recs[0]!.transport.write(data);
    await until(() => Buffer.concat(chunks).length === data.length);
    assert.ok(chunks.every((c) => c.length <= 1000));
    t.close();
    await until(() => lost);
    await s.recs[0]!.lost;
    await s.close();
  });
});

describe('TLS argument checks', () => {
  test('serverHostname: required without a host, only with ssl; unix connections need it', async () => {
    const sock = new net.Socket();
    await assert.rejects(
      loop.createConnection(() => ({}), null, null, { sock, ssl: clientTls() }),
      {
        name: 'TypeError',
        message: 'You must set server_hostname when using ssl without a host',
      },
    );
    await assert.rejects(
      loop.createConnection(() => ({}), '127.0.0.1', 1, { serverHostname: 'x' }),
      { name: 'TypeError', message: 'server_hostname is only meaningful with ssl' },
    );
    await assert.rejects(
      loop.createUnixConnection(() => ({}), '/nonexistent', { ssl: true }),
      {
        name: 'TypeError',
        message: 'you have to pass server_hostname when using ssl',
      },
    );
    await assert.rejects(
      loop.createUnixConnection(() => ({}), '/nonexistent', { serverHostname: 'x' }),
      /server_hostname is only meaningful with ssl/,
    );
  });

  test('sslHandshakeTimeout / sslShutdownTimeout: positive, and only with ssl', async () => {
    for (const [key, snake] of [
      ['sslHandshakeTimeout', 'ssl_handshake_timeout'],
      ['sslShutdownTimeout', 'ssl_shutdown_timeout'],
    ] as const) {
      for (const bad of [0, -1]) {
        await assert.rejects(
          loop.createConnection(() => ({}), 'localhost', 1, { ssl: true, [key]: bad }),
          { name: 'RangeError', message: `${snake} should be a positive number, got ${bad}` },
        );
        await assert.rejects(
          loop.createServer(() => ({}), '127.0.0.1', 0, { ssl: serverTls(), [key]: bad }),
          RangeError,
        );
      }
      await assert.rejects(
        loop.createConnection(() => ({}), 'localhost', 1, { [key]: 5 }),
        {
          name: 'TypeError',
          message: `${snake} is only meaningful with ssl`,
        },
      );
      await assert.rejects(
        loop.createServer(() => ({}), '127.0.0.1', 0, { [key]: 5 }),
        new RegExp(`${snake} is only meaningful with ssl`),
      );
      await assert.rejects(
        loop.connectAcceptedSocket(() => ({}), new net.Socket(), { [key]: 5 }),
        new RegExp(`${snake} is only meaningful with ssl`),
      );
      await assert.rejects(
        loop.createUnixServer(() => ({}), '/nonexistent/x', {
          ssl: serverTls(),
          [key]: 'x' as never,
        }),
        TypeError,
      );
    }
  });

  test('ssl values: a server needs a context; nonsense is a TypeError before connecting', async () => {
    await assert.rejects(
      loop.createServer(() => ({}), '127.0.0.1', 0, { ssl: true as never }),
      {
        name: 'TypeError',
        message: 'ssl argument must be an SSLContext or None',
      },
    );
    await assert.rejects(
      loop.createServer(() => ({}), '127.0.0.1', 0, { ssl: {} }),
      {
        name: 'TypeError',
        message: /^Server side SSL needs a valid SSLContext/,
      },
    );
    await assert.rejects(
      loop.connectAcceptedSocket(() => ({}), new net.Socket(), { ssl: true as never }),
      /ssl argument must be an SSLContext or None/,
    );
    // A broken key fails when the server is created, with Node's error.
    await assert.rejects(
      loop.createServer(() => ({}), '127.0.0.1', 0, {
        ssl: { key: Buffer.from('not a key'), cert: certs.cert },
      }),
      (err: NodeJS.ErrnoException) => typeof err.code === 'string',
    );
    // Nothing listens on port 1: the TypeError comes before any connect.
    await assert.rejects(
      loop.createConnection(() => ({}), '127.0.0.1', 1, { ssl: 'yes' as never }),
      /ssl must be true, TLS connection options or a tls.SecureContext/,
    );
  });
});

describe('TLS handshake failures reject the creating call with Node error', () => {
  async function failingConnect(
    server: tls.TlsOptions,
    client: Record<string, unknown>,
  ): Promise<{ err: NodeJS.ErrnoException; made: Recorder[]; server: Recorder[] }> {
    const s = await tlsServer(server);
    const { factory, recs: made } = recording();
    const err = await rejection(
      loop.createConnection(factory, '127.0.0.1', portOf(s.server), client),
    );
    // The server side ends quietly too (its protocol never hears anything).
    await until(() => s.server.sockets.length > 0 && s.recs.length > 0);
    await s.close();
    return { err, made, server: s.recs };
  }

  function assertNoCallbacks(recs: Recorder[]): void {
    for (const r of recs) assert.deepEqual(r.events, []);
  }

  test('untrusted certificate (ssl: true uses the default trusted CAs only)', async () => {
    const { err, made, server } = await failingConnect(serverTls(), {
      ssl: true,
      serverHostname: 'localhost',
    });
    assert.equal(err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(made.length, 1); // the factory ran (as asyncio), but no callback followed
    assertNoCallbacks(made);
    assertNoCallbacks(server);
  });

  test('wrong host name', async () => {
    const { err, made } = await failingConnect(serverTls({ cert: certs.wrongHostCert }), {
      ssl: clientTls(),
      serverHostname: 'localhost',
    });
    assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.match(err.message, /localhost/);
    assertNoCallbacks(made);
  });

  test("serverHostname '' keeps verifying the chain but skips the host name check", async () => {
    const s = await tlsServer(serverTls({ cert: certs.wrongHostCert }));
    const [t, p] = await loop.createConnection(
      () => new Recorder(),
      '127.0.0.1',
      portOf(s.server),
      {
        ssl: clientTls(),
        serverHostname: '',
      },
    );
    assert.equal((t.getExtraInfo('peercert') as tls.PeerCertificate).subject.CN, 'localhost');
    t.close();
    await p.lost;
    // Still verifying: without the CA it fails.
    const err = await rejection(
      loop.createConnection(() => new Recorder(), '127.0.0.1', portOf(s.server), {
        ssl: true,
        serverHostname: '',
      }),
    );
    assert.equal(err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await s.close();
  });

  test('an IP address as the host is checked against the IP names of the certificate', async () => {
    const s = await tlsServer();
    const [t, p] = await loop.createConnection(
      () => new Recorder(),
      '127.0.0.1',
      portOf(s.server),
      {
        ssl: clientTls(),
      },
    );
    t.close();
    await p.lost;
    const err = await rejection(
      loop.createConnection(() => new Recorder(), '127.0.0.1', portOf(s.server), {
        ssl: clientTls({ cert: undefined }),
        serverHostname: '127.0.0.2',
      }),
    );
    assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    await s.close();
  });

  test('expired certificate', async () => {
    const { err, made } = await failingConnect(serverTls({ cert: certs.expiredCert }), {
      ssl: clientTls(),
      serverHostname: 'localhost',
    });
    assert.equal(err.code, 'CERT_HAS_EXPIRED');
    assertNoCallbacks(made);
  });

  test('a plain-text peer (a banner instead of a ServerHello)', async () => {
    const plain = await plainServer((s) => s.write('220 smtp.example ESMTP ready\r\n'));
    const { factory, recs: made } = recording();
    const err = await rejection(
      loop.createConnection(factory, '127.0.0.1', plain.port, {
        ssl: clientTls(),
        serverHostname: 'localhost',
      }),
    );
    assert.match(String(err.code), /^ERR_SSL_/);
    assertNoCallbacks(made);
    await plain.close();
  });

  test('a peer that closes during the handshake: ECONNRESET', async () => {
    const plain = await plainServer((s) => s.end());
    const err = await rejection(tlsConnect(plain.port));
    assert.equal(err.code, 'ECONNRESET');
    await plain.close();
  });

  test('a handshake over sslHandshakeTimeout rejects with a message naming that timeout', async () => {
    const plain = await plainServer(() => {}); // accepts, never answers
    const { factory, recs: made } = recording();
    const err = await rejection(
      loop.createConnection(factory, '127.0.0.1', plain.port, {
        ssl: clientTls(),
        serverHostname: 'localhost',
        sslHandshakeTimeout: 0.2,
      }),
    );
    assert.equal(
      err.message,
      'SSL handshake is taking longer than 0.2 seconds: aborting the connection',
    );
    assert.equal(err.name, 'ConnectionAbortedError');
    assert.equal(err.code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
    assertNoCallbacks(made);
    // The connection was aborted: the peer sees it close.
    await plain.closed[0];
    await plain.close();
  });

  test('server side: a plain client and a silent client end quietly; the server keeps serving', async () => {
    const s = await tlsServer(serverTls(), { sslHandshakeTimeout: 0.2 });
    const port = portOf(s.server);
    const http = net.connect(port, '127.0.0.1');
    http.on('error', () => {});
    http.write('GET / HTTP/1.0\r\n\r\n');
    http.resume();
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => {});
    silent.resume();
    await Promise.all([
      new Promise((r) => http.once('close', r)),
      new Promise((r) => silent.once('close', r)), // closed by the handshake timeout
    ]);
    assert.equal(s.recs.length, 2);
    for (const r of s.recs) assert.deepEqual(r.events, []);
    const [t, p] = await tlsConnect(port);
    t.close();
    await p.lost;
    await s.close();
  });

  test('connectAcceptedSocket with ssl rejects with the handshake error', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const raw = net.connect(portOf(srv), '127.0.0.1');
    raw.on('error', () => {});
    raw.write('definitely not a ClientHello\r\n');
    const err = await rejection(
      loop.connectAcceptedSocket(() => new Recorder(), await accepted, { ssl: serverTls() }),
    );
    assert.match(String(err.code), /^ERR_SSL_/);
    raw.destroy();
    srv.close();
  });
});

describe('TLS closing', () => {
  test('a peer that never answers close_notify: connectionLost(TimeoutError) after sslShutdownTimeout', async () => {
    const s = await tlsServer(serverTls(), { sslShutdownTimeout: 0.2 });
    // A TLS peer that keeps its side open after our close_notify.
    const peer = tls.connect({
      port: portOf(s.server),
      host: '127.0.0.1',
      ca: certs.ca,
      servername: 'localhost',
      allowHalfOpen: true,
    } as tls.ConnectionOptions);
    peer.on('data', () => {});
    await new Promise((r) => peer.once('secureConnect', r));
    await until(() => s.recs[0]?.events[0] === 'made');
    const r = s.recs[0]!;
    r.transport.write(Buffer.from('last words'));
    r.transport.close();
    await new Promise((res) => peer.once('end', res)); // our close_notify arrived
    await r.lost;
    assert.equal(r.lostWith?.name, 'TimeoutError');
    assert.equal(r.lostWith?.message, 'SSL shutdown timed out');
    peer.destroy();
    await s.close();
  });

  test('a connection in its handshake is attached to its server; closeClients() aborts it', async () => {
    const s = await tlsServer();
    // Made through a server: closeClients() reaches connections mid-handshake.
    const silent = net.connect(portOf(s.server), '127.0.0.1');
    silent.on('error', () => {});
    silent.resume();
    await until(() => s.recs.length === 1);
    s.server.close();
    let closed = false;
    const waiting = s.server.waitClosed().then(() => {
      closed = true;
    });
    await turns(20);
    assert.equal(closed, false, 'a connection in its handshake counts as attached');
    s.server.closeClients();
    await waiting;
    await new Promise((r) => silent.once('close', r));
    assert.deepEqual(s.recs[0]!.events, []);
  });

  test('abortClients() also reaches connections in their handshake', async () => {
    const s = await tlsServer();
    const silent = net.connect(portOf(s.server), '127.0.0.1');
    silent.on('error', () => {});
    silent.resume();
    await until(() => s.recs.length === 1);
    s.server.abortClients();
    await new Promise((r) => silent.once('close', r));
    await s.close();
  });
});

describe('TLS client certificates (server requestCert)', () => {
  const opts = () => serverTls({ requestCert: true, ca: certs.ca });

  test('a client certificate from the trusted CA is accepted and visible as peercert', async () => {
    const s = await tlsServer(opts());
    const [t, p] = await loop.createConnection(
      () => new Recorder(),
      '127.0.0.1',
      portOf(s.server),
      {
        ssl: clientTls({ key: certs.clientKey, cert: certs.clientCert }),
        serverHostname: 'localhost',
      },
    );
    await until(() => s.recs[0]?.events[0] === 'made');
    const st = s.recs[0]!.transport;
    assert.equal(
      (st.getExtraInfo('peercert') as tls.PeerCertificate).subject.CN,
      'protoloop client',
    );
    assert.equal((st.getExtraInfo('ssl_object') as tls.TLSSocket).authorized, true);
    t.close();
    await Promise.all([p.lost, s.recs[0]!.lost]);
    await s.close();
  });

  test('an untrusted client certificate is rejected: the server protocol never hears of it', async () => {
    const s = await tlsServer(opts());
    let lost = false;
    // TLS 1.3: the client finishes its handshake before the server checks.
    const outcome = loop
      .createConnection(
        () => ({ connectionLost: () => void (lost = true) }),
        '127.0.0.1',
        portOf(s.server),
        {
          ssl: clientTls({ key: certs.rogueKey, cert: certs.rogueCert }),
          serverHostname: 'localhost',
        },
      )
      .then(
        () => until(() => lost),
        () => {},
      );
    await outcome;
    await until(() => s.recs.length === 1);
    await s.close();
    assert.deepEqual(s.recs[0]!.events, []);
  });

  test('no client certificate is rejected too', async () => {
    const s = await tlsServer(opts());
    let lost = false;
    await loop
      .createConnection(
        () => ({ connectionLost: () => void (lost = true) }),
        '127.0.0.1',
        portOf(s.server),
        {
          ssl: clientTls(),
          serverHostname: 'localhost',
        },
      )
      .then(
        () => until(() => lost),
        (err: NodeJS.ErrnoException) => assert.match(String(err.code), /^ERR_SSL_/),
      );
    await until(() => s.recs.length === 1);
    await s.close();
    assert.deepEqual(s.recs[0]!.events, []);
  });
});

test('ssl: true verifies with the default trusted CAs (NODE_EXTRA_CA_CERTS adds ours)', async () => {
  const s = await tlsServer();
  const index = new URL('../src/index.js', import.meta.url).href;
  const script = `
    const { getRunningLoop } = await import(${JSON.stringify(index)});
    const loop = getRunningLoop();
    let lost;
    const done = new Promise((r) => (lost = r));
    const [t] = await loop.createConnection(() => ({ connectionLost: lost }), 'localhost', ${portOf(s.server)}, { ssl: true, family: 4 });
    console.log(t.getExtraInfo('peercert').subject.CN);
    t.close();
    await done;
  `;
  const dir = mkdtempSync(join(tmpdir(), 'protoloop-ssltrue-'));
  try {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.files.caCert },
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errOut = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (errOut += d));
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 0, errOut);
    assert.equal(out.trim(), 'localhost');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await until(() => s.recs[0]?.events.includes('lost') === true);
  await s.close();
});

test('startTls on a closing transport is an InvalidStateError', async () => {
  const s = await tlsServer();
  const [t, p] = await tlsConnect(portOf(s.server));
  t.close();
  await assert.rejects(
    loop.startTls(t, p, clientTls(), { serverHostname: 'localhost' }),
    InvalidStateError,
  );
  await p.lost;
  await s.close();
});
