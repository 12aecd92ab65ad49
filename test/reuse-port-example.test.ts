/**
 * examples/reuse-port.ts, the every-core recipe with `reusePort`, run for
 * real on every Node.js line: where `listen({ reusePort })` exists (22.12+,
 * 23.1+), worker processes each listen on one shared port and the kernel
 * spreads the connections; where it does not (Node 20), the same calls
 * reject with protoloop's TypeError and the demo says what it needs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startReusePort } from '../examples/reuse-port.js';
import { getRunningLoop, Protocol, type Server, type Transport } from '../src/index.js';
import { nodeHasReusePort } from '../src/server.js';
import { useHarness } from './helpers/harness.js';
import { portOf } from './helpers/net.js';

const example = fileURLToPath(new URL('../examples/reuse-port.js', import.meta.url));
const loop = getRunningLoop();
const has = nodeHasReusePort();
const unsupported = {
  name: 'TypeError',
  message: new RegExp(
    `^reusePort is not supported by Node\\.js ${process.version.replace(/\./g, '\\.')} \\(it needs 22\\.12\\+ or 23\\.1\\+\\)$`,
  ),
};

/** Open `n` connections to `port`, 8 at a time, each echoing a short message; resolves once all closed. */
async function echoClients(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, n - i) }, async (_, j) => {
        const message = `hello ${i + j}`;
        const echoed = loop.createFuture<string>();
        const lost = loop.createFuture<void>();
        let got = '';
        class Client extends Protocol {
          override connectionMade(t: Transport): void {
            t.write(Buffer.from(message));
          }
          override dataReceived(data: Buffer): void {
            got += data.toString();
            if (got.length >= message.length && !echoed.done()) echoed.setResult(got);
          }
          override connectionLost(exc: Error | null): void {
            if (!echoed.done()) echoed.setException(exc ?? new Error('closed before the echo'));
            lost.setResult();
          }
        }
        const [t] = await loop.createConnection(() => new Client(), '127.0.0.1', port);
        assert.equal(await echoed, message);
        t.close();
        await lost;
      }),
    );
  }
}

/** Run the demo, `node example`; resolves with its exit code and output (killed after 30 s). */
function runDemo(): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [example], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe(`examples/reuse-port.ts (every core with reusePort; ${has ? 'supported' : 'not supported'} by Node.js ${process.version})`, () => {
  useHarness();

  test(`startReusePort ${has ? 'spreads 64 connections over 2 workers on one port and stops every process' : 'rejects with the TypeError of this Node.js, leaving no worker behind'}`, async () => {
    if (!has) {
      // The worker's createServer rejects; the primary rethrows it and ends
      // the worker (the harness checks no child process stays open).
      await assert.rejects(startReusePort(2), unsupported);
      return;
    }
    const r = await startReusePort(2);
    // Bound the workers' lifetime whatever happens below.
    const timer = setTimeout(() => {
      for (const pid of r.pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }, 30_000);
    let reports: Array<{ pid: number; served: number }>;
    try {
      assert.equal(r.pids.length, 2);
      assert.notEqual(r.pids[0], r.pids[1]);
      assert.ok(r.port > 0);
      await echoClients(r.port, 64);
    } finally {
      reports = await r.stop();
      clearTimeout(timer);
    }
    assert.deepEqual(
      reports.map((w) => w.pid),
      r.pids,
    );
    for (const w of reports)
      assert.ok(w.served > 0, `worker ${w.pid} served none: ${JSON.stringify(reports)}`);
    assert.equal(
      reports.reduce((a, w) => a + w.served, 0),
      64,
      JSON.stringify(reports),
    );
    for (const pid of r.pids) {
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} still running`);
    }
  });

  test(`reusePort ${has ? 'shares a port: two servers in one process bind it, one without reusePort gets EADDRINUSE' : 'does not exist on this Node.js: createServer rejects with a TypeError'}`, async () => {
    if (!has) {
      await assert.rejects(
        loop.createServer(() => new Protocol(), '127.0.0.1', 0, { reusePort: true }),
        unsupported,
      );
      return;
    }
    const served = [0, 0];
    const servers: Server[] = [];
    const echo = (i: number) => () => {
      served[i]!++;
      let t: Transport;
      return new (class extends Protocol {
        override connectionMade(tr: Transport) {
          t = tr;
        }
        override dataReceived(d: Buffer) {
          t.write(d);
        }
      })();
    };
    try {
      servers.push(await loop.createServer(echo(0), '127.0.0.1', 0, { reusePort: true }));
      const port = portOf(servers[0]!);
      servers.push(await loop.createServer(echo(1), '127.0.0.1', port, { reusePort: true }));
      assert.equal(portOf(servers[1]!), port);
      await assert.rejects(
        loop.createServer(() => new Protocol(), '127.0.0.1', port),
        {
          code: 'EADDRINUSE',
        },
      );
      // Both sockets take connections: the kernel spreads them.
      await echoClients(port, 64);
      assert.ok(served[0]! > 0 && served[1]! > 0, `served ${served.join(' + ')}`);
      assert.equal(served[0]! + served[1]!, 64);
    } finally {
      for (const s of servers) s.close();
      await Promise.all(servers.map((s) => s.waitClosed()));
    }
  });

  test(`the demo ${has ? 'prints what each worker served' : 'says it needs Node.js 22.12+ and exits 0'}`, async () => {
    const { code, out, err } = await runDemo();
    assert.equal(code, 0, err);
    if (!has) {
      assert.match(out, /needs Node\.js 22\.12\+ or 23\.1\+/);
      assert.match(out, /reusePort is not supported by Node\.js v/);
      return;
    }
    assert.match(out, /2 workers \(pids \d+, \d+\) each listen on 127\.0\.0\.1:\d+ with reusePort/);
    assert.match(out, /echoed: 32 of 32 messages/);
    const m = /connections per worker: (\d+) \+ (\d+) = 32 /.exec(out);
    assert.ok(m, out);
    assert.equal(Number(m[1]) + Number(m[2]), 32);
  });
});
