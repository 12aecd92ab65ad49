/**
 * Subprocesses with real children (`process.execPath -e ...`, `sh -c ...`):
 * every stdio combination, large output with pause/resume, bounded memory
 * while paused, stdin streaming with flow control, signals and exit codes,
 * the deterministic callback order, EPIPE, and asyncio's argument checks.
 */
import assert from 'node:assert/strict';
import { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  DEVNULL,
  getRunningLoop,
  PIPE,
  type ReadTransport,
  STDOUT,
  type SubprocessOptions,
  type SubprocessTransport,
  type WriteTransport,
} from '../src/index.js';
import { turns } from './conformance/stream.js';
import { takeHandlerCalls, until, useHarness } from './helpers/harness.js';

const loop = getRunningLoop();
const node = process.execPath;

type Ev = 'made' | `data${number}` | `plost${number}` | 'exited' | 'lost' | 'pause' | 'resume';

/** Records a SubprocessProtocol's calls and checks the deterministic grammar as it goes. */
class SubRecorder {
  events: Ev[] = [];
  transport!: SubprocessTransport;
  out: Buffer[][] = [[], [], []];
  pipeLostWith: Array<Error | null | undefined> = [undefined, undefined, undefined];
  lostWith: Error | null | undefined = undefined;
  returncodeAtExit: number | null | undefined = undefined;
  onMade?: (t: SubprocessTransport) => void;
  onData?: (fd: number, d: Buffer) => void;
  #waiters: Array<() => void> = [];

  connectionMade(t: SubprocessTransport): void {
    assert.equal(this.events.length, 0, 'connectionMade first');
    this.transport = t;
    this.events.push('made');
    this.onMade?.(t);
    this.#wake();
  }
  pipeDataReceived(fd: number, data: Buffer): void {
    this.#open('pipeDataReceived');
    assert.ok(data.length > 0, 'empty pipeDataReceived');
    assert.ok(!this.events.includes(`plost${fd}`), `data on fd ${fd} after its pipeConnectionLost`);
    this.events.push(`data${fd}`);
    this.out[fd]!.push(data);
    this.onData?.(fd, data);
    this.#wake();
  }
  pipeConnectionLost(fd: number, exc: Error | null): void {
    this.#open('pipeConnectionLost');
    assert.ok(!this.events.includes(`plost${fd}`), `pipeConnectionLost(${fd}) twice`);
    this.events.push(`plost${fd}`);
    this.pipeLostWith[fd] = exc;
    this.#wake();
  }
  processExited(): void {
    this.#open('processExited');
    assert.ok(!this.events.includes('exited'), 'processExited twice');
    this.returncodeAtExit = this.transport.getReturncode();
    this.events.push('exited');
    this.#wake();
  }
  connectionLost(exc: Error | null): void {
    assert.ok(!this.events.includes('lost'), 'connectionLost twice');
    assert.equal(this.events.at(-1), 'exited', 'connectionLost right after processExited');
    this.events.push('lost');
    this.lostWith = exc;
    this.#wake();
  }
  pauseWriting(): void {
    this.events.push('pause');
    this.#wake();
  }
  resumeWriting(): void {
    this.events.push('resume');
    this.#wake();
  }
  #open(what: string): void {
    assert.equal(this.events[0], 'made', `${what} before connectionMade`);
    assert.ok(!this.events.includes('exited'), `${what} after processExited`);
  }
  #wake(): void {
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
  text(fd: number): string {
    return Buffer.concat(this.out[fd]!).toString();
  }
  bytes(fd: number): number {
    return this.out[fd]!.reduce((n, b) => n + b.length, 0);
  }
  /** The order of the non-data events. */
  get skeleton(): string[] {
    return this.events.filter((e) => !e.startsWith('data') && e !== 'pause' && e !== 'resume');
  }
}

function exec(args: string[], options?: SubprocessOptions, rec = new SubRecorder()) {
  return loop.subprocessExec(() => rec, node, args, options);
}
function shell(cmd: string, options?: SubprocessOptions, rec = new SubRecorder()) {
  return loop.subprocessShell(() => rec, cmd, options);
}

