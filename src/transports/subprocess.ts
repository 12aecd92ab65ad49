/**
 * The subprocess transport: asyncio's `BaseSubprocessTransport` over
 * `node:child_process`, with `loop.subprocessExec` and
 * `loop.subprocessShell`.
 *
 * The child's pipes are pipe transports (pipes.ts) bound to small internal
 * protocols that forward to this transport, which keeps the bookkeeping:
 * which pipes are still connected, whether the child exited, and the events
 * that arrived before the protocol's `connectionMade`.
 *
 * ## Deterministic order (beyond asyncio)
 *
 * asyncio does not order `process_exited()` against the pipes' callbacks
 * (CPython issue 108973). protoloop does:
 *
 * ```
 * connectionMade
 *   [-> pipeDataReceived(fd, data)]*       every byte the child wrote
 *   [-> pipeConnectionLost(fd, exc)]*      once per pipe (interleaved with the data of other pipes)
 *   -> processExited()                     after the exit AND after every pipe disconnected
 *   -> connectionLost(exc)                 last, once
 * ```
 *
 * A consequence: if the child leaves a descendant that keeps one of its
 * pipes open, `processExited()` waits until that pipe closes (or until the
 * pipe transport, or this transport, is closed). `getReturncode()` is set as
 * soon as the exit is known, before `processExited()`.
 *
 * @module
 */

import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import type * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import process from 'node:process';
import { inspect } from 'node:util';
import { socketpair } from '../connect.js';
import type { EventLoop } from '../loop.js';
import { checkFactory, checkOptions } from '../validate.js';
import {
  asError,
  ConnState,
  checkProtocol,
  nodeSystemError,
  protocolName,
  TransportBase,
} from './base.js';
import type {
  AnyProtocol,
  ReadTransport,
  SubprocessTransport,
  WriteTransport,
} from './interfaces.js';
import { ReadPipeTransport, WritePipeTransport } from './pipes.js';

/** Connect the child's stream to a new pipe (the default), as `subprocess.PIPE`. */
export const PIPE = -1;
/** For `stderr` only: send the child's stderr where its stdout goes, as `subprocess.STDOUT`. */
export const STDOUT = -2;
/** Connect the child's stream to `/dev/null`, as `subprocess.DEVNULL`. */
export const DEVNULL = -3;

/**
 * Where one of the child's standard streams goes: `PIPE` (a pipe transport,
 * the default), `DEVNULL`, `STDOUT` (stderr only), `null` (inherit the
 * parent's) or a file descriptor of the parent (the child gets a copy).
 */
export type SubprocessStdio = typeof PIPE | typeof DEVNULL | typeof STDOUT | null | number;

/**
 * Options of `loop.subprocessExec` / `loop.subprocessShell` (asyncio's
 * keyword arguments, camelCased). The text-mode options exist only so that
 * ported code fails with asyncio's message: asyncio subprocesses are binary.
 */
export interface SubprocessOptions {
  /** Default `PIPE`: `getPipeTransport(0)` is a write transport. */
  stdin?: SubprocessStdio;
  /** Default `PIPE`: output arrives as `pipeDataReceived(1, data)`. */
  stdout?: SubprocessStdio;
  /** Default `PIPE`: output arrives as `pipeDataReceived(2, data)`; `STDOUT` merges it into fd 1. */
  stderr?: SubprocessStdio;
  /** The child's working directory. */
  cwd?: string | URL | null;
  /** The child's whole environment (default: the parent's). */
  env?: NodeJS.ProcessEnv | null;
  /** Must be false (`universal_newlines must be False`). */
  universalNewlines?: boolean | null;
  /** Must be false for `subprocessExec`, true for `subprocessShell` (the default of each). */
  shell?: boolean | null;
  /** Must be 0 (`bufsize must be 0`). */
  bufsize?: number | null;
  /** Must be false (`text must be False`). */
  text?: boolean | null;
  /** Must be null (`encoding must be None`). */
  encoding?: string | null;
  /** Must be null (`errors must be None`). */
  errors?: string | null;
}

const OPTION_KEYS = [
  'stdin',
  'stdout',
  'stderr',
  'cwd',
  'env',
  'universalNewlines',
  'shell',
  'bufsize',
  'text',
  'encoding',
  'errors',
] as const;

