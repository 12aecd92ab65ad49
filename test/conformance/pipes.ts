/**
 * The pipe conformance suite: the scenarios of the stream suite
 * (conformance/stream.ts) that apply to a one-way pair, a write pipe
 * feeding a read pipe. The stream suite itself cannot run over pipes: it
 * needs a bidirectional Transport on both ends (echo replies, half-close
 * with eofReceived keeping the write side open, setProtocol on the reading
 * side of a writer), and a read pipe closes at EOF whatever eofReceived
 * returns (asyncio semantics 8.2). Every pair factory (FIFOs, socket
 * streams, a child process's stdio, in-memory Node streams) runs it all.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidStateError, type ReadTransport, type WriteTransport } from '../../src/index.js';
import { takeHandlerCalls, useHarness } from '../helpers/harness.js';
import { BufferedRecorder, Recorder } from '../helpers/recorder.js';
import { turns } from './stream.js';

export interface PipePair {
  /** The protocol of the write pipe. */
  writer: Recorder;
  /** The protocol of the read pipe. */
  reader: Recorder;
  /** Release anything besides the two transports. */
  dispose(): Promise<void>;
}

export type PipePairFactory = (
  makeWriter: () => Recorder,
  makeReader: () => Recorder,
) => Promise<PipePair>;

export interface PipeCapabilities {
  /**
   * When the writer notices the reader closing: `'at-once'` (sockets,
   * streams that close), or `'on-write'` (a FIFO: Node cannot poll a
   * write-only descriptor, the next write fails with EPIPE; a relay such as
   * `cat` notices when data flows).
   */
  readerClose: 'at-once' | 'on-write';
}

const w = (r: Recorder): WriteTransport => r.transport as unknown as WriteTransport;
const rd = (r: Recorder): ReadTransport => r.transport as unknown as ReadTransport;

/** Write until the write pipe pauses us (reader paused); returns bytes written. */
async function fillUntilPaused(rec: Recorder, max = 64 * 1024 * 1024): Promise<number> {
  const data = Buffer.alloc(64 * 1024, 0x61);
  let total = 0;
  while (!rec.events.includes('pause')) {
    w(rec).write(data);
    total += data.length;
    if (total > max) throw new Error('never paused');
    if (!rec.events.includes('pause')) await turns(2);
  }
  return total;
}

