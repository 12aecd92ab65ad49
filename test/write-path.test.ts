/**
 * Small writes go through the socket handle's own `writeBuffer`, from
 * `process.binding('stream_wrap')`, except where asking for that binding
 * prints a deprecation warning (`--pending-deprecation`): there they take
 * the `fs.writeSync` path and nothing is printed. Checked in fresh child
 * processes, since the choice is made once per process.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runChild } from './helpers/child.js';
import { useHarness } from './helpers/harness.js';

const child = fileURLToPath(new URL('./fixtures/write-path.js', import.meta.url));

async function run(
  execArgv: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ out: { write: string; intact: boolean }; err: string }> {
  const r = await runChild(child, {
    execArgv,
    env: { NODE_OPTIONS: '', NODE_PENDING_DEPRECATION: '', ...env },
  });
  return { out: JSON.parse(r.out.trim()), err: r.err };
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