/** asyncio's checks, in asyncio's order (semantics 7.1); ValueError -> TypeError/RangeError. */
function checkSubprocessOptions(options: SubprocessOptions, shell: boolean, method: string): void {
  checkOptions(options, OPTION_KEYS, method);
  if (options.universalNewlines) throw new TypeError('universal_newlines must be False');
  if (shell && options.shell === false) throw new TypeError('shell must be True');
  if (!shell && options.shell) throw new TypeError('shell must be False');
  const bufsize = options.bufsize ?? 0;
  if (typeof bufsize !== 'number')
    throw new TypeError(`bufsize must be 0, got ${inspect(bufsize)}`);
  if (bufsize !== 0) throw new RangeError('bufsize must be 0');
  if (options.text) throw new TypeError('text must be False');
  if (options.encoding !== undefined && options.encoding !== null) {
    throw new TypeError('encoding must be None');
  }
  if (options.errors !== undefined && options.errors !== null) {
    throw new TypeError('errors must be None');
  }
}

/** One stdio slot as Node's `spawn` wants it. */
function stdioSlot(
  v: unknown,
  name: 'stdin' | 'stdout' | 'stderr',
): 'pipe' | 'ignore' | 'inherit' | number {
  if (v === undefined || v === PIPE) return 'pipe';
  if (v === DEVNULL) return 'ignore';
  if (v === null) return 'inherit';
  if (v === STDOUT) {
    throw new TypeError(`${name}: STDOUT can only be used for stderr`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(
      `${name} must be PIPE, DEVNULL, STDOUT, null or a file descriptor, got ${inspect(v, { depth: 0 })}`,
    );
  }
  if (v < 0) throw new RangeError(`${name} must be a file descriptor >= 0, got ${v}`);
  return v;
}

/**
 * Validate everything, call the factory (before spawning, as asyncio), spawn
 * the child and bind the transport. Resolves after `connectionMade` ran; a
 * spawn failure (a missing program: Node's `ENOENT` error) rejects.
 */
async function spawnTransport<P>(
  loop: EventLoop,
  protocolFactory: () => P,
  file: string,
  args: string[],
  options: SubprocessOptions,
): Promise<[SubprocessTransport, P]> {
  const stdin = stdioSlot(options.stdin, 'stdin');
  const stdout = stdioSlot(options.stdout, 'stdout');
  const merge = options.stderr === STDOUT;
  // STDOUT: stderr goes where stdout goes; for an inherited stdout that is
  // the parent's fd 1.
  const stderr = merge ? (stdout === 'inherit' ? 1 : stdout) : stdioSlot(options.stderr, 'stderr');
  const protocol = protocolFactory();
  checkProtocol(protocol);

  // STDOUT with a piped stdout: Node cannot point one slot at another, so
  // both get the child end of one socket pair and we read the other end.
  let merged: [net.Socket, net.Socket] | null = null;
  if (merge && stdout === 'pipe') merged = await socketpair();
  const stdio: StdioOptions = merged ? [stdin, merged[1], merged[1]] : [stdin, stdout, stderr];

  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      stdio,
      cwd: options.cwd ?? undefined,
      env: options.env ?? undefined,
      windowsHide: true,
    });
  } catch (exc) {
    merged?.[0].destroy();
    throw exc;
  } finally {
    // The child holds its own copy now; ours would keep the pipe open.
    merged?.[1].destroy();
  }
  if (child.pid === undefined) {
    // A run-time spawn failure (ENOENT, EACCES, ...): Node emits 'error' on
    // the next tick and closes the pipes it made.
    merged?.[0].destroy();
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    for (const s of child.stdio) s?.destroy();
    throw err;
  }
  let t!: ChildProcessTransport;
  await new Promise<void>((resolve) => {
    t = new ChildProcessTransport(
      loop,
      child,
      protocol as AnyProtocol,
      merged?.[0] ?? null,
      resolve,
    );
  });
  return [t, protocol];
}

/**
 * `loop.subprocessExec`: run `program` with `args` (no shell). Resolves
 * with `[transport, protocol]` after `connectionMade` ran.
 */
