/**
 * The echo benchmark (`npm run bench`): every server in {@link SERVERS} in the
 * same run, request/response at 1, 10 and 100 KiB and a streaming mode, then
 * connections per second, memory per idle connection, node:cluster scaling
 * and sendfile. Results: bench/results/latest.{jsonl,json,md,svg}.
 *
 * Method (the yardstick's, /work/shared/perf): each run starts a fresh server
 * process pinned to CPU $SERVER_CPU and the C epoll load client
 * (bench/echo_client.c, built here with `cc`) pinned to CPU $CLIENT_CPU;
 * servers are interleaved within each round; medians over rounds, min-max
 * kept; a run during which other processes used more than 0.15 of a core is
 * repeated (up to 2 times). Every process is bounded in time and killed by
 * its PID.
 *
 * Knobs (environment): ROUNDS (3), DURATION (2 s measured), WARMUP (1 s),
 * SIZES ("1024 10240 102400"), STREAM (1), CONNS (10), ONLY (comma-separated
 * server names), SECTIONS (comma-separated: echo,conn,mem,cluster,sendfile),
 * IDLE_CONNS (10000), SERVER_CPU (0), CLIENT_CPU (1), BUDGET (540 s: past
 * it, disturbed runs are no longer repeated, which keeps the default run
 * under about 10 minutes), SNAPSHOT=1 (also copy the Markdown and SVG to
 * bench/snapshot.{md,svg}), PROTOLOOP_BENCH_NODE (the Node binary that runs
 * the servers; `--node PATH` or `--node 24` on the command line does the
 * same: `npm run bench -- --node 24`). The report records its version.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pickNode } from './knobs.js';
import { renderMarkdown, renderSvg, type Summary, summarize } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // build/bench
const ROOT = resolve(HERE, '../..');
const SRC = join(ROOT, 'bench');
const OUT = join(SRC, 'results');
const js = (p: string): string => join(HERE, p);

const env = process.env;
const num = (name: string, dflt: number): number => {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new RangeError(`${name} must be a number, got ${v}`);
  return n;
};
const ROUNDS = num('ROUNDS', 3);
const DURATION = num('DURATION', 2);
const WARMUP = num('WARMUP', 1);
const CONNS = num('CONNS', 10);
const SIZES = (env.SIZES ?? '1024 10240 102400').split(/\s+/).filter(Boolean).map(Number);
const STREAM = num('STREAM', 1) === 1;
const STREAM_CHUNK = 65536;
const IDLE_CONNS = num('IDLE_CONNS', 10000);
const SERVER_CPU = env.SERVER_CPU ?? '0';
const CLIENT_CPU = env.CLIENT_CPU ?? '1';
const ONLY = env.ONLY ? new Set(env.ONLY.split(',')) : null;
const SECTIONS = new Set((env.SECTIONS ?? 'echo,conn,mem,cluster,sendfile').split(','));
const DISTURBED_CPU = 0.15;
const RETRIES = 2;
const BUDGET_S = num('BUDGET', 540);
const T0 = Date.now();
/** Server processes exit by themselves after this many seconds, whatever happens. */
const SERVER_MAX_S = Math.ceil(WARMUP + DURATION + 60);
const PY = env.PYTHON ?? 'python3';
const NODE = pickNode();
const NODE_VERSION = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();

/** Which benchmark sections a server takes part in. */
type Section = 'echo' | 'conn' | 'mem';

/** A server under test: one line each; `available` says whether this machine/checkout has it. */
interface ServerDef {
  name: string;
  describe: string;
  sections: Section[];
  /** The server's command line; `size` is the echo section's message size (0 elsewhere). */
  cmd(port: number, maxS: number, size: number): string[];
  available?: () => boolean;
  /**
   * The client must not prime the server (its 1-byte echo on a separate
   * connection): a server that reads fixed-size messages would wait on it.
   */
  noPrime?: boolean;
}

