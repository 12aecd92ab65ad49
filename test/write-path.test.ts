/**
 * Small writes go through the socket handle's own `writeBuffer`, from
 * `process.binding('stream_wrap')`, except where asking for that binding
 * prints a deprecation warning (`--pending-deprecation`): there they take
 * the `fs.writeSync` path and nothing is printed. Checked in fresh child
 * processes, since the choice is made once per process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { useHarness } from './helpers/harness.js';

const child = fileURLToPath(new URL('./fixtures/write-path.js', import.meta.url));

function run(
  execArgv: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ out: { write: string; intact: boolean }; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...execArgv, child], {
      env: { ...process.env, NODE_OPTIONS: '', NODE_PENDING_DEPRECATION: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`write-path exited with ${code}: ${err}`));
      else resolve({ out: JSON.parse(out.trim()), err });
    });
  });
}

describe('the small-write path, per process', () => {
  useHarness();

  test('by default: the handle path, no warning', async () => {
    const r = await run([]);
    assert.deepEqual(r.out, { write: 'handle', intact: true });
    assert.doesNotMatch(r.err, /DeprecationWarning/);
  });

  test('--pending-deprecation: the fs.writeSync path, no warning', async () => {
    const r = await run(['--pending-deprecation']);
    assert.deepEqual(r.out, { write: 'direct', intact: true });
    assert.doesNotMatch(r.err, /DeprecationWarning/);
  });

  test('NODE_PENDING_DEPRECATION=1: the fs.writeSync path, no warning', async () => {
    const r = await run([], { NODE_PENDING_DEPRECATION: '1' });
    assert.deepEqual(r.out, { write: 'direct', intact: true });
    assert.doesNotMatch(r.err, /DeprecationWarning/);
  });
});
