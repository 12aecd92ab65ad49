/**
 * The HTTP server benchmark: the example server (examples/http-server.ts,
 * `HttpServerProtocol`) against Node's own `node:http`, both answering
 * `hello world` with the same response bytes, under `wrk`.
 *
 *   npm run build && npm run build:dev && node build/bench/http.js
 *   ROUNDS=5 DURATION=10 node build/bench/http.js
 *   node build/bench/http.js --node 24       # the servers on Node 24 (.ci/node-line installs it)
 *
 * Method: each round starts, for each server in turn (interleaved, so
 * slow drifts of the machine hit both alike), a fresh server process pinned
 * to CPU $SERVER_CPU (`taskset`); one untimed `wrk` run of $WARMUP seconds
 * (JIT warm-up), then `wrk -t1 -c$CONNS -d${DURATION}s` pinned to CPU
 * $CLIENT_CPU. Reported: the median req/s over the rounds, min–max, the
 * ratio to node:http's median, and the server's CPU time per request
 * (utime + stime from /proc/PID/stat around the timed run, divided by the
 * requests wrk counted).
 *
 * The two servers send the same bytes: `HTTP/1.1 200 OK`, `Date`,
 * `Content-Length: 11`, `Connection: keep-alive`, `Keep-Alive: timeout=5`
 * (what node:http adds on its own; the protoloop handler adds the last two
 * as headers), and `hello world`; the report says the sizes it saw.
 *
 * Knobs (environment): ROUNDS (3), DURATION (5), WARMUP (1), CONNS (50),
 * SERVER_CPU (0), CLIENT_CPU (1), PROTOLOOP_BENCH_NODE (the Node binary that
 * runs the servers; `--node PATH|MAJOR` does the same).
 *
 * `runHttpBench()` returns the Markdown.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { startHttpServer } from '../examples/http-server.js';
import { positiveInt as num, pickNode } from './knobs.js';

const HERE = fileURLToPath(import.meta.url);

/** The servers compared, in table order. */
const SERVERS = ['protoloop HttpServerProtocol', 'node:http'] as const;
type ServerName = (typeof SERVERS)[number];
const MODE: Record<ServerName, string> = {
  'protoloop HttpServerProtocol': 'protoloop',
  'node:http': 'node',
};

/** Options of {@link runHttpBench}; the environment's knobs by default. */
export interface HttpBenchOptions {
  rounds?: number;
  duration?: number;
  warmup?: number;
  conns?: number;
  serverCpu?: string;
  clientCpu?: string;
  /** The Node binary that runs the servers. */
  node?: string;
  /** Called with a line of progress per run (default: stdout). */
  log?: (line: string) => void;
}

/** Run a command pinned to `cpu`; resolves with its stdout (rejects on a non-zero exit). */
function runPinned(cpu: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', cpu, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out);
      else
        reject(
          new Error(`${argv.join(' ')} exited ${signal ?? code}: ${err.trim().slice(0, 500)}`),
        );
    });
  });
}

/** A server process pinned to `cpu`; resolves once it printed its port. */
function startServer(
  node: string,
  cpu: string,
  mode: string,
): Promise<{ pid: number; port: number; stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    // taskset execs node: the child's pid is the server's (for /proc/PID/stat).
    const child = spawn('taskset', ['-c', cpu, node, HERE, 'server', mode], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    const closed = new Promise<void>((r) => child.once('close', () => r()));
    child.once('error', reject);
    child.once('close', (code) =>
      reject(new Error(`${mode} server exited (${code}) before ready`)),
    );
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /^port (\d+)$/m.exec(out);
      if (m === null) return;
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({
        pid: child.pid!,
        port: Number(m[1]),
        stop: async () => {
          child.stdin.end(); // the server exits when its stdin closes
          await closed;
        },
      });
    });
  });
}

/** The server's CPU time so far (user + system), seconds, from /proc/PID/stat. */
function cpuSeconds(pid: number, tick: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which is in parentheses and may hold spaces).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / tick; // utime, stime: fields 14 and 15
}