const hasPython = (mod?: string, py = PY): boolean =>
  spawnSync(py, ['-c', mod ? `import ${mod}` : 'pass'], { stdio: 'ignore' }).status === 0;

/**
 * The python3 that has uvloop: $PYTHON_UVLOOP, else $PYTHON / python3 when
 * it imports uvloop, else the system's /usr/bin/python3 (Debian's
 * python3-uvloop package installs there; a pyenv python3 first on the PATH
 * does not see it). When none has it and this is a Debian machine where we
 * are root, the benchmark's setup installs python3-uvloop once. Null when
 * there is still none (the uvloop server is then left out, and said so).
 */
function pickUvloopPython(): string | null {
  const candidates = [env.PYTHON_UVLOOP, PY, '/usr/bin/python3'].filter(
    (p): p is string => p !== undefined && p !== '',
  );
  const found = (): string | null => candidates.find((py) => hasPython('uvloop', py)) ?? null;
  let py = found();
  if (py === null && process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get')) {
    log('python3-uvloop is missing: installing it (apt-get) for the py-uvloop server');
    spawnSync('apt-get', ['install', '-y', '-qq', 'python3-uvloop'], { stdio: 'inherit' });
    py = found();
  }
  return py;
}
let uvloopPython: string | null | undefined;
const UV_PY = (): string | null => {
  if (uvloopPython === undefined) uvloopPython = pickUvloopPython();
  return uvloopPython;
};
/** True when the built library exports the streams API (another branch adds it). */
const hasStreams = (): boolean =>
  spawnSync(
    NODE,
    [
      '--input-type=module',
      '-e',
      "const m = await import('protoloop'); process.exit(typeof m.startServer === 'function' ? 0 : 1)",
    ],
    { cwd: ROOT, stdio: 'ignore' },
  ).status === 0;

/**
 * The servers, in table order. Adding a server is one line here (plus its
 * program). `protoloop-streams` is listed already and skipped until the
 * streams API (`startServer`) is exported by the library.
 */
export const SERVERS: ServerDef[] = [
  {
    name: 'protoloop-protocol',
    describe:
      'protoloop `Protocol`: dataReceived -> transport.write; pause/resumeWriting drive pause/resumeReading',
    sections: ['echo', 'conn', 'mem'],
    cmd: (p, m) => [NODE, js('servers/protoloop_echo.js'), 'protocol', `${p}`, `${m}`],
  },
  {
    name: 'protoloop-buffered',
    describe:
      'protoloop `BufferedProtocol`: getBuffer returns one 256 KiB buffer per connection; bufferUpdated -> transport.write',
    sections: ['echo'],
    cmd: (p, m) => [NODE, js('servers/protoloop_echo.js'), 'buffered', `${p}`, `${m}`],
  },
  {
    name: 'protoloop-streams',
    describe: 'protoloop streams: await reader.read(64 KiB); writer.write(); await writer.drain()',
    sections: ['echo', 'conn'],
    cmd: (p, m) => [NODE, js('servers/protoloop_streams.js'), `${p}`, `${m}`],
    available: hasStreams,
  },
  {
    name: 'protoloop-streams-exact',
    describe:
      'protoloop streams, framed: await reader.readExactly(message size); writer.write(); await writer.drain()',
    sections: ['echo'],
    cmd: (p, m, size) => [NODE, js('servers/protoloop_streams.js'), `${p}`, `${m}`, `${size}`],
    available: hasStreams,
    noPrime: true,
  },
  {
    name: 'node-net',
    describe:
      "Node `net`: socket.on('data', d => socket.write(d)) + pause on write()===false / resume on 'drain' (idiomatic baseline)",
    sections: ['echo', 'conn', 'mem'],
    cmd: (p, m) => [NODE, js('servers/node_net.js'), `${p}`, `${m}`],
  },
  {
    name: 'node-onread',
    describe:
      'Node `net` with `onread` into a reused 256 KiB buffer (the yardstick reference, verbatim)',
    sections: ['echo', 'conn'],
    cmd: (p, m) => [NODE, join(SRC, 'servers/node_onread.cjs'), `${p}`, `${m}`],
  },
  {
    name: 'node-onread-owned',
    describe:
      'the `onread` reference, but each read goes into never-reused memory (consecutive regions of a per-connection 256 KiB slab), so the bytes are owned as in asyncio: the fastest Node code with `Protocol` semantics',
    sections: ['echo'],
    cmd: (p, m) => [NODE, join(SRC, 'servers/node_onread_owned.cjs'), `${p}`, `${m}`],
  },
  {
    name: 'py-asyncio',
    describe: 'Python asyncio `Protocol`, default loop',
    sections: ['echo', 'conn'],
    cmd: (p, m) => [PY, join(SRC, 'servers/py_asyncio_protocol.py'), `${p}`, `${m}`],
    available: () => hasPython(),
  },
  {
    name: 'py-uvloop',
    describe: 'Python asyncio `Protocol` on uvloop',
    sections: ['echo', 'conn'],
    cmd: (p, m) => [
      UV_PY()!,
      join(SRC, 'servers/py_asyncio_protocol.py'),
      `${p}`,
      `${m}`,
      '--uvloop',
    ],
    available: () => UV_PY() !== null,
  },
  {
    name: 'py-streams',
    describe:
      'Python asyncio streams: await reader.read(64 KiB); writer.write(); await writer.drain()',
    sections: ['echo'],
    cmd: (p, m) => [PY, join(SRC, 'servers/py_asyncio_streams.py'), `${p}`, `${m}`],
    available: () => hasPython(),
  },
];

