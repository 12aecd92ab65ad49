/**
 * The Redis client benchmark: the example client (examples/redis-client.ts)
 * against Redis's own C client, `redis-benchmark`, on the same workload.
 *
 *   npm run build && npm run build:dev && node build/bench/redis.js
 *   ROUNDS=5 REQUESTS=400000 node build/bench/redis.js
 *
 * Method: one redis-server on a Unix socket, pinned to CPU $SERVER_CPU
 * (`taskset`), for the whole run. Each round runs, one after the other
 * (interleaved, so that slow drifts of the machine hit every client alike):
 *
 * - `redis-benchmark -s <socket> -t set,get -n $REQUESTS -P $PIPELINE -c $CONNS -q --csv`
 * - the protoloop client with `pipeline()`: $CONNS connections, each
 *   sending batches of $PIPELINE commands with one `pipeline()` call and
 *   awaiting it before the next, until $REQUESTS commands were issued in
 *   all (what redis-benchmark's -P does); SET, then GET;
 * - the same with `send()`: $PIPELINE `send()` calls, then `await
 *   Promise.all()` of their promises, per batch.
 *
 * Every client runs pinned to CPU $CLIENT_CPU, as a fresh process. The
 * workload is redis-benchmark's own: `SET key:__rand_int__ xxx` and `GET
 * key:__rand_int__`. Without -r, redis-benchmark does not substitute
 * `__rand_int__`: every command uses that literal key, and the value is
 * `-d 3` bytes of `x`. The Node client does one untimed pass of the same
 * workload first (JIT warm-up; redis-benchmark, compiled C, needs none).
 * Reported: the median of the rounds (ops/s), min-max, and the ratio to
 * redis-benchmark's median.
 *
 * Knobs (environment): ROUNDS (3), REQUESTS (200000), PIPELINE (16),
 * CONNS (50), SERVER_CPU (0), CLIENT_CPU (1).
 *
 * `runRedisBench()` is exported for bench/run.ts; it returns the Markdown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RedisArg } from '../examples/redis/resp.js';
import { redisServerOnPath, startRedisServer } from '../examples/redis/server.js';
import { RedisClient } from '../examples/redis-client.js';
import { positiveInt as num } from './knobs.js';

const HERE = fileURLToPath(import.meta.url);

/** What one client run measured: ops/s for each test. */
interface Rates {
  set: number;
  get: number;
}

/** The clients compared, in table order. */
const CLIENTS = ['redis-benchmark', 'protoloop pipeline()', 'protoloop send()'] as const;
type ClientName = (typeof CLIENTS)[number];

