/**
 * The fuzz property of test/conformance/fuzz.ts over more stream
 * transports: the in-memory pair (deterministic: the stricter property, no
 * kernel caveats), Unix sockets, and TLS (which cannot half-close: the
 * property checks that writeEof() throws and winds down without it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRunningLoop, type Server } from '../src/index.js';
import { createTransportPair } from '../src/testing/index.js';
import { fuzzStreamTransport } from './conformance/fuzz.js';
import type { StreamPair } from './conformance/stream.js';
import { clientTls, serverTls } from './helpers/certs.js';
import { until, useHarness } from './helpers/harness.js';
import type { Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();
useHarness();
const runs = Number(process.env.FUZZ_RUNS ?? 60);

/** A connected pair through a server that is closed once the pair exists. */
async function throughServer(
  makeB: () => Recorder,
  listen: (factory: () => Recorder) => Promise<Server>,
  connect: (server: Server) => Promise<[unknown, Recorder]>,
): Promise<StreamPair> {
  let b: Recorder | null = null;
  const server = await listen(() => (b = makeB()));
  const [, a] = await connect(server);
  await until(() => b !== null && b.events.length > 0, 'server connectionMade');
  server.close();
  return { a, b: b!, dispose: () => server.waitClosed() };
}

// Capacities from small (most writes queue: flow control all the time; one
// read per turn bounds how small, for the wind-down's turn budget) to
// unbounded (nothing ever queues), in turn.
const capacities = [509, 4096, 64 * 1024, Number.POSITIVE_INFINITY];
let pairs = 0;
fuzzStreamTransport(
  'in-memory pair (createTransportPair)',
  async (makeA, makeB) => {
    const a = makeA();
    const b = makeB();
    createTransportPair(a, b, { capacity: capacities[pairs++ % capacities.length]! });
    await until(() => b.events.length > 0, 'connectionMade on both sides');
    return { a, b, dispose: async () => {} };
  },
  runs,
  { writeEof: true, deterministic: true },
);

fuzzStreamTransport(
  'Unix sockets',
  async (makeA, makeB) => {
    const dir = mkdtempSync(join(tmpdir(), 'protoloop-fuzz-'));
    const path = join(dir, 'sock');
    const p = await throughServer(
      makeB,
      (f) => loop.createUnixServer(f, path),
      () => loop.createUnixConnection(makeA, path),
    );
    const dispose = p.dispose;
    p.dispose = async () => {
      await dispose();
      rmSync(dir, { recursive: true, force: true });
    };
    return p;
  },
  runs,
);

const serverSsl = serverTls();
const clientSsl = clientTls();
fuzzStreamTransport(
  'TLS over TCP',
  (makeA, makeB) =>
    throughServer(
      makeB,
      (f) => loop.createServer(f, '127.0.0.1', 0, { ssl: serverSsl }),
      (server) =>
        loop.createConnection(
          makeA,
          '127.0.0.1',
          (server.sockets[0]!.address() as net.AddressInfo).port,
          { ssl: clientSsl, serverHostname: 'localhost' },
        ),
    ),
  runs,
  { writeEof: false, deterministic: false },
);
