/**
 * Leaks and load, bounded for `npm test` (the on-demand soak runs the same
 * drivers at 100,000 cycles and 10,000 connections: `npm run soak`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from './helpers/harness.js';
import { cycles, echoServer, holdConnections, snapshot } from './helpers/soak.js';

useHarness();

test('2,000 connect/echo/close cycles leave descriptors, handles and heap flat', async () => {
  const [server, port] = await echoServer();
  await cycles(port, 200); // warm up: JIT, pools
  const before = await snapshot();
  await cycles(port, 2000);
  const after = await snapshot();
  assert.ok(after.fds <= before.fds, `fds ${before.fds} -> ${after.fds}`);
  assert.ok(after.handles <= before.handles, `handles ${before.handles} -> ${after.handles}`);
  assert.ok(
    after.heapUsed - before.heapUsed < 4 * 1024 * 1024,
    `heap ${before.heapUsed} -> ${after.heapUsed}`,
  );
  server.close();
  await server.waitClosed();
});

test('1,000 concurrent connections held open and echoing', async () => {
  const [server, port] = await echoServer();
  const { transports, heapPerConn } = await holdConnections(port, 1000);
  assert.equal(transports.length, 1000);
  // Both ends live in this process: about 2 transports per connection.
  assert.ok(heapPerConn < 16 * 1024, `heap per connection ${heapPerConn}`);
  for (const t of transports) t.close();
  server.close();
  await server.waitClosed();
});
