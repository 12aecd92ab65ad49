/**
 * A man in the middle made of raw `net` sockets: a TCP relay in front of a
 * real server that passes every byte unless a test tampers with it (injects
 * garbage, flips a bit in a record, truncates a handshake, closes without
 * close_notify, resets). The misbehaving TLS peer of the fault tests.
 */
import * as net from 'node:net';

/** One relayed connection: `down` faces the connecting side, `up` the server. */
export interface Relay {
  down: net.Socket;
  up: net.Socket;
  /** Bytes the server sent so far (before any tampering). */
  fromServer: number;
  /** Bytes the client sent so far (before any tampering). */
  fromClient: number;
}

/** What to do with a chunk: the default forwards it; a hook may write something else, or nothing. */
export type Tamper = (chunk: Buffer, relay: Relay) => void;

export interface Mitm {
  port: number;
  relays: Relay[];
  /** Resolves with relayed connection number `n` (0: the first) once it exists. */
  relay(n?: number): Promise<Relay>;
  /** Destroy every relayed socket and stop listening. */
  close(): Promise<void>;
}

export async function mitm(
  targetPort: number,
  hooks: { toClient?: Tamper; toServer?: Tamper } = {},
): Promise<Mitm> {
  const relays: Relay[] = [];
  let waiters: Array<() => void> = [];
  const srv = net.createServer({ allowHalfOpen: true }, (down) => {
    const up = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    const relay: Relay = { down, up, fromServer: 0, fromClient: 0 };
    relays.push(relay);
    for (const s of [down, up]) s.on('error', () => {});
    // A reset on one side is passed on as a reset, a FIN as a FIN.
    down.on('close', () => (down.errored ? up.resetAndDestroy() : up.destroy()));
    up.on('close', () => (up.errored ? down.resetAndDestroy() : down.destroy()));
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    down.on('data', (d: Buffer) => {
      relay.fromClient += d.length;
      if (hooks.toServer) hooks.toServer(d, relay);
      else up.write(d);
    });
    up.on('data', (d: Buffer) => {
      relay.fromServer += d.length;
      if (hooks.toClient) hooks.toClient(d, relay);
      else down.write(d);
    });
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    relays,
    relay: async (n = 0) => {
      while (relays.length <= n) await new Promise<void>((r) => waiters.push(r));
      return relays[n]!;
    },
    close: async () => {
      for (const r of relays) {
        r.down.destroy();
        r.up.destroy();
      }
      await new Promise((r) => srv.close(r));
    },
  };
}
