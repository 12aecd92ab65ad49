/**
 * The stream-transport conformance suite: one set of scenarios that every
 * stream transport must pass (TCP, Unix, accepted sockets, TLS, pipes where
 * they apply, the in-memory pair). Each scenario gets a connected pair of
 * recording protocols from the `PairFactory` of the transport under test.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidStateError, type Server, type Transport } from '../../src/index.js';
import { takeHandlerCalls, until, useHarness } from '../helpers/harness.js';
import { BufferedRecorder, Recorder } from '../helpers/recorder.js';

export interface StreamPair {
  /** The connecting side. */
  a: Recorder;
  /** The accepting side. */
  b: Recorder;
  /** Release anything besides the two transports (servers, ...). */
  dispose(): Promise<void>;
}

export type PairFactory = (makeA: () => Recorder, makeB: () => Recorder) => Promise<StreamPair>;

export interface Capabilities {
  /** writeEof()/half-close supported (false for TLS). */
  writeEof: boolean;
  /** The peer's kernel buffers can fill so that writes stay queued (false for nothing yet). */
  backpressure: boolean;
}

/** Let the loop run `n` turns (for "nothing happens" checks; no sleeping for time). */
export async function turns(n = 50): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/**
 * A client/server pair over a protoloop server: `listen` starts a server
 * making B, `connect` connects A to it; resolves once B has connectionMade.
 */
export async function serverPair(
  makeA: () => Recorder,
  makeB: () => Recorder,
  listen: (factory: () => Recorder) => Promise<Server>,
  connect: (server: Server, factory: () => Recorder) => Promise<[Transport, Recorder]>,
): Promise<StreamPair> {
  let b: Recorder | null = null;
  const server = await listen(() => (b = makeB()));
  const [, a] = await connect(server, makeA);
  await until(() => b !== null && b.events.length > 0, 'server connectionMade');
  return {
    a,
    b: b!,
    dispose: async () => {
      server.close();
      await server.waitClosed();
    },
  };
}

/** Write until the transport pauses us (peer not reading); returns bytes written. */
async function fillUntilPaused(
  rec: Recorder,
  chunk = 64 * 1024,
  max = 64 * 1024 * 1024,
): Promise<number> {
  const data = Buffer.alloc(chunk, 0x61);
  let total = 0;
  while (!rec.events.includes('pause')) {
    rec.transport.write(data);
    total += chunk;
    if (total > max) throw new Error('never paused');
    if (!rec.events.includes('pause')) await turns(2);
  }
  return total;
}

