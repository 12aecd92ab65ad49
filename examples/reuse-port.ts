/**
 * Every core with `reusePort`: one protoloop server per core, each in a plain
 * child process with its own listening socket on one shared port
 * (SO_REUSEPORT); the kernel spreads incoming connections over the sockets.
 *
 * Compared with examples/cluster.ts (node:cluster), no process sits in the
 * accept path: each worker accepts its own connections. It needs Node.js
 * 22.12+ or 23.1+ (`listen({ reusePort })`) and Linux 3.9+ (or a BSD); on an
 * older Node, `createServer(..., { reusePort: true })` rejects with a
 * TypeError, and the demo below says so and exits 0. The recipe:
 *
 * 1. The primary starts one worker per core with `child_process.fork`, each
 *    running this same module in worker mode (`worker HOST PORT`).
 * 2. Each worker calls `loop.createServer(factory, host, port, { reusePort:
 *    true })`: a listening socket of its own, bound to the same port.
 * 3. Port 0: every worker asking for port 0 would get a port of its own, so
 *    the primary starts the first worker on port 0, reads the port it got
 *    from its `{ listening }` message, then starts the others on that port.
 * 4. Workers stop when the primary sends `'stop'`: `server.close()`,
 *    `server.abortClients()` (or `closeClients()` to flush), `await
 *    server.waitClosed()`, report the connection count, exit. A worker whose
 *    primary died exits on 'disconnect'.
 *
 * State is per worker, as with node:cluster.
 *
 *   node build/examples/reuse-port.js            the demo (below)
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getRunningLoop, Protocol, type Server, type Transport } from 'protoloop';

/** The per-worker protocol: an echo server. */
class Echo extends Protocol {
  transport!: Transport;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
    served++;
  }
  override dataReceived(data: Buffer): void {
    this.transport.write(data);
  }
  override pauseWriting(): void {
    this.transport.pauseReading();
  }
  override resumeWriting(): void {
    this.transport.resumeReading();
  }
}

let served = 0;

/** Messages from a worker to the primary (the primary sends only `'stop'`). */
type Msg =
  | { listening: number; pid: number }
  | { served: number; pid: number }
  | { error: { name: string; message: string; code?: string | undefined } };

/** Worker side: listen with reusePort, serve until told to stop, report, exit. */
async function worker(host: string, port: number): Promise<void> {
  // The primary is gone (killed): nothing left to serve for.
  process.once('disconnect', () => process.exit(0));
  let server: Server;
  try {
    server = await getRunningLoop().createServer(() => new Echo(), host, port, {
      reusePort: true,
      backlog: 1024,
    });
  } catch (e) {
    // Forward the error (the TypeError of a Node without reusePort, or
    // EADDRINUSE from a port taken without SO_REUSEPORT) and exit.
    const err = e as NodeJS.ErrnoException;
    const error = { name: err.name, message: err.message, code: err.code };
    process.send!({ error } satisfies Msg, () => process.exit(1));
    return;
  }
  const addr = server.sockets[0]!.address() as AddressInfo;
  process.send!({ listening: addr.port, pid: process.pid } satisfies Msg);
  process.on('message', (m) => {
    if (m !== 'stop') return;
    // Stop accepting, end the connections still open, report, exit.
    server.close();
    server.abortClients();
    void server.waitClosed().then(() => {
      process.send!({ served, pid: process.pid } satisfies Msg, () => process.exit(0));
    });
  });
}

/** One worker process, as the primary tracks it. */
interface WorkerProcess {
  proc: ChildProcess;
  /** Resolves with the port once the worker listens; rejects if it fails first. */
  listening: Promise<number>;
  /** Resolves once the process exited and its IPC channel closed. */
  closed: Promise<void>;
  /** Its connection count, as its last report said. */
  served: number;
}

/** Rebuild a worker's error in the primary (TypeError stays a TypeError). */
function rebuild(e: { name: string; message: string; code?: string | undefined }): Error {
  const err: NodeJS.ErrnoException =
    e.name === 'TypeError' ? new TypeError(e.message) : new Error(e.message);
  if (e.code !== undefined) err.code = e.code;
  return err;
}

/** Fork one worker serving on `host:port`. */
function forkWorker(host: string, port: number): WorkerProcess {
  const proc = fork(fileURLToPath(import.meta.url), ['worker', host, String(port)]);
  const w: WorkerProcess = { proc, served: 0 } as WorkerProcess;
  // 'close' comes after every message the worker sent has been delivered.
  w.closed = new Promise((resolve) => {
    proc.once('close', () => resolve());
    proc.once('error', () => resolve());
  });
  w.listening = new Promise((resolve, reject) => {
    proc.on('message', (m: Msg) => {
      if ('listening' in m) resolve(m.listening);
      else if ('served' in m) w.served = m.served;
      else if ('error' in m) reject(rebuild(m.error));
    });
    proc.once('error', reject);
    proc.once('close', (code, signal) =>
      reject(new Error(`worker ${proc.pid} exited (${signal ?? code}) before listening`)),
    );
  });
  return w;
}