describe('subprocess: stdio combinations', () => {
  useHarness();
  const here = (fd: number): string => fs.readlinkSync(`/proc/self/fd/${fd}`);
  const inputs = ['PIPE', 'DEVNULL', 'null', 'fd'] as const;
  const errs = ['PIPE', 'DEVNULL', 'STDOUT', 'null', 'fd'] as const;
  for (const i of inputs) {
    for (const o of inputs) {
      for (const e of errs) {
        test(`stdin=${i} stdout=${o} stderr=${e}`, async () => {
          const dir = fs.mkdtempSync(join(tmpdir(), 'protoloop-stdio-'));
          const report = join(dir, 'report');
          const files = [join(dir, 'in'), join(dir, 'out'), join(dir, 'err')];
          fs.writeFileSync(files[0]!, 'file input\n');
          const fds = [
            fs.openSync(files[0]!, 'r'),
            fs.openSync(files[1]!, 'w'),
            fs.openSync(files[2]!, 'w'),
          ];
          const slot = (v: string, fd: number): SubprocessOptions['stdin'] =>
            v === 'PIPE'
              ? PIPE
              : v === 'DEVNULL'
                ? DEVNULL
                : v === 'STDOUT'
                  ? STDOUT
                  : v === 'null'
                    ? null
                    : fds[fd]!;
          // Report where fds 0-2 point; write to stdout/stderr unless they are
          // the test runner's own (inherited) streams; echo stdin if piped.
          const quiet1 = o === 'null';
          const quiet2 = e === 'null' || (e === 'STDOUT' && o === 'null');
          const cmd = [
            'a0=$(readlink /proc/$$/fd/0); a1=$(readlink /proc/$$/fd/1); a2=$(readlink /proc/$$/fd/2)',
            `printf '0=%s\\n1=%s\\n2=%s\\n' "$a0" "$a1" "$a2" > "${report}"`,
            i === 'PIPE' || i === 'fd' ? `read line; echo "in=$line" >> "${report}"` : ':',
            quiet1 ? ':' : 'echo out',
            quiet2 ? ':' : 'echo err >&2',
            'exit 5',
          ].join('; ');
          const [t, rec] = await shell(cmd, {
            stdin: slot(i, 0),
            stdout: slot(o, 1),
            stderr: slot(e, 2),
          });
          // Pipe transports exist exactly for PIPE.
          assert.equal(t.getPipeTransport(0) !== null, i === 'PIPE');
          assert.equal(t.getPipeTransport(1) !== null, o === 'PIPE');
          assert.equal(t.getPipeTransport(2) !== null, e === 'PIPE');
          if (i === 'PIPE') {
            const w = t.getPipeTransport(0) as WriteTransport;
            w.write(Buffer.from('piped input\n'));
            w.writeEof();
          }
          await rec.lost;
          assert.equal(t.getReturncode(), 5);
          const links = Object.fromEntries(
            fs
              .readFileSync(report, 'utf8')
              .trim()
              .split('\n')
              .map((l) => l.split('=') as [string, string]),
          );
          const expectLink = (v: string, fd: number, got: string): void => {
            if (v === 'PIPE') assert.match(got, /^socket:/, `fd ${fd}`);
            else if (v === 'DEVNULL') assert.equal(got, '/dev/null', `fd ${fd}`);
            else if (v === 'null') assert.equal(got, here(fd), `fd ${fd} inherited`);
            else if (v === 'fd') assert.equal(got, files[fd], `fd ${fd}`);
          };
          expectLink(i, 0, links['0']);
          expectLink(o, 1, links['1']);
          if (e === 'STDOUT') assert.equal(links['2'], links['1'], 'stderr goes where stdout goes');
          else expectLink(e, 2, links['2']);
          if (i === 'PIPE') assert.equal(links.in, 'piped input');
          if (i === 'fd') assert.equal(links.in, 'file input');
          // Output went where it should.
          const expected1 =
            (o === 'null' ? '' : 'out\n') + (e === 'STDOUT' && !quiet2 ? 'err\n' : '');
          if (o === 'PIPE') assert.equal(rec.text(1), expected1);
          if (o === 'fd') assert.equal(fs.readFileSync(files[1]!, 'utf8'), expected1);
          if (e === 'PIPE') assert.equal(rec.text(2), 'err\n');
          if (e === 'fd') assert.equal(fs.readFileSync(files[2]!, 'utf8'), 'err\n');
          // The deterministic order: every pipe lost, then exited, then lost.
          const pipes = [i, o, e].flatMap((v, fd) => (v === 'PIPE' ? [`plost${fd}`] : []));
          assert.deepEqual(rec.skeleton.slice(1, -2).sort(), pipes.sort());
          assert.deepEqual(rec.skeleton.slice(-2), ['exited', 'lost']);
          assert.equal(rec.lostWith, null);
          for (const fd of fds) fs.closeSync(fd);
          fs.rmSync(dir, { recursive: true, force: true });
        });
      }
    }
  }
});

