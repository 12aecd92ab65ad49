/**
 * A protocol that records every callback in order and checks the call
 * grammar of DESIGN section 3 as it goes.
 */
import assert from 'node:assert/strict';
import type { Transport } from '../../src/index.js';

export type Event =
  | 'made'
  | 'data'
  | 'eof'
  | 'lost'
  | 'pause'
  | 'resume'
  | 'getBuffer'
  | 'bufferUpdated';

/** Records calls; `keepOpen` is what eofReceived returns. */
export class Recorder {
  events: Event[] = [];
  transport!: Transport;
  chunks: Buffer[] = [];
  lostWith: Error | null | undefined = undefined;
  keepOpen = false;
  #waiters: Array<() => void> = [];
  /** Hooks a test can set. */
  onMade?: (t: Transport) => void;
  onData?: (d: Buffer) => void;

  connectionMade(t: Transport): void {
    assert.equal(this.events.length, 0, `connectionMade first, got ${this.events}`);
    this.transport = t;
    this.events.push('made');
    this.onMade?.(t);
    this.#wake();
  }
  dataReceived(d: Buffer): void {
    this.#assertOpen('dataReceived');
    assert.ok(d.length > 0, 'dataReceived with empty data');
    assert.ok(!this.events.includes('eof'), 'dataReceived after eofReceived');
    this.events.push('data');
    this.chunks.push(d);
    this.onData?.(d);
    this.#wake();
  }
  eofReceived(): boolean {
    this.#assertOpen('eofReceived');
    assert.ok(!this.events.includes('eof'), 'eofReceived twice');
    this.events.push('eof');
    this.#wake();
    return this.keepOpen;
  }
  connectionLost(exc: Error | null): void {
    this.#assertOpen('connectionLost');
    this.events.push('lost');
    this.lostWith = exc;
    this.#wake();
  }
  pauseWriting(): void {
    this.#assertOpen('pauseWriting');
    const last = this.events.filter((e) => e === 'pause' || e === 'resume').at(-1);
    assert.notEqual(last, 'pause', 'pauseWriting twice in a row');
    this.events.push('pause');
    this.#wake();
  }
  resumeWriting(): void {
    this.#assertOpen('resumeWriting');
    const last = this.events.filter((e) => e === 'pause' || e === 'resume').at(-1);
    assert.equal(last, 'pause', 'resumeWriting without pauseWriting');
    this.events.push('resume');
    this.#wake();
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

  /** All bytes received so far. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }
  /** Resolve when `pred()` holds (checked after each callback). */
  async when(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((r) => this.#waiters.push(r));
  }
  receivedBytes(n: number): Promise<void> {
    return this.when(() => this.received.length >= n);
  }
  get lost(): Promise<void> {
    return this.when(() => this.events.includes('lost'));
  }
  get eof(): Promise<void> {
    return this.when(() => this.events.includes('eof'));
  }
  /** Events without the flow-control ones. */
  get grammar(): Event[] {
    const out: Event[] = [];
    for (const e of this.events) {
      if (e === 'pause' || e === 'resume') continue;
      if (e === 'data' && out.at(-1) === 'data') continue;
      out.push(e);
    }
    return out;
  }
}

/** A BufferedProtocol recorder: reads through a small buffer of `size` bytes. */
export class BufferedRecorder extends Recorder {
  buf: Buffer;
  hints: number[] = [];
  constructor(size = 4096) {
    super();
    this.buf = Buffer.alloc(size);
  }
  getBuffer(sizehint: number): Uint8Array {
    this.hints.push(sizehint);
    return this.buf;
  }
  bufferUpdated(n: number): void {
    // Recorded as 'data' so the grammar is the same as Protocol's.
    this.dataReceived(Buffer.from(this.buf.subarray(0, n)));
  }
}
