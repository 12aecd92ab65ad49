/**
 * The memory probe shared by the bench servers. With `BENCH_CONTROL=1` in the
 * environment a server reads commands from stdin, one per line:
 *
 * - `mem`: collect garbage (the server runs with `--expose-gc`) and print one
 *   JSON line with `process.memoryUsage()` and the number of open connections.
 *
 * It prints `{"ready":true}` once installed (after the server listens).
 * Anything else is ignored; the server stays bounded by its own MAX_SECONDS
 * timer (its `unref`ed timer does not wait for stdin: process.exit).
 */
import { createInterface } from 'node:readline';

/** Install the probe when the orchestrator asked for it; `conns()` counts open connections. */
export function installControl(conns: () => number): void {
  if (process.env.BENCH_CONTROL !== '1') return;
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() !== 'mem') return;
    void measure(conns).then((m) => process.stdout.write(`${JSON.stringify(m)}\n`));
  });
  process.stdout.write('{"ready":true}\n');
}

async function measure(conns: () => number): Promise<Record<string, number>> {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Several full collections, with turns in between so that weak callbacks
  // and freed backing stores settle.
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return {
    conns: conns(),
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

/** `PORT MAX_SECONDS` from the command line, as the yardstick's servers take them. */
export function portAndLifetime(argv: string[]): { port: number; maxS: number } {
  const port = Number(argv[0]);
  const maxS = Number(argv[1] ?? 600);
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new RangeError(`bad port ${argv[0]}`);
  return { port, maxS };
}
