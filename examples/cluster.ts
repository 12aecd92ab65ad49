/**
 * Every core: one protoloop server per CPU core with `node:cluster`.
 *
 * A protoloop server is single-threaded, like an asyncio one. To use every
 * core, run one server per core in worker processes that share one listening
 * port. The recipe:
 *
 * 1. The primary forks one worker per core (`os.availableParallelism()`),
 *    each running this same module (`cluster.setupPrimary({ exec })`).
 * 2. Each worker calls `loop.createServer(factory, host, port)` as usual.
 *    node:cluster makes the workers share one listening socket (even with
 *    port 0: they all get the same port); the primary accepts connections and
 *    hands them to the workers round-robin (`cluster.SCHED_RR`, Node's default
 *    outside Windows), and from then on each connection lives in one worker,
 *    on protoloop's normal read path.
 * 3. Workers tell the primary when they listen (`process.send`), and stop
 *    when the primary asks: `server.close()`, `server.abortClients()` (or
 *    `closeClients()` to flush), `await server.waitClosed()`, exit. A worker
 *    whose primary died exits on 'disconnect'.
 *
 * State is per worker: anything shared between connections (a cache, a
 * counter) must live outside (a database, or messages to the primary).
 *
 *   node build/examples/cluster.js                   the demo (below)
 *   node build/examples/cluster.js serve PORT N [S]  serve an echo on 127.0.0.1:PORT
 *                                                    with N workers for S seconds
 *                                                    (used by bench/run.ts)
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getRunningLoop, Protocol, type Transport } from 'protoloop';

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

/** Messages between the primary and the workers. */
type Msg = { listening: number } | { served: number; pid: number };

/** Worker side: serve until the primary disconnects us, then report and exit. */
async function worker(host: string, port: number): Promise<void> {
  const loop = getRunningLoop();
  const server = await loop.createServer(() => new Echo(), host, port, { backlog: 1024 });
  const addr = server.sockets[0]!.address() as AddressInfo;
  process.send!({ listening: addr.port } satisfies Msg);
  process.on('message', (m) => {
    if (m !== 'stop') return;
    // Stop accepting, end the connections still open, report, exit.
    server.close();
    server.abortClients();
    void server.waitClosed().then(() => {
      process.send!({ served, pid: process.pid } satisfies Msg, () => process.exit(0));
    });
  });
  // The primary is gone (killed): nothing left to serve for.
  process.once('disconnect', () => process.exit(0));
}

/** A running cluster, as {@link startCluster} returns it. */
export interface RunningCluster {
  /** The shared port. */
  port: number;
  workers: Worker[];
  /** Stop every worker; resolves with their connection counts once all have exited. */
  stop(): Promise<Array<{ pid: number; served: number }>>;
}

/**
 * Primary side: fork `workers` processes serving the echo protocol on
 * `host:port` and resolve once every one listens.
 */
export async function startCluster(
  workers: number,
  host = '127.0.0.1',
  port = 0,
): Promise<RunningCluster> {
  if (!cluster.isPrimary) throw new Error('startCluster() runs in the primary process');
  cluster.setupPrimary({
    exec: fileURLToPath(import.meta.url),
    args: ['worker', host, String(port)],
  });
  const list: Worker[] = [];
  const ports = await Promise.all(
    Array.from({ length: workers }, () => {
      const w = cluster.fork();
      list.push(w);
      return new Promise<number>((resolve, reject) => {
        w.once('exit', (code) => reject(new Error(`worker exited with ${code} before listening`)));
        w.on('message', (m: Msg) => {
          if ('listening' in m) resolve(m.listening);
        });
      });
    }),
  );
  return {
    port: ports[0]!,
    workers: list,
    stop() {
      return Promise.all(
        list.map(
          (w) =>
            new Promise<{ pid: number; served: number }>((resolve) => {
              let report = { pid: w.process.pid ?? 0, served: 0 };
              w.on('message', (m: Msg) => {
                if ('served' in m) report = { pid: m.pid, served: m.served };
              });
              w.once('exit', () => resolve(report));
              if (w.isConnected()) w.send('stop');
            }),
        ),
      );
    },
  };
}

/** The demo: two workers (whatever the core count), 8 clients, who served whom. */
export async function main(): Promise<void> {
  const loop = getRunningLoop();
  const workers = 2;
  console.log(`${availableParallelism()} cores here; starting ${workers} workers`);
  const c = await startCluster(workers);
  console.log(`${workers} workers listening on 127.0.0.1:${c.port}`);
  const replies: string[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const done = loop.createFuture<void>();
      const message = `hello ${i}`;
      class Client extends Protocol {
        override connectionMade(t: Transport): void {
          t.write(Buffer.from(message));
        }
        override dataReceived(data: Buffer): void {
          replies.push(data.toString());
          done.setResult();
        }
      }
      const [t] = await loop.createConnection(() => new Client(), '127.0.0.1', c.port);
      await done;
      t.close();
    }),
  );
  console.log(`echoed: ${replies.length} of 8 messages`);
  const reports = await c.stop();
  const total = reports.reduce((a, r) => a + r.served, 0);
  console.log(
    `connections per worker: ${reports.map((r) => r.served).join(' + ')} = ${total}; every worker served some: ${reports.every((r) => r.served > 0)}`,
  );
}

/** `serve PORT N [SECONDS]`: the benchmark's entry; prints {"pids": [...]} once listening. */
async function serve(args: string[]): Promise<void> {
  const [portArg, nArg, secondsArg] = args;
  const c = await startCluster(
    Number(nArg ?? availableParallelism()),
    '127.0.0.1',
    Number(portArg),
  );
  process.stdout.write(
    `${JSON.stringify({ port: c.port, pids: c.workers.map((w) => w.process.pid) })}\n`,
  );
  const stop = (): void => {
    void c.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  setTimeout(stop, Number(secondsArg ?? 600) * 1000).unref();
}

if (cluster.isWorker && process.argv[2] === 'worker') {
  await worker(process.argv[3]!, Number(process.argv[4]));
} else if (cluster.isPrimary && process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'serve') await serve(process.argv.slice(3));
  else await main();
}
