/**
 * Pipe transports: the pipe conformance suite over FIFOs (mkfifo), socket
 * streams, a child process's stdio and in-memory Node streams; then what is
 * particular to descriptors (asyncio's checks, character devices) and to
 * the error paths.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  getRunningLoop,
  type ReadTransport,
  socketpair,
  type WriteTransport,
} from '../src/index.js';
import { type PipePair, pipeConformance } from './conformance/pipes.js';
import { turns } from './conformance/stream.js';
import { takeHandlerCalls, useHarness } from './helpers/harness.js';
import { Recorder } from './helpers/recorder.js';

const loop = getRunningLoop();

/** A FIFO in a fresh directory, both ends opened non-blocking (reader first: a writer needs one). */
function makeFifo(): { dir: string; rfd: number; wfd: number } {
  const dir = fs.mkdtempSync(join(tmpdir(), 'protoloop-fifo-'));
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const rfd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const wfd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  return { dir, rfd, wfd };
}

async function connectPair(
  makeWriter: () => Recorder,
  makeReader: () => Recorder,
  wpipe: number | NodeJS.WritableStream,
  rpipe: number | NodeJS.ReadableStream,
  dispose: () => Promise<void>,
): Promise<PipePair> {
  const [, writer] = await loop.connectWritePipe(makeWriter, wpipe as never);
  const [, reader] = await loop.connectReadPipe(makeReader, rpipe as never);
  return { writer, reader, dispose };
}

pipeConformance(
  'FIFO (mkfifo) file descriptors',
  async (mw, mr) => {
    const { dir, rfd, wfd } = makeFifo();
    return connectPair(mw, mr, wfd, rfd, async () => {
      fs.rmSync(dir, { recursive: true, force: true });
    });
  },
  { readerClose: 'on-write' },
);

pipeConformance(
  'socket streams (socketpair)',
  async (mw, mr) => {
    const [a, b] = await socketpair();
    return connectPair(mw, mr, a, b, async () => {});
  },
  { readerClose: 'at-once' },
);

/** Wait for a child to be reaped (no ProcessWrap left behind). */
async function reaped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((r) => child.once('exit', r));
}

pipeConformance(
  "a child process's stdin and stdout (cat)",
  async (mw, mr) => {
    const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    return connectPair(mw, mr, child.stdin!, child.stdout!, () => reaped(child));
  },
  { readerClose: 'on-write' },
);

pipeConformance(
  'an in-memory Node stream (PassThrough) as both ends',
  async (mw, mr) => {
    const pt = new PassThrough();
    return connectPair(mw, mr, pt, pt, async () => {});
  },
  { readerClose: 'at-once' },
);