/** A running set of reusePort workers, as {@link startReusePort} returns it. */
export interface RunningReusePort {
  /** The shared port. */
  port: number;
  workers: ChildProcess[];
  /** The worker process ids. */
  pids: number[];
  /** Stop every worker; resolves with their connection counts once all have exited. */
  stop(): Promise<Array<{ pid: number; served: number }>>;
}

/**
 * Primary side: fork `workers` processes, each serving the echo protocol on
 * its own `reusePort` socket bound to `host:port`, and resolve once every
 * one listens. With port 0 the first worker picks the port and the others
 * join it. Rejects (after ending every worker started) if a worker cannot
 * listen: a TypeError on a Node.js without reusePort.
 */
export async function startReusePort(
  workers: number = availableParallelism(),
  host = '127.0.0.1',
  port = 0,
): Promise<RunningReusePort> {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be a positive integer, got ${workers}`);
  }
  const list: WorkerProcess[] = [];
  let shared: number;
  try {
    // The first worker alone: with port 0 it picks the port the others share.
    const first = forkWorker(host, port);
    list.push(first);
    shared = await first.listening;
    const rest = Array.from({ length: workers - 1 }, () => forkWorker(host, shared));
    list.push(...rest);
    await Promise.all(rest.map((w) => w.listening));
  } catch (err) {
    for (const w of list) w.proc.kill();
    await Promise.all(list.map((w) => w.closed));
    throw err;
  }
  let stopping: Promise<Array<{ pid: number; served: number }>> | undefined;
  return {
    port: shared,
    workers: list.map((w) => w.proc),
    pids: list.map((w) => w.proc.pid!),
    stop() {
      stopping ??= (async () => {
        for (const w of list) if (w.proc.connected) w.proc.send('stop');
        await Promise.all(list.map((w) => w.closed));
        return list.map((w) => ({ pid: w.proc.pid!, served: w.served }));
      })();
      return stopping;
    },
  };
}

/** The demo: two workers (whatever the core count), 32 clients, who served whom. */
export async function main(): Promise<void> {
  const loop = getRunningLoop();
  const workers = 2;
  const connections = 32;
  let r: RunningReusePort;
  try {
    r = await startReusePort(workers);
  } catch (e) {
    if (e instanceof TypeError && /reusePort is not supported/.test(e.message)) {
      console.log(
        `This recipe needs Node.js 22.12+ or 23.1+ for listen({ reusePort }); this is ${process.version}.\n` +
          `(createServer said: ${e.message})\n` +
          'examples/cluster.ts (node:cluster) uses every core on any Node.js.',
      );
      return;
    }
    throw e;
  }
  console.log(
    `${availableParallelism()} cores here; ${workers} workers (pids ${r.pids.join(', ')}) ` +
      `each listen on 127.0.0.1:${r.port} with reusePort`,
  );
  let echoed = 0;
  // In batches of 8: each client sends a line and waits for its echo.
  for (let i = 0; i < connections; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, connections - i) }, async (_, j) => {
        const message = `hello ${i + j}`;
        const done = loop.createFuture<void>();
        let reply = '';
        class Client extends Protocol {
          override connectionMade(t: Transport): void {
            t.write(Buffer.from(message));
          }
          override dataReceived(data: Buffer): void {
            reply += data.toString();
            if (reply.length >= message.length) done.setResult();
          }
          override connectionLost(exc: Error | null): void {
            if (!done.done()) done.setException(exc ?? new Error('closed before the echo'));
          }
        }
        const [t] = await loop.createConnection(() => new Client(), '127.0.0.1', r.port);
        await done;
        t.close();
        if (reply === message) echoed++;
      }),
    );
  }
  console.log(`echoed: ${echoed} of ${connections} messages`);
  const reports = await r.stop();
  const total = reports.reduce((a, w) => a + w.served, 0);
  for (const w of reports) console.log(`worker ${w.pid}: ${w.served} connections`);
  console.log(
    `connections per worker: ${reports.map((w) => w.served).join(' + ')} = ${total} ` +
      `(the kernel picks, by a hash of each connection's addresses)`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'worker' && process.send) {
    await worker(process.argv[3]!, Number(process.argv[4]));
  } else {
    await main();
  }
}
