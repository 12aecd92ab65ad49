/**
 * A child killed by a signal while we stream a large write to its stdin:
 * the stdin pipe ends once (EPIPE when bytes were still unsent), then
 * processExited, then connectionLost once; never resumeWriting after the
 * pipe is gone, no exception handler call, no uncaught error, no hang.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getRunningLoop, type SubprocessTransport, type WriteTransport } from '../src/index.js';
import { turns } from './conformance/stream.js';
import { useHarness } from './helpers/harness.js';

useHarness();
const loop = getRunningLoop();

/** Records a SubprocessProtocol's calls; asserts the order as they come. */
class ChildRecorder {
  events: string[] = [];
  transport!: SubprocessTransport;
  stdout = '';
  stdinLostWith: Error | null | undefined = undefined;
  lostWith: Error | null | undefined = undefined;
  #waiters: Array<() => void> = [];

  connectionMade(t: SubprocessTransport): void {
    this.transport = t;
    this.#push('made');
  }
  pipeDataReceived(fd: number, data: Buffer): void {
    if (fd === 1) this.stdout += data.toString();
    this.#wake();
  }
  pipeConnectionLost(fd: number, exc: Error | null): void {
    assert.ok(!this.events.includes(`plost${fd}`), `pipeConnectionLost(${fd}) twice`);
    assert.ok(!this.events.includes('exited'), 'pipeConnectionLost after processExited');
    if (fd === 0) this.stdinLostWith = exc;
    this.#push(`plost${fd}`);
  }
  processExited(): void {
    assert.ok(!this.events.includes('exited'), 'processExited twice');
    this.#push('exited');
  }
  connectionLost(exc: Error | null): void {
    assert.ok(!this.events.includes('lost'), 'connectionLost twice');
    assert.equal(this.events.at(-1), 'exited', 'connectionLost right after processExited');
    this.lostWith = exc;
    this.#push('lost');
  }
  pauseWriting(): void {
    assert.ok(!this.events.includes('plost0'), 'pauseWriting after stdin was lost');
    this.#push('pause');
  }
  resumeWriting(): void {
    assert.ok(!this.events.includes('plost0'), 'resumeWriting after stdin was lost');
    this.#push('resume');
  }
  get paused(): boolean {
    return this.events.lastIndexOf('pause') > this.events.lastIndexOf('resume');
  }
  #push(e: string): void {
    this.events.push(e);
    this.#wake();
  }
  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
  async when(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((r) => this.#waiters.push(r));
  }
}

/**
 * Stream 64 KiB chunks to the child's stdin, as a well-behaved producer
 * (waits while paused), until its stdin pipe is lost; `onChunk` runs after
 * each write. Bounded: at most `maxBytes`.
 */
async function streamUntilLost(
  rec: ChildRecorder,
  w: WriteTransport,
  onChunk: (sent: number) => void,
  maxBytes = 256 * 1024 * 1024,
): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  let sent = 0;
  const gone = () => rec.events.includes('plost0');
  while (!gone()) {
    assert.ok(sent < maxBytes, `the stdin pipe never ended (${sent} bytes sent)`);
    if (rec.paused) {
      await rec.when(() => !rec.paused || gone());
      continue;
    }
    w.write(chunk);
    sent += chunk.length;
    onChunk(sent);
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

describe('a child killed by a signal while we write to its stdin', () => {
  test('SIGKILL from outside while the child reads our stream: stdin ends once, then exit, then lost', async () => {
    const rec = new ChildRecorder();
    // The child reads everything and says when it is well into the stream.
    const [t] = await loop.subprocessExec(() => rec, process.execPath, [
      '-e',
      "let n = 0, said = false; process.stdin.on('data', (d) => { n += d.length; if (!said && n > (1 << 20)) { said = true; console.log('reading'); } });",
    ]);
    const w = t.getPipeTransport(0) as WriteTransport;
    let killed = false;
    const sent = await streamUntilLost(rec, w, () => {
      if (!killed && rec.stdout.includes('reading')) {
        killed = true;
        process.kill(t.getPid(), 'SIGKILL'); // not through the transport: a signal from elsewhere
      }
    });
    assert.ok(killed, 'the child was killed mid-stream');
    await rec.when(() => rec.events.includes('lost'));
    assert.equal(t.getReturncode(), -9);
    assert.equal(rec.lostWith, null);
    // Bytes still unsent when the reader died: EPIPE; none (all taken by the
    // kernel before the kill): null. Either way once, before processExited.
    const code = (rec.stdinLostWith as NodeJS.ErrnoException | null)?.code ?? null;
    assert.ok(code === 'EPIPE' || code === null, `stdin lost with ${rec.stdinLostWith}`);
    const order = rec.events.filter((e) => e !== 'pause' && e !== 'resume');
    assert.deepEqual(order.slice(-2), ['exited', 'lost']);
    assert.deepEqual(order.slice(1, -2).sort(), ['plost0', 'plost1', 'plost2']);
    assert.ok(sent > 1 << 20);
    w.write(Buffer.from('after the end')); // dropped silently
    await turns(10);
    assert.equal(rec.events.filter((e) => e === 'lost').length, 1);
  });

  test('SIGTERM while we are paused on a full pipe (the child never reads): EPIPE, once', async () => {
    const rec = new ChildRecorder();
    const [t] = await loop.subprocessExec(() => rec, process.execPath, [
      '-e',
      "console.log('ready'); setInterval(() => {}, 1000);",
    ]);
    await rec.when(() => rec.stdout.includes('ready'));
    const w = t.getPipeTransport(0) as WriteTransport;
    let signalled = false;
    await streamUntilLost(rec, w, () => {
      // Paused with bytes queued: the pipe is full and the child is not reading.
      if (!signalled && rec.paused) {
        signalled = true;
        assert.ok(w.getWriteBufferSize() > 65536);
        t.terminate();
      }
    });
    assert.ok(signalled, 'the producer was paused before the signal');
    await rec.when(() => rec.events.includes('lost'));
    assert.equal(t.getReturncode(), -15);
    assert.equal((rec.stdinLostWith as NodeJS.ErrnoException).code, 'EPIPE');
    assert.equal(w.getWriteBufferSize(), 0, 'the dropped bytes are no longer counted');
    assert.ok(!rec.events.includes('resume'), 'never resumed: the pipe died while paused');
    assert.deepEqual(rec.events.slice(-2), ['exited', 'lost']);
    assert.equal(rec.lostWith, null);
  });
});
