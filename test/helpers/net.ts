/** Small socket helpers shared by the tests of servers and connections. */
import * as net from 'node:net';
import { type CreateServerOptions, getRunningLoop, type Server } from '../../src/index.js';
import { Recorder } from './recorder.js';

/** The port of a protoloop Server's `i`-th listening socket, or of a net.Server. */
export function portOf(server: Server | net.Server, i = 0): number {
  const srv = server instanceof net.Server ? server : server.sockets[i]!;
  return (srv.address() as net.AddressInfo).port;
}

/** Connect with a raw Node socket; resolves on connect, rejects on error. */
export function rawConnect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * A protocol factory that keeps every protocol it makes, in order:
 * `recording()` makes Recorders, `recording(make)` whatever `make` returns.
 */
export function recording<R = Recorder>(
  make: () => R = () => new Recorder() as R,
): { factory: () => R; recs: R[] } {
  const recs: R[] = [];
  return {
    recs,
    factory: () => {
      const r = make();
      recs.push(r);
      return r;
    },
  };
}

/** A protoloop server on 127.0.0.1 (any port) whose protocols are kept Recorders. */
export async function recordingServer(options: CreateServerOptions = {}): Promise<{
  server: Server;
  recs: Recorder[];
  close(): Promise<void>;
}> {
  const { factory, recs } = recording();
  const server = await getRunningLoop().createServer(factory, '127.0.0.1', 0, options);
  return {
    server,
    recs,
    close: async () => {
      server.close();
      await server.waitClosed();
    },
  };
}
