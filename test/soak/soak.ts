/**
 * The on-demand soak (`npm run soak`): 100,000 connect/echo/close cycles with
 * descriptors, handles and heap measured before and after, and 10,000
 * concurrent connections held open and echoing (the clients run in a child
 * process so that each process stays under its descriptor limit).
 *
 *   node build/test/soak/soak.js [cycles=100000] [connections=10000]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getRunningLoop, Protocol, type Transport } from '../../src/index.js';
import { cycles, echoServer, snapshot } from '../helpers/soak.js';

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

async function clients(port: number, n: number): Promise<void> {
  // Child: open n connections, echo once on each, report, wait for stdin to end.
  const loop = getRunningLoop();
  const ts: Transport[] = [];
  let echoed = 0;
  class Holder extends Protocol {
    override dataReceived() {
      echoed++;
    }
  }
  for (let i = 0; i < n; i++) {
    const [t] = await loop.createConnection(() => new Holder(), '127.0.0.1', port);
    t.write(Buffer.from('ping'));
    ts.push(t);
  }
  while (echoed < n) await new Promise((r) => setImmediate(r));
  console.log(`HELD ${n}`);
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
  for (const t of ts) t.close();
}

async function main(): Promise<void> {
  if (process.argv[2] === 'clients')
    return clients(Number(process.argv[3]), Number(process.argv[4]));
  const nCycles = Number(process.argv[2] ?? 100_000);
  const nConns = Number(process.argv[3] ?? 10_000);
  const [server, port] = await echoServer();

  await cycles(port, 1000);
  const before = await snapshot();
  const t0 = performance.now();
  await cycles(port, nCycles);
  const secs = (performance.now() - t0) / 1000;
  const after = await snapshot();
  console.log(
    `cycles: ${nCycles} connect/echo/close in ${secs.toFixed(1)} s (${Math.round(nCycles / secs)}/s)`,
  );
  console.log(`  fds ${before.fds} -> ${after.fds}, handles ${before.handles} -> ${after.handles}`);
  console.log(
    `  heap ${mib(before.heapUsed)} -> ${mib(after.heapUsed)}, rss ${mib(before.rss)} -> ${mib(after.rss)}`,
  );

  const base = await snapshot();
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), 'clients', String(port), String(nConns)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) =>
      d.toString().includes('HELD') ? resolve() : undefined,
    );
    child.on('exit', (code) => reject(new Error(`clients exited with ${code}`)));
  });
  const held = await snapshot();
  console.log(`connections: ${nConns} held open and echoed (server side in this process)`);
  console.log(
    `  fds ${base.fds} -> ${held.fds}, heap ${mib(base.heapUsed)} -> ${mib(held.heapUsed)} ` +
      `(${Math.round((held.heapUsed - base.heapUsed) / nConns)} B per connection), rss ${mib(held.rss)}`,
  );
  child.stdin!.end();
  await new Promise((r) => child.on('close', r));
  server.close();
  await server.waitClosed();
  const end = await snapshot();
  console.log(`after close: fds ${end.fds}, handles ${end.handles}, heap ${mib(end.heapUsed)}`);
}

await main();
