/**
 * Bad input to the public methods that test/bad-input.test.ts (stream
 * transports, loop methods) does not reach: datagram, subprocess and pipe
 * transports, startTls, Server, Future, the exception handler entry points,
 * and the streams (StreamWriter, StreamReader.setTransport, the stream
 * functions' addresses).
 * Table-driven: each row is a call with wrong types, out-of-range numbers
 * or made after close, and what it must do: throw (or reject) a clear error
 * that names the argument, or do nothing. After every row the object's
 * observable state is compared with the state before: no change. Then the
 * object is shown to still work.
 */
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { describe, test } from 'node:test';
import {
  type DatagramTransport,
  Future,
  getRunningLoop,
  InvalidStateError,
  openConnection,
  openUnixConnection,
  type ReadTransport,
  StreamReader,
  type StreamWriter,
  type SubprocessTransport,
  startServer,
  startUnixServer,
  type WriteTransport,
} from '../src/index.js';
import { turns } from './conformance/stream.js';
import { clientTls, serverTls } from './helpers/certs.js';
import { until, useHarness } from './helpers/harness.js';
import { Recorder } from './helpers/recorder.js';

useHarness();
const loop = getRunningLoop();

type Matcher = RegExp | { name: string; message?: RegExp | string } | (new (...a: any[]) => Error);

/** One call and its expected outcome: a throw, a rejection, or a plain return (of `returns`, if given). */
type Row =
  | { what: string; call: () => unknown; throws: Matcher }
  | { what: string; call: () => Promise<unknown>; rejects: Matcher }
  | { what: string; call: () => unknown; returns?: unknown };

/** Run the rows; the state must be the same after each as before the first. */
async function check(rows: Row[], state: () => unknown): Promise<void> {
  const before = state();
  for (const row of rows) {
    if ('throws' in row) {
      assert.throws(row.call, row.throws as never, row.what);
    } else if ('rejects' in row) {
      await assert.rejects(row.call(), row.rejects as never, row.what);
    } else {
      const v = row.call();
      if ('returns' in row) assert.deepEqual(v, row.returns, row.what);
    }
    assert.deepEqual(state(), before, `state changed by: ${row.what}`);
  }
}

const typeError = (message: RegExp): Matcher => ({ name: 'TypeError', message });
const rangeError = (message: RegExp): Matcher => ({ name: 'RangeError', message });

