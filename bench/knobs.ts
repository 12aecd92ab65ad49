/**
 * What the benchmarks share: reading a numeric knob from the environment,
 * and picking the Node.js binary that runs the servers.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The environment's `name` as a positive integer, or `dflt` when unset. */
export function positiveInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return n;
}

/**
 * The Node.js that runs the servers: `--node PATH` (or `--node 24`, a line
 * that .ci/node-line installs), else $PROTOLOOP_BENCH_NODE, else this one.
 */
export function pickNode(): string {
  const i = process.argv.indexOf('--node');
  const want = i >= 0 ? process.argv[i + 1] : process.env.PROTOLOOP_BENCH_NODE;
  if (i >= 0 && (want === undefined || want === '')) throw new TypeError('--node needs a value');
  if (want === undefined || want === '') return process.execPath;
  if (/^\d+$/.test(want)) {
    const bin = execFileSync('bash', [join(ROOT, '.ci/node-line'), want], { encoding: 'utf8' });
    return join(bin.trim(), 'node');
  }
  if (!fs.existsSync(want)) throw new TypeError(`--node: no such file: ${want}`);
  return resolve(want);
}
