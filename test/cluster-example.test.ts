/**
 * examples/cluster.ts, the every-core recipe, run for real: the demo (two
 * workers behind one port) and the `serve` mode the benchmark uses.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getRunningLoop, Protocol, type Transport } from '../src/index.js';
import { useHarness } from './helpers/harness.js';

const example = fileURLToPath(new URL('../examples/cluster.js', import.meta.url));
const loop = getRunningLoop();

/** Run `node example ...args`; resolves with its exit code and output (bounded in time). */
function run(
  args: string[],
  onLine?: (line: string, kill: (sig: NodeJS.Signals) => void) => void,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [example, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let pending = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      pending += d;
      let i: number;
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        onLine?.(line, (sig) => child.kill(sig));
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('examples/cluster.ts (every core with node:cluster)', () => {
  useHarness();

  test('the demo: two workers share one port and serve every connection', async () => {
    const { code, out, err } = await run([]);
    assert.equal(code, 0, err);
    assert.match(out, /2 workers listening on 127\.0\.0\.1:\d+/);
    assert.match(out, /echoed: 8 of 8 messages/);
    const m = /connections per worker: (\d+) \+ (\d+) = 8;/.exec(out);
    assert.ok(m, out);
  });

  test('serve mode: prints the worker pids, echoes, and stops every process on SIGTERM', async () => {
    let echoed = '';
    let pids: number[] = [];
    const { code, err } = await run(['serve', '0', '2', '20'], (line, kill) => {
      const info = JSON.parse(line) as { port: number; pids: number[] };
      pids = info.pids;
      void (async () => {
        const done = loop.createFuture<void>();
        class Client extends Protocol {
          override connectionMade(t: Transport) {
            t.write(Buffer.from('ping'));
          }
          override dataReceived(d: Buffer) {
            echoed += d.toString();
            if (echoed.length >= 4) done.setResult();
          }
        }
        const [t] = await loop.createConnection(() => new Client(), '127.0.0.1', info.port);
        await done;
        t.close();
        kill('SIGTERM');
      })();
    });
    assert.equal(code, 0, err);
    assert.equal(echoed, 'ping');
    assert.equal(pids.length, 2);
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} still running`);
    }
  });
});