// ---------------------------------------------------------------------------

/** One line of results.jsonl: what the C client printed, plus where it came from. */
export interface RunRecord {
  section: string;
  server: string;
  mode: string;
  size: number;
  round: number;
  attempt: number;
  result: Record<string, any>;
}

const records: RunRecord[] = [];
let port = 19400 + (process.pid % 500);
const nextPort = (): number => {
  port = port >= 29000 ? 19400 : port + 1;
  return port;
};
const CLIENT = join(ROOT, 'build/bench/echo_client');
const LOGS = join(OUT, 'logs');

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function buildClient(): void {
  fs.mkdirSync(dirname(CLIENT), { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-o', CLIENT, join(SRC, 'echo_client.c')], {
    stdio: 'inherit',
  });
}

/** Start a server command pinned to `cpus`; stdout piped (cluster pids, memory probe). */
function startServer(argv: string[], cpus: string, name: string, extraEnv = {}): ChildProcess {
  const logFd = fs.openSync(join(LOGS, `${name}.log`), 'a');
  // Raise the descriptor limit to the hard limit for the idle-connection runs.
  const child = spawn(
    'sh',
    ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec taskset -c "$0" "$@"', cpus, ...argv],
    { cwd: ROOT, stdio: ['pipe', 'pipe', logFd], env: { ...env, ...extraEnv } },
  );
  fs.closeSync(logFd);
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(t);
}

/** Lines from a child's stdout, one at a time. */
function lines(child: ChildProcess): AsyncIterableIterator<string> {
  return createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
}

/** First stdout line of `child` that parses as JSON, within `ms`. */
async function readJson(it: AsyncIterableIterator<string>, ms: number): Promise<any> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error('timed out waiting for a JSON line')), ms);
  });
  try {
    for (;;) {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error('process ended before printing JSON');
      if (r.value.startsWith('{')) return JSON.parse(r.value);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Run the C client pinned to `cpus`; resolves with its JSON line (or an error record). */
function runClient(args: string[], cpus: string): Promise<Record<string, any>> {
  return new Promise((resolve) => {
    const c = spawn('taskset', ['-c', cpus, CLIENT, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ error: `echo_client exited ${code}: ${err.trim().slice(0, 300)}` });
      }
    });
  });
}

