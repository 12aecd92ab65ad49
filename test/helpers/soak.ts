/**
 * Load and leak drivers, shared by the bounded tests in `npm test` and the
 * on-demand soak (`npm run soak`).
 */
import { readdirSync } from 'node:fs';
import type * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { getRunningLoop, Protocol, type Server, type Transport } from '../../src/index.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const loop = getRunningLoop();

export interface Snapshot {
  fds: number;
  handles: number;
  heapUsed: number;
  rss: number;
}

export async function snapshot(): Promise<Snapshot> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const handles = process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'Immediate' && r !== 'Timeout').length;
  const m = process.memoryUsage();
  return { fds: readdirSync('/proc/self/fd').length, handles, heapUsed: m.heapUsed, rss: m.rss };
}

class Echo extends Protocol {
  t!: Transport;
  override connectionMade(t: Transport) {
    this.t = t;
  }
  override dataReceived(d: Buffer) {
    this.t.write(d);
  }
}

/** A client that sends `payload`, waits for the echo, then closes. */
class OneShot extends Protocol {
  got = 0;
  t!: Transport;
  constructor(
    private payload: Buffer,
    private done: (err: Error | null) => void,
  ) {
    super();
  }
  override connectionMade(t: Transport) {
    this.t = t;
    t.write(this.payload);
  }
  override dataReceived(d: Buffer) {
    this.got += d.length;
    if (this.got >= this.payload.length) this.t.close();
  }
  override connectionLost(exc: Error | null) {
    this.done(
      this.got === this.payload.length ? exc : (exc ?? new Error(`short echo: ${this.got}`)),
    );
  }
}

export async function echoServer(): Promise<[Server, number]> {
  const server = await loop.createServer(() => new Echo(), '127.0.0.1', 0, { backlog: 1024 });
  return [server, (server.sockets[0]!.address() as net.AddressInfo).port];
}

/** `cycles` connect/echo/close cycles, `parallel` at a time. */
export async function cycles(port: number, total: number, parallel = 50): Promise<void> {
  const payload = Buffer.alloc(1024, 0x5a);
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await new Promise<void>((resolve, reject) => {
        loop
          .createConnection(
            () => new OneShot(payload, (e) => (e ? reject(e) : resolve())),
            '127.0.0.1',
            port,
          )
          .catch(reject);
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Hold `n` connections open, echo once on each, then close them all. */
export async function holdConnections(
  port: number,
  n: number,
): Promise<{ transports: Transport[]; heapPerConn: number }> {
  const before = await snapshot();
  const transports: Transport[] = [];
  const echoed: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    let resolve!: () => void;
    echoed.push(new Promise<void>((r) => (resolve = r)));
    class Holder extends Protocol {
      override dataReceived() {
        resolve();
      }
    }
    const [t] = await loop.createConnection(() => new Holder(), '127.0.0.1', port);
    t.write(Buffer.from('ping'));
    transports.push(t);
  }
  await Promise.all(echoed);
  const after = await snapshot();
  return { transports, heapPerConn: (after.heapUsed - before.heapUsed) / n };
}