/** wrk's summary: requests, req/s, and whether anything went wrong. */
function parseWrk(out: string): { requests: number; rps: number } {
  const req = /(\d+) requests in/.exec(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (req === null || rps === null) throw new Error(`cannot read wrk's output:\n${out}`);
  if (/Non-2xx or 3xx responses/.test(out) || /Socket errors/.test(out))
    throw new Error(`wrk saw errors:\n${out}`);
  return { requests: Number(req[1]), rps: Number(rps[1]) };
}

/** One raw request; resolves with the whole response (the server closes: Connection: close is not sent, so read one). */
function probe(port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () =>
      s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    );
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.subarray(got.length - 11).toString() === 'hello world') {
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Run {
  rps: number;
  usPerReq: number;
}

/** Run the benchmark; resolves with the Markdown report (also logged). */
export async function runHttpBench(options: HttpBenchOptions = {}): Promise<string> {
  const rounds = options.rounds ?? num('ROUNDS', 3);
  const duration = options.duration ?? num('DURATION', 5);
  const warmup = options.warmup ?? num('WARMUP', 1);
  const conns = options.conns ?? num('CONNS', 50);
  const serverCpu = options.serverCpu ?? process.env.SERVER_CPU ?? '0';
  const clientCpu = options.clientCpu ?? process.env.CLIENT_CPU ?? '1';
  const node = options.node ?? pickNode();
  const log = options.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  for (const [tool, pkg] of [
    ['wrk', 'wrk'],
    ['taskset', 'util-linux'],
  ]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0)
      throw new Error(`${tool} is not on the PATH (apt-get install ${pkg})`);
  }
  const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const wrkVersion = (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout ?? '').split(' ')[1];

  const results = new Map<ServerName, Run[]>(SERVERS.map((s) => [s, []]));
  const sizes = new Map<ServerName, number>();
  for (let round = 1; round <= rounds; round++) {
    for (const name of SERVERS) {
      const srv = await startServer(node, serverCpu, MODE[name]);
      try {
        const url = `http://127.0.0.1:${srv.port}/`;
        if (!sizes.has(name)) sizes.set(name, (await probe(srv.port)).length);
        parseWrk(await runPinned(clientCpu, ['wrk', '-t1', `-c${conns}`, `-d${warmup}s`, url]));
        const cpu0 = cpuSeconds(srv.pid, tick);
        const w = parseWrk(
          await runPinned(clientCpu, ['wrk', '-t1', `-c${conns}`, `-d${duration}s`, url]),
        );
        const cpu = cpuSeconds(srv.pid, tick) - cpu0;
        const run = { rps: w.rps, usPerReq: (cpu * 1e6) / w.requests };
        results.get(name)!.push(run);
        log(
          `round ${round} ${name.padEnd(28)} ${fmt(run.rps).padStart(9)} req/s  ${run.usPerReq.toFixed(1).padStart(6)} µs CPU/request`,
        );
      } finally {
        await srv.stop();
      }
    }
  }

  const ref = median(results.get('node:http')!.map((r) => r.rps));
  const lines = [
    `Node ${nodeVersion}; wrk ${wrkVersion ?? '?'} \`-t1 -c${conns} -d${duration}s\` on CPU ${clientCpu}; ` +
      `server on CPU ${serverCpu}; ${rounds} rounds (median, min–max), ${warmup} s warm-up each; ` +
      `response ${[...sizes].map(([n, s]) => `${s} bytes (${n})`).join(', ')}.`,
    '',
    '| server | req/s | min–max | × node:http | server CPU µs/request |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const name of SERVERS) {
    const rs = results.get(name)!;
    const rps = rs.map((r) => r.rps);
    lines.push(
      `| ${name} | ${fmt(median(rps))} | ${fmt(Math.min(...rps))}–${fmt(Math.max(...rps))} | ` +
        `${(median(rps) / ref).toFixed(2)}× | ${median(rs.map((r) => r.usPerReq)).toFixed(1)} |`,
    );
  }
  const md = lines.join('\n');
  log(`\n${md}`);
  return md;
}

// ---- the server processes ------------------------------------------------------------

const HELLO = Buffer.from('hello world');
/** node:http adds these two by itself; the protoloop handler sends them too, so the bytes match. */
const HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Connection', 'keep-alive'],
  ['Keep-Alive', 'timeout=5'],
];

async function serverMain(mode: string | undefined): Promise<void> {
  let close: () => void;
  let port: number;
  if (mode === 'protoloop') {
    const server = await startHttpServer({ handler: () => ({ headers: HEADERS, body: HELLO }) });
    port = (server.sockets[0]!.address() as net.AddressInfo).port;
    close = () => server.close();
  } else if (mode === 'node') {
    const server = http.createServer((_req, res) => res.end('hello world'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    close = () => {
      server.close();
      server.closeAllConnections();
    };
  } else throw new TypeError('usage: http.js server protoloop|node');
  process.stdout.write(`port ${port}\n`);
  // Stop when the orchestrator closes our stdin; bounded anyway.
  process.stdin.resume();
  process.stdin.on('end', () => {
    close();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 600_000).unref();
}

if (process.argv[1] === HERE) {
  if (process.argv[2] === 'server') await serverMain(process.argv[3]);
  else await runHttpBench();
}
