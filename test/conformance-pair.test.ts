/**
 * The stream conformance suite over the in-memory transport pair
 * (`protoloop/testing`): the same scenarios as TCP.
 */
import { createTransportPair } from '../src/testing/index.js';
import { streamConformance } from './conformance/stream.js';
import { until } from './helpers/harness.js';

streamConformance(
  'in-memory transport pair (createTransportPair)',
  async (makeA, makeB) => {
    const a = makeA();
    const b = makeB();
    createTransportPair(a, b);
    await until(() => b.events.length > 0, 'connectionMade on both sides');
    return { a, b, dispose: async () => {} };
  },
  { writeEof: true, backpressure: true },
);
