/**
 * The paths that rest on Node internals, pinned per Node.js line. `.ci/run`
 * runs the suite on the machine's Node and on Node 22, 24 and 26; on each,
 * this file asserts which path protoloop actually takes, so that a line whose
 * internals changed fails the build instead of silently falling back to a
 * slower path. A line not in the table fails too: add it once it is tested.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type * as tls from 'node:tls';
import { getRunningLoop, type Transport } from '../src/index.js';
import { lastAcceptPath, nodeHasReusePort } from '../src/server.js';
import type { StreamTransport } from '../src/transports/stream.js';
import { certs, clientTls, serverTls } from './helpers/certs.js';
import { until, useHarness } from './helpers/harness.js';
import { portOf, recording } from './helpers/net.js';

useHarness();
const loop = getRunningLoop();

interface LinePaths {
  /** How an accepted TCP or Unix connection is set up to read (server.ts adoptAccepted). */
  accept: 'in-place' | 'rewrap' | 'data';
  /** Whether `listen({ reusePort })` exists (22.12+, 23.1+). */
  reusePort: boolean;
}

/** Every tested line takes the fast paths; only reusePort differs. */
const EXPECTED: Record<number, LinePaths> = {
  20: { accept: 'in-place', reusePort: false },
  22: { accept: 'in-place', reusePort: true },
  24: { accept: 'in-place', reusePort: true },
  26: { accept: 'in-place', reusePort: true },
};

const major = Number(process.versions.node.split('.')[0]);
const expected = EXPECTED[major];
const paths = (t: Transport) => (t as unknown as StreamTransport)._paths();

describe(`Node ${process.version}: the paths on Node internals`, () => {
  test('this Node line is one the table knows', () => {
    assert.ok(
      expected !== undefined,
      `Node ${process.version} is not a tested line: add it to EXPECTED once the suite passes on it`,
    );
  });
  if (expected === undefined) return;

  test(`accepted TCP connections: ${expected.accept} onread, handle writes, exact unsent count`, async () => {
    const { factory, recs } = recording();
    const server = await loop.createServer(factory, '127.0.0.1', 0);
    const [client] = await loop.createConnection(recording().factory, '127.0.0.1', portOf(server));
    await until(() => recs.length === 1, 'accept');
    assert.equal(lastAcceptPath, expected.accept);
    const accepted = recs[0]!.transport;
    assert.deepEqual(paths(accepted), { read: 'onread', write: 'handle', count: 'writeQueueSize' });
    // Client connections pass onread to net.connect (public API): same paths.
    assert.deepEqual(paths(client), { read: 'onread', write: 'handle', count: 'writeQueueSize' });
    client.close();
    await recs[0]!.lost;
    server.close();
    await server.waitClosed();
  });

  test(`accepted Unix connections: ${expected.accept} onread, handle writes`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protoloop-lines-'));
    const path = join(dir, 's');
    const { factory, recs } = recording();
    const server = await loop.createUnixServer(factory, path);
    const [client] = await loop.createUnixConnection(recording().factory, path);
    await until(() => recs.length === 1, 'accept');
    assert.equal(lastAcceptPath, expected.accept);
    assert.deepEqual(paths(recs[0]!.transport), {
      read: 'onread',
      write: 'handle',
      count: 'writeQueueSize',
    });
    assert.deepEqual(paths(client), { read: 'onread', write: 'handle', count: 'writeQueueSize' });
    client.close();
    await recs[0]!.lost;
    server.close();
    await server.waitClosed();
    rmSync(dir, { recursive: true, force: true });
  });

  test('TLS: writes through the TLSSocket, the count at application level, verifyError on the handle', async () => {
    const { factory, recs } = recording();
    const server = await loop.createServer(factory, '127.0.0.1', 0, {
      ssl: serverTls({ requestCert: true, ca: certs.ca }),
    });
    const [client] = await loop.createConnection(recording().factory, '127.0.0.1', portOf(server), {
      ssl: clientTls({ key: certs.clientKey, cert: certs.clientCert }),
      serverHostname: 'localhost',
    });
    await until(() => recs[0]?.transport !== undefined, 'handshake');
    const sock = recs[0]!.transport.getExtraInfo('socket') as tls.TLSSocket;
    // tls.ts verifyClient() asks the handle for the client certificate's verdict.
    assert.equal(typeof (sock as any)._handle?.verifyError, 'function');
    assert.equal((sock as tls.TLSSocket).authorized, true);
    assert.deepEqual(paths(recs[0]!.transport), {
      read: 'data',
      write: 'socket',
      count: 'writableLength',
    });
    client.close();
    await recs[0]!.lost;
    server.close();
    await server.waitClosed();
  });

  test(`listen({ reusePort }) ${expected.reusePort ? 'exists' : 'does not exist'} on this line`, () => {
    assert.equal(nodeHasReusePort(), expected.reusePort);
  });

  test("a user's own socket keeps 'data' events (no internals touched)", async () => {
    const { factory, recs } = recording();
    const server = await loop.createServer(factory, '127.0.0.1', 0);
    const sock = net.connect({ port: portOf(server), host: '127.0.0.1' });
    const [t] = await loop.createConnection(recording().factory, null, null, { sock });
    assert.deepEqual(paths(t), { read: 'data', write: 'handle', count: 'writeQueueSize' });
    t.close();
    await until(() => recs.length === 1, 'accept');
    await recs[0]!.lost;
    server.close();
    await server.waitClosed();
  });
});