export function streamConformance(name: string, makePair: PairFactory, caps: Capabilities): void {
  describe(`stream conformance: ${name}`, () => {
    useHarness();

    async function pair(
      opts: { a?: () => Recorder; b?: () => Recorder } = {},
    ): Promise<StreamPair> {
      return makePair(opts.a ?? (() => new Recorder()), opts.b ?? (() => new Recorder()));
    }

    test('echo round trip, then close on both sides: the full callback grammar', async () => {
      const p = await pair();
      p.b.onData = (d) => p.b.transport.write(d);
      p.a.transport.write(Buffer.from('hello, '));
      p.a.transport.writelines([Buffer.from('wor'), new Uint8Array([0x6c, 0x64])]);
      await p.a.receivedBytes(12);
      assert.equal(p.a.received.toString(), 'hello, world');
      p.a.transport.close();
      assert.equal(p.a.transport.isClosing(), true);
      await Promise.all([p.a.lost, p.b.lost]);
      assert.deepEqual(p.a.grammar, ['made', 'data', 'lost']);
      assert.deepEqual(p.b.grammar, ['made', 'data', 'eof', 'lost']);
      assert.equal(p.a.lostWith, null);
      assert.equal(p.b.lostWith, null);
      await p.dispose();
    });

    test('close() flushes everything written before it, then connectionLost(null)', async () => {
      const p = await pair();
      const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
      p.a.transport.write(big);
      p.a.transport.close();
      p.a.transport.close(); // idempotent
      await p.b.lost;
      assert.equal(p.b.received.length, big.length);
      assert.ok(p.b.received.equals(big));
      await p.a.lost;
      assert.equal(p.a.lostWith, null);
      await p.dispose();
    });

    test('connectionLost is never called synchronously from close() or abort()', async () => {
      const p = await pair();
      p.a.transport.close();
      assert.ok(!p.a.events.includes('lost'));
      p.a.transport.abort();
      assert.ok(!p.a.events.includes('lost'));
      await p.a.lost;
      assert.deepEqual(p.a.events, ['made', 'lost']);
      await p.b.lost;
      await p.dispose();
    });

    test('abort() drops buffered data and ends with connectionLost(null) once', async () => {
      const p = await pair();
      p.b.transport.pauseReading();
      if (caps.backpressure) await fillUntilPaused(p.a);
      p.a.transport.abort();
      assert.equal(p.a.transport.isClosing(), true);
      assert.equal(p.a.transport.isReading(), false);
      p.a.transport.abort();
      p.a.transport.close();
      await p.a.lost;
      assert.equal(p.a.lostWith, null);
      assert.equal(p.a.events.filter((e) => e === 'lost').length, 1);
      assert.ok(!p.a.events.includes('resume'), 'no resumeWriting after abort');
      p.b.transport.resumeReading();
      await p.b.lost;
      await p.dispose();
    });

    test('nothing is delivered after close()', async () => {
      const p = await pair();
      p.b.transport.write(Buffer.from('late data'));
      p.a.transport.close();
      await p.a.lost;
      assert.deepEqual(p.a.events, ['made', 'lost']);
      await p.b.lost;
      await p.dispose();
    });

    if (caps.writeEof) {
      test('writeEof half-closes; a protocol that keeps open can still reply', async () => {
        const p = await pair();
        p.b.keepOpen = true;
        assert.equal(p.a.transport.canWriteEof(), true);
        p.a.transport.write(Buffer.from('request'));
        p.a.transport.writeEof();
        p.a.transport.writeEof(); // idempotent
        assert.throws(() => p.a.transport.write(Buffer.from('x')), {
          name: 'InvalidStateError',
          message: 'Cannot call write() after write_eof()',
        });
        assert.throws(() => p.a.transport.write(Buffer.alloc(0)), InvalidStateError);
        assert.throws(
          () => p.a.transport.writelines([]),
          /Cannot call writelines\(\) after write_eof\(\)/,
        );
        await p.b.eof;
        assert.equal(p.b.received.toString(), 'request');
        assert.equal(p.b.transport.isClosing(), false);
        assert.equal(p.b.transport.isReading(), true);
        p.b.transport.write(Buffer.from('reply'));
        p.b.transport.close();
        await Promise.all([p.a.lost, p.b.lost]);
        assert.equal(p.a.received.toString(), 'reply');
        assert.deepEqual(p.a.grammar, ['made', 'data', 'eof', 'lost']);
        await p.dispose();
      });

      test('eofReceived returning falsy closes the transport', async () => {
        const p = await pair();
        p.a.transport.writeEof();
        await p.b.lost;
        assert.deepEqual(p.b.grammar, ['made', 'eof', 'lost']);
        assert.equal(p.b.lostWith, null);
        await p.a.lost;
        await p.dispose();
      });

      test('resumeReading after a kept-open EOF does not deliver EOF again', async () => {
        const p = await pair();
        p.b.keepOpen = true;
        p.a.transport.writeEof();
        await p.b.eof;
        p.b.transport.pauseReading();
        p.b.transport.resumeReading();
        await turns(20);
        assert.equal(p.b.events.filter((e) => e === 'eof').length, 1);
        p.b.transport.close();
        await Promise.all([p.a.lost, p.b.lost]);
        await p.dispose();
      });
    }

    test('pauseReading stops delivery until resumeReading; both idempotent', async () => {
      const p = await pair({
        b: () => {
          const r = new Recorder();
          r.onMade = (t) => t.pauseReading(); // honoured before reading ever starts
          return r;
        },
      });
      assert.equal(p.b.transport.isReading(), false);
      p.b.transport.pauseReading();
      p.a.transport.write(Buffer.from('while paused'));
      await turns(50);
      assert.deepEqual(p.b.events, ['made']);
      p.b.transport.resumeReading();
      p.b.transport.resumeReading();
      assert.equal(p.b.transport.isReading(), true);
      await p.b.receivedBytes(12);
      p.b.transport.close();
      assert.equal(p.b.transport.isReading(), false);
      p.b.transport.resumeReading(); // no effect after close
      assert.equal(p.b.transport.isReading(), false);
      await Promise.all([p.a.lost, p.b.lost]);
      await p.dispose();
    });

    test('write flow control: pause strictly over high, resume at or below low', async () => {
      const p = await pair();
      const t = p.a.transport;
      assert.deepEqual(t.getWriteBufferLimits(), [16384, 65536]);
      p.b.transport.pauseReading();
      if (caps.backpressure) {
        const sizes: number[] = [];
        p.a.onData = () => {};
        const origPause = p.a.pauseWriting.bind(p.a);
        p.a.pauseWriting = () => {
          sizes.push(t.getWriteBufferSize());
          origPause();
        };
        const origResume = p.a.resumeWriting.bind(p.a);
        p.a.resumeWriting = () => {
          sizes.push(t.getWriteBufferSize());
          origResume();
        };
        await fillUntilPaused(p.a);
        assert.ok(sizes[0]! > 65536, `paused at ${sizes[0]}`);
        p.b.transport.resumeReading();
        await p.a.when(() => p.a.events.includes('resume'));
        assert.ok(sizes[1]! <= 16384, `resumed at ${sizes[1]}`);
      }
      // Limits re-checked at once: with anything buffered and high=0, pause now.
      p.b.transport.pauseReading();
      const before = p.a.events.filter((e) => e === 'pause').length;
      if (caps.backpressure) {
        t.setWriteBufferLimits(1 << 30);
        while (t.getWriteBufferSize() === 0) {
          t.write(Buffer.alloc(1 << 20));
          await turns(1);
        }
        t.setWriteBufferLimits(0);
        assert.equal(p.a.events.filter((e) => e === 'pause').length, before + 1);
      }
      p.b.transport.resumeReading();
      p.a.transport.close();
      await Promise.all([p.a.lost, p.b.lost]);
      await p.dispose();
    });

    test('setWriteBufferLimits validates like asyncio and leaves limits unchanged on error', async () => {
      const p = await pair();
      const t = p.a.transport;
      assert.throws(() => t.setWriteBufferLimits(1, 2), {
        name: 'RangeError',
        message: 'high (1) must be >= low (2) must be >= 0',
      });
      assert.throws(
        () => t.setWriteBufferLimits(-1),
        /high \(-1\) must be >= low \(-1\) must be >= 0/,
      );
      assert.throws(() => t.setWriteBufferLimits('1' as never), TypeError);
      assert.deepEqual(t.getWriteBufferLimits(), [16384, 65536]);
      t.setWriteBufferLimits(1000);
      assert.deepEqual(t.getWriteBufferLimits(), [250, 1000]);
      t.setWriteBufferLimits(undefined, 100);
      assert.deepEqual(t.getWriteBufferLimits(), [100, 400]);
      t.setWriteBufferLimits(0);
      assert.deepEqual(t.getWriteBufferLimits(), [0, 0]);
      t.setWriteBufferLimits();
      assert.deepEqual(t.getWriteBufferLimits(), [16384, 65536]);
      p.a.transport.close();
      await Promise.all([p.a.lost, p.b.lost]);
      await p.dispose();
    });

    test('write() rejects strings and non-bytes with a TypeError; empty data is a no-op', async () => {
      const p = await pair();
      const t = p.a.transport;
      assert.throws(() => t.write('text' as never), {
        name: 'TypeError',
        message: "data argument must be a bytes-like object, not 'str'",
      });
      assert.throws(() => t.write(42 as never), TypeError);
      assert.throws(() => t.writelines(['a'] as never), TypeError);
      assert.throws(() => t.writelines(5 as never), TypeError);
      t.write(new Uint8Array(0));
      assert.equal(t.getWriteBufferSize(), 0);
      t.write(new Uint16Array([0x6968]).buffer);
      await p.b.receivedBytes(2);
      assert.equal(p.b.received.toString(), 'hi');
      t.close();
      await Promise.all([p.a.lost, p.b.lost]);
      await p.dispose();
    });

    test('writes after the connection is lost are dropped; the 5th warns once per write', async () => {
      const p = await pair();
      const warns: unknown[] = [];
      const orig = console.warn;
      console.warn = (...a: unknown[]) => warns.push(a.join(' '));
      try {
        p.a.transport.abort();
        for (let i = 0; i < 6; i++) p.a.transport.write(Buffer.from('x'));
        assert.deepEqual(warns, [
          'socket.send() raised exception.',
          'socket.send() raised exception.',
        ]);
      } finally {
        console.warn = orig;
      }
      await Promise.all([p.a.lost, p.b.lost]);
      if (caps.writeEof) p.a.transport.writeEof(); // after close: silent no-op
      await p.dispose();
    });

    test('a throwing dataReceived takes the fatal-error path: connectionLost(exc)', async () => {
      const boom = new Error('boom');
      const p = await pair({
        b: () => {
          const r = new Recorder();
          r.onData = () => {
            throw boom;
          };
          return r;
        },
      });
      p.a.transport.write(Buffer.from('x'));
      await p.b.lost;
      assert.equal(p.b.lostWith, boom);
      const calls = takeHandlerCalls();
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.message, 'Fatal error: protocol.data_received() call failed.');
      assert.equal(calls[0]!.exception, boom);
      assert.equal(calls[0]!.transport, p.b.transport);
      assert.equal(calls[0]!.protocol, p.b);
      await p.a.lost;
      await p.dispose();
    });

    if (caps.writeEof) {
      test('a throwing eofReceived takes the fatal-error path', async () => {
        const boom = new Error('eof boom');
        const p = await pair();
        p.b.eofReceived = () => {
          throw boom;
        };
        p.a.transport.writeEof();
        await p.b.lost;
        assert.equal(p.b.lostWith, boom);
        assert.equal(
          takeHandlerCalls()[0]!.message,
          'Fatal error: protocol.eof_received() call failed.',
        );
        await p.a.lost;
        await p.dispose();
      });
    }

    test('BufferedProtocol: a small buffer gives several getBuffer/bufferUpdated pairs', async () => {
      const p = await pair({ b: () => new BufferedRecorder(4) });
      p.a.transport.write(Buffer.from('0123456789'));
      await p.b.receivedBytes(10);
      assert.equal(p.b.received.toString(), '0123456789');
      assert.ok(p.b.chunks.every((c) => c.length <= 4));
      p.a.transport.close();
      await Promise.all([p.a.lost, p.b.lost]);
      await p.dispose();
    });

    test('getBuffer returning an empty buffer is a fatal error', async () => {
      const p = await pair({
        b: () => {
          const r = new BufferedRecorder(4);
          r.getBuffer = () => new Uint8Array(0);
          return r;
        },
      });
      p.a.transport.write(Buffer.from('xyz'));
      await p.b.lost;
      assert.equal(p.b.lostWith?.message, 'get_buffer() returned an empty buffer');
      assert.equal(
        takeHandlerCalls()[0]!.message,
        'Fatal error: protocol.get_buffer() call failed.',
      );
      await p.a.lost;
      await p.dispose();
    });

    test('setProtocol switches between Protocol and BufferedProtocol mid-stream', async () => {
      const p = await pair();
      p.a.transport.write(Buffer.from('one'));
      await p.b.receivedBytes(3);
      const buffered = new BufferedRecorder(2);
      buffered.events.push('made');
      buffered.transport = p.b.transport;
      p.b.transport.setProtocol(buffered);
      assert.equal(p.b.transport.getProtocol(), buffered);
      p.a.transport.write(Buffer.from('two!'));
      await buffered.receivedBytes(4);
      assert.equal(buffered.received.toString(), 'two!');
      const plain = new Recorder();
      plain.events.push('made');
      plain.transport = p.b.transport;
      p.b.transport.setProtocol(plain);
      p.a.transport.write(Buffer.from('three'));
      await plain.receivedBytes(5);
      assert.equal(plain.received.toString(), 'three');
      assert.equal(p.b.received.toString(), 'one');
      p.a.transport.close();
      await Promise.all([p.a.lost, plain.lost]);
      assert.equal(p.b.transport.getProtocol(), plain);
      await p.dispose();
    });

    test('getExtraInfo: unknown keys give the default; values stay readable after close', async () => {
      const p = await pair();
      assert.equal(p.a.transport.getExtraInfo('no-such-key'), undefined);
      assert.equal(p.a.transport.getExtraInfo('no-such-key', 42), 42);
      p.a.transport.close();
      await Promise.all([p.a.lost, p.b.lost]);
      assert.equal(p.a.transport.getExtraInfo('no-such-key', 'd'), 'd');
      await p.dispose();
    });

    test('large transfer both ways keeps order and every byte', async () => {
      const p = await pair();
      p.b.onData = (d) => p.b.transport.write(d);
      const total = 4 * 1024 * 1024;
      const data = Buffer.alloc(total);
      for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
      for (let off = 0; off < total; off += 100_000)
        p.a.transport.write(data.subarray(off, off + 100_000));
      await p.a.receivedBytes(total);
      assert.ok(p.a.received.equals(data));
      p.a.transport.close();
      await Promise.all([p.a.lost, p.b.lost]);
      await p.dispose();
    });
  });
}