describe('subprocess transport', () => {
  useHarness();

  test('the reference example shape: exec with stdin/stderr inherited, output collected', async () => {
    const [t, rec] = await exec(['-e', 'console.log("date-ish")'], { stdin: null, stderr: null });
    await rec.lost;
    assert.equal(rec.text(1), 'date-ish\n');
    assert.deepEqual(rec.skeleton, ['made', 'plost1', 'exited', 'lost']);
    assert.equal(rec.returncodeAtExit, 0, 'getReturncode() is set inside processExited');
    assert.equal(t.isClosing(), false, 'not closing after a natural exit (asyncio 7.10)');
    t.close();
    assert.equal(t.isClosing(), true);
  });

  test('exit codes and getPid/getExtraInfo', async () => {
    for (const code of [0, 1, 3, 255]) {
      const [t, rec] = await shell(`exit ${code}`);
      assert.equal(typeof t.getPid(), 'number');
      const child = t.getExtraInfo('subprocess');
      assert.ok(child instanceof ChildProcess);
      assert.equal((child as ChildProcess).pid, t.getPid());
      await rec.lost;
      assert.equal(t.getReturncode(), code);
    }
  });

  test('the order is deterministic: all output, every pipeConnectionLost, processExited, connectionLost', async () => {
    // A child that writes a lot to both pipes and exits at once: Node sees
    // the exit well before the output is read.
    for (let run = 0; run < 10; run++) {
      const [, rec] = await exec([
        '-e',
        'const b = Buffer.alloc(300000, 97); process.stdout.write(b); process.stderr.write(b);',
      ]);
      await rec.lost;
      assert.equal(rec.bytes(1), 300000);
      assert.equal(rec.bytes(2), 300000);
      const sk = rec.skeleton;
      assert.deepEqual(sk.slice(-2), ['exited', 'lost']);
      assert.deepEqual(sk.slice(1, -2).sort(), ['plost0', 'plost1', 'plost2']);
      const lastData = Math.max(rec.events.lastIndexOf('data1'), rec.events.lastIndexOf('data2'));
      assert.ok(lastData < rec.events.indexOf('exited'));
    }
  });

  test('events that arrive before connectionMade are replayed after it, in order', async () => {
    // By the time connectionMade runs, the child may long be done; nothing is lost.
    const [, rec] = await shell('printf abc; printf def >&2');
    await rec.lost;
    assert.equal(rec.events[0], 'made');
    assert.equal(rec.text(1), 'abc');
    assert.equal(rec.text(2), 'def');
  });

  test('several MiB of output with pauseReading/resumeReading arrive intact', async () => {
    const total = 8 * 1024 * 1024;
    const script = `const b = Buffer.alloc(${total}); for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 12)) & 255; process.stdout.write(b);`;
    let pauses = 0;
    const rec = new SubRecorder();
    rec.onData = (fd) => {
      if (fd !== 1) return;
      const r = rec.transport.getPipeTransport(1) as ReadTransport;
      r.pauseReading();
      assert.equal(r.isReading(), false);
      pauses++;
      setImmediate(() => r.resumeReading());
    };
    await exec(['-e', script], {}, rec);
    await rec.lost;
    const got = Buffer.concat(rec.out[1]!);
    assert.equal(got.length, total);
    for (let i = 0; i < total; i += 4093) assert.equal(got[i], (i * 31 + (i >> 12)) & 255);
    assert.ok(pauses > 10, `paused ${pauses} times`);
  });

  test('a child flooding stdout while reading is paused is blocked: memory stays bounded', async () => {
    // Two identical children write 64 MiB each. One is read freely: its exit
    // is the event that says "long enough". The other is paused from the
    // start: it must still be running, blocked on a full pipe, with only a
    // bounded amount buffered on our side; then it resumes and completes.
    const total = 64 * 1024 * 1024;
    const script = `const b = Buffer.alloc(1 << 20, 120); let n = 0; (function go() { while (n < ${total}) { n += b.length; if (!process.stdout.write(b)) return process.stdout.once('drain', go); } })();`;
    const paused = new SubRecorder();
    paused.onMade = (t) => (t.getPipeTransport(1) as ReadTransport).pauseReading();
    const [tp] = await exec(['-e', script], {}, paused);
    const [, free] = await exec(['-e', script]);
    await free.lost;
    assert.equal(free.bytes(1), total);
    const stream = tp.getPipeTransport(1)!.getExtraInfo('pipe') as Readable;
    assert.equal(paused.bytes(1), 0, 'nothing delivered while paused');
    assert.ok(stream.readableLength <= 256 * 1024, `buffered ${stream.readableLength}`);
    assert.equal(tp.getReturncode(), null, 'the paused child is blocked, not done');
    (tp.getPipeTransport(1) as ReadTransport).resumeReading();
    await paused.lost;
    assert.equal(paused.bytes(1), total);
    assert.equal(tp.getReturncode(), 0);
  });

  test('stdin streaming with write flow control (pause over high, resume at or below low)', async () => {
    const script =
      "const h = require('crypto').createHash('sha256'); let n = 0; process.stdin.on('data', (d) => { n += d.length; h.update(d); }).on('end', () => console.log(n, h.digest('hex')));";
    const rec = new SubRecorder();
    const [t] = await exec(['-e', script], {}, rec);
    const w = t.getPipeTransport(0) as WriteTransport;
    const sizes: number[] = [];
    const pause = rec.pauseWriting.bind(rec);
    const resume = rec.resumeWriting.bind(rec);
    rec.pauseWriting = () => {
      sizes.push(w.getWriteBufferSize());
      pause();
    };
    rec.resumeWriting = () => {
      sizes.push(w.getWriteBufferSize());
      resume();
    };
    const chunk = Buffer.alloc(64 * 1024);
    const hash = createHash('sha256');
    let sent = 0;
    const total = 16 * 1024 * 1024;
    while (sent < total) {
      for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((sent + i) >>> 0, i);
      hash.update(chunk);
      w.write(chunk);
      sent += chunk.length;
      const pausedNow = rec.events.filter((e) => e === 'pause').length;
      if (pausedNow > rec.events.filter((e) => e === 'resume').length) {
        await rec.when(() => rec.events.filter((e) => e === 'resume').length === pausedNow);
      }
    }
    w.writeEof();
    await rec.lost;
    assert.equal(rec.text(1).trim(), `${total} ${hash.digest('hex')}`);
    assert.ok(rec.events.includes('pause'), 'the protocol was paused at least once');
    for (let k = 0; k < sizes.length; k += 2) {
      assert.ok(sizes[k]! > 65536, `paused at ${sizes[k]}`);
      if (k + 1 < sizes.length) assert.ok(sizes[k + 1]! <= 16384, `resumed at ${sizes[k + 1]}`);
    }
    assert.equal(rec.pipeLostWith[0], null);
  });

  test('terminate, kill and sendSignal give -N return codes', async () => {
    const cases: Array<[(t: SubprocessTransport) => void, number]> = [
      [(t) => t.terminate(), -15],
      [(t) => t.kill(), -9],
      [(t) => t.sendSignal('SIGHUP'), -1],
      [(t) => t.sendSignal(2), -2],
    ];
    for (const [send, code] of cases) {
      const rec = new SubRecorder();
      const [t] = await exec(['-e', 'console.log("ready"); setInterval(() => {}, 1000)'], {}, rec);
      await rec.when(() => rec.text(1).includes('ready'));
      assert.equal(t.getReturncode(), null);
      send(t);
      await rec.lost;
      assert.equal(t.getReturncode(), code);
      assert.equal(rec.returncodeAtExit, code);
    }
  });

  test('a signal the child handles, sent by number', async () => {
    const rec = new SubRecorder();
    const [t] = await exec(
      [
        '-e',
        'process.on("SIGUSR1", () => { console.log("got it"); process.exit(7); }); console.log("ready"); setInterval(() => {}, 1000);',
      ],
      {},
      rec,
    );
    await rec.when(() => rec.text(1).includes('ready'));
    t.sendSignal(0); // existence check only
    t.sendSignal('SIGUSR1');
    await rec.lost;
    assert.equal(rec.text(1), 'ready\ngot it\n');
    assert.equal(t.getReturncode(), 7);
  });

  test('after connectionLost, signals throw ESRCH (ProcessLookupError); bad signals are rejected', async () => {
    const [t, rec] = await shell('exit 0');
    assert.throws(() => t.sendSignal('SIGNOPE' as never), { name: 'TypeError' });
    assert.throws(() => t.sendSignal(-1), RangeError);
    assert.throws(() => t.sendSignal(1.5), TypeError);
    await rec.lost;
    for (const f of [() => t.kill(), () => t.terminate(), () => t.sendSignal('SIGHUP')]) {
      assert.throws(f, { code: 'ESRCH', syscall: 'kill', message: 'kill ESRCH' });
    }
  });

  test('processExited waits for a pipe a descendant holds; signals between exit and connectionLost are no-ops', async () => {
    // The shell exits at once; a background loop keeps stdout open.
    const rec = new SubRecorder();
    const [t] = await shell('(while :; do echo tick; sleep 0.05; done) & exit 4', {}, rec);
    await until(() => t.getReturncode() !== null, 'the exit');
    assert.equal(t.getReturncode(), 4, 'the return code is known at once');
    await rec.when(() => rec.text(1).length > 0);
    assert.ok(!rec.events.includes('exited'), 'processExited waits for stdout');
    t.kill(); // the child is gone, the transport is not: a no-op (asyncio 3.12+)
    t.sendSignal('SIGTERM');
    // Closing our end of stdout lets the background loop die of SIGPIPE.
    t.getPipeTransport(1)!.close();
    await rec.lost;
    assert.deepEqual(rec.skeleton.slice(-2), ['exited', 'lost']);
    assert.ok(rec.skeleton.indexOf('plost1') < rec.skeleton.indexOf('exited'));
    assert.equal(rec.pipeLostWith[1], null);
  });

  test('close() kills a running child (SIGKILL) and closes the pipes; idempotent', async () => {
    const rec = new SubRecorder();
    const [t] = await exec(['-e', 'setInterval(() => {}, 1000)'], {}, rec);
    t.close();
    t.close();
    assert.equal(t.isClosing(), true);
    await rec.lost;
    assert.equal(t.getReturncode(), -9);
    assert.deepEqual(rec.skeleton.slice(1, -2).sort(), ['plost0', 'plost1', 'plost2']);
    assert.equal(rec.lostWith, null);
  });

  test('closing the stdout pipe from the parent: pipeConnectionLost(1, null), the child sees EPIPE', async () => {
    const rec2 = new SubRecorder();
    const [t2] = await shell('exec yes', { stdin: DEVNULL, stderr: DEVNULL }, rec2);
    await rec2.when(() => rec2.bytes(1) > 0);
    t2.getPipeTransport(1)!.close();
    await rec2.lost;
    assert.equal(rec2.pipeLostWith[1], null);
    // The child's stdout is a socket (libuv's stdio pipes are socket pairs):
    // closed with unread data, its writer gets ECONNRESET (yes exits 1), or
    // EPIPE/SIGPIPE (-13). Either way it ended by itself, not by our signal.
    assert.ok([1, -13].includes(t2.getReturncode()!), `returncode ${t2.getReturncode()}`);
  });

  test('writing to a child that exits without reading ends the stdin pipe with EPIPE, once', async () => {
    const rec = new SubRecorder();
    // The child reads one line, then exits with the rest unread.
    const [t] = await shell('read x; exit 0', { stdout: DEVNULL, stderr: DEVNULL }, rec);
    const w = t.getPipeTransport(0) as WriteTransport;
    w.write(Buffer.from('line\n'));
    w.write(Buffer.alloc(8 * 1024 * 1024)); // far more than a pipe holds
    await rec.lost;
    assert.equal(rec.events.filter((e) => e === 'plost0').length, 1);
    assert.equal((rec.pipeLostWith[0] as NodeJS.ErrnoException).code, 'EPIPE');
    assert.equal(rec.lostWith, null);
    assert.deepEqual(takeHandlerCalls(), [], 'a broken pipe is quiet');
    w.write(Buffer.from('late')); // dropped silently
  });

  test('writing to a running child that closed its stdin fails with EPIPE', async () => {
    const rec = new SubRecorder();
    const [t] = await shell('exec 0<&-; echo closed; exec sleep 30', {}, rec);
    await rec.when(() => rec.text(1).includes('closed'));
    const w = t.getPipeTransport(0) as WriteTransport;
    w.write(Buffer.from('hello?'));
    await rec.when(() => rec.events.includes('plost0'));
    assert.equal((rec.pipeLostWith[0] as NodeJS.ErrnoException).code, 'EPIPE');
    t.close();
    await rec.lost;
  });

  test("a missing program rejects with Node's ENOENT error and leaves nothing open", async () => {
    let made = 0;
    await assert.rejects(
      loop.subprocessExec(
        () => {
          made++;
          return new SubRecorder();
        },
        '/nonexistent/program',
        ['x'],
      ),
      { code: 'ENOENT', syscall: 'spawn /nonexistent/program', path: '/nonexistent/program' },
    );
    assert.equal(made, 1, 'the factory runs before spawning, as in asyncio');
    await assert.rejects(
      loop.subprocessExec(() => new SubRecorder(), '/nonexistent/program', [], { stderr: STDOUT }),
      { code: 'ENOENT' },
    );
  });

  test('cwd and env', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'protoloop-cwd-')));
    const [, rec] = await shell('pwd; echo "$FOO"', {
      cwd: dir,
      env: { FOO: 'bar', PATH: process.env.PATH },
    });
    await rec.lost;
    assert.equal(rec.text(1), `${dir}\nbar\n`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("asyncio's argument checks, with asyncio's messages", async () => {
    const f = () => new SubRecorder();
    const cases: Array<[Promise<unknown>, RegExp | object]> = [
      [
        loop.subprocessExec(f, node, [], { universalNewlines: true }),
        { name: 'TypeError', message: 'universal_newlines must be False' },
      ],
      [
        loop.subprocessExec(f, node, [], { shell: true }),
        { name: 'TypeError', message: 'shell must be False' },
      ],
      [
        loop.subprocessShell(f, 'true', { shell: false }),
        { name: 'TypeError', message: 'shell must be True' },
      ],
      [
        loop.subprocessExec(f, node, [], { bufsize: 1 }),
        { name: 'RangeError', message: 'bufsize must be 0' },
      ],
      [
        loop.subprocessExec(f, node, [], { text: true }),
        { name: 'TypeError', message: 'text must be False' },
      ],
      [
        loop.subprocessExec(f, node, [], { encoding: 'utf8' }),
        { name: 'TypeError', message: 'encoding must be None' },
      ],
      [
        loop.subprocessShell(f, 'true', { errors: 'strict' }),
        { name: 'TypeError', message: 'errors must be None' },
      ],
      [
        loop.subprocessShell(f, ['ls'] as never),
        { name: 'TypeError', message: 'cmd must be a string' },
      ],
      [
        loop.subprocessExec(f, node, [], { nope: 1 } as never),
        /unexpected keyword argument 'nope'/,
      ],
      [
        loop.subprocessExec(f, node, [], { stdin: STDOUT }),
        /stdin: STDOUT can only be used for stderr/,
      ],
      [loop.subprocessExec(f, node, [], { stdout: -7 }), RangeError],
      [loop.subprocessExec(f, node, [], { stderr: 'pipe' as never }), TypeError],
      [loop.subprocessExec(f, 42 as never), /program must be a string/],
      [loop.subprocessExec(f, node, 'x' as never), /args must be an array of strings/],
      [loop.subprocessExec(null as never, node), TypeError],
    ];
    for (const [p, expected] of cases) await assert.rejects(p, expected as never);
    // Node's own synchronous spawn errors pass through (here after the
    // STDOUT socket pair was made: it is released, the harness checks).
    await assert.rejects(loop.subprocessExec(f, node, [], { cwd: 42 as never, stderr: STDOUT }), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
    // The defaults pass: bufsize 0, shell true for subprocessShell, null text options.
    const [, rec] = await shell('exit 0', { bufsize: 0, shell: true, text: false, encoding: null });
    await rec.lost;
  });

  test('getPipeTransport: 0 is a write transport, 1 and 2 read transports, others null', async () => {
    const rec = new SubRecorder();
    const [t] = await exec(['-e', 'process.stdin.pipe(process.stdout)'], {}, rec);
    const w = t.getPipeTransport(0) as WriteTransport;
    const r = t.getPipeTransport(1) as ReadTransport;
    assert.equal(typeof w.write, 'function');
    assert.equal(w.canWriteEof(), true);
    assert.equal(typeof r.pauseReading, 'function');
    assert.equal(t.getPipeTransport(3), null);
    assert.equal(t.getPipeTransport(-1), null);
    assert.throws(() => t.getPipeTransport('1' as never), TypeError);
    assert.match(inspect(t), /^<ChildProcessTransport pid=\d+ running stdin=<WritePipeTransport/);
    w.write(Buffer.from('echo me'));
    w.writeEof();
    await rec.lost;
    assert.equal(rec.text(1), 'echo me');
    assert.match(inspect(t), /returncode=0/);
  });

  test('a throwing pipeDataReceived: reported, the child killed, connectionLost(exc) still last', async () => {
    const boom = new Error('boom');
    const rec = new SubRecorder();
    rec.onData = () => {
      throw boom;
    };
    const [t] = await exec(['-e', 'console.log("hi"); setInterval(() => {}, 1000)'], {}, rec);
    await rec.lost;
    assert.equal(rec.lostWith, boom);
    assert.equal(t.getReturncode(), -9);
    assert.deepEqual(rec.skeleton.slice(-2), ['exited', 'lost']);
    const calls = takeHandlerCalls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.message, 'Fatal error: protocol.pipe_data_received() call failed.');
    assert.equal(calls[0]!.exception, boom);
    assert.equal(calls[0]!.transport, t);
  });

  test('a throwing processExited or pipeConnectionLost is reported; the order holds', async () => {
    const rec = new SubRecorder();
    const origExited = rec.processExited.bind(rec);
    rec.processExited = () => {
      origExited();
      throw new Error('exited boom');
    };
    const origPipeLost = rec.pipeConnectionLost.bind(rec);
    rec.pipeConnectionLost = (fd, exc) => {
      origPipeLost(fd, exc);
      if (fd === 1) throw new Error('pipe boom');
    };
    await shell('echo x', {}, rec);
    await rec.lost;
    const messages = takeHandlerCalls().map((c) => c.message);
    assert.equal(messages.length, 2);
    assert.match(
      messages[0]!,
      /^Exception in callback SubRecorder\.pipe_connection_lost\(1, null\)$/,
    );
    assert.match(messages[1]!, /^Exception in callback SubRecorder\.process_exited\(\)$/);
    assert.equal(rec.lostWith, null);
  });

  test('closing the stdin pipe gives the child EOF; each run ends fully', async () => {
    for (let k = 0; k < 5; k++) {
      const [, rec] = await shell('cat >/dev/null');
      (rec.transport.getPipeTransport(0) as WriteTransport).close();
      await rec.lost;
      assert.equal(rec.pipeLostWith[0], null);
    }
    await turns(5);
  });
});