export function pipeConformance(
  name: string,
  makePair: PipePairFactory,
  caps: PipeCapabilities,
): void {
  describe(`pipe conformance: ${name}`, () => {
    useHarness();

    function pair(
      opts: { writer?: () => Recorder; reader?: () => Recorder } = {},
    ): Promise<PipePair> {
      return makePair(opts.writer ?? (() => new Recorder()), opts.reader ?? (() => new Recorder()));
    }

    test('bytes through, then close(): EOF and connectionLost(null) on both ends', async () => {
      const p = await pair();
      w(p.writer).write(Buffer.from('hello, '));
      w(p.writer).writelines([Buffer.from('wor'), new Uint8Array([0x6c, 0x64])]);
      await p.reader.receivedBytes(12);
      assert.equal(p.reader.received.toString(), 'hello, world');
      w(p.writer).close();
      assert.equal(w(p.writer).isClosing(), true);
      await Promise.all([p.writer.lost, p.reader.lost]);
      assert.deepEqual(p.writer.grammar, ['made', 'lost']);
      assert.deepEqual(p.reader.grammar, ['made', 'data', 'eof', 'lost']);
      assert.equal(p.writer.lostWith, null);
      assert.equal(p.reader.lostWith, null);
      await p.dispose();
    });

    test('close() flushes everything written before it', async () => {
      const p = await pair();
      const big = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
      w(p.writer).write(big);
      w(p.writer).close();
      w(p.writer).close(); // idempotent
      await p.reader.lost;
      assert.ok(p.reader.received.equals(big));
      await p.writer.lost;
      assert.equal(p.writer.lostWith, null);
      await p.dispose();
    });

    test('connectionLost is never called synchronously from close() or abort()', async () => {
      const p = await pair();
      w(p.writer).close();
      w(p.writer).abort();
      rd(p.reader).close();
      assert.ok(!p.writer.events.includes('lost'));
      assert.ok(!p.reader.events.includes('lost'));
      await Promise.all([p.writer.lost, p.reader.lost]);
      assert.deepEqual(p.writer.events, ['made', 'lost']);
      assert.deepEqual(p.reader.events, ['made', 'lost']);
      await p.dispose();
    });

    test('abort() drops buffered data and ends with connectionLost(null) once', async () => {
      const p = await pair();
      rd(p.reader).pauseReading();
      await fillUntilPaused(p.writer);
      assert.ok(w(p.writer).getWriteBufferSize() > 0);
      w(p.writer).abort();
      assert.equal(w(p.writer).isClosing(), true);
      w(p.writer).abort();
      w(p.writer).close();
      await p.writer.lost;
      assert.equal(p.writer.lostWith, null);
      assert.equal(p.writer.events.filter((e) => e === 'lost').length, 1);
      assert.ok(!p.writer.events.includes('resume'), 'no resumeWriting after abort');
      rd(p.reader).close();
      await p.reader.lost;
      await p.dispose();
    });

    test('writeEof() flushes and closes; write() afterwards throws', async () => {
      const p = await pair();
      const t = w(p.writer);
      assert.equal(t.canWriteEof(), true);
      t.write(Buffer.from('request'));
      t.writeEof();
      t.writeEof(); // idempotent
      assert.equal(t.isClosing(), true);
      assert.throws(() => t.write(Buffer.from('x')), {
        name: 'InvalidStateError',
        message: 'Cannot call write() after write_eof()',
      });
      assert.throws(() => t.write(Buffer.alloc(0)), InvalidStateError);
      assert.throws(() => t.writelines([]), /Cannot call writelines\(\) after write_eof\(\)/);
      await p.reader.lost;
      assert.equal(p.reader.received.toString(), 'request');
      assert.deepEqual(p.reader.grammar, ['made', 'data', 'eof', 'lost']);
      await p.writer.lost;
      assert.equal(p.writer.lostWith, null);
      await p.dispose();
    });

    test('the read pipe closes at EOF even when eofReceived returns true', async () => {
      const p = await pair();
      p.reader.keepOpen = true;
      w(p.writer).close();
      await p.reader.eof;
      assert.equal(rd(p.reader).isClosing(), true);
      assert.equal(rd(p.reader).isReading(), false);
      await p.reader.lost;
      assert.deepEqual(p.reader.events, ['made', 'eof', 'lost']);
      await p.writer.lost;
      await p.dispose();
    });

    test('pauseReading stops delivery until resumeReading; both idempotent', async () => {
      const p = await pair({
        reader: () => {
          const r = new Recorder();
          r.onMade = (t) => t.pauseReading(); // honoured before reading ever starts
          return r;
        },
      });
      const r = rd(p.reader);
      assert.equal(r.isReading(), false);
      r.pauseReading();
      w(p.writer).write(Buffer.from('while paused'));
      await turns(50);
      assert.deepEqual(p.reader.events, ['made']);
      r.resumeReading();
      assert.deepEqual(p.reader.events, ['made'], 'never delivered from inside resumeReading()');
      r.resumeReading();
      assert.equal(r.isReading(), true);
      await p.reader.receivedBytes(12);
      // EOF waits while paused too.
      r.pauseReading();
      w(p.writer).close();
      await p.writer.lost;
      await turns(50);
      assert.ok(!p.reader.events.includes('eof'));
      r.resumeReading();
      await p.reader.lost;
      assert.equal(r.isReading(), false);
      r.resumeReading(); // no effect after close
      assert.equal(r.isReading(), false);
      assert.deepEqual(p.reader.grammar, ['made', 'data', 'eof', 'lost']);
      await p.dispose();
    });

    test('write flow control: pause strictly over high, resume at or below low', async () => {
      const p = await pair();
      const t = w(p.writer);
      assert.deepEqual(t.getWriteBufferLimits(), [16384, 65536]);
      rd(p.reader).pauseReading();
      const sizes: number[] = [];
      const origPause = p.writer.pauseWriting.bind(p.writer);
      p.writer.pauseWriting = () => {
        sizes.push(t.getWriteBufferSize());
        origPause();
      };
      const origResume = p.writer.resumeWriting.bind(p.writer);
      p.writer.resumeWriting = () => {
        sizes.push(t.getWriteBufferSize());
        origResume();
      };
      const written = await fillUntilPaused(p.writer);
      assert.ok(sizes[0]! > 65536, `paused at ${sizes[0]}`);
      rd(p.reader).resumeReading();
      await p.writer.when(() => p.writer.events.includes('resume'));
      assert.ok(sizes[1]! <= 16384, `resumed at ${sizes[1]}`);
      // Limits are re-checked at once.
      await p.reader.receivedBytes(written);
      rd(p.reader).pauseReading();
      t.setWriteBufferLimits(1 << 30);
      while (t.getWriteBufferSize() === 0) {
        t.write(Buffer.alloc(1 << 20));
        await turns(1);
      }
      const before = p.writer.events.filter((e) => e === 'pause').length;
      t.setWriteBufferLimits(0);
      assert.equal(p.writer.events.filter((e) => e === 'pause').length, before + 1);
      rd(p.reader).resumeReading();
      t.close();
      await Promise.all([p.writer.lost, p.reader.lost]);
      await p.dispose();
    });

    test('setWriteBufferLimits validates like asyncio', async () => {
      const p = await pair();
      const t = w(p.writer);
      assert.throws(() => t.setWriteBufferLimits(1, 2), {
        name: 'RangeError',
        message: 'high (1) must be >= low (2) must be >= 0',
      });
      assert.throws(() => t.setWriteBufferLimits('1' as never), TypeError);
      assert.deepEqual(t.getWriteBufferLimits(), [16384, 65536]);
      t.setWriteBufferLimits(undefined, 100);
      assert.deepEqual(t.getWriteBufferLimits(), [100, 400]);
      t.close();
      await Promise.all([p.writer.lost, p.reader.lost]);
      await p.dispose();
    });

    test('write() rejects non-bytes with a TypeError; empty data is a no-op', async () => {
      const p = await pair();
      const t = w(p.writer);
      assert.throws(() => t.write('text' as never), {
        name: 'TypeError',
        message: "data argument must be a bytes-like object, not 'str'",
      });
      assert.throws(() => t.writelines(['a'] as never), TypeError);
      assert.throws(() => t.writelines(5 as never), TypeError);
      t.write(new Uint8Array(0));
      t.writelines([]);
      assert.equal(t.getWriteBufferSize(), 0);
      t.write(new Uint16Array([0x6968]).buffer);
      await p.reader.receivedBytes(2);
      assert.equal(p.reader.received.toString(), 'hi');
      t.close();
      await Promise.all([p.writer.lost, p.reader.lost]);
      await p.dispose();
    });

    test("writes after close() or loss are dropped; asyncio's warning from the 5th", async () => {
      const p = await pair();
      const warns: unknown[] = [];
      const orig = console.warn;
      console.warn = (...a: unknown[]) => warns.push(a.join(' '));
      try {
        w(p.writer).abort();
        for (let i = 0; i < 6; i++) w(p.writer).write(Buffer.from('x'));
        assert.deepEqual(warns, [
          'pipe closed by peer or os.write(pipe, data) raised exception.',
          'pipe closed by peer or os.write(pipe, data) raised exception.',
        ]);
      } finally {
        console.warn = orig;
      }
      await Promise.all([p.writer.lost, p.reader.lost]);
      w(p.writer).writeEof(); // after the loss: a silent no-op
      await p.dispose();
    });

    test('a throwing dataReceived takes the fatal-error path: connectionLost(exc)', async () => {
      const boom = new Error('boom');
      const p = await pair({
        reader: () => {
          const r = new Recorder();
          r.onData = () => {
            throw boom;
          };
          return r;
        },
      });
      w(p.writer).write(Buffer.from('x'));
      await p.reader.lost;
      assert.equal(p.reader.lostWith, boom);
      const calls = takeHandlerCalls();
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.message, 'Fatal error: protocol.data_received() call failed.');
      assert.equal(calls[0]!.transport, p.reader.transport);
      assert.equal(calls[0]!.protocol, p.reader);
      w(p.writer).abort();
      await p.writer.lost;
      await p.dispose();
    });

    test('a throwing eofReceived takes the fatal-error path', async () => {
      const boom = new Error('eof boom');
      const p = await pair();
      p.reader.eofReceived = () => {
        throw boom;
      };
      w(p.writer).close();
      await p.reader.lost;
      assert.equal(p.reader.lostWith, boom);
      assert.equal(
        takeHandlerCalls()[0]!.message,
        'Fatal error: protocol.eof_received() call failed.',
      );
      await p.writer.lost;
      await p.dispose();
    });

    test('BufferedProtocol on the read end: getBuffer/bufferUpdated pairs', async () => {
      const p = await pair({ reader: () => new BufferedRecorder(4) });
      w(p.writer).write(Buffer.from('0123456789'));
      await p.reader.receivedBytes(10);
      assert.equal(p.reader.received.toString(), '0123456789');
      assert.ok(p.reader.chunks.every((c) => c.length <= 4));
      w(p.writer).close();
      await Promise.all([p.writer.lost, p.reader.lost]);
      await p.dispose();
    });

    test('the reader closing ends the writer with connectionLost once (EPIPE if it writes)', async () => {
      const p = await pair();
      rd(p.reader).close();
      await p.reader.lost;
      const chunk = Buffer.alloc(16 * 1024, 1);
      let writes = 0;
      if (caps.readerClose === 'on-write') {
        w(p.writer).write(chunk);
        writes++;
      }
      // Keep writing until the writer notices (bounded).
      while (!p.writer.events.includes('lost') && writes < 10_000) {
        if (caps.readerClose === 'on-write') w(p.writer).write(chunk);
        writes++;
        await turns(1);
      }
      await p.writer.lost;
      assert.equal(p.writer.events.filter((e) => e === 'lost').length, 1);
      // EPIPE when the writer had data on the way, else null (asyncio 8.7/8.8);
      // which one depends on timing for relays such as a child process.
      const exc = p.writer.lostWith;
      assert.ok(exc === null || (exc as NodeJS.ErrnoException).code === 'EPIPE', String(exc));
      assert.deepEqual(takeHandlerCalls(), [], 'EPIPE is quiet');
      await p.dispose();
    });

    test("getExtraInfo('pipe') is the Node stream; unknown keys give the default", async () => {
      const p = await pair();
      const pipeW = w(p.writer).getExtraInfo('pipe') as { write?: unknown };
      const pipeR = rd(p.reader).getExtraInfo('pipe') as { read?: unknown };
      assert.equal(typeof pipeW.write, 'function');
      assert.equal(typeof pipeR.read, 'function');
      assert.equal(w(p.writer).getExtraInfo('nope', 7), 7);
      w(p.writer).close();
      await Promise.all([p.writer.lost, p.reader.lost]);
      assert.equal(rd(p.reader).getExtraInfo('pipe'), pipeR);
      await p.dispose();
    });

    test('large transfer with reader pauses keeps order and every byte', async () => {
      const p = await pair();
      const total = 4 * 1024 * 1024;
      const data = Buffer.alloc(total);
      for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
      let n = 0;
      p.reader.onData = () => {
        if (++n % 8 === 0) {
          rd(p.reader).pauseReading();
          setImmediate(() => rd(p.reader).resumeReading());
        }
      };
      for (let off = 0; off < total; off += 100_000)
        w(p.writer).write(data.subarray(off, off + 100_000));
      w(p.writer).close();
      await p.reader.lost;
      assert.ok(p.reader.received.equals(data));
      await p.writer.lost;
      await p.dispose();
    });
  });
}
