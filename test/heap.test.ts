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
import { hasExternalGcRegression } from '../src/transports/heap.js';
import { runChild } from './helpers/child.js';
import { useHarness } from './helpers/harness.js';

const child = fileURLToPath(new URL('./fixtures/heap-echo.js', import.meta.url));

interface EchoResult {
  state: string;
  faultsPerMessage: number;
  gcState: string;
  minorGcs: number;
  majorGcs: number;
  /** Bytes the pipe transport received (`pipe` mode only). */
  bytes?: number;
}

/** Run the echo child (bounded in time); resolves with its JSON line. */
async function run(
  env: NodeJS.ProcessEnv,
  execArgv: string[] = [],
  messages = 2000,
  via: 'regions' | 'sock' | 'pipe' = 'regions',
): Promise<EchoResult> {
  const args = ['102400', String(messages), ...(via === 'regions' ? [] : [via])];
  const { out } = await runChild(child, { args, env, execArgv });
  return JSON.parse(out.trim());
}

const line = Number(process.versions.node.split('.')[0]);

/**
 * What tuneExternalGc does on each line, pinned: Node 24 (V8 13.6) sets the
 * flag, the others need not. Every path (regions, 'data' chunks, pipes)
 * reaches it the same way.
 */
const GC_PATH: Record<number, string> = {
  20: 'not needed',
  22: 'not needed',
  24: 'done',
  26: 'not needed',
};

/** This line's pinned tuneExternalGc path; fails for a line not pinned yet. */
function pinnedPath(): string {
  assert.ok(line in GC_PATH, `Node ${line} is not pinned here: measure it and add it`);
  return GC_PATH[line]!;
}

/** The collections of a run, for assertion messages. */
const gcs = (r: EchoResult): string => `${r.majorGcs} mark-compacts, ${r.minorGcs} scavenges`;

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

describe('tuneExternalGc: young read buffers collected by scavenges on every Node line', () => {
  useHarness();

  test('the V8 version rule: 13.6 to 13.x only', () => {
    assert.equal(hasExternalGcRegression('11.3.244.8-node.33'), false);
    assert.equal(hasExternalGcRegression('12.4.254.21-node.57'), false);
    assert.equal(hasExternalGcRegression('13.5.212.10'), false);
    assert.equal(hasExternalGcRegression('13.6.233.17-node.63'), true);
    assert.equal(hasExternalGcRegression('13.10.1.1'), true);
    assert.equal(hasExternalGcRegression('14.6.202.34-node.40'), false);
    assert.equal(hasExternalGcRegression('garbage'), false);
  });

  test('which path this line takes, and scavenges, not mark-compacts, for 200 MiB of read regions', async () => {
    const r = await run({});
    assert.equal(r.gcState, pinnedPath());
    if (line === 26) {
      // Node 26's V8 also starts incremental marking for "external memory
      // pressure" here: 0 to 4 small mark-compacts (0.7-1.5 ms on a 7 MB
      // heap) per run on the benchmark machine. The accounting flag removes
      // them but gained nothing (A/B, 100 KiB echo: 45,948 vs 46,448 req/s),
      // so nothing is set; the young buffers still go to scavenges.
      assert.ok(r.minorGcs >= 2, gcs(r));
    } else {
      assert.ok(r.majorGcs <= 1, gcs(r));
    }
  });

  test("a socket passed in ('data' chunks): the same path, and Node's own read buffers profit too", async () => {
    // Here only protoloop's 'data' path sees large reads (the server is Node
    // net), so this fails unless that path calls tuneExternalGc as well.
    const r = await run({}, [], 2000, 'sock');
    assert.equal(r.state, 'done');
    assert.equal(r.gcState, pinnedPath());
    // Node 26's V8 still ends some of Node's own read buffers (the plain
    // server's) in a mark-compact: 1 or 2 over this half in 5 runs. The
    // other lines had none.
    if (line !== 26) {
      assert.ok(r.majorGcs <= 1, gcs(r));
    }
  });

  test("a subprocess's pipe ('readable' chunks of Node's own): the same path", async () => {
    // 1,000 MB from `head -c` through a pipe transport. Without this path's
    // call, Node 24 ran no scavenge and 7 mark-compacts over the counted
    // half (and took 16 % longer); with it, 15 scavenges and at most one.
    const r = await run({}, [], 10000, 'pipe');
    assert.equal(r.bytes, 102400 * 10000);
    assert.equal(r.state, 'done');
    assert.equal(r.gcState, pinnedPath());
    // Node 26's V8 ends Node's pipe buffers in 3 to 8 mark-compacts here,
    // with or without the accounting flag or other semi-space sizes (no V8
    // flag of that line changed it), so nothing is asserted there.
    if (line !== 26) {
      assert.ok(r.majorGcs <= 1, gcs(r));
    }
  });

  test('the control: with V8 13.6 young-generation sizing, or the flag off, they go to mark-compacts', async () => {
    const CAPACITY_32 = '--scavenger-max-new-space-capacity-mb=32';
    const FLAG_OFF = '--no-external-memory-accounted-in-global-limit';
    if (line === 20) {
      // V8 11 has neither knob (so neither the regression nor the fix).
      await assert.rejects(run({}, [CAPACITY_32]), /bad option/);
    } else if (line === 22) {
      // Node 22 given Node 24's default young-generation capacity regresses the same way.
      const r = await run({}, [CAPACITY_32], 4000);
      assert.ok(r.majorGcs >= 2, gcs(r));
    } else if (line === 24) {
      // The user keeps V8 13.6's default: tuneExternalGc stands aside.
      const r = await run({}, [CAPACITY_32], 4000);
      assert.equal(r.gcState, 'skipped');
      assert.ok(r.majorGcs >= 2, gcs(r));
    } else if (line === 26) {
      // V8 14 scavenges young buffers again without the flag (7-8 scavenges
      // here, where Node 24 with V8 13.6's default runs none). It may also
      // run small mark-compacts for external memory pressure: 0 to 7 in 8
      // runs on the benchmark machine of 2026-12-07, so they are not bounded.
      const r = await run({}, [FLAG_OFF], 4000);
      assert.equal(r.gcState, 'not needed');
      assert.ok(r.minorGcs >= 2, gcs(r));
    } else {
      assert.fail(`Node ${line} is not pinned here: measure it and add it`);
    }
  });
});