export async function subprocessExec<P>(
  loop: EventLoop,
  protocolFactory: () => P,
  program: string,
  args: readonly string[] = [],
  options: SubprocessOptions = {},
): Promise<[SubprocessTransport, P]> {
  checkFactory(protocolFactory);
  if (typeof program !== 'string') {
    throw new TypeError(`program must be a string, got ${inspect(program, { depth: 0 })}`);
  }
  if (args === null || !Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    throw new TypeError(`args must be an array of strings, got ${inspect(args, { depth: 1 })}`);
  }
  checkSubprocessOptions(options, false, 'subprocessExec');
  return spawnTransport(loop, protocolFactory, program, [...args], options);
}

/**
 * `loop.subprocessShell`: run `cmd` with `/bin/sh -c`, as asyncio does.
 * Resolves with `[transport, protocol]` after `connectionMade` ran.
 */
export async function subprocessShell<P>(
  loop: EventLoop,
  protocolFactory: () => P,
  cmd: string,
  options: SubprocessOptions = {},
): Promise<[SubprocessTransport, P]> {
  checkFactory(protocolFactory);
  if (typeof cmd !== 'string') throw new TypeError('cmd must be a string');
  checkSubprocessOptions(options, true, 'subprocessShell');
  return spawnTransport(loop, protocolFactory, '/bin/sh', ['-c', cmd], options);
}

// ---- the transport -------------------------------------------------------------

/** The protocol of one of the child's pipes: forwards to the subprocess transport (asyncio's *SubprocessPipeProto). */
class PipeProtocol {
  constructor(
    readonly proc: ChildProcessTransport,
    readonly fd: number,
  ) {}
  dataReceived(data: Buffer): void {
    this.proc._pipeData(this.fd, data);
  }
  connectionLost(exc: Error | null): void {
    this.proc._pipeLost(this.fd, exc);
  }
  pauseWriting(): void {
    this.proc._pipeFlow('pauseWriting');
  }
  resumeWriting(): void {
    this.proc._pipeFlow('resumeWriting');
  }
}

/** An event that arrived before the protocol's connectionMade (asyncio's _pending_calls). */
type Pending =
  | [kind: 'data', fd: number, data: Buffer]
  | [kind: 'lost', fd: number, exc: Error | null];

const kProc = Symbol('protoloop.subprocess');

/**
 * A child process with its pipes (asyncio's `SubprocessTransport`).
 * Instances come from `loop.subprocessExec` / `loop.subprocessShell`.
 *
 * See the module documentation for the callback order, which protoloop
 * guarantees (asyncio does not): output and `pipeConnectionLost` for every
 * pipe, then `processExited()`, then `connectionLost()`.
 */
export class ChildProcessTransport extends TransportBase implements SubprocessTransport {
  /** @internal */ readonly _child: ChildProcess;
  readonly #pipes: Array<WritePipeTransport | ReadPipeTransport | null> = [null, null, null];
  readonly #connected = [false, false, false];
  #pending: Pending[] | null = [];
  #returncode: number | null = null;
  /** close() was called (asyncio's _closed; isClosing() tells only that, semantics 7.10). */
  #closed = false;
  /** processExited/connectionLost are scheduled. */
  #finishing = false;
  /** The error connectionLost will get: a failed pipeDataReceived. */
  #lostExc: Error | null = null;

