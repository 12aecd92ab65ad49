/**
 * Property-based fuzzing of stream transports (fast-check): random sequences
 * of write, writelines, writeEof, pauseReading, resumeReading,
 * setWriteBufferLimits, close and abort on both ends of a connected pair.
 *
 * Invariants checked on every run:
 * - the callback grammar of DESIGN section 3 (the Recorder asserts it as the
 *   callbacks arrive: made first, nothing after lost, eof at most once,
 *   pause/resume alternate starting with pause);
 * - connectionLost exactly once on each side;
 * - the bytes each side received are a prefix of what the other side sent,
 *   in order, and all of them unless a side aborted or the receiver closed
 *   early;
 * - misuse (write after writeEof; writeEof where half-close is not
 *   supported, as on TLS) throws and changes nothing.
 *
 * Capabilities adapt the property to the transport without weakening it
 * elsewhere: `writeEof: false` (TLS) checks that writeEof() throws and
 * winds down by waiting for the bytes instead of half-closing;
 * `deterministic: true` (the in-memory pair) drops the kernel's RST caveat,
 * so full delivery must hold whenever no side aborted and the receiver did
 * not close early, and a connection that nobody aborted ends with
 * connectionLost(null) on both sides.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvalidStateError, type Transport } from '../../src/index.js';
import { Recorder } from '../helpers/recorder.js';
import type { PairFactory } from './stream.js';

type Side = 0 | 1;
type Op =
  | { kind: 'write'; side: Side; size: number }
  | { kind: 'writelines'; side: Side; sizes: number[] }
  | { kind: 'writeEof'; side: Side }
  | { kind: 'pauseReading'; side: Side }
  | { kind: 'resumeReading'; side: Side }
  | { kind: 'limits'; side: Side; high: number }
  | { kind: 'close'; side: Side }
  | { kind: 'abort'; side: Side }
  | { kind: 'turn' };

const side = fc.constantFrom<Side>(0, 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      side,
      size: fc.integer({ min: 0, max: 200_000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('writelines' as const),
      side,
      sizes: fc.array(fc.integer({ min: 0, max: 50_000 }), { maxLength: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('writeEof' as const), side }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pauseReading' as const), side }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resumeReading' as const), side }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('limits' as const),
      side,
      high: fc.integer({ min: 0, max: 300_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), side }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), side }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'turn' as const }) },
);

/** What the transport under test supports (see the module comment). */
export interface FuzzCapabilities {
  /** writeEof()/half-close supported (false for TLS). */
  writeEof: boolean;
  /** No kernel in between: full delivery and clean closes are exact (the in-memory pair). */
  deterministic: boolean;
}

/**
 * A recorder whose EOF handling keeps the write side open where half-close
 * exists, so both halves get exercised (TLS closes on EOF regardless, and
 * warns if asked to keep open, so there it returns false).
 */
class FuzzRecorder extends Recorder {
  constructor(readonly keepOpenOnEof: boolean) {
    super();
  }
  override eofReceived(): boolean {
    super.eofReceived();
    return this.keepOpenOnEof;
  }
}

/**
 * Whether a write is still sent: before close(), and after it while the
 * closing flush is still running (asyncio appends such writes, semantics
 * 1.7); once the connection is lost they are dropped.
 */
function accepting(t: Transport): boolean {
  return !t.isClosing() || t.getWriteBufferSize() > 0;
}