describe('pipe transports over descriptors', () => {
  useHarness();

  test("a regular file is rejected with asyncio's messages and left open", async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'protoloop-file-'));
    const fd = fs.openSync(join(dir, 'f'), 'w+');
    try {
      let made = 0;
      const factory = () => {
        made++;
        return new Recorder();
      };
      await assert.rejects(loop.connectReadPipe(factory, fd), {
        name: 'TypeError',
        message: 'Pipe transport is for pipes/sockets only.',
      });
      await assert.rejects(loop.connectWritePipe(factory, fd), {
        name: 'TypeError',
        message: 'Pipe transport is only for pipes, sockets and character devices',
      });
      assert.equal(made, 0, 'the factory is not called for a rejected pipe');
      assert.ok(fs.fstatSync(fd).isFile(), 'the descriptor is still open');
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad arguments: factory, descriptor range, non-streams, closed descriptors', async () => {
    const r = () => new Recorder();
    await assert.rejects(loop.connectReadPipe(42 as never, 0), TypeError);
    await assert.rejects(loop.connectReadPipe(r, -1), RangeError);
    await assert.rejects(loop.connectWritePipe(r, 1.5), TypeError);
    await assert.rejects(loop.connectReadPipe(r, 'x' as never), /stream\.Readable/);
    await assert.rejects(loop.connectWritePipe(r, new Readable() as never), /stream\.Writable/);
    const { dir, rfd, wfd } = makeFifo();
    fs.closeSync(rfd);
    fs.closeSync(wfd);
    fs.rmSync(dir, { recursive: true, force: true });
    await assert.rejects(loop.connectReadPipe(r, rfd), { code: 'EBADF' });
    await assert.rejects(
      loop.connectReadPipe(() => 5 as never, new PassThrough()),
      /protocol must be an object/,
    );
  });

  test('a FIFO write pipe whose reader closed fails with EPIPE on the next write, once', async () => {
    const { dir, rfd, wfd } = makeFifo();
    const [wt, writer] = await loop.connectWritePipe(() => new Recorder(), wfd);
    fs.closeSync(rfd); // the only reader goes away
    wt.write(Buffer.from('into the void'));
    await writer.lost;
    assert.equal((writer.lostWith as NodeJS.ErrnoException).code, 'EPIPE');
    assert.equal((writer.lostWith as NodeJS.ErrnoException).syscall, 'write');
    assert.deepEqual(writer.events, ['made', 'lost']);
    assert.deepEqual(takeHandlerCalls(), [], 'a broken pipe is quiet');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a socket write pipe notices the reader closing without writing (asyncio 8.7)', async () => {
    const [a, b] = await socketpair();
    const [, writer] = await loop.connectWritePipe(() => new Recorder(), a);
    b.destroy();
    await writer.lost;
    assert.equal(writer.lostWith, null, 'nothing was pending: connectionLost(null)');
  });

  test('a reader closing with data still queued ends the writer with EPIPE', async () => {
    const [a, b] = await socketpair();
    const [wt, writer] = await loop.connectWritePipe(() => new Recorder(), a);
    b.pause();
    while (wt.getWriteBufferSize() === 0) {
      wt.write(Buffer.alloc(1 << 20));
      await turns(1);
    }
    b.destroy();
    await writer.lost;
    // Our own EPIPE, or the kernel's word for a peer that closed with unread data.
    assert.ok(
      ['EPIPE', 'ECONNRESET'].includes((writer.lostWith as NodeJS.ErrnoException).code!),
      String(writer.lostWith),
    );
    assert.deepEqual(takeHandlerCalls(), []);
  });

  test('character devices: /dev/null reads EOF at once and swallows writes', async () => {
    const [rt, reader] = await loop.connectReadPipe(
      () => new Recorder(),
      fs.openSync('/dev/null', 'r'),
    );
    await reader.lost;
    assert.deepEqual(reader.events, ['made', 'eof', 'lost']);
    assert.equal(rt.isClosing(), true);
    const [wt, writer] = await loop.connectWritePipe(
      () => new Recorder(),
      fs.openSync('/dev/null', 'w'),
    );
    wt.write(Buffer.alloc(100_000));
    wt.close();
    await writer.lost;
    assert.deepEqual(writer.events, ['made', 'pause', 'resume', 'lost']);
    assert.equal(writer.lostWith, null);
  });

  test('character devices: /dev/zero with pauseReading stays bounded, then resumes', async () => {
    const [rt, reader] = await loop.connectReadPipe(
      () => {
        const r = new Recorder();
        r.onMade = (t) => t.pauseReading();
        return r;
      },
      fs.openSync('/dev/zero', 'r'),
    );
    const s = rt.getExtraInfo('pipe') as Readable;
    await turns(200);
    assert.deepEqual(reader.events, ['made']);
    assert.ok(s.readableLength <= 2 * 64 * 1024, `buffered ${s.readableLength}`);
    rt.resumeReading();
    await reader.receivedBytes(1 << 20);
    assert.ok(reader.received.every((b) => b === 0));
    rt.close();
    assert.equal(rt.isReading(), false);
    await reader.lost;
    assert.equal(reader.lostWith, null);
  });

  test('a read error is reported as asyncio does, except EIO (a pty hang-up), which is quiet', async () => {
    const src = new Readable({ read() {} });
    const [, reader] = await loop.connectReadPipe(() => new Recorder(), src);
    const err = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    src.destroy(err);
    await reader.lost;
    assert.equal(reader.lostWith, err);
    const calls = takeHandlerCalls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.message, 'Fatal read error on pipe transport');
    assert.equal(calls[0]!.exception, err);

    const src2 = new Readable({ read() {} });
    const [, reader2] = await loop.connectReadPipe(() => new Recorder(), src2);
    const eio = Object.assign(new Error('read EIO'), { code: 'EIO' });
    src2.destroy(eio);
    await reader2.lost;
    assert.equal(reader2.lostWith, eio);
    assert.deepEqual(takeHandlerCalls(), []);
  });

  test('a write error other than a system error is reported and ends in connectionLost(err)', async () => {
    const boom = new Error('disk on fire');
    const sink = new PassThrough();
    const [wt, writer] = await loop.connectWritePipe(() => new Recorder(), sink);
    sink.destroy(boom);
    await writer.lost;
    assert.equal(writer.lostWith, boom);
    const calls = takeHandlerCalls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.message, 'Fatal write error on pipe transport');
    assert.equal(calls[0]!.transport, wt);
  });

  test('a read pipe stream destroyed by its owner ends with connectionLost(null)', async () => {
    const src = new PassThrough();
    const [, reader] = await loop.connectReadPipe(() => new Recorder(), src);
    src.write('abc');
    await reader.receivedBytes(3);
    src.destroy();
    await reader.lost;
    assert.equal(reader.lostWith, null);
    assert.deepEqual(reader.grammar, ['made', 'data', 'lost']);
  });

  test('data written before connectionMade is delivered after it, in order', async () => {
    const src = new PassThrough();
    src.write('early ');
    const p = loop.connectReadPipe(() => new Recorder(), src);
    src.write('bird');
    src.end();
    const [, reader] = await p;
    await reader.lost;
    assert.equal(reader.received.toString(), 'early bird');
    assert.deepEqual(reader.grammar, ['made', 'data', 'eof', 'lost']);
  });

  test('util.inspect shows the kind, state, descriptor and reading/buffer state', async () => {
    const { dir, rfd, wfd } = makeFifo();
    const [wt, writer] = await loop.connectWritePipe(() => new Recorder(), wfd);
    const [rt, reader] = await loop.connectReadPipe(() => new Recorder(), rfd);
    assert.match(inspect(rt), /^<ReadPipeTransport open fd=\d+ read=polling>$/);
    assert.match(inspect(wt), /^<WritePipeTransport open fd=\d+ write=<bufsize=0>>$/);
    (rt as ReadTransport).pauseReading();
    assert.match(inspect(rt), /read=paused/);
    (rt as ReadTransport).resumeReading();
    (wt as WriteTransport).close();
    await Promise.all([writer.lost, reader.lost]);
    assert.match(inspect(rt), /closed/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
