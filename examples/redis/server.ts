/**
 * Start and stop a throwaway redis-server: its own temporary directory, a
 * Unix socket in it (and a loopback TCP port if asked), no persistence.
 * Used by the Redis example's `main()`, its tests and its benchmark.
 *
 * Readiness is an event, not a delay: redis-server logs "Ready to accept
 * connections" (TCP) and "...ready to accept connections at <path>" (Unix)
 * once every listening socket is bound, so the first such line means the
 * server accepts on all of them.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';

/** A running redis-server. */
export interface RedisServer {
  /** The Unix socket path. */
  readonly path: string;
  /** The loopback TCP port, or null when the server listens on the Unix socket only. */
  readonly port: number | null;
  /** The server's temporary directory (its working directory and the socket's), removed by stop(). */
  readonly dir: string;
  /** The redis-server process (`pid` for `taskset`, kill...). */
  readonly child: ChildProcess;
  /** The server's version, e.g. `[7, 0, 15]`. */
  readonly version: readonly [number, number, number];
  /** What the server printed so far (the last 16 KiB), for error messages. */
  output(): string;
  /** Stop the server (SIGTERM, SIGKILL after 5 s), wait for it to exit, remove its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface StartRedisServerOptions {
  /** Also listen on a free loopback TCP port (default false: the Unix socket only, `--port 0`). */
  tcp?: boolean;
  /** Pin the server to these CPUs with `taskset -c` (e.g. `'0'`). */
  cpus?: string;
  /** More `redis-server` arguments, e.g. `['--enable-debug-command', 'yes']`. */
  args?: string[];
  /** Give up if the server is not ready within this many seconds (default 20). */
  timeout?: number;
}

/** True when `redis-server` is on the PATH (the shell's `command -v`). */
export function redisServerOnPath(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
}

/** The version of the redis-server on the PATH, from `redis-server --version`. */
export function redisServerVersion(): [number, number, number] {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const m = /v=(\d+)\.(\d+)\.(\d+)/.exec(r.stdout ?? '');
  if (m === null)
    throw new Error(`cannot tell redis-server's version from ${JSON.stringify(r.stdout)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** A loopback TCP port that was free a moment ago (the kernel's choice for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Keep the tail of a growing log, bounded. */
const OUTPUT_KEPT = 16 * 1024;

/**
 * Start a redis-server and resolve once it accepts connections. Rejects if
 * `redis-server` is not on the PATH, exits early, or is not ready within
 * `options.timeout` seconds; nothing is left behind then.
 */
export async function startRedisServer(
  options: StartRedisServerOptions = {},
): Promise<RedisServer> {
  if (options === null || typeof options !== 'object')
    throw new TypeError('options must be an object');
  const { tcp = false, cpus, args = [], timeout = 20 } = options;
  if (typeof tcp !== 'boolean') throw new TypeError('options.tcp must be a boolean');
  if (cpus !== undefined && (typeof cpus !== 'string' || !/^[\d,-]+$/.test(cpus)))
    throw new TypeError(
      `options.cpus must be a CPU list such as '0' or '0-1', got ${String(cpus)}`,
    );
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    throw new TypeError('options.args must be an array of strings');
  if (typeof timeout !== 'number' || !(timeout > 0))
    throw new RangeError(`options.timeout must be a positive number of seconds, got ${timeout}`);
  if (!redisServerOnPath()) throw new Error('redis-server is not on the PATH');
  const version = redisServerVersion();

  const dir = fs.mkdtempSync(join(os.tmpdir(), 'protoloop-redis-'));
  const path = join(dir, 'redis.sock');
  // Redis cannot be asked for an ephemeral port (port 0 means "no TCP"),
  // so take one the kernel just handed out; retried below if it was taken
  // again in between.
  for (let attempt = 1; ; attempt++) {
    const port = tcp ? await freePort() : 0;
    try {
      return await launch({ dir, path, port, cpus, args, timeout, version });
    } catch (err) {
      const busy = /Address already in use/.test(String((err as Error).message));
      if (!(tcp && busy && attempt < 5)) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

interface LaunchSpec {
  dir: string;
  path: string;
  port: number;
  cpus: string | undefined;
  args: string[];
  timeout: number;
  version: [number, number, number];
}

function launch(spec: LaunchSpec): Promise<RedisServer> {
  const { dir, path, port, cpus, args, timeout, version } = spec;
  const argv = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--unixsocket',
    path,
    '--unixsocketperm',
    '700',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--logfile',
    '',
    ...args,
  ];
  const [cmd, cmdArgs] =
    cpus === undefined
      ? ['redis-server', argv]
      : ['taskset', ['-c', cpus, 'redis-server', ...argv]];
  const child = spawn(cmd, cmdArgs, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    output += d.toString('utf8');
    if (output.length > OUTPUT_KEPT) output = output.slice(-OUTPUT_KEPT);
  };
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // Bounded: a server that ignores SIGTERM is killed.
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      } else {
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const server: RedisServer = {
    path,
    port: port === 0 ? null : port,
    dir,
    child,
    version,
    output: () => output,
    stop,
  };

  return new Promise<RedisServer>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      // Wait until the process and its pipes are gone; the caller removes the directory.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      void exited.then(() => reject(new Error(`redis-server ${why}: ${output.trim()}`)));
    };
    const onData = (d: Buffer): void => {
      keep(d);
      if (/ready to accept connections/i.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
        // Keep reading its log so that the pipe never fills and blocks the server.
        child.stdout!.on('data', keep);
        resolve(server);
      }
    };
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`exited (${signal ?? code}) before accepting connections`);
    const onError = (err: Error): void => fail(`could not start (${err.message})`);
    const timer = setTimeout(() => fail(`was not ready after ${timeout} s`), timeout * 1000);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}