interface RunSpec {
  section: string;
  server: string;
  argv: (port: number) => string[];
  mode: 'rr' | 'stream' | 'conn' | 'drain';
  size: number;
  conns: number;
  round: number;
  serverCpus?: string;
  clientCpus?: string;
  /** The server prints {"pids":[...]} once listening (cluster). */
  printsPids?: boolean;
  /** Pass --no-prime to the client (see ServerDef.noPrime). */
  noPrime?: boolean;
}

/** One measured run, repeated when the machine was disturbed. */
async function measure(spec: RunSpec): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const p = nextPort();
    const server = startServer(spec.argv(p), spec.serverCpus ?? SERVER_CPU, spec.server);
    let pids = String(server.pid);
    let result: Record<string, any>;
    try {
      if (spec.printsPids) {
        const ready = await readJson(lines(server), 20000);
        pids = [server.pid, ...ready.pids].join(',');
      }
      result = await runClient(
        [
          '--port',
          `${p}`,
          '--mode',
          spec.mode,
          '--size',
          `${Math.max(8, spec.size)}`,
          '--conns',
          `${spec.conns}`,
          '--duration',
          `${DURATION}`,
          '--warmup',
          `${WARMUP}`,
          '--server-pid',
          pids,
          '--label',
          spec.server,
          ...(spec.noPrime ? ['--no-prime'] : []),
        ],
        spec.clientCpus ?? CLIENT_CPU,
      );
    } catch (e) {
      result = { error: String(e) };
    } finally {
      await stopServer(server);
    }
    records.push({
      section: spec.section,
      server: spec.server,
      mode: spec.mode,
      size: spec.size,
      round: spec.round,
      attempt,
      result,
    });
    const others = result.machine?.others_cpu ?? 0;
    const disturbed = others > DISTURBED_CPU;
    log(
      `${spec.section.padEnd(8)} ${spec.server.padEnd(20)} ${spec.mode.padEnd(6)} ${String(spec.size).padStart(7)} r${spec.round} a${attempt}  ` +
        (result.error
          ? `ERROR ${result.error}`
          : `${disturbed ? 'DISTURBED ' : ''}${Math.round(result.rps)} req/s ${result.mib_s} MiB/s cpu srv ${result.server_cpu} cli ${result.client_cpu} others ${others}` +
            (result.errors ? ` errors ${result.errors}` : '')),
    );
    if (!disturbed || attempt > RETRIES || (Date.now() - T0) / 1000 > BUDGET_S) return;
    await new Promise((r) => setTimeout(r, 3000));
  }
}

// ---- sections -----------------------------------------------------------------

async function echoSection(servers: ServerDef[]): Promise<void> {
  const modes: Array<{ mode: 'rr' | 'stream'; size: number; conns: number }> = SIZES.map(
    (size) => ({ mode: 'rr' as const, size, conns: CONNS }),
  );
  if (STREAM) modes.push({ mode: 'stream', size: STREAM_CHUNK, conns: CONNS });
  for (const m of modes) {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const s of servers) {
        await measure({
          section: 'echo',
          server: s.name,
          argv: (p) => s.cmd(p, SERVER_MAX_S, m.size),
          ...m,
          round,
          noPrime: s.noPrime === true,
        });
      }
    }
  }
}

async function connSection(servers: ServerDef[]): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const s of servers) {
      await measure({
        section: 'conn',
        server: s.name,
        argv: (p) => s.cmd(p, SERVER_MAX_S, 0),
        mode: 'conn',
        size: 1,
        conns: CONNS,
        round,
      });
    }
  }
}