async function turn(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

/** Run the fuzz property over pairs made by `makePair`. */
export function fuzzStreamTransport(
  name: string,
  makePair: PairFactory,
  runs: number,
  caps: FuzzCapabilities = { writeEof: true, deterministic: false },
): void {
  test(`fuzz: random operation sequences on both ends (${name}, ${runs} runs)`, async () => {
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
        seq++;
        const p = await makePair(
          () => new FuzzRecorder(caps.writeEof),
          () => new FuzzRecorder(caps.writeEof),
        );
        const recs = [p.a, p.b];
        const sent: Buffer[][] = [[], []];
        const eofWritten = [false, false];
        const aborted = [false, false];
        // abort() at all, also after close() (still a reset for the peer).
        const abortCalled = [false, false];
        const closedEarly = [false, false];
        const gone = (s: Side) => recs[s]!.transport.isClosing();
        let fill = seq & 0xff;
        const chunk = (n: number): Buffer => {
          const b = Buffer.alloc(n);
          for (let i = 0; i < n; i++) b[i] = (fill + i) & 0xff;
          fill = (fill + n) & 0xff;
          return b;
        };
        for (const op of ops) {
          if (op.kind === 'turn') {
            await turn();
            continue;
          }
          const t = recs[op.side]!.transport;
          switch (op.kind) {
            case 'write': {
              const data = chunk(op.size);
              if (eofWritten[op.side]) {
                assert.throws(() => t.write(data), InvalidStateError);
              } else {
                const accepts = !abortCalled[op.side] && accepting(t);
                t.write(data);
                if (accepts) sent[op.side]!.push(data);
              }
              break;
            }
            case 'writelines': {
              const list = op.sizes.map(chunk);
              if (eofWritten[op.side]) {
                assert.throws(() => t.writelines(list), InvalidStateError);
              } else {
                const accepts = !abortCalled[op.side] && accepting(t);
                t.writelines(list);
                if (accepts) sent[op.side]!.push(...list);
              }
              break;
            }
            case 'writeEof':
              if (!caps.writeEof) {
                const before = [t.isClosing(), t.getWriteBufferSize()];
                assert.equal(t.canWriteEof(), false);
                assert.throws(() => t.writeEof(), /doesn't support half-closes/);
                assert.deepEqual([t.isClosing(), t.getWriteBufferSize()], before);
                break;
              }
              if (!gone(op.side)) eofWritten[op.side] = true;
              t.writeEof();
              break;
            case 'pauseReading':
              t.pauseReading();
              if (!gone(op.side)) assert.equal(t.isReading(), false);
              break;
            case 'resumeReading':
              t.resumeReading();
              break;
            case 'limits': {
              const before = t.getWriteBufferLimits();
              assert.throws(() => t.setWriteBufferLimits(op.high, op.high + 1), RangeError);
              assert.deepEqual(t.getWriteBufferLimits(), before);
              t.setWriteBufferLimits(op.high);
              break;
            }
            case 'close':
              if (!gone(op.side)) closedEarly[op.side] = true;
              t.close();
              break;
            case 'abort':
              // An abort drops what is still unsent: also after close()
              // while the closing flush runs.
              if (!abortCalled[op.side] && accepting(t)) aborted[op.side] = true;
              abortCalled[op.side] = true;
              t.abort();
              break;
          }
        }
        // Wind down without losing anything in flight: resume reading on
        // both ends and half-close them, wait until each has seen EOF (or
        // lost the connection), then close both. Without half-close, wait
        // until each side has received what the other sent (or lost the
        // connection) instead.
        const sentBytes = sent.map((list) => list.reduce((n, b) => n + b.length, 0));
        for (const r of recs) {
          r.transport.resumeReading();
          if (caps.writeEof && !r.transport.isClosing()) r.transport.writeEof();
        }
        const settled = caps.writeEof
          ? (r: Recorder) => r.events.includes('eof') || r.events.includes('lost')
          : (r: Recorder, s: number) =>
              r.events.includes('lost') || r.received.length >= sentBytes[1 - s]!;
        // Both ends closed with bytes still to send each way wait for each
        // other for good: close() stops reading (nothing is delivered after
        // it) and waits for its buffer to drain. That is asyncio's rule too
        // (over TCP it shows once the kernel buffers are full, which the
        // pair's small capacities make common). Only both sides' own
        // close() calls can lead there; the wind-down breaks it with abort().
        let stalledTurns = 0;
        let last = '';
        const breakStall = (): void => {
          const ts = recs.map((r) => r.transport);
          const stalled =
            caps.deterministic &&
            ts.every((t) => t.isClosing() && t.getWriteBufferSize() > 0) &&
            recs.every((r) => !r.events.includes('lost'));
          const now = ts.map((t) => t.getWriteBufferSize()).join();
          stalledTurns = stalled && now === last ? stalledTurns + 1 : 0;
          last = now;
          if (stalledTurns < 10) return;
          assert.ok(closedEarly[0] && closedEarly[1], 'a stall without both sides closing');
          for (const s of [0, 1] as const) {
            aborted[s] = true;
            abortCalled[s] = true;
            ts[s]!.abort();
          }
        };
        for (let i = 0; i < 100_000 && !recs.every(settled); i++) {
          breakStall();
          await turn();
        }
        for (const r of recs) r.transport.close();
        for (let i = 0; i < 100_000 && !recs.every((r) => r.events.includes('lost')); i++) {
          breakStall();
          await turn();
        }
        for (const r of recs) {
          assert.equal(
            r.events.filter((e) => e === 'lost').length,
            1,
            `connectionLost once: ${r.events}`,
          );
        }
        for (const s of [0, 1] as const) {
          const from = Buffer.concat(sent[s]!);
          const got = recs[1 - s]!.received;
          assert.ok(
            got.length <= from.length,
            `received more than sent (${got.length} > ${from.length})`,
          );
          assert.ok(
            from.subarray(0, got.length).equals(got),
            'received bytes are not a prefix of the sent bytes',
          );
          // Real TCP: closing a socket with unread incoming data sends RST,
          // which discards what the peer had not read yet; so a sender that
          // closed while its peer was also sending is not held to full
          // delivery (asyncio behaves the same, it is the kernel's rule).
          // The in-memory pair has no kernel: no such reset.
          const resetPossible = !caps.deterministic && closedEarly[s] && sent[1 - s]!.length > 0;
          const mustBeComplete =
            !aborted[s] && !aborted[1 - s] && !closedEarly[1 - s] && !resetPossible;
          if (mustBeComplete) {
            assert.equal(got.length, from.length, `all bytes delivered (side ${s} -> ${1 - s})`);
          }
        }
        if (caps.deterministic && !abortCalled[0] && !abortCalled[1]) {
          for (const r of recs) assert.equal(r.lostWith, null, 'a clean close on both sides');
        }
        await p.dispose();
      }),
      { numRuns: runs, endOnFailure: true, includeErrorInReport: true },
    );
  });
}