/** Options of {@link runRedisBench}; the environment's knobs by default. */
export interface RedisBenchOptions {
  rounds?: number;
  requests?: number;
  pipeline?: number;
  conns?: number;
  serverCpu?: string;
  clientCpu?: string;
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

/** redis-benchmark's `--csv -q` output: `"SET","833333.38",...` per test. */
function parseCsv(out: string): Rates {
  const rate = (test: string): number => {
    const m = new RegExp(`^"${test}","([\\d.]+)"`, 'm').exec(out);
    if (m === null) throw new Error(`no ${test} line in redis-benchmark's output: ${out}`);
    return Number(m[1]);
  };
  return { set: rate('SET'), get: rate('GET') };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Run the benchmark; resolves with the Markdown report (also logged). */
export async function runRedisBench(options: RedisBenchOptions = {}): Promise<string> {
  const rounds = options.rounds ?? num('ROUNDS', 3);
  const requests = options.requests ?? num('REQUESTS', 200_000);
  const pipeline = options.pipeline ?? num('PIPELINE', 16);
  const conns = options.conns ?? num('CONNS', 50);
  const serverCpu = options.serverCpu ?? process.env.SERVER_CPU ?? '0';
  const clientCpu = options.clientCpu ?? process.env.CLIENT_CPU ?? '1';
  const log = options.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (!redisServerOnPath())
    throw new Error('redis-server is not on the PATH (apt-get install redis-server)');
  for (const tool of ['redis-benchmark', 'taskset']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0)
      throw new Error(`${tool} is not on the PATH (redis-tools, util-linux)`);
  }

  const server = await startRedisServer({ cpus: serverCpu });
  const results = new Map<ClientName, Rates[]>(CLIENTS.map((c) => [c, []]));
  const common = [`${requests}`, `${pipeline}`, `${conns}`];
  const benchCmd = [
    'redis-benchmark',
    '-s',
    server.path,
    '-t',
    'set,get',
    '-n',
    `${requests}`,
    '-P',
    `${pipeline}`,
    '-c',
    `${conns}`,
    '-q',
    '--csv',
  ];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const name of CLIENTS) {
        let rates: Rates;
        if (name === 'redis-benchmark') {
          rates = parseCsv(await runPinned(clientCpu, benchCmd));
        } else {
          const api = name === 'protoloop pipeline()' ? 'pipeline' : 'send';
          const out = await runPinned(clientCpu, [
            process.execPath,
            HERE,
            'client',
            server.path,
            api,
            ...common,
          ]);
          rates = JSON.parse(out.trim().split('\n').pop()!) as Rates;
        }
        results.get(name)!.push(rates);
        log(
          `round ${round} ${name.padEnd(22)} SET ${fmt(rates.set).padStart(10)} ops/s  GET ${fmt(rates.get).padStart(10)} ops/s`,
        );
      }
    }
  } finally {
    await server.stop();
  }

  const ref = results.get('redis-benchmark')!;
  const refSet = median(ref.map((r) => r.set));
  const refGet = median(ref.map((r) => r.get));
  const lines = [
    `redis-server ${server.version.join('.')} on a Unix socket (CPU ${serverCpu}); clients on CPU ${clientCpu}; ` +
      `${requests} requests per test, ${conns} connections, pipeline ${pipeline}, ${rounds} rounds (median, min–max).`,
    '',
    '| client | SET ops/s | SET min–max | SET × redis-benchmark | GET ops/s | GET min–max | GET × redis-benchmark |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const name of CLIENTS) {
    const rs = results.get(name)!;
    const sets = rs.map((r) => r.set);
    const gets = rs.map((r) => r.get);
    lines.push(
      `| ${name} | ${fmt(median(sets))} | ${fmt(Math.min(...sets))}–${fmt(Math.max(...sets))} | ` +
        `${(median(sets) / refSet).toFixed(2)}× | ${fmt(median(gets))} | ` +
        `${fmt(Math.min(...gets))}–${fmt(Math.max(...gets))} | ${(median(gets) / refGet).toFixed(2)}× |`,
    );
  }
  const md = lines.join('\n');
  log(`\n${md}`);
  return md;
}

// ---- the Node client process ------------------------------------------------------------

/**
 * One workload (SET or GET) over every connection: batches of `pipeline`
 * commands, each awaited before the next, until `requests` were issued in
 * all; returns ops/s.
 */
async function workload(
  clients: RedisClient[],
  api: 'pipeline' | 'send',
  args: RedisArg[],
  requests: number,
  pipeline: number,
): Promise<number> {
  let issued = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (client) => {
      while (issued < requests) {
        const k = Math.min(pipeline, requests - issued);
        issued += k;
        if (api === 'pipeline') {
          const batch: RedisArg[][] = [];
          for (let i = 0; i < k; i++) batch.push([...args]);
          await client.pipeline(batch);
        } else {
          const replies: Promise<unknown>[] = [];
          for (let i = 0; i < k; i++) replies.push(client.send(...args));
          await Promise.all(replies);
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return requests / seconds;
}

async function clientMain(argv: string[]): Promise<void> {
  const [path, api, n, p, c] = argv;
  if (path === undefined || (api !== 'pipeline' && api !== 'send'))
    throw new TypeError(
      'usage: redis.js client <socket> pipeline|send <requests> <pipeline> <conns>',
    );
  const requests = Number(n);
  const pipeline = Number(p);
  const conns = Number(c);
  const clients = await Promise.all(
    Array.from({ length: conns }, () => RedisClient.connect({ path })),
  );
  const set: RedisArg[] = ['SET', 'key:__rand_int__', 'xxx'];
  const get: RedisArg[] = ['GET', 'key:__rand_int__'];
  // Warm-up pass, untimed.
  await workload(clients, api, set, requests, pipeline);
  await workload(clients, api, get, requests, pipeline);
  const rates: Rates = {
    set: await workload(clients, api, set, requests, pipeline),
    get: await workload(clients, api, get, requests, pipeline),
  };
  await Promise.all(clients.map((cl) => cl.close()));
  process.stdout.write(`${JSON.stringify(rates)}\n`);
}

if (process.argv[1] === HERE) {
  if (process.argv[2] === 'client') await clientMain(process.argv.slice(3));
  else await runRedisBench();
}