/** Memory per idle connection: `IDLE_CONNS` connections, each echoed 1 byte, then held open. */
async function memSection(servers: ServerDef[]): Promise<void> {
  const rounds = Math.min(ROUNDS, 2);
  for (let round = 1; round <= rounds; round++) {
    for (const s of servers) {
      const p = nextPort();
      const argv = s.cmd(p, SERVER_MAX_S + 60, 0);
      if (argv[0] === NODE) argv.splice(1, 0, '--expose-gc');
      const server = startServer(argv, SERVER_CPU, s.name, { BENCH_CONTROL: '1' });
      const out = lines(server);
      let client: ChildProcess | null = null;
      try {
        await readJson(out, 20000); // {"ready":true}
        server.stdin!.write('mem\n');
        const before = await readJson(out, 20000);
        client = spawn(
          'sh',
          [
            '-c',
            'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec taskset -c "$0" "$@"',
            CLIENT_CPU,
            CLIENT,
            '--port',
            `${p}`,
            '--mode',
            'idle',
            '--conns',
            `${IDLE_CONNS}`,
            '--duration',
            '120',
          ],
          { stdio: ['pipe', 'pipe', 'inherit'] },
        );
        const ready = await readJson(lines(client), 120000);
        server.stdin!.write('mem\n');
        const after = await readJson(out, 30000);
        const n = after.conns - before.conns;
        const per = (k: string): number => (after[k] - before[k]) / n;
        const result = {
          ready: ready.ready,
          open_s: ready.open_s,
          conns: n,
          heap_per_conn: per('heapUsed'),
          external_per_conn: per('external'),
          array_buffers_per_conn: per('arrayBuffers'),
          rss_per_conn: per('rss'),
          before,
          after,
        };
        records.push({
          section: 'mem',
          server: s.name,
          mode: 'idle',
          size: IDLE_CONNS,
          round,
          attempt: 1,
          result,
        });
        log(
          `mem      ${s.name.padEnd(20)} ${n} idle connections: heap ${Math.round(result.heap_per_conn)} B/conn, external ${Math.round(result.external_per_conn)} B/conn, rss ${Math.round(result.rss_per_conn)} B/conn`,
        );
      } catch (e) {
        records.push({
          section: 'mem',
          server: s.name,
          mode: 'idle',
          size: IDLE_CONNS,
          round,
          attempt: 1,
          result: { error: String(e) },
        });
        log(`mem      ${s.name} ERROR ${e}`);
      } finally {
        client?.stdin?.end();
        if (client !== null && client.exitCode === null) {
          await new Promise((r) => client!.once('exit', r));
        }
        await stopServer(server);
      }
    }
  }
}

/** node:cluster: examples/cluster.ts with 1 and 2 workers; every process may use both CPUs. */
async function clusterSection(): Promise<void> {
  const all = `0-${Math.max(1, os.availableParallelism() - 1)}`;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const workers of [1, 2]) {
      await measure({
        section: 'cluster',
        server: `cluster-${workers}`,
        argv: (p) => [
          NODE,
          join(ROOT, 'build/examples/cluster.js'),
          'serve',
          `${p}`,
          `${workers}`,
          `${SERVER_MAX_S}`,
        ],
        mode: 'rr',
        size: 1024,
        conns: CONNS * 2,
        round,
        serverCpus: all,
        clientCpus: all,
        printsPids: true,
      });
    }
  }
}

