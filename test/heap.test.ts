/**
 * warmHeap() (src/transports/heap.ts): owned read regions come from pages
 * that stay mapped. Measured in fresh child processes (the thresholds it
 * raises are per process), by the kernel's own count of minor page faults
 * while 100 KiB messages go back and forth through `Protocol`s, with
 * glibc's default trimming as the control.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runChild } from './helpers/child.js';
import { useHarness } from './helpers/harness.js';

const child = fileURLToPath(new URL('./fixtures/heap-echo.js', import.meta.url));

/** Run the echo child (bounded in time); resolves with its JSON line. */
async function run(env: NodeJS.ProcessEnv): Promise<{ state: string; faultsPerMessage: number }> {
  const { out } = await runChild(child, { args: ['102400', '2000'], env });
  return JSON.parse(out.trim());
}

describe('warmHeap: owned regions on pages that stay mapped', () => {
  useHarness();

  test('on: well under one page fault per 100 KiB message (each message is 25 pages, read twice)', async () => {
    const r = await run({ GLIBC_TUNABLES: '' });
    assert.equal(r.state, 'done');
    assert.ok(r.faultsPerMessage < 5, `${r.faultsPerMessage} minor faults per message`);
  });

  test('off (GLIBC_TUNABLES sets a malloc tunable): glibc trims, and every region page faults again', async () => {
    // The control: glibc's default trim threshold. If this stops faulting,
    // glibc no longer trims this way and warmHeap() has nothing to fix.
    const r = await run({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=131072' });
    assert.equal(r.state, 'skipped');
    assert.ok(r.faultsPerMessage > 20, `${r.faultsPerMessage} minor faults per message`);
  });
});
