/**
 * Datagram endpoints on real loopback sockets (IPv4 and IPv6): echo,
 * connected and unconnected endpoints, errorReceived, close/abort ordering,
 * write flow control (in-process, and against a kernel that really pushes
 * back, in a private network namespace), bad input, and python3's asyncio
 * as a live peer.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Address, type DatagramTransport, getRunningLoop, run } from '../src/index.js';
import { nodeHasReusePort } from '../src/server.js';
import { takeHandlerCalls, until, useHarness } from './helpers/harness.js';
import { startPython } from './helpers/python.js';

useHarness();
const loop = getRunningLoop();

type DEvent = 'made' | 'datagram' | 'error' | 'lost' | 'pause' | 'resume';

/** Records every callback of a DatagramProtocol and checks the call grammar as it goes. */
class DgramRecorder {
  events: DEvent[] = [];
  transport!: DatagramTransport;
  datagrams: Array<[Buffer, Address]> = [];
  errors: Error[] = [];
  lostWith: Error | null | undefined = undefined;
  onMade?: (t: DatagramTransport) => void;
  onDatagram?: (d: Buffer, a: Address) => void;
  #waiters: Array<() => void> = [];

  connectionMade(t: DatagramTransport): void {
    assert.equal(this.events.length, 0, `connectionMade first, got ${this.events}`);
    this.transport = t;
    this.events.push('made');
    this.onMade?.(t);
    this.#wake();
  }
  datagramReceived(d: Buffer, a: Address): void {
    this.#assertOpen('datagramReceived');
    assert.ok(Buffer.isBuffer(d));
    assert.ok(Array.isArray(a) && typeof a[0] === 'string' && typeof a[1] === 'number');
    this.events.push('datagram');
    this.datagrams.push([d, a]);
    this.onDatagram?.(d, a);
    this.#wake();
  }
  errorReceived(e: Error): void {
    this.#assertOpen('errorReceived');
    this.events.push('error');
    this.errors.push(e);
    this.#wake();
  }
  connectionLost(exc: Error | null): void {
    this.#assertOpen('connectionLost');
    this.events.push('lost');
    this.lostWith = exc;
    this.#wake();
  }
  pauseWriting(): void {
    this.#assertOpen('pauseWriting');
    assert.notEqual(this.#lastFlow(), 'pause', 'pauseWriting twice in a row');
    this.events.push('pause');
    this.#wake();
  }
  resumeWriting(): void {
    this.#assertOpen('resumeWriting');
    assert.equal(this.#lastFlow(), 'pause', 'resumeWriting without pauseWriting');
    this.events.push('resume');
    this.#wake();
  }
  #lastFlow(): DEvent | undefined {
    return this.events.filter((e) => e === 'pause' || e === 'resume').at(-1);
  }
  #assertOpen(what: string): void {
    assert.equal(this.events[0], 'made', `${what} before connectionMade`);
    assert.ok(!this.events.includes('lost'), `${what} after connectionLost`);
  }
  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
  async when(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((r) => this.#waiters.push(r));
  }
  received(n: number): Promise<void> {
    return this.when(() => this.datagrams.length >= n);
  }
  errored(n: number): Promise<void> {
    return this.when(() => this.errors.length >= n);
  }
  /**
   * Send `probe` until the n-th error arrives. The kernel rate-limits ICMP
   * errors (net.ipv4.icmp_msgs_per_sec, ICMPv6 ratelimit), so under load one
   * probe to a closed port may get no answer; a bounded resend keeps the
   * test from waiting forever.
   */
  async refused(t: { sendto(d: Uint8Array): void }, probe: Buffer, n: number): Promise<void> {
    for (let attempt = 0; attempt < 200 && this.errors.length < n; attempt++) {
      t.sendto(probe);
      for (let i = 0; i < 500 && this.errors.length < n; i++)
        await new Promise((r) => setImmediate(r));
    }
    assert.ok(this.errors.length >= n, 'no ICMP error after 200 probes');
  }
  get lost(): Promise<void> {
    return this.when(() => this.events.includes('lost'));
  }
  get texts(): string[] {
    return this.datagrams.map(([d]) => d.toString());
  }
}

/** An unconnected endpoint that echoes every datagram back to its sender. */
async function echoServer(
  host = '127.0.0.1',
): Promise<[DatagramTransport, DgramRecorder, Address]> {
  const [t, p] = await loop.createDatagramEndpoint(
    () => {
      const r = new DgramRecorder();
      r.onDatagram = (d, a) => r.transport.sendto(d, a);
      return r;
    },
    { localAddr: [host, 0] },
  );
  return [t, p, t.getExtraInfo('sockname') as Address];
}

/** A plain unconnected endpoint that records. */
async function endpoint(options: Parameters<typeof loop.createDatagramEndpoint>[1]) {
  return loop.createDatagramEndpoint(() => new DgramRecorder(), options);
}

/** Close every transport given and wait for their connectionLost. */
async function closeAll(...pairs: Array<[DatagramTransport, DgramRecorder]>): Promise<void> {
  for (const [t] of pairs) t.close();
  for (const [, p] of pairs) await p.lost;
}

/** A UDP port with nothing bound to it (bound, then closed again). */
async function closedPort(type: 'udp4' | 'udp6' = 'udp4'): Promise<number> {
  const s = dgram.createSocket(type);
  await new Promise<void>((r) => s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether a UDP socket can bind ::1 on this machine. */
async function hasIPv6Loopback(): Promise<string | null> {
  const s = dgram.createSocket('udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '::1', () => resolve());
    });
    return null;
  } catch (exc) {
    return String(exc);
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
}

describe('createDatagramEndpoint on IPv4 loopback', () => {
  test('echo between an unconnected server and a connected client, empty datagrams included', async () => {
    const [st, sp, saddr] = await echoServer();
    const [ct, cp] = await endpoint({ remoteAddr: saddr });
    assert.deepEqual(cp.events, ['made'], 'connectionMade ran before the promise resolved');
    ct.sendto(Buffer.from('hello'));
    ct.sendto(new Uint8Array(0)); // the 3.13 decision: a zero-length datagram
    ct.sendto(new TextEncoder().encode('world'));
    await cp.received(3);
    assert.deepEqual(cp.texts, ['hello', '', 'world']);
    for (const [, a] of cp.datagrams) assert.deepEqual(a, saddr);
    const caddr = ct.getExtraInfo('sockname') as Address;
    for (const [, a] of sp.datagrams) assert.deepEqual(a, caddr);
    assert.deepEqual(sp.texts, ['hello', '', 'world']);

    // Extra info: socket, sockname, peername (null, not the default, when unconnected).
    assert.ok(ct.getExtraInfo('socket') instanceof dgram.Socket);
    assert.equal(caddr[0], '127.0.0.1');
    assert.deepEqual(ct.getExtraInfo('peername'), saddr);
    assert.equal(st.getExtraInfo('peername'), null);
    assert.equal(st.getExtraInfo('peername', 'dflt'), null);
    assert.equal(st.getExtraInfo('no-such-key', 42), 42);
    assert.equal(ct.getWriteBufferSize(), 0);
    assert.equal(ct.isClosing(), false);
    assert.equal(ct.getProtocol(), cp);
    assert.match(inspectOf(ct), /DatagramEndpoint open .*peer=\('127\.0\.0\.1', \d+\)/);

    await closeAll([ct, cp], [st, sp]);
    assert.deepEqual(cp.events, ['made', 'datagram', 'datagram', 'datagram', 'lost']);
    assert.equal(cp.lostWith, null);
    assert.equal(sp.lostWith, null);
  });

  test('localAddr and remoteAddr together: bound there and connected', async () => {
    const [st, sp, saddr] = await echoServer();
    const [ct, cp] = await endpoint({ localAddr: ['127.0.0.1', 0], remoteAddr: saddr });
    const caddr = ct.getExtraInfo('sockname') as Address;
    assert.equal(caddr[0], '127.0.0.1');
    assert.ok(caddr[1] > 0);
    ct.sendto(Buffer.from('both'));
    await cp.received(1);
    assert.deepEqual(sp.datagrams[0]![1], caddr);
    await closeAll([ct, cp], [st, sp]);
  });

  test('a connected endpoint receives only from its peer; an unconnected one from anyone', async () => {
    const [st, sp, saddr] = await echoServer();
    const [ct, cp] = await endpoint({ remoteAddr: saddr });
    const [ot, op] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    const caddr = ct.getExtraInfo('sockname') as Address;
    // A stranger's datagram to the connected client is refused by the kernel;
    // the echo that follows is the first thing the client receives.
    ot.sendto(Buffer.from('stranger'), caddr);
    ct.sendto(Buffer.from('peer'));
    await cp.received(1);
    // The unconnected server hears from both the client and the stranger.
    ot.sendto(Buffer.from('to server'), saddr);
    await sp.received(2);
    assert.deepEqual(sp.texts, ['peer', 'to server']);
    // One more round trip, so a late stranger datagram would have arrived by now.
    ct.sendto(Buffer.from('again'));
    await cp.received(2);
    assert.deepEqual(cp.texts, ['peer', 'again']);
    // The stranger got the ICMP refusal? Not on an unconnected socket (Linux
    // reports it only to connected ones), so nothing at all.
    await closeAll([ct, cp], [st, sp], [ot, op]);
    assert.deepEqual(op.errors, []);
  });

  test('family alone: an endpoint on an ephemeral port that sends anywhere', async () => {
    const [st, sp, saddr] = await echoServer();
    const [t, p] = await endpoint({ family: 4 });
    const name = t.getExtraInfo('sockname') as Address;
    assert.equal(name[0], '0.0.0.0');
    assert.ok(name[1] > 0);
    t.sendto(Buffer.from('x'), saddr);
    await p.received(1);
    assert.deepEqual(p.datagrams[0]![1], saddr);
    await closeAll([t, p], [st, sp]);
  });

  test('remoteAddr as a host name; sendto accepts it as well as the resolved address', async () => {
    const [st, sp, saddr] = await echoServer();
    const [ct, cp] = await endpoint({ remoteAddr: ['localhost', saddr[1]], family: 4 });
    assert.deepEqual(ct.getExtraInfo('peername'), saddr);
    ct.sendto(Buffer.from('a'), ['localhost', saddr[1]]);
    ct.sendto(Buffer.from('b'), saddr);
    ct.sendto(Buffer.from('c'), null as any); // asyncio's None
    await cp.received(3);
    assert.deepEqual(cp.texts, ['a', 'b', 'c']);
    await closeAll([ct, cp], [st, sp]);
  });

  test('datagrams to host names keep their order with the others', async () => {
    const [st, sp, saddr] = await echoServer();
    const [t, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    const byName: Address = ['localhost', saddr[1]];
    const order = ['1', '2', '3', '4', '5', '6'];
    order.forEach((s, i) => {
      t.sendto(Buffer.from(s), i % 2 === 0 ? byName : saddr);
    });
    assert.ok(t.getWriteBufferSize() > 0, 'datagrams wait for the name to resolve');
    await sp.received(6);
    assert.deepEqual(sp.texts, order);
    await until(() => t.getWriteBufferSize() === 0, 'empty buffer');
    await closeAll([t, p], [st, sp]);
  });

  test('the caller may reuse its buffer as soon as sendto() returns', async () => {
    const [st, sp, saddr] = await echoServer();
    const [t, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    const buf = Buffer.from('original');
    t.sendto(buf, ['localhost', saddr[1]]); // queued behind the name resolution
    buf.write('CHANGED!');
    await sp.received(1);
    assert.deepEqual(sp.texts, ['original']);
    await closeAll([t, p], [st, sp]);
  });

  test('datagrams that arrive before connectionMade wait for it', async () => {
    const [st, sp] = await echoServer();
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const promise = endpoint({ sock });
    // Sent before the endpoint exists: Node may read them before connectionMade runs.
    for (const s of ['early 1', 'early 2'])
      st.sendto(Buffer.from(s), ['127.0.0.1', sock.address().port]);
    const [t, p] = await promise;
    await p.received(2);
    assert.deepEqual(p.texts, ['early 1', 'early 2']);
    assert.deepEqual(p.events, ['made', 'datagram', 'datagram']);
    await closeAll([t, p], [st, sp]);
  });

  test('a plain object protocol: only the methods present are called', async () => {
    const [st, sp, saddr] = await echoServer();
    const got: string[] = [];
    let lost: Error | null | undefined;
    // No connectionMade, no errorReceived, no flow-control methods.
    const [t] = await loop.createDatagramEndpoint(
      () => ({
        datagramReceived: (d: Buffer) => void got.push(d.toString()),
        connectionLost: (exc: Error | null) => void (lost = exc),
      }),
      { localAddr: ['127.0.0.1', 0] },
    );
    t.setWriteBufferLimits(0); // pauseWriting would be due, but is absent
    t.sendto(Buffer.alloc(70000), saddr); // EMSGSIZE, and no errorReceived: ignored
    t.sendto(Buffer.from('after'), saddr);
    await until(() => got.length === 1, 'the echo');
    assert.deepEqual(got, ['after']);
    t.close();
    await until(() => lost !== undefined, 'connectionLost');
    assert.equal(lost, null);
    await closeAll([st, sp]);
  });

  test('run() closes an endpoint that is still open', async () => {
    let rec: DgramRecorder | null = null;
    const value = await run(async () => {
      const [, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
      rec = p;
      return 7;
    });
    assert.equal(value, 7);
    assert.deepEqual(rec!.events, ['made', 'lost']);
  });
});

describe('createDatagramEndpoint on IPv6 loopback', () => {
  test('::1 is available here (the IPv6 tests below need it)', async () => {
    const why = await hasIPv6Loopback();
    assert.equal(why, null, `cannot bind a UDP socket to ::1 on this machine: ${why}`);
  });

  test('echo over ::1, connected client and unconnected server', async () => {
    const why = await hasIPv6Loopback();
    if (why !== null) assert.fail(`::1 is not available on this machine (${why}): IPv6 untested`);
    const [st, sp, saddr] = await echoServer('::1');
    assert.deepEqual(saddr[0], '::1');
    const [ct, cp] = await endpoint({ remoteAddr: ['::1', saddr[1]] });
    assert.deepEqual(ct.getExtraInfo('peername'), ['::1', saddr[1]]);
    assert.equal((ct.getExtraInfo('sockname') as Address)[0], '::1');
    ct.sendto(Buffer.from('six'));
    ct.sendto(Buffer.alloc(0));
    await cp.received(2);
    assert.deepEqual(cp.texts, ['six', '']);
    assert.deepEqual(cp.datagrams[0]![1], ['::1', saddr[1]]);
    assert.deepEqual(sp.datagrams[0]![1], ct.getExtraInfo('sockname'));

    // family: 6 with no address, and an IPv6 closed port on a connected endpoint.
    const [ft, fp] = await endpoint({ family: 6 });
    assert.equal((ft.getExtraInfo('sockname') as Address)[0], '::');
    ft.sendto(Buffer.from('from ::'), ['::1', saddr[1]]);
    await fp.received(1);
    const port = await closedPort('udp6');
    const [rt, rp] = await endpoint({ remoteAddr: ['::1', port] });
    await rp.refused(rt, Buffer.from('anyone?'), 1);
    assert.equal((rp.errors[0] as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    await closeAll([ct, cp], [st, sp], [ft, fp], [rt, rp]);
  });
});

describe('sendto', () => {
  test('checks its arguments', async () => {
    const [st, sp, saddr] = await echoServer();
    const [ct, cp] = await endpoint({ remoteAddr: saddr });
    const [ut, up] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    for (const t of [ct, ut]) {
      assert.throws(() => t.sendto('text' as any, saddr), {
        name: 'TypeError',
        message: "data argument must be a bytes-like object, not 'str'",
      });
      assert.throws(() => t.sendto(42 as any, saddr), TypeError);
      assert.throws(() => t.sendto(null as any, saddr), TypeError);
    }
    // Connected: None or the connected address, nothing else (asyncio's message).
    const invalid = {
      name: 'TypeError',
      message: `Invalid address: must be None or ('127.0.0.1', ${saddr[1]})`,
    };
    assert.throws(
      () => ct.sendto(Buffer.from('x'), ['127.0.0.1', saddr[1] === 1 ? 2 : 1]),
      invalid,
    );
    assert.throws(() => ct.sendto(Buffer.from('x'), ['127.0.0.2', saddr[1]]), invalid);
    assert.throws(() => ct.sendto(Buffer.from('x'), `127.0.0.1:${saddr[1]}` as any), invalid);
    // Unconnected: a well-formed destination is required.
    assert.throws(() => ut.sendto(Buffer.from('x')), /addr is required/);
    assert.throws(() => ut.sendto(Buffer.from('x'), `127.0.0.1:${saddr[1]}` as any), {
      name: 'TypeError',
      message: /2-tuple is expected/,
    });
    assert.throws(() => ut.sendto(Buffer.from('x'), ['127.0.0.1'] as any), /2-tuple is expected/);
    assert.throws(
      () => ut.sendto(Buffer.from('x'), ['127.0.0.1', 1, 0, 0] as any),
      /2-tuple is expected/,
    );
    assert.throws(
      () => ut.sendto(Buffer.from('x'), [1, 2] as any),
      /host must be a non-empty string/,
    );
    assert.throws(() => ut.sendto(Buffer.from('x'), ['127.0.0.1', '53'] as any), {
      name: 'TypeError',
      message: /port must be an integer/,
    });
    assert.throws(() => ut.sendto(Buffer.from('x'), ['127.0.0.1', 1.5]), TypeError);
    for (const port of [70000, 65536, -1, 0]) {
      assert.throws(() => ut.sendto(Buffer.from('x'), ['127.0.0.1', port]), RangeError);
    }
    // Nothing was sent by the failed calls, and both endpoints still work.
    assert.equal(ct.isClosing() || ut.isClosing(), false);
    ct.sendto(Buffer.from('ok'));
    ut.sendto(Buffer.from('ok too'), saddr);
    await cp.received(1);
    await up.received(1);
    assert.deepEqual(sp.texts, ['ok', 'ok too']);
    await closeAll([ct, cp], [ut, up], [st, sp]);
  });

  test("after close: argument checks still apply, datagrams are dropped, asyncio's warning from the 5th", async () => {
    const [st, sp, saddr] = await echoServer();
    const [ct, cp] = await endpoint({ remoteAddr: saddr });
    ct.close();
    assert.equal(ct.isClosing(), true);
    assert.throws(() => ct.sendto('x' as any), TypeError);
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
    try {
      for (let i = 0; i < 4; i++) ct.sendto(Buffer.from('late'));
      assert.deepEqual(warnings, []);
      ct.sendto(Buffer.from('late'));
      ct.sendto(Buffer.from('late'));
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(warnings, [
      'socket.send() raised exception.',
      'socket.send() raised exception.',
    ]);
    await cp.lost;
    ct.sendto(Buffer.from('after lost')); // still no throw
    await closeAll([st, sp]);
    assert.deepEqual(sp.datagrams, []);
  });
});

describe('errors', () => {
  test('ICMP port unreachable reaches errorReceived on a connected endpoint, which stays open', async () => {
    const port = await closedPort();
    const [t, p] = await endpoint({ remoteAddr: ['127.0.0.1', port] });
    await p.refused(t, Buffer.from('is anyone there?'), 1);
    const err = p.errors[0] as NodeJS.ErrnoException;
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(t.isClosing(), false);
    await p.refused(t, Buffer.from('still?'), 2);
    assert.equal((p.errors[1] as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    await closeAll([t, p]);
    assert.deepEqual(
      p.events.filter((e) => e !== 'error'),
      ['made', 'lost'],
    );
    assert.ok(p.events.filter((e) => e === 'error').length >= 2);
    assert.equal(p.lostWith, null);
  });

  test('a datagram over the maximum size reaches errorReceived; the endpoint survives', async () => {
    const [st, sp, saddr] = await echoServer();
    const [t, p] = await endpoint({ remoteAddr: saddr });
    t.sendto(Buffer.alloc(65508)); // IPv4 UDP payload maximum is 65507
    t.sendto(Buffer.alloc(70000));
    await p.errored(2);
    for (const e of p.errors) assert.equal((e as NodeJS.ErrnoException).code, 'EMSGSIZE');
    assert.equal(t.isClosing(), false);
    t.sendto(Buffer.alloc(65507, 1)); // the largest one goes through
    await p.received(1);
    assert.equal(p.datagrams[0]![0].length, 65507);
    await closeAll([t, p], [st, sp]);
  });

  test('an unresolvable host name reaches errorReceived', async () => {
    const [st, sp, saddr] = await echoServer();
    const [t, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    t.sendto(Buffer.from('lost'), ['no-such-host.invalid', 9]);
    t.sendto(Buffer.from('after'), saddr);
    await p.errored(1);
    assert.equal(typeof (p.errors[0] as NodeJS.ErrnoException).code, 'string');
    await p.received(1);
    assert.deepEqual(p.texts, ['after']);
    await closeAll([t, p], [st, sp]);
  });

  test('a throwing datagramReceived closes the endpoint through the fatal-error path', async () => {
    const [st, sp, saddr] = await echoServer();
    const boom = new Error('boom');
    const [ct, cp] = await endpoint({ remoteAddr: saddr });
    cp.onDatagram = () => {
      throw boom;
    };
    ct.sendto(Buffer.from('x'));
    await cp.lost;
    assert.equal(cp.lostWith, boom);
    assert.equal(ct.isClosing(), true);
    const calls = takeHandlerCalls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.message, 'Fatal error: protocol.datagram_received() call failed.');
    assert.equal(calls[0]!.exception, boom);
    assert.equal(calls[0]!.transport, ct);
    assert.equal(calls[0]!.protocol, cp);
    await closeAll([st, sp]);
  });

  test('a throwing errorReceived is reported and the endpoint stays open', async () => {
    const port = await closedPort();
    const [t, p] = await endpoint({ remoteAddr: ['127.0.0.1', port] });
    const oops = new Error('oops');
    let calls = 0;
    p.errorReceived = (e: Error) => {
      calls++;
      p.errors.push(e);
      throw oops;
    };
    t.sendto(Buffer.from('x'));
    await until(() => calls === 1, 'errorReceived');
    const ctx = takeHandlerCalls();
    assert.equal(ctx.length, 1);
    assert.match(ctx[0]!.message, /^Exception in callback DgramRecorder\.error_received\(/);
    assert.equal(ctx[0]!.exception, oops);
    assert.equal(t.isClosing(), false);
    await closeAll([t, p]);
    assert.equal(p.lostWith, null);
  });

  test('broadcast: EACCES without allowBroadcast; with it, remoteAddr is a default destination, not connected', async () => {
    // Linux loopback has a broadcast address; a listener on 0.0.0.0 receives it.
    const [lt, lp] = await endpoint({ localAddr: ['0.0.0.0', 0] });
    const port = (lt.getExtraInfo('sockname') as Address)[1];
    const bcast: Address = ['127.255.255.255', port];

    const [nt, np] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    nt.sendto(Buffer.from('no'), bcast);
    await np.errored(1);
    assert.equal((np.errors[0] as NodeJS.ErrnoException).code, 'EACCES');

    const [bt, bp] = await endpoint({ remoteAddr: bcast, allowBroadcast: true });
    assert.equal(bt.getExtraInfo('peername'), null);
    assert.throws(() => bt.sendto(Buffer.from('x'), ['127.0.0.1', port]), /Invalid address/);
    bt.sendto(Buffer.from('to all'));
    bt.sendto(Buffer.from('to all again'), bcast);
    await lp.received(2);
    assert.deepEqual(lp.texts, ['to all', 'to all again']);
    assert.deepEqual(bp.errors, []);
    await closeAll([lt, lp], [nt, np], [bt, bp]);
  });
});

describe('close and abort', () => {
  test('close(): isClosing at once, connectionLost(null) once on a later turn, nothing delivered after', async () => {
    const [st, sp, saddr] = await echoServer();
    const [ct, cp] = await endpoint({ remoteAddr: saddr });
    ct.sendto(Buffer.from('one'));
    await cp.received(1);
    ct.close();
    assert.equal(ct.isClosing(), true);
    assert.deepEqual(cp.events, ['made', 'datagram'], 'connectionLost is not called from close()');
    ct.close(); // idempotent
    ct.abort(); // and abort after close changes nothing
    // The server answers, but a closing endpoint delivers nothing more.
    st.sendto(Buffer.from('late'), ct.getExtraInfo('sockname') as Address);
    await cp.lost;
    assert.deepEqual(cp.events, ['made', 'datagram', 'lost']);
    assert.equal(cp.lostWith, null);
    assert.equal(ct.getWriteBufferSize(), 0);
    assert.equal(ct.getProtocol(), cp, 'the protocol is still there after connectionLost');
    await closeAll([st, sp]);
  });

  test('close() sends the datagrams still queued, then connectionLost(null)', async () => {
    const [st, sp, saddr] = await echoServer();
    const [t, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    for (const s of ['a', 'b', 'c']) t.sendto(Buffer.from(s), ['localhost', saddr[1]]);
    const pending = t.getWriteBufferSize();
    assert.equal(pending, 3);
    t.close();
    assert.equal(t.isClosing(), true);
    t.sendto(Buffer.from('d'), saddr); // still accepted while closing, as asyncio
    await p.lost;
    assert.equal(p.lostWith, null);
    assert.equal(t.getWriteBufferSize(), 0);
    await sp.received(4);
    assert.deepEqual(sp.texts, ['a', 'b', 'c', 'd']);
    await closeAll([st, sp]);
  });

  test('abort() drops the queued datagrams; connectionLost(null) follows', async () => {
    const [st, sp, saddr] = await echoServer();
    const [t, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    for (const s of ['a', 'b', 'c']) t.sendto(Buffer.from(s), ['localhost', saddr[1]]);
    assert.equal(t.getWriteBufferSize(), 3);
    t.abort();
    assert.equal(t.isClosing(), true);
    assert.equal(t.getWriteBufferSize(), 0);
    assert.deepEqual(p.events, ['made']);
    await p.lost;
    assert.equal(p.lostWith, null);
    // A marker from elsewhere is the first and only thing the server gets.
    const [mt, mp] = await endpoint({ remoteAddr: saddr });
    mt.sendto(Buffer.from('marker'));
    await mp.received(1);
    assert.deepEqual(sp.texts, ['marker']);
    await closeAll([mt, mp], [st, sp]);
  });

  test('the socket closed by its owner ends the endpoint with connectionLost(null)', async () => {
    const [t, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    (t.getExtraInfo('socket') as dgram.Socket).close();
    await p.lost;
    assert.equal(p.lostWith, null);
    assert.equal(t.isClosing(), true);
  });
});

describe('write flow control', () => {
  test('the same watermarks as streams; setWriteBufferLimits validates', async () => {
    const [t, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    assert.deepEqual(t.getWriteBufferLimits(), [16384, 65536]);
    t.setWriteBufferLimits(4000);
    assert.deepEqual(t.getWriteBufferLimits(), [1000, 4000]);
    assert.throws(() => t.setWriteBufferLimits(0, 1), {
      name: 'RangeError',
      message: 'high (0) must be >= low (1) must be >= 0',
    });
    assert.deepEqual(t.getWriteBufferLimits(), [1000, 4000]);
    await closeAll([t, p]);
  });

  test('pauseWriting inside sendto over high, resumeWriting at low, while datagrams wait for a name', async () => {
    const [st, sp, saddr] = await echoServer();
    const [t, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    t.setWriteBufferLimits(4000, 1000);
    let sent = 0;
    // A bounded sender that stops when paused.
    while (!p.events.includes('pause') && sent < 100) {
      t.sendto(Buffer.alloc(1000, sent), ['localhost', saddr[1]]);
      sent++;
    }
    assert.equal(sent, 5, 'paused synchronously once strictly over high (5000 > 4000)');
    assert.equal(t.getWriteBufferSize(), 5000);
    await p.when(() => p.events.includes('resume'));
    assert.ok(t.getWriteBufferSize() <= 1000);
    await sp.received(5);
    assert.deepEqual(
      sp.datagrams.map(([d]) => d[0]),
      [0, 1, 2, 3, 4],
    );
    // Lowering high under the current size pauses at once; raising it does not resume.
    t.sendto(Buffer.alloc(100), ['localhost', saddr[1]]);
    t.setWriteBufferLimits(50, 0);
    assert.equal(p.events.at(-1), 'pause');
    await p.when(() => p.events.at(-1) === 'resume');
    await closeAll([t, p], [st, sp]);
    assert.deepEqual(
      p.events.filter((e) => e === 'pause' || e === 'resume'),
      ['pause', 'resume', 'pause', 'resume'],
    );
  });

  test('a sender that outpaces the kernel is paused and resumed; the buffer stays bounded', async () => {
    // Loopback never pushes back on UDP: Linux releases a datagram's
    // send-buffer charge as soon as loopback takes it. A private network
    // namespace whose loopback has a 20 Mbit/s token bucket (tc tbf) makes
    // the kernel answer EAGAIN, so libuv queues and the transport's buffer
    // fills for real. The child reports what happened as one JSON line.
    for (const tool of ['unshare', 'tc', 'ip']) {
      const r = spawnSync('sh', ['-c', `command -v ${tool}`], { env: withSbin() });
      assert.equal(r.status, 0, `this test needs '${tool}' (util-linux / iproute2) on PATH`);
    }
    const script = fileURLToPath(new URL('./helpers/udp-pushback.js', import.meta.url));
    const child = spawn(
      'unshare',
      [
        '-rn',
        'sh',
        '-c',
        'ip link set lo up && tc qdisc add dev lo root tbf rate 20mbit burst 16kb latency 1s && exec "$0" "$1" 1000',
        process.execPath,
        script,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: withSbin() },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(
      code,
      0,
      `the namespace child failed (user namespaces and tc are needed): ${err}${out}`,
    );
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    assert.ok(r.pauses >= 1, `pauseWriting was called: ${out}`);
    assert.equal(r.resumes, r.pauses, 'every pause was followed by a resume');
    assert.ok(r.maxBuffer > 65536, 'the buffer really went over the default high-water mark');
    assert.ok(
      r.maxBuffer <= 65536 + 1000,
      `bounded: at most high + one datagram, got ${r.maxBuffer}`,
    );
    assert.ok(r.maxAtResume <= 16384, `resumed at or below low, got ${r.maxAtResume}`);
    assert.ok(r.bufferAtClose > 0, 'close() was called with datagrams still queued');
    assert.equal(r.lostWith, null);
    assert.match(r.events, /close lost$/);
    assert.equal(r.received, 1000, 'close() flushed everything; nothing lost');
    assert.equal(r.inOrder, true);
  });
});

describe('an existing socket (sock)', () => {
  test('a bound, unconnected dgram.Socket: echo, buffer size, closed with the endpoint', async () => {
    const [st, sp, saddr] = await echoServer();
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    let closed = false;
    sock.on('close', () => (closed = true));
    const [t, p] = await endpoint({ sock });
    assert.equal(t.getExtraInfo('socket'), sock);
    assert.equal(t.getExtraInfo('peername'), null);
    assert.deepEqual(t.getExtraInfo('sockname'), ['127.0.0.1', sock.address().port]);
    t.sendto(Buffer.from('via sock'), saddr);
    // Node defers a send on a socket it resolved nothing for: counted until acknowledged.
    assert.equal(t.getWriteBufferSize(), 8);
    await p.received(1);
    assert.equal(t.getWriteBufferSize(), 0);
    assert.deepEqual(p.texts, ['via sock']);
    await closeAll([t, p]);
    await until(() => closed, "the socket's close event");
    await closeAll([st, sp]);
  });

  test('an unbound socket is bound; a connected one is used as connected', async () => {
    const [st, sp, saddr] = await echoServer();
    const unbound = dgram.createSocket('udp4');
    const [ut, up] = await endpoint({ sock: unbound });
    assert.ok((ut.getExtraInfo('sockname') as Address)[1] > 0);
    ut.sendto(Buffer.from('u'), saddr);
    await up.received(1);

    const connected = dgram.createSocket('udp4');
    await new Promise<void>((r) => connected.connect(saddr[1], '127.0.0.1', () => r()));
    const [ct, cp] = await endpoint({ sock: connected });
    assert.deepEqual(ct.getExtraInfo('peername'), saddr);
    assert.throws(() => ct.sendto(Buffer.from('x'), ['127.0.0.1', 1]), /Invalid address/);
    ct.sendto(Buffer.from('c'));
    await cp.received(1);
    assert.deepEqual(sp.texts, ['u', 'c']);
    await closeAll([ut, up], [ct, cp], [st, sp]);
  });

  test('rejects a non-dgram sock, a closed one, and sock with socket modifiers', async () => {
    await assert.rejects(endpoint({ sock: {} as any }), {
      name: 'TypeError',
      message: /^A UDP Socket was expected, got/,
    });
    const closed = dgram.createSocket('udp4');
    await new Promise<void>((r) => closed.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(endpoint({ sock: closed }), /closed/);
    const sock = dgram.createSocket('udp4');
    try {
      await assert.rejects(endpoint({ sock, localAddr: ['127.0.0.1', 0] }), {
        name: 'TypeError',
        message:
          "socket modifier keyword arguments can not be used when sock is specified. (localAddr=[ '127.0.0.1', 0 ])",
      });
      await assert.rejects(
        endpoint({ sock, allowBroadcast: true, family: 4 }),
        /allowBroadcast=true/,
      );
    } finally {
      sock.close();
    }
  });
});

describe('createDatagramEndpoint arguments', () => {
  test('rejects bad options with clear errors', async () => {
    await assert.rejects(loop.createDatagramEndpoint(null as any), TypeError);
    await assert.rejects(endpoint({}), { name: 'TypeError', message: 'unexpected address family' });
    await assert.rejects(endpoint(undefined), /unexpected address family/);
    await assert.rejects(endpoint({ localAddr: ['127.0.0.1', 0], reuseAddress: true } as any), {
      name: 'TypeError',
      message: "createDatagramEndpoint() got an unexpected keyword argument 'reuseAddress'",
    });
    await assert.rejects(endpoint({ family: 5 as any }), RangeError);
    await assert.rejects(endpoint({ localAddr: '127.0.0.1:0' as any }), /2-tuple is expected/);
    await assert.rejects(endpoint({ localAddr: ['127.0.0.1', 0, 0, 0] as any }), /2-tuple/);
    await assert.rejects(endpoint({ localAddr: ['127.0.0.1', 70000] }), RangeError);
    await assert.rejects(endpoint({ remoteAddr: ['127.0.0.1', 0] }), RangeError);
    await assert.rejects(endpoint({ remoteAddr: ['127.0.0.1', -5] }), RangeError);
    await assert.rejects(
      endpoint({ localAddr: ['127.0.0.1', 0], allowBroadcast: 1 as any }),
      TypeError,
    );
    await assert.rejects(endpoint({ localAddr: ['127.0.0.1', 0], family: 6 }), {
      code: 'ENOTFOUND',
    });
    await assert.rejects(endpoint({ localAddr: ['127.0.0.1', 0], remoteAddr: ['::1', 9] }), {
      name: 'TypeError',
      message: 'can not get address information',
    });
  });

  test(`reusePort ${nodeHasReusePort() ? 'shares a port' : 'is rejected on this Node.js'}`, async () => {
    if (!nodeHasReusePort()) {
      await assert.rejects(endpoint({ localAddr: ['127.0.0.1', 0], reusePort: true }), {
        name: 'TypeError',
        message: /reusePort is not supported by Node\.js v\d+.*22\.12\+ or 23\.1\+/,
      });
      return;
    }
    const [a, ap] = await endpoint({ localAddr: ['127.0.0.1', 0], reusePort: true });
    const port = (a.getExtraInfo('sockname') as Address)[1];
    const [b, bp] = await endpoint({ localAddr: ['127.0.0.1', port], reusePort: true });
    assert.equal((b.getExtraInfo('sockname') as Address)[1], port);
    await closeAll([a, ap], [b, bp]);
  });

  test("a bind failure passes Node's error through and leaves nothing open", async () => {
    const [t, p] = await endpoint({ localAddr: ['127.0.0.1', 0] });
    const name = t.getExtraInfo('sockname') as Address;
    await assert.rejects(endpoint({ localAddr: name }), { code: 'EADDRINUSE', syscall: 'bind' });
    await closeAll([t, p]);
  });

  test('a throwing factory rejects and closes the socket', async () => {
    const boom = new Error('factory');
    await assert.rejects(
      loop.createDatagramEndpoint(
        () => {
          throw boom;
        },
        { localAddr: ['127.0.0.1', 0] },
      ),
      boom,
    );
    await assert.rejects(
      loop.createDatagramEndpoint(() => 42 as any, { localAddr: ['127.0.0.1', 0] }),
      /protocol must be an object/,
    );
  });
});

describe("python3's asyncio as a live peer", () => {
  const ECHO_SERVER = `
import asyncio
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)
        if data == b'bye':
            self.done.set_result(None)
async def main():
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Echo, local_addr=('127.0.0.1', 0))
    protocol.done = loop.create_future()
    print(transport.get_extra_info('sockname')[1], flush=True)
    try:
        await asyncio.wait_for(protocol.done, 30)
    finally:
        transport.close()
asyncio.run(main())
`;

  test("asyncio's UDP echo server answers a protoloop client", async () => {
    const py = await startPython(ECHO_SERVER);
    const port = Number(py.ready);
    const [t, p] = await endpoint({ remoteAddr: ['127.0.0.1', port] });
    const big = Buffer.alloc(60000, 7);
    t.sendto(Buffer.from('Hello World!'));
    t.sendto(big);
    t.sendto(Buffer.from('bye'));
    await p.received(3);
    assert.deepEqual(p.texts[0], 'Hello World!');
    assert.ok(p.datagrams[1]![0].equals(big));
    assert.deepEqual(p.texts[2], 'bye');
    for (const [, a] of p.datagrams) assert.deepEqual(a, ['127.0.0.1', port]);
    const { code, stderr } = await py.exited;
    assert.equal(code, 0, stderr);
    await closeAll([t, p]);
  });

  test("a protoloop UDP echo server answers asyncio's client", async () => {
    const [st, sp, saddr] = await echoServer();
    const py = await startPython(
      `
import asyncio, sys
class Client(asyncio.DatagramProtocol):
    def __init__(self): self.got = []; self.done = asyncio.get_running_loop().create_future()
    def datagram_received(self, data, addr):
        self.got.append((data.decode(), addr))
        if len(self.got) == 2: self.done.set_result(None)
async def main():
    loop = asyncio.get_running_loop()
    t, p = await loop.create_datagram_endpoint(Client, remote_addr=('127.0.0.1', int(sys.argv[1])))
    print('ready', flush=True)
    t.sendto(b'one'); t.sendto(b'two')
    await asyncio.wait_for(p.done, 30)
    t.close()
    print(p.got, flush=True)
asyncio.run(main())
`,
      [String(saddr[1])],
    );
    assert.equal(py.ready, 'ready');
    const { code, stdout, stderr } = await py.exited;
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      new RegExp(`\\[\\('one', \\('127\\.0\\.0\\.1', ${saddr[1]}\\)\\), \\('two', `),
    );
    assert.deepEqual(sp.texts, ['one', 'two']);
    await closeAll([st, sp]);
  });
});

function inspectOf(v: unknown): string {
  return (v as { [k: symbol]: () => string })[Symbol.for('nodejs.util.inspect.custom')]!();
}

/** iproute2 and util-linux live in sbin, which a non-root PATH may lack. */
function withSbin(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
}