  /** @internal */
  constructor(
    loop: EventLoop,
    child: ChildProcess,
    protocol: AnyProtocol,
    mergedStdout: net.Socket | null,
    onMade: () => void,
  ) {
    super(loop, protocol);
    this._child = child;
    this._extra.subprocess = child;
    (child as any)[kProc] = this;
    child.on('exit', onChildExit);
    // A ChildProcess emits 'error' for spawn failures (handled before the
    // transport exists) and for failures of its own kill(), which protoloop
    // does not use (signals go through process.kill, which throws). Anything
    // else is reported rather than left to crash the process.
    child.on('error', onChildError);
    // Pipes first, in asyncio's order, each with its listeners attached now
    // (Node drops a child's unread output once it exits otherwise).
    if (child.stdin) {
      this.#pipes[0] = new WritePipeTransport(loop, child.stdin, new PipeProtocol(this, 0));
      this.#connected[0] = true;
    }
    const stdout = child.stdout ?? mergedStdout;
    if (stdout) {
      this.#pipes[1] = new ReadPipeTransport(loop, stdout, new PipeProtocol(this, 1));
      this.#connected[1] = true;
    }
    if (child.stderr) {
      this.#pipes[2] = new ReadPipeTransport(loop, child.stderr, new PipeProtocol(this, 2));
      this.#connected[2] = true;
    }
    loop._track(this);
    // Scheduled after the pipes' own connectionMade: output read before it
    // is queued and replayed right after it, in order.
    this._scheduleConnectionMade(() => {
      const pending = this.#pending ?? [];
      this.#pending = null;
      for (const p of pending) {
        if (p[0] === 'data') this.#deliverData(p[1], p[2]);
        else this.#deliverLost(p[1], p[2]);
      }
      this.#tryFinish();
      onMade();
    });
  }

  protected get _kind(): string {
    return 'subprocess';
  }

  /** The child's process id. */
  getPid(): number {
    return this._child.pid!;
  }

  /** `null` while the child runs; then its exit code, or `-N` when signal N killed it. */
  getReturncode(): number | null {
    return this.#returncode;
  }

  /**
   * The transport of the child's fd 0 (a write transport: flow control,
   * `writeEof`), 1 or 2 (read transports: `pauseReading`), or null when that
   * stream is not a `PIPE` (or `STDOUT` merged stderr into fd 1).
   */
  getPipeTransport(fd: number): ReadTransport | WriteTransport | null {
    if (typeof fd !== 'number' || !Number.isInteger(fd)) {
      throw new TypeError(`fd must be an integer, got ${inspect(fd)}`);
    }
    return this.#pipes[fd] ?? null;
  }

  /**
   * Send `signal` (a name such as `'SIGHUP'`, or a number; 0 checks the
   * process exists) to the child. A no-op once the child exited (as asyncio
   * 3.12+); after `connectionLost` it throws Node's `ESRCH` error (asyncio's
   * `ProcessLookupError`).
   */
  sendSignal(signal: NodeJS.Signals | number): void {
    if (typeof signal === 'string') {
      if (!(signal in osConstants.signals)) {
        throw new TypeError(`Unknown signal: ${signal}`);
      }
    } else if (typeof signal !== 'number' || !Number.isInteger(signal)) {
      throw new TypeError(`signal must be a signal name or number, got ${inspect(signal)}`);
    } else if (signal < 0) {
      throw new RangeError(`signal must be >= 0, got ${signal}`);
    }
    if (this._state === ConnState.LOST) throw nodeSystemError('ESRCH', 'kill');
    if (this.#returncode !== null) return;
    // Not yet reaped: the pid is still ours (libuv reaps and reports the
    // exit in one step), so process.kill cannot hit a recycled pid. It
    // throws Node's own errors (EPERM, EINVAL).
    process.kill(this._child.pid!, signal);
  }

  /** SIGTERM the child (see `sendSignal`). */
  terminate(): void {
    this.sendSignal('SIGTERM');
  }

  /** SIGKILL the child (see `sendSignal`). */
  kill(): void {
    this.sendSignal('SIGKILL');
  }

  /** True once `close()` was called (not after a natural exit, as asyncio). */
  override isClosing(): boolean {
    return this.#closed;
  }

  /**
   * Close the pipes (stdin flushes first) and, if the child still runs,
   * kill it (SIGKILL), as asyncio does. `processExited()` and
   * `connectionLost()` follow once the child is gone. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pipes) p?.close();
    if (this.#returncode === null) {
      try {
        process.kill(this._child.pid!, 'SIGKILL');
      } catch {
        // ESRCH cannot happen before the reap; nothing else is actionable here.
      }
    }
  }

  // ---- events from the pipes and the child -----------------------------------------

  /** @internal */
  _pipeData(fd: number, data: Buffer): void {
    if (this.#pending !== null) this.#pending.push(['data', fd, data]);
    else this.#deliverData(fd, data);
  }

  /** @internal */
  _pipeLost(fd: number, exc: Error | null): void {
    this.#connected[fd] = false;
    if (this.#pending !== null) {
      this.#pending.push(['lost', fd, exc]);
      return;
    }
    this.#deliverLost(fd, exc);
    this.#tryFinish();
  }

  /** @internal stdin's flow control is the subprocess protocol's (semantics 7.12). */
  _pipeFlow(name: 'pauseWriting' | 'resumeWriting'): void {
    this._callFlow(name);
  }

  /** @internal */
  _onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#returncode =
      signal !== null ? -((osConstants.signals as Record<string, number>)[signal] ?? 0) : code;
    this.#tryFinish();
  }

  /** @internal */
  _onChildError(err: Error): void {
    this._loop.callExceptionHandler({
      message: 'Error on subprocess transport',
      exception: err,
      transport: this,
      protocol: this._protocol,
    });
  }

  #deliverData(fd: number, data: Buffer): void {
    if (this.#lostExc !== null) return; // nothing more after a failed pipeDataReceived
    this._callData('pipeDataReceived', 'pipe_data_received', fd, data);
  }

  #deliverLost(fd: number, exc: Error | null): void {
    this.#callReported('pipeConnectionLost', 'pipe_connection_lost', fd, exc);
  }

