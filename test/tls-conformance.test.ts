/**
 * The stream conformance suite over TLS: protoloop client and server over
 * TCP and over Unix sockets, accepted sockets (connectAcceptedSocket), and
 * connections upgraded with startTls(). TLS has no half-close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRunningLoop, type Transport } from '../src/index.js';
import { serverPair, streamConformance } from './conformance/stream.js';
import { clientTls, serverTls } from './helpers/certs.js';
import { until } from './helpers/harness.js';
import { portOf } from './helpers/net.js';

const loop = getRunningLoop();
const caps = { writeEof: false, backpressure: true };

streamConformance(
  'TLS over TCP (protoloop client and server)',
  (makeA, makeB) =>
    serverPair(
      makeA,
      makeB,
      (f) => loop.createServer(f, '127.0.0.1', 0, { ssl: serverTls() }),
      (server, f) =>
        loop.createConnection(f, 'localhost', portOf(server), { ssl: clientTls(), family: 4 }),
    ),
  caps,
);

streamConformance(
  'TLS over Unix sockets',
  async (makeA, makeB) => {
    const dir = mkdtempSync(join(tmpdir(), 'protoloop-tls-'));
    const path = join(dir, 'sock');
    const p = await serverPair(
      makeA,
      makeB,
      (f) => loop.createUnixServer(f, path, { ssl: serverTls() }),
      (_server, f) =>
        loop.createUnixConnection(f, path, { ssl: clientTls(), serverHostname: 'localhost' }),
    );
    const dispose = p.dispose;
    p.dispose = async () => {
      await dispose();
      rmSync(dir, { recursive: true, force: true });
    };
    return p;
  },
  caps,
);

streamConformance(
  'TLS over existing sockets (sock and connectAcceptedSocket)',
  async (makeA, makeB) => {
    const srv = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const raw = net.connect({
      port: (srv.address() as net.AddressInfo).port,
      host: '127.0.0.1',
      allowHalfOpen: true,
    });
    const server = loop.connectAcceptedSocket(makeB, await accepted, { ssl: serverTls() });
    const [, a] = await loop.createConnection(makeA, null, null, {
      sock: raw,
      ssl: clientTls(),
      serverHostname: 'localhost',
    });
    const [, b] = await server;
    srv.close();
    return { a, b, dispose: async () => {} };
  },
  caps,
);

/** A plain connection whose two ends upgrade with startTls() before the suite runs. */
streamConformance(
  'TLS after startTls() on a plain TCP connection',
  async (makeA, makeB) => {
    let plainB: Transport | null = null;
    const server = await loop.createServer(
      () => ({ connectionMade: (t: Transport) => void (plainB = t) }),
      '127.0.0.1',
      0,
    );
    const [plainA] = await loop.createConnection(() => ({}), '127.0.0.1', portOf(server));
    await until(() => plainB !== null, 'server connection');
    const a = makeA();
    const b = makeB();
    const [ta, tb] = await Promise.all([
      loop.startTls(plainA, a, clientTls(), { serverHostname: 'localhost' }),
      loop.startTls(plainB!, b, serverTls(), { serverSide: true }),
    ]);
    // The recorders join as if made on the TLS transports.
    a.connectionMade(ta);
    b.connectionMade(tb);
    return {
      a,
      b,
      dispose: async () => {
        server.close();
        await server.waitClosed();
      },
    };
  },
  caps,
);
