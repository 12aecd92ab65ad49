/** Property-based fuzzing of the stream transport over real TCP connections. */
import type * as net from 'node:net';
import { getRunningLoop } from '../src/index.js';
import { fuzzStreamTransport } from './conformance/fuzz.js';
import { useHarness } from './helpers/harness.js';
import type { Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();
useHarness();

fuzzStreamTransport(
  'TCP',
  async (makeA, makeB) => {
    let b: Recorder | null = null;
    const server = await loop.createServer(() => (b = makeB()), '127.0.0.1', 0);
    const port = (server.sockets[0]!.address() as net.AddressInfo).port;
    const [, a] = await loop.createConnection(makeA, '127.0.0.1', port);
    while (b === null || (b as Recorder).events.length === 0)
      await new Promise((r) => setImmediate(r));
    server.close();
    return { a, b: b as Recorder, dispose: () => server.waitClosed() };
  },
  Number(process.env.FUZZ_RUNS ?? 60),
);