  /** Call a callback asyncio does not guard: a throw is reported, nothing closes. */
  #callReported(name: string, snake: string, ...args: unknown[]): void {
    const p = this._protocol;
    const fn = p[name];
    if (typeof fn !== 'function') return;
    try {
      fn.apply(p, args);
    } catch (exc) {
      this._loop.callExceptionHandler({
        message: `Exception in callback ${protocolName(p)}.${snake}(${args.map((a) => inspect(a, { depth: 0 })).join(', ')})`,
        exception: asError(exc),
        transport: this,
        protocol: p,
      });
    }
  }

  /** processExited then connectionLost, once the exit is known and every pipe disconnected. */
  #tryFinish(): void {
    if (this.#finishing || this.#pending !== null || this.#returncode === null) return;
    if (this.#connected.some((c) => c)) return;
    this.#finishing = true;
    this._state = ConnState.LOST_SCHEDULED;
    this._loop.callSoon(finishSubprocess, this);
  }

  /** @internal */
  _finish(): void {
    this.#callReported('processExited', 'process_exited');
    this._callConnectionLost(this.#lostExc);
  }

  /**
   * A failed `pipeDataReceived`: reported (asyncio's message shape), then
   * the transport closes (the child is killed if it still runs) and
   * `connectionLost(exc)` comes last, after the exit, as always.
   */
  override _fatalError(exc: Error, message = 'Fatal error on subprocess transport'): void {
    if (this.#lostExc !== null || this.#finishing) return;
    this._reportFatal(exc, message);
    this.#lostExc = exc;
    this.close();
  }

  /** There is no forced close for a child: close() kills it and the exit ends the transport. */
  override _forceClose(exc: Error | null): void {
    if (exc !== null && this.#lostExc === null) this.#lostExc = exc;
    this.close();
  }

  protected _stopIO(_discard: boolean): void {}

  protected _release(): void {
    this._child.off('exit', onChildExit);
  }

  /** Not part of the SubprocessTransport interface: stdin's buffer is `getPipeTransport(0)`'s. @internal */
  getWriteBufferSize(): number {
    return 0;
  }

  protected override _describe(): string[] {
    const d: string[] = [];
    if (this.#closed) d.push('closed');
    d.push(`pid=${this._child.pid}`);
    d.push(this.#returncode === null ? 'running' : `returncode=${this.#returncode}`);
    const names = ['stdin', 'stdout', 'stderr'];
    for (let fd = 0; fd < 3; fd++) {
      const p = this.#pipes[fd];
      if (p) d.push(`${names[fd]}=${inspect(p)}`);
    }
    return d;
  }
}

function finishSubprocess(t: ChildProcessTransport): void {
  t._finish();
}

function onChildExit(this: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
  (this as any)[kProc]?._onExit(code, signal);
}

function onChildError(this: ChildProcess, err: Error): void {
  (this as any)[kProc]?._onChildError(err);
}