/** Records events; `when(pred)` resolves once a callback made `pred` true (waits on events, not turns). */
class Events {
  events: string[] = [];
  #waiters: Array<() => void> = [];
  push(e: string): void {
    this.events.push(e);
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
  async when(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((r) => this.#waiters.push(r));
  }
  get lost(): Promise<void> {
    return this.when(() => this.events.includes('lost'));
  }
}

/** A DatagramProtocol that records. */
class DgRecorder extends Events {
  datagrams: Buffer[] = [];
  connectionMade(): void {
    this.push('made');
  }
  datagramReceived(d: Buffer): void {
    this.datagrams.push(d);
    this.push('datagram');
  }
  errorReceived(): void {
    this.push('error');
  }
  connectionLost(): void {
    assert.ok(!this.events.includes('lost'), 'connectionLost twice');
    this.push('lost');
  }
}

/** A SubprocessProtocol that records. */
class ChildRecorder extends Events {
  out = '';
  connectionMade(): void {
    this.push('made');
  }
  pipeDataReceived(_fd: number, d: Buffer): void {
    this.out += d.toString();
    this.push('data');
  }
  pipeConnectionLost(fd: number): void {
    this.push(`plost${fd}`);
  }
  processExited(): void {
    this.push('exited');
  }
  connectionLost(): void {
    assert.ok(!this.events.includes('lost'), 'connectionLost twice');
    this.push('lost');
  }
}

/** getExtraInfo/setProtocol: every transport kind. */
function baseRows(t: { getExtraInfo(n: string): unknown; setProtocol(p: object): void }): Row[] {
  const rows: Row[] = [];
  for (const name of [5, null, undefined, Symbol('k'), {}]) {
    rows.push({
      what: `getExtraInfo(${String(name)})`,
      call: () => t.getExtraInfo(name as never),
      throws: typeError(/^name must be a string/),
    });
  }
  for (const p of [null, undefined, 5, 'protocol', true]) {
    rows.push({
      what: `setProtocol(${String(p)})`,
      call: () => t.setProtocol(p as never),
      throws: typeError(/^protocol must be an object/),
    });
  }
  rows.push({
    what: 'getExtraInfo(unknown key, default)',
    call: () => t.getExtraInfo('nope'),
    returns: undefined,
  });
  return rows;
}

/** setWriteBufferLimits: every transport that writes. */
function limitRows(t: { setWriteBufferLimits(h?: number, l?: number): void }): Row[] {
  const rows: Row[] = [];
  for (const [h, l, m] of [
    ['64', undefined, typeError(/^high must be an integer/)],
    [1.5, undefined, typeError(/^high must be an integer/)],
    [Number.NaN, undefined, typeError(/^high must be an integer/)],
    [Number.POSITIVE_INFINITY, undefined, typeError(/^high must be an integer/)],
    [{}, undefined, typeError(/^high must be an integer/)],
    [undefined, '1', typeError(/^low must be an integer/)],
    [-1, undefined, rangeError(/^high \(-1\) must be >= low/)],
    [undefined, -1, rangeError(/must be >= 0/)],
    [1, 2, rangeError(/^high \(1\) must be >= low \(2\)/)],
  ] as const) {
    rows.push({
      what: `setWriteBufferLimits(${String(h)}, ${String(l)})`,
      call: () => t.setWriteBufferLimits(h as never, l as never),
      throws: m,
    });
  }
  return rows;
}

/** write/writelines with things that are not bytes. */
function writeRows(t: WriteTransport): Row[] {
  const rows: Row[] = [];
  for (const v of ['text', 42, null, undefined, {}, [1, 2], true]) {
    rows.push({
      what: `write(${String(v)})`,
      call: () => t.write(v as never),
      throws: typeError(/bytes-like/),
    });
  }
  for (const v of [42, null, {}, ['text'], [Buffer.from('ok'), 7]]) {
    rows.push({
      what: `writelines(${String(v)})`,
      call: () => t.writelines(v as never),
      throws: TypeError,
    });
  }
  return rows;
}

/** The rows for calls on a transport that is closed: no-ops or type errors, never a throw of state. */
function afterCloseRows(t: {
  close(): void;
  abort?(): void;
  pauseReading?(): void;
  resumeReading?(): void;
}): Row[] {
  const rows: Row[] = [{ what: 'close() again', call: () => t.close() }];
  if (t.abort) rows.push({ what: 'abort() after close', call: () => t.abort!() });
  if (t.pauseReading)
    rows.push({ what: 'pauseReading() after close', call: () => t.pauseReading!() });
  if (t.resumeReading)
    rows.push({ what: 'resumeReading() after close', call: () => t.resumeReading!() });
  return rows;
}

describe('datagram transport', () => {
  test('bad arguments and calls after close: clear errors, no state change, still working', async () => {
    const [server, sp] = await loop.createDatagramEndpoint(() => new DgRecorder(), {
      localAddr: ['127.0.0.1', 0],
    });
    const addr = server.getExtraInfo('sockname') as [string, number];
    const [t, p] = await loop.createDatagramEndpoint(() => new DgRecorder(), { remoteAddr: addr });
    const state = (x: DatagramTransport) => [
      x.isClosing(),
      x.getWriteBufferSize(),
      x.getWriteBufferLimits(),
      x.getProtocol(),
    ];
    await check([...baseRows(t), ...limitRows(t)], () => state(t));
    t.sendto(Buffer.from('still works'));
    await sp.when(() => sp.datagrams.length === 1);
    assert.equal(sp.datagrams[0]!.toString(), 'still works');

    t.close();
    await check(
      [
        ...afterCloseRows(t),
        ...baseRows(t),
        ...limitRows(t),
        { what: 'sendto() after close: dropped', call: () => t.sendto(Buffer.from('late')) },
        {
          what: 'sendto(str) after close',
          call: () => t.sendto('late' as never),
          throws: typeError(/bytes-like/),
        },
      ],
      () => state(t),
    );
    await p.lost;
    assert.deepEqual(p.events, ['made', 'lost']);
    server.close();
    await sp.lost;
    assert.equal(sp.datagrams.length, 1, 'nothing sent after close');
  });
});

describe('subprocess and its pipe transports', () => {
  test('bad arguments and calls after close: clear errors, no state change, still working', async () => {
    const rec = new ChildRecorder();
    const [t] = await loop.subprocessExec(() => rec, process.execPath, [
      '-e',
      'process.stdin.pipe(process.stdout)',
    ]);
    const stdin = t.getPipeTransport(0) as WriteTransport;
    const stdout = t.getPipeTransport(1) as ReadTransport;
    const state = (x: SubprocessTransport) => [
      x.isClosing(),
      x.getReturncode(),
      x.getPid(),
      x.getProtocol(),
      x.getPipeTransport(0),
      stdin.isClosing(),
      stdin.getWriteBufferSize(),
      stdin.getWriteBufferLimits(),
      stdout.isReading(),
      stdout.isClosing(),
    ];
    const rows: Row[] = [...baseRows(t), ...baseRows(stdin), ...baseRows(stdout)];
    for (const fd of [Number.NaN, 1.5, '0', null, undefined, Number.POSITIVE_INFINITY]) {
      rows.push({
        what: `getPipeTransport(${String(fd)})`,
        call: () => t.getPipeTransport(fd as never),
        throws: typeError(/^fd must be an integer/),
      });
    }
    rows.push({ what: 'getPipeTransport(3)', call: () => t.getPipeTransport(3), returns: null });
    rows.push({ what: 'getPipeTransport(-1)', call: () => t.getPipeTransport(-1), returns: null });
    for (const sig of ['SIGNOPE', 'sigterm', 'toString', '', 'KILL']) {
      rows.push({
        what: `sendSignal(${sig})`,
        call: () => t.sendSignal(sig as never),
        throws: typeError(/^Unknown signal/),
      });
    }
    for (const sig of [Number.NaN, 1.5, null, undefined, {}, Number.POSITIVE_INFINITY]) {
      rows.push({
        what: `sendSignal(${String(sig)})`,
        call: () => t.sendSignal(sig as never),
        throws: typeError(/^signal must be a signal name or number/),
      });
    }
    rows.push({
      what: 'sendSignal(-9)',
      call: () => t.sendSignal(-9),
      throws: rangeError(/^signal must be >= 0/),
    });
    // Out of the kernel's range: Node's own system error, as os.kill's OSError.
    rows.push({ what: 'sendSignal(99999)', call: () => t.sendSignal(99999), throws: /EINVAL/ });
    rows.push(...limitRows(stdin), ...writeRows(stdin));
    await check(rows, () => state(t));
    stdin.write(Buffer.from('still works'));
    await rec.when(() => rec.out === 'still works');

    t.close();
    await check(
      [
        ...afterCloseRows(t),
        ...afterCloseRows(stdin),
        ...afterCloseRows(stdout),
        { what: 'write() after close: dropped', call: () => stdin.write(Buffer.from('late')) },
        { what: 'writeEof() after close', call: () => stdin.writeEof() },
        {
          what: 'write(str) after close',
          call: () => stdin.write('late' as never),
          throws: typeError(/bytes-like/),
        },
        ...limitRows(stdin),
        {
          what: 'sendSignal(bad) after close',
          call: () => t.sendSignal('SIGNOPE' as never),
          throws: TypeError,
        },
      ],
      () => [t.isClosing(), t.getProtocol(), stdin.isClosing(), stdout.isReading()],
    );
    await rec.lost;
    assert.equal(t.getReturncode(), -9);
    assert.deepEqual(rec.events.slice(-2), ['exited', 'lost']);
    await turns(10);
    assert.equal(rec.events.filter((e) => e === 'lost').length, 1);
  });

  test('write() after writeEof() on a pipe: InvalidStateError, nothing written', async () => {
    const rec = new ChildRecorder();
    const [t] = await loop.subprocessExec(() => rec, process.execPath, [
      '-e',
      'process.stdin.pipe(process.stdout)',
    ]);
    const stdin = t.getPipeTransport(0) as WriteTransport;
    stdin.write(Buffer.from('only this'));
    stdin.writeEof();
    await check(
      [
        {
          what: 'write() after writeEof()',
          call: () => stdin.write(Buffer.from('x')),
          throws: InvalidStateError,
        },
        {
          what: 'writelines() after writeEof()',
          call: () => stdin.writelines([Buffer.from('x')]),
          throws: InvalidStateError,
        },
        { what: 'writeEof() again', call: () => stdin.writeEof() },
      ],
      () => [stdin.isClosing()],
    );
    await rec.lost;
    assert.equal(rec.out, 'only this');
  });
});

describe('startTls', () => {
  test('rows the startTls tests do not cover: clear errors, the connection as it was', async () => {
    let b: Recorder | null = null;
    const server = await loop.createServer(() => (b = new Recorder()), '127.0.0.1', 0);
    const port = (server.sockets[0]!.address() as net.AddressInfo).port;
    const [t, a] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    await until(() => b !== null && b.events[0] === 'made', 'server connectionMade');
    const [dg, dgp] = await loop.createDatagramEndpoint(() => new DgRecorder(), {
      localAddr: ['127.0.0.1', 0],
    });
    const [child, childp] = await loop.subprocessExec(() => new ChildRecorder(), process.execPath, [
      '-e',
      '',
    ]);
    const stdin = child.getPipeTransport(0)!;
    const ok = clientTls();
    const rows: Row[] = [];
    for (const [what, other] of [
      ['a datagram transport', dg],
      ['a subprocess transport', child],
      ['a pipe transport', stdin],
      ['null', null],
    ] as const) {
      rows.push({
        what: `startTls(${what})`,
        call: () => loop.startTls(other as never, a, ok, { serverHostname: 'localhost' }),
        rejects: typeError(/is not supported by start_tls\(\)/),
      });
    }
    for (const [what, options, m] of [
      ['options null', null, typeError(/options must be an object/)],
      ['options a string', 'localhost', typeError(/options must be an object/)],
      ['serverSide "yes"', { serverSide: 'yes' }, typeError(/^serverSide must be a boolean/)],
      ['serverHostname 5', { serverHostname: 5 }, typeError(/^serverHostname must be a string/)],
      [
        'sslHandshakeTimeout NaN',
        { serverHostname: 'localhost', sslHandshakeTimeout: Number.NaN },
        typeError(/^ssl_handshake_timeout should be a positive number/),
      ],
      [
        'sslShutdownTimeout "5"',
        { serverHostname: 'localhost', sslShutdownTimeout: '5' },
        typeError(/^ssl_shutdown_timeout should be a positive number/),
      ],
      [
        'sslHandshakeTimeout -0.5',
        { serverHostname: 'localhost', sslHandshakeTimeout: -0.5 },
        rangeError(/^ssl_handshake_timeout should be a positive number/),
      ],
    ] as const) {
      rows.push({
        what: `startTls with ${what}`,
        call: () => loop.startTls(t, a, ok, options as never),
        rejects: m,
      });
    }
    for (const ssl of [false, 1, 'tls', [ok]]) {
      rows.push({
        what: `startTls(sslcontext ${String(ssl)})`,
        call: () => loop.startTls(t, a, ssl as never, { serverHostname: 'localhost' }),
        rejects: typeError(/^sslcontext is expected to be true, TLS options/),
      });
    }
    rows.push({
      what: 'startTls(protocol 5)',
      call: () => loop.startTls(t, 5 as never, ok, { serverHostname: 'localhost' }),
      rejects: typeError(/^protocol must be an object/),
    });
    await check(rows, () => [t.isClosing(), t.isReading(), t.getProtocol(), a.events.length]);
    // Still a plain, working connection.
    t.write(Buffer.from('plain'));
    await b!.receivedBytes(5);

    // The old transport after a successful upgrade, and a lost one: InvalidStateError.
    const [ta] = await Promise.all([
      loop.startTls(t, a, ok, { serverHostname: 'localhost' }),
      loop.startTls(b!.transport, b!, serverTls(), { serverSide: true }),
    ]);
    await assert.rejects(
      loop.startTls(t, a, ok, { serverHostname: 'localhost' }),
      InvalidStateError,
    );
    ta.close();
    await a.lost;
    await assert.rejects(
      loop.startTls(ta, a, ok, { serverHostname: 'localhost' }),
      InvalidStateError,
    );
    await b!.lost;
    dg.close();
    await dgp.lost;
    await childp.lost;
    server.close();
    await server.waitClosed();
  });
});

describe('Server', () => {
  test('calls after close: no-ops that change nothing; serveForever is an InvalidStateError', async () => {
    let b: Recorder | null = null;
    const server = await loop.createServer(() => (b = new Recorder()), '127.0.0.1', 0);
    const port = (server.sockets[0]!.address() as net.AddressInfo).port;
    const [t, a] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
    await until(() => b !== null && b.events[0] === 'made', 'server connectionMade');
    server.close();
    const state = () => [server.isServing(), server.sockets.length, server.getLoop()];
    await check(
      [
        { what: 'close() again', call: () => server.close() },
        { what: 'startServing() after close', call: () => server.startServing() },
        {
          what: 'serveForever() after close',
          call: () => server.serveForever(),
          rejects: InvalidStateError,
        },
      ],
      state,
    );
    await server.startServing();
    assert.deepEqual(state(), [false, 0, loop]);
    // The connection outlives close(); closeClients() ends it; repeated calls are harmless.
    assert.equal(t.isClosing(), false);
    server.closeClients();
    server.closeClients();
    server.abortClients();
    await Promise.all([a.lost, b!.lost]);
    await server.waitClosed();
    await server.waitClosed();
    await server[Symbol.asyncDispose]();
    assert.deepEqual(state(), [false, 0, loop]);
  });
});

describe('Future', () => {
  test('wrong types and calls in the wrong state: clear errors, no state change', async () => {
    const f = new Future<number>();
    const pendingState = () => [f.done(), f.cancelled()];
    const rows: Row[] = [];
    for (const v of [5, 'loop', null, {}]) {
      rows.push({
        what: `new Future(${String(v)})`,
        call: () => new Future(v as never),
        throws: typeError(/^loop must be an EventLoop/),
      });
    }
    for (const v of ['boom', 42, null, undefined, { message: 'not an Error' }]) {
      rows.push({
        what: `setException(${String(v)})`,
        call: () => f.setException(v as never),
        throws: typeError(/^exception must be an Error instance/),
      });
    }
    for (const v of [null, 'cb', 5, {}]) {
      rows.push({
        what: `addDoneCallback(${String(v)})`,
        call: () => f.addDoneCallback(v as never),
        throws: typeError(/^callback must be a function/),
      });
      rows.push({
        what: `removeDoneCallback(${String(v)})`,
        call: () => f.removeDoneCallback(v as never),
        returns: 0,
      });
    }
    rows.push(
      { what: 'result() while pending', call: () => f.result(), throws: InvalidStateError },
      { what: 'exception() while pending', call: () => f.exception(), throws: InvalidStateError },
    );
    await check(rows, pendingState);

    f.setResult(7);
    const doneState = () => [f.done(), f.cancelled(), f.result(), f.exception()];
    await check(
      [
        { what: 'setResult() again', call: () => f.setResult(8), throws: InvalidStateError },
        {
          what: 'setException() after done',
          call: () => f.setException(new Error('late')),
          throws: InvalidStateError,
        },
        {
          what: 'setException(bad) after done',
          call: () => f.setException('late' as never),
          throws: Error,
        },
        { what: 'cancel() after done', call: () => f.cancel(), returns: false },
      ],
      doneState,
    );
    assert.equal(await f, 7);

    const c = new Future();
    c.cancel('stop');
    await check(
      [
        { what: 'setResult() after cancel', call: () => c.setResult(1), throws: InvalidStateError },
        {
          what: 'setException() after cancel',
          call: () => c.setException(new Error('x')),
          throws: InvalidStateError,
        },
        { what: 'cancel() again', call: () => c.cancel('again'), returns: false },
      ],
      () => [c.done(), c.cancelled()],
    );
    await assert.rejects(async () => await c, { name: 'CancelledError', message: 'stop' });
  });
});

describe('the exception handler entry points', () => {
  test('a context that is not an object is a TypeError; nothing is called', () => {
    const seen: unknown[] = [];
    loop.setExceptionHandler((_l, ctx) => void seen.push(ctx));
    for (const ctx of [null, undefined, 'message', 5]) {
      assert.throws(
        () => loop.callExceptionHandler(ctx as never),
        typeError(/^context must be an object/) as never,
      );
      assert.throws(
        () => loop.defaultExceptionHandler(ctx as never),
        typeError(/^context must be an object/) as never,
      );
    }
    assert.deepEqual(seen, []);
    for (const h of [5, 'handler', {}]) {
      assert.throws(() => loop.setExceptionHandler(h as never), TypeError);
    }
    assert.equal(typeof loop.getExceptionHandler(), 'function', 'the handler stays the same');
  });
});

describe('streams', () => {
  test('StreamWriter: bad arguments and calls after close; a rejected startTls leaves the reader as it was', async () => {
    let serverWriter: StreamWriter | null = null;
    const server = await startServer(
      (_r, w) => {
        serverWriter = w;
        w.write(Buffer.from('unread bytes'));
      },
      '127.0.0.1',
      0,
    );
    const port = (server.sockets[0]!.address() as net.AddressInfo).port;
    const [reader, w] = await openConnection('127.0.0.1', port);
    await until(() => reader._bufferSize === 12, 'the unread bytes');
    const state = () => [w.isClosing(), w.canWriteEof(), w.transport, reader._bufferSize];
    const rows: Row[] = [
      ...writeRows(w as unknown as WriteTransport),
      {
        what: 'getExtraInfo(5)',
        call: () => w.getExtraInfo(5 as never),
        throws: typeError(/^name must be a string/),
      },
    ];
    for (const [what, ctx, options, m] of [
      ['sslcontext 5', 5, {}, typeError(/^sslcontext is expected/)],
      ['serverHostname 5', true, { serverHostname: 5 }, typeError(/^serverHostname must be/)],
      [
        'sslHandshakeTimeout -1',
        true,
        { serverHostname: 'localhost', sslHandshakeTimeout: -1 },
        rangeError(/^ssl_handshake_timeout/),
      ],
      ['no serverHostname', {}, {}, typeError(/needs serverHostname/)],
      ['an unknown option', true, { bogus: 1 }, typeError(/unexpected keyword argument 'bogus'/)],
      ['options null', true, null, typeError(/options must be an object/)],
    ] as const) {
      rows.push({
        what: `startTls with ${what}`,
        call: () => w.startTls(ctx as never, options as never),
        rejects: m,
      });
    }
    await check(rows, state);
    assert.equal((await reader.read(100)).toString(), 'unread bytes', 'nothing was taken');

    w.close();
    await w.waitClosed();
    await check(
      [
        { what: 'close() again', call: () => w.close() },
        { what: 'write() after close: dropped', call: () => w.write(Buffer.from('late')) },
        { what: 'writeEof() after close', call: () => w.writeEof() },
        { what: 'write(str) after close', call: () => w.write('late' as never), throws: TypeError },
        { what: 'drain() after close', call: () => w.drain(), rejects: /Connection lost/ },
        {
          what: 'startTls() after close',
          call: () => w.startTls(true, { serverHostname: 'localhost' }),
          rejects: /Connection lost/,
        },
      ],
      () => [w.isClosing(), w.transport],
    );
    await until(() => serverWriter !== null, 'the server side');
    serverWriter!.close();
    server.close();
    await server.waitClosed();
  });

  test('StreamReader.setTransport and the stream functions reject bad values', async () => {
    const r = new StreamReader();
    for (const v of [null, undefined, 5, 'transport']) {
      assert.throws(() => r.setTransport(v as never), typeError(/^transport must be/) as never);
    }
    const [t] = await loop.createDatagramEndpoint(() => new DgRecorder(), {
      localAddr: ['127.0.0.1', 0],
    });
    const dgp = t.getProtocol() as DgRecorder;
    r.setTransport(t as never);
    assert.throws(() => r.setTransport(t as never), InvalidStateError);
    t.close();
    await dgp.lost;
    const cb = () => {};
    await check(
      [
        {
          what: 'openConnection(5)',
          call: () => openConnection(5 as never, 80),
          rejects: TypeError,
        },
        {
          what: 'openConnection(port 70000)',
          call: () => openConnection('127.0.0.1', 70000),
          rejects: RangeError,
        },
        {
          what: 'openConnection(limit 1.5)',
          call: () => openConnection('127.0.0.1', 80, { limit: 1.5 }),
          rejects: TypeError,
        },
        {
          what: 'startServer(port -1)',
          call: () => startServer(cb, '127.0.0.1', -1),
          rejects: RangeError,
        },
        {
          what: 'openUnixConnection(42)',
          call: () => openUnixConnection(42 as never),
          rejects: TypeError,
        },
        {
          what: 'startUnixServer(cb, 42)',
          call: () => startUnixServer(cb, 42 as never),
          rejects: TypeError,
        },
        {
          what: 'startUnixServer(not a function)',
          call: () => startUnixServer('cb' as never, '/tmp/x'),
          rejects: /clientConnected/,
        },
      ],
      () => [loop._open.size],
    );
  });
});
