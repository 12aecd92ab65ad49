/**
 * StreamReader as pure logic: fed by hand with feedData/feedEof, no transport.
 * asyncio's test_streams.py cases, ported, plus bad input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_LIMIT,
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
  StreamReader,
} from '../src/index.js';
import { turns } from './conformance/stream.js';
import { useHarness } from './helpers/harness.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A reader holding `data`, then EOF if `eof`. */
function fed(data: string, eof = false, limit?: number): StreamReader {
  const r = new StreamReader(limit);
  if (data) r.feedData(b(data));
  if (eof) r.feedEof();
  return r;
}

/** Give `r` a transport that records its pauseReading/resumeReading calls. */
function recordPauses(r: StreamReader): string[] {
  const calls: string[] = [];
  r.setTransport({
    pauseReading: () => calls.push('pause'),
    resumeReading: () => calls.push('resume'),
  } as never);
  return calls;
}

describe('StreamReader (sans-IO)', () => {
  useHarness();

  test('constructor: default limit 64 KiB; a limit <= 0 or not an integer is rejected', () => {
    assert.equal(DEFAULT_LIMIT, 65536);
    assert.equal(new StreamReader().limit, 65536);
    assert.throws(() => new StreamReader(0), {
      name: 'RangeError',
      message: 'Limit cannot be <= 0',
    });
    assert.throws(() => new StreamReader(-5), RangeError);
    assert.throws(() => new StreamReader('10' as never), TypeError);
    assert.throws(() => new StreamReader(1.5), TypeError);
  });

  test('read(n): at most n bytes as soon as one is there; read() reads to EOF', async () => {
    const r = new StreamReader();
    const p = r.read(5);
    r.feedData(b('abc'));
    assert.equal((await p).toString(), 'abc');
    r.feedData(b('defghij'));
    assert.equal((await r.read(4)).toString(), 'defg');
    assert.equal((await r.read(0)).length, 0);
    const all = r.read();
    r.feedData(b('klm'));
    await turns(2);
    r.feedData(b('nop'));
    r.feedEof();
    assert.equal((await all).toString(), 'hijklmnop');
    assert.equal(r.atEof(), true);
    assert.equal((await r.read(10)).length, 0);
    assert.equal((await r.read()).length, 0);
  });

  test('feedData copies (the caller may reuse its buffer); owned chunks are kept without corrupting later reads', async () => {
    const r = new StreamReader();
    const mine = Buffer.from('abc');
    r.feedData(mine);
    mine.fill(0x78);
    assert.equal((await r.read(10)).toString(), 'abc');
    // The protocol path: owned chunks adopted, then appended to and read in parts.
    r._feedOwned(Buffer.from('0123456789'));
    const head = await r.read(4);
    r._feedOwned(Buffer.from('ABCDEF'));
    assert.equal(head.toString(), '0123');
    assert.equal((await r.read(3)).toString(), '456');
    assert.equal((await r.read(100)).toString(), '789ABCDEF');
    assert.equal(head.toString(), '0123');
    // Partial reads hand out views; later appends never write into them.
    r.feedData(Buffer.alloc(64, 0x61));
    const views = [await r.read(10), await r.read(10)];
    r.feedData(Buffer.alloc(8, 0x62));
    r.feedData(Buffer.alloc(8, 0x63));
    await r.read(1000);
    assert.ok(views.every((v) => v.equals(Buffer.alloc(10, 0x61))));
  });

  test('read() larger than the limit works in limit-sized blocks', async () => {
    const r = new StreamReader(3);
    const p = r.read();
    r.feedData(b('0123456789'));
    r.feedEof();
    assert.equal((await p).toString(), '0123456789');
  });

  test('readline: lines with \\n, the incomplete last line at EOF, then empty', async () => {
    const r = fed('line1\nline2\nrest', true);
    assert.equal((await r.readline()).toString(), 'line1\n');
    assert.equal((await r.readline()).toString(), 'line2\n');
    assert.equal(r.atEof(), false);
    assert.equal((await r.readline()).toString(), 'rest');
    assert.equal(r.atEof(), true);
    assert.equal((await r.readline()).length, 0);
  });

  test('readline waits across chunks', async () => {
    const r = new StreamReader();
    const p = r.readline();
    r.feedData(b('chunk1 '));
    await turns(2);
    r.feedData(b('chunk2 '));
    await turns(2);
    r.feedData(b('chunk3\nnext'));
    assert.equal((await p).toString(), 'chunk1 chunk2 chunk3\n');
    assert.equal((await r.read(4)).toString(), 'next');
  });

  test('readline over the limit rejects with LimitOverrunError and discards that line', async () => {
    // Separator found, but the line is longer than the limit: the line is dropped.
    let r = fed('li\nline22\nline3\n', false, 5);
    assert.equal((await r.readline()).toString(), 'li\n');
    await assert.rejects(r.readline(), (e: unknown) => {
      assert.ok(e instanceof LimitOverrunError);
      assert.equal(e.message, 'Separator is found, but chunk is longer than limit');
      assert.equal(e.consumed, 6);
      return true;
    });
    assert.equal((await r.readline()).toString(), 'line3\n');
    // No separator within the limit: the buffer is cleared.
    r = fed('0123456789', false, 5);
    await assert.rejects(r.readline(), {
      name: 'LimitOverrunError',
      message: 'Separator is not found, and chunk exceed the limit',
    });
    r.feedData(b('ok\n'));
    assert.equal((await r.readline()).toString(), 'ok\n');
  });

  test('readUntil: one separator; IncompleteReadError at EOF with the partial data', async () => {
    const r = fed('lineAAA', false);
    const p = r.readUntil(b('AAA'));
    assert.equal((await p).toString(), 'lineAAA');
    r.feedData(b('xxAAyy'));
    r.feedEof();
    await assert.rejects(r.readUntil(b('AAA')), (e: unknown) => {
      assert.ok(e instanceof IncompleteReadError);
      assert.equal(e.partial.toString(), 'xxAAyy');
      assert.equal(e.expected, null);
      assert.equal(e.message, '6 bytes read on a total of undefined expected bytes');
      return true;
    });
    assert.equal(r.atEof(), true);
  });

  test('readUntil: a separator split across chunks is found', async () => {
    const r = new StreamReader();
    const p = r.readUntil(b('\r\n\r\n'));
    r.feedData(b('GET / HTTP/1.1\r\nHost: x\r'));
    await turns(2);
    r.feedData(b('\n\r'));
    await turns(2);
    r.feedData(b('\nbody'));
    assert.equal((await p).toString(), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((await r.read(10)).toString(), 'body');
  });

  test('readUntil: a list of separators; the first match in the stream wins, the shortest on a tie', async () => {
    const r = fed('aaXbbYYcc\r\nd\n', true);
    assert.equal((await r.readUntil([b('YY'), b('X')])).toString(), 'aaX');
    assert.equal((await r.readUntil([b('X'), b('YY')])).toString(), 'bbYY');
    assert.equal((await r.readUntil([b('\r\n'), b('\n')])).toString(), 'cc\r\n');
    assert.equal((await r.readUntil([b('\n'), b('\r\n')])).toString(), 'd\n');
    // A tie: both end at the same place; the shorter separator is reported.
    const t = fed('ab\r\n', true);
    assert.equal((await t.readUntil([b('\r\n'), b('\n')])).toString(), 'ab\r\n');
  });

  test('readUntil: LimitOverrunError leaves the data in the buffer', async () => {
    const r = fed('0123456789!', false, 5);
    await assert.rejects(r.readUntil(b('!')), (e: unknown) => {
      assert.ok(e instanceof LimitOverrunError);
      assert.equal(e.consumed, 10);
      return true;
    });
    const r2 = fed('01234567', false, 5);
    await assert.rejects(r2.readUntil(b('!!')), (e: unknown) => {
      assert.ok(e instanceof LimitOverrunError);
      assert.equal(e.consumed, 7); // the last byte could start the separator
      return true;
    });
    assert.equal((await r.readExactly(11)).toString(), '0123456789!');
  });

  test('readExactly: exact reads; IncompleteReadError with partial and expected at EOF', async () => {
    const r = new StreamReader();
    const p = r.readExactly(6);
    r.feedData(b('abc'));
    await turns(2);
    r.feedData(b('defgh'));
    assert.equal((await p).toString(), 'abcdef');
    assert.equal((await r.readExactly(0)).length, 0);
    r.feedEof();
    await assert.rejects(r.readExactly(5), (e: unknown) => {
      assert.ok(e instanceof IncompleteReadError);
      assert.equal(e.partial.toString(), 'gh');
      assert.equal(e.expected, 5);
      assert.equal(e.message, '2 bytes read on a total of 5 expected bytes');
      return true;
    });
  });

  test('readExactly larger than the limit does not deadlock on the paused transport', async () => {
    const r = new StreamReader(4);
    const calls = recordPauses(r);
    r.feedData(b('0123456789')); // > 2 * limit: pauses
    assert.deepEqual(calls, ['pause']);
    const p = r.readExactly(12); // must resume to make progress
    assert.deepEqual(calls, ['pause', 'resume']);
    r.feedData(b('ab'));
    assert.equal((await p).toString(), '0123456789ab');
  });

  test('bad arguments are clear errors', async () => {
    const r = new StreamReader();
    await assert.rejects(r.readExactly(-1), {
      name: 'RangeError',
      message: 'readexactly size can not be less than zero',
    });
    await assert.rejects(r.readExactly('3' as never), TypeError);
    await assert.rejects(r.readExactly(1.5), TypeError);
    await assert.rejects(r.read(Number.NaN), TypeError);
    await assert.rejects(r.read('1' as never), TypeError);
    await assert.rejects(r.readUntil(b('')), {
      name: 'TypeError',
      message: 'Separator should be at least one-byte string',
    });
    await assert.rejects(r.readUntil([]), /at least one element/);
    await assert.rejects(r.readUntil('\n' as never), {
      name: 'TypeError',
      message: "separator argument must be a bytes-like object, not 'str'",
    });
    await assert.rejects(r.readUntil([b('x'), b('')]), TypeError);
    assert.throws(() => r.feedData('text' as never), TypeError);
    assert.throws(() => r.setException('boom' as never), TypeError);
    r.feedEof();
    assert.throws(() => r.feedData(b('late')), InvalidStateError);
    assert.throws(() => r.feedData(b('')), InvalidStateError);
  });

  test('a second concurrent read is an InvalidStateError', async () => {
    const r = new StreamReader();
    const first = r.read(10);
    await assert.rejects(r.readline(), {
      name: 'InvalidStateError',
      message: 'readUntil() called while another coroutine is already waiting for incoming data',
    });
    r.feedData(b('x'));
    assert.equal((await first).toString(), 'x');
  });

  test('after setException every read rejects with that error, even with data buffered', async () => {
    const r = new StreamReader();
    const waiting = r.readExactly(10);
    r.feedData(b('12345'));
    const err = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    r.setException(err);
    await assert.rejects(waiting, (e) => e === err);
    assert.equal(r.exception(), err);
    await assert.rejects(r.read(), (e) => e === err);
    await assert.rejects(r.read(3), (e) => e === err);
    await assert.rejects(r.readline(), (e) => e === err);
    await assert.rejects(r.readUntil(b('x')), (e) => e === err);
    await assert.rejects(r.readExactly(1), (e) => e === err);
  });

  test('a failure after a wake-up does not leave a read waiting forever', async () => {
    const r = new StreamReader();
    const p = r.readExactly(10);
    const err = new Error('gone');
    r.feedData(b('123')); // wakes the read, which needs more...
    r.setException(err); // ...and fails before it waits again
    await assert.rejects(p, (e) => e === err);
  });

  test('for await yields lines until EOF', async () => {
    const r = new StreamReader();
    const lines: string[] = [];
    const done = (async () => {
      for await (const line of r) lines.push(line.toString());
    })();
    r.feedData(b('one\ntw'));
    await turns(2);
    r.feedData(b('o\nthree'));
    r.feedEof();
    await done;
    assert.deepEqual(lines, ['one\n', 'two\n', 'three']);
  });

  test('returned buffers are owned: later feeds do not change them', async () => {
    const r = new StreamReader();
    const src = b('abcdef');
    r.feedData(src);
    src.fill(0x7a); // the reader copied
    const a = await r.read(3);
    r.feedData(b('ghijkl'.repeat(2000)));
    const rest = await r.read(6);
    assert.equal(a.toString(), 'abc');
    assert.equal(rest.toString(), 'defghi');
    const big = await r.readExactly(11997);
    r.feedData(b('X'.repeat(50)));
    assert.equal(big.length, 11997);
    assert.ok(!big.includes(0x58));
  });

  test('framed reads across chunk boundaries: every message intact, the buffer does not grow without bound', async () => {
    // Each 3-byte message arrives split over two owned chunks, and each
    // read leaves a partial message behind (a consumed view plus buffered
    // bytes): the pattern of readExactly() over a stream cut anywhere. The
    // buffer once doubled on every such append, reaching gigabytes (a
    // RangeError) after a few dozen messages.
    const r = new StreamReader();
    const got: Buffer[] = [];
    const want: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const msg = `${String.fromCharCode(65 + (i % 26))}${i % 10}${i % 7}`;
      want.push(msg);
      r._feedOwned(Buffer.from(msg.slice(0, 1)));
      if (i > 0) got.push(await r.readExactly(3));
      r._feedOwned(Buffer.from(msg.slice(1)));
    }
    got.push(await r.readExactly(3));
    // Views handed out earlier were never written over by later appends.
    assert.deepEqual(
      got.map((g) => g.toString()),
      want,
    );
    assert.equal(r._bufferSize, 0);
  });

  test('a waiting read(n) or readExactly(n) is completed by the feed itself, no coroutine wake-up first', async () => {
    // Settled by the time feedData returns: a race against an already
    // settled promise sees the read's result, not the marker.
    const marker = (): Promise<string> => Promise.resolve('not yet');
    const r = new StreamReader();
    const p = r.read(100);
    r.feedData(b('abc'));
    assert.equal(String(await Promise.race([p, marker()])), 'abc');
    const q = r.readExactly(4);
    r.feedData(b('de'));
    assert.equal(await Promise.race([q, marker()]), 'not yet');
    r.feedData(b('fgh'));
    assert.equal(String(await Promise.race([q, marker()])), 'defg');
    assert.equal((await r.read(10)).toString(), 'h');
    // An owned chunk read whole comes back as the very same Buffer.
    const chunk = Buffer.from('whole');
    const w = r.readExactly(5);
    r._feedOwned(chunk);
    assert.equal(await w, chunk);
  });

  test('EOF completes a waiting read(n) with an empty Buffer and fails a waiting readExactly with what arrived', async () => {
    const r = new StreamReader();
    const p = r.read(10);
    r.feedEof();
    assert.equal((await p).length, 0);
    const s = new StreamReader();
    const q = s.readExactly(10);
    s.feedData(b('1234'));
    s.feedEof();
    await assert.rejects(q, (e: unknown) => {
      assert.ok(e instanceof IncompleteReadError);
      assert.equal(e.partial.toString(), '1234');
      assert.equal(e.expected, 10);
      return true;
    });
    assert.equal(s._bufferSize, 0);
  });

  test('a readExactly waiting for more than twice the limit keeps the transport reading; a full buffer without a reader pauses it', async () => {
    const r = new StreamReader(4);
    const calls = recordPauses(r);
    const p = r.readExactly(12);
    r.feedData(b('0123456789')); // > 2 * limit, but the read needs more
    assert.deepEqual(calls, []);
    r.feedData(b('ab'));
    assert.equal((await p).toString(), '0123456789ab');
    r.feedData(b('0123456789')); // nobody reading: pause
    assert.deepEqual(calls, ['pause']);
    assert.equal((await r.readExactly(7)).toString(), '0123456');
    assert.deepEqual(calls, ['pause', 'resume']); // back at or below the limit
  });
});