/** loop.sendfile against fs.createReadStream(file).pipe(socket): whole-file downloads. */
async function sendfileSection(): Promise<void> {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'protoloop-bench-'));
  const file = join(dir, 'payload.bin');
  const size = 8 * 1024 * 1024;
  fs.writeFileSync(file, Buffer.alloc(size, 7));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const kind of ['protoloop', 'node-pipe']) {
        await measure({
          section: 'sendfile',
          server: `sendfile-${kind}`,
          argv: (p) => [
            NODE,
            js('servers/sendfile_server.js'),
            kind,
            file,
            `${p}`,
            `${SERVER_MAX_S}`,
          ],
          mode: 'drain',
          size,
          conns: 4,
          round,
        });
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- main -----------------------------------------------------------------------

/** `REPORT_ONLY=1`: render latest.json's runs again (after a change to report.ts). */
function reportOnly(): void {
  const prev = JSON.parse(fs.readFileSync(join(OUT, 'latest.json'), 'utf8'));
  const summary = summarize(prev.runs, prev.meta);
  const md = renderMarkdown(summary);
  const svg = renderSvg(summary);
  fs.writeFileSync(
    join(OUT, 'latest.json'),
    `${JSON.stringify({ ...summary, runs: prev.runs }, null, 1)}\n`,
  );
  fs.writeFileSync(join(OUT, 'latest.md'), md);
  fs.writeFileSync(join(OUT, 'latest.svg'), svg);
  if (env.SNAPSHOT === '1') {
    fs.writeFileSync(join(SRC, 'snapshot.md'), md);
    fs.writeFileSync(join(SRC, 'snapshot.svg'), svg);
  }
  log(md);
}

async function main(): Promise<void> {
  for (const tool of ['taskset', 'cc']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) {
      throw new Error(`bench: ${tool} not found`);
    }
  }
  fs.mkdirSync(LOGS, { recursive: true });
  buildClient();
  const started = new Date().toISOString();
  const servers = SERVERS.filter((s) => {
    if (ONLY !== null && !ONLY.has(s.name)) return false;
    if (s.available && !s.available()) {
      log(`skipping unavailable server ${s.name}`);
      return false;
    }
    return true;
  });
  const inSection = (sec: Section): ServerDef[] => servers.filter((s) => s.sections.includes(sec));
  log(
    `servers: ${servers.map((s) => s.name).join(' ')}; rounds ${ROUNDS}, ${WARMUP}s warm-up + ${DURATION}s measured; server CPU ${SERVER_CPU}, client CPU ${CLIENT_CPU}`,
  );
  const t0 = Date.now();
  if (SECTIONS.has('echo')) await echoSection(inSection('echo'));
  if (SECTIONS.has('conn')) await connSection(inSection('conn'));
  if (SECTIONS.has('mem')) await memSection(inSection('mem'));
  if (SECTIONS.has('cluster')) await clusterSection();
  if (SECTIONS.has('sendfile')) await sendfileSection();

  const meta = {
    started_utc: started,
    finished_utc: new Date().toISOString(),
    elapsed_s: Math.round((Date.now() - t0) / 1000),
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? null,
      kernel: os.release(),
      node: NODE_VERSION,
      node_path: NODE,
      uvloop_python: UV_PY(),
      python:
        spawnSync(PY, ['-c', 'import platform; print(platform.python_version())'], {
          encoding: 'utf8',
        }).stdout?.trim() || null,
    },
    params: {
      rounds: ROUNDS,
      duration_s: DURATION,
      warmup_s: WARMUP,
      conns: CONNS,
      stream_chunk: STREAM_CHUNK,
      idle_conns: IDLE_CONNS,
      server_cpu: SERVER_CPU,
      client_cpu: CLIENT_CPU,
      disturbed_cpu: DISTURBED_CPU,
    },
    servers: Object.fromEntries(servers.map((s) => [s.name, s.describe])),
  };
  const summary: Summary = summarize(records, meta);
  fs.writeFileSync(
    join(OUT, 'latest.jsonl'),
    `${records.map((r) => JSON.stringify(r)).join('\n')}\n`,
  );
  fs.writeFileSync(
    join(OUT, 'latest.json'),
    `${JSON.stringify({ ...summary, runs: records }, null, 1)}\n`,
  );
  const md = renderMarkdown(summary);
  const svg = renderSvg(summary);
  fs.writeFileSync(join(OUT, 'latest.md'), md);
  fs.writeFileSync(join(OUT, 'latest.svg'), svg);
  if (env.SNAPSHOT === '1') {
    fs.writeFileSync(join(SRC, 'snapshot.md'), md);
    fs.writeFileSync(join(SRC, 'snapshot.svg'), svg);
  }
  log(`\n${md}`);
  log(`wrote ${join(OUT, 'latest.{jsonl,json,md,svg}')} in ${meta.elapsed_s}s`);
}

if (env.REPORT_ONLY === '1') reportOnly();
else await main();
