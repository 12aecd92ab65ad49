/**
 * The stream conformance suite over real sockets: TCP on loopback, Unix
 * sockets, sockets accepted outside protoloop (connectAcceptedSocket) and
 * socketpair().
 */

import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRunningLoop, socketpair } from '../src/index.js';
import { serverPair, streamConformance } from './conformance/stream.js';
import { portOf } from './helpers/net.js';

const loop = getRunningLoop();

streamConformance(
  'TCP (protoloop client and server)',
  (makeA, makeB) =>
    serverPair(
      makeA,
      makeB,
      (f) => loop.createServer(f, '127.0.0.1', 0),
      (server, f) => loop.createConnection(f, '127.0.0.1', portOf(server)),
    ),
  { writeEof: true, backpressure: true },
);

streamConformance(
  'Unix sockets',
  async (makeA, makeB) => {
    const dir = mkdtempSync(join(tmpdir(), 'protoloop-test-'));
    const path = join(dir, 'sock');
    const p = await serverPair(
      makeA,
      makeB,
      (f) => loop.createUnixServer(f, path),
      (_server, f) => loop.createUnixConnection(f, path),
    );
    const dispose = p.dispose;
    p.dispose = async () => {
      await dispose();
      rmSync(dir, { recursive: true, force: true });
    };
    return p;
  },
  { writeEof: true, backpressure: true },
);

streamConformance(
  'accepted sockets (connectAcceptedSocket) and existing sockets (sock)',
  async (makeA, makeB) => {
    const srv = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const raw = net.connect({
      port: (srv.address() as net.AddressInfo).port,
      host: '127.0.0.1',
      allowHalfOpen: true,
    });
    const [, a] = await loop.createConnection(makeA, null, null, { sock: raw });
    const [, b] = await loop.connectAcceptedSocket(makeB, await accepted);
    srv.close();
    return { a, b, dispose: async () => {} };
  },
  { writeEof: true, backpressure: true },
);

streamConformance(
  'socketpair()',
  async (makeA, makeB) => {
    const [s1, s2] = await socketpair();
    const [, a] = await loop.createUnixConnection(makeA, null, { sock: s1 });
    const [, b] = await loop.connectAcceptedSocket(makeB, s2);
    return { a, b, dispose: async () => {} };
  },
  { writeEof: true, backpressure: true },
);
