/**
 * socketpair(): both ends behave like ordinary connected net.Sockets for a
 * user who reads them directly (as Python's socket.socketpair() does), and
 * lose no byte when a transport, or a child process, adopts them later.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type * as net from 'node:net';
import { describe, test } from 'node:test';
import { getRunningLoop, socketpair } from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { Recorder } from './helpers/recorder.js';

useHarness();
const loop = getRunningLoop();

/** Everything `s` reads until its 'end'. */
function readAll(s: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

function closed(s: net.Socket): Promise<void> {
  return s.closed ? Promise.resolve() : new Promise((r) => s.once('close', () => r()));
}

describe('socketpair(): plain sockets for a user who reads them', () => {
  test("on('data') on either end receives what the other end writes, then 'end'", async () => {
    const [a, b] = await socketpair();
    const atB = readAll(b);
    const atA = readAll(a);
    a.end('from a');
    b.end('from b');
    assert.equal((await atB).toString(), 'from a');
    assert.equal((await atA).toString(), 'from b');
    await Promise.all([closed(a), closed(b)]);
  });

  test('neither end is flowing nor reading until asked; what was sent before waits in the kernel', async () => {
    const [a, b] = await socketpair();
    for (const s of [a, b]) {
      assert.equal(s.readableFlowing, null, 'a new stream: neither flowing nor paused');
      assert.equal(s.readableLength, 0);
    }
    a.write('early');
    b.write('early too');
    // A 'readable' consumer works as well as a 'data' one.
    const got = await new Promise<string>((resolve) => {
      b.on('readable', function onReadable() {
        const chunk: Buffer | null = b.read();
        if (chunk !== null) {
          b.off('readable', onReadable);
          resolve(chunk.toString());
        }
      });
    });
    assert.equal(got, 'early');
    const atA = readAll(a);
    b.end();
    assert.equal((await atA).toString(), 'early too');
    a.end();
    await Promise.all([closed(a), closed(b)]);
  });

  test('half-close: one end ends, the other still writes back (allowHalfOpen)', async () => {
    const [a, b] = await socketpair();
    const atA = readAll(a);
    b.on('data', (d: Buffer) => b.write(d.toString().toUpperCase()));
    b.once('end', () => b.end());
    b.resume();
    a.end('quiet please');
    assert.equal((await atA).toString(), 'QUIET PLEASE');
    await Promise.all([closed(a), closed(b)]);
  });
});

describe('socketpair(): adopted later, nothing is lost', () => {
  for (const which of ['first', 'second'] as const) {
    test(`createConnection({ sock }) on the ${which} end gets the bytes and EOF sent before it`, async () => {
      const [a, b] = await socketpair();
      const [mine, peer] = which === 'first' ? [a, b] : [b, a];
      const payload = Buffer.alloc(200_000, 7);
      peer.end(payload);
      // Let the bytes and the FIN reach the kernel buffer of `mine` first.
      await new Promise((r) => peer.once('finish', r));
      const [, rec] = await loop.createConnection(() => new Recorder(), null, null, {
        sock: mine,
      });
      await rec.lost;
      assert.deepEqual(Buffer.concat(rec.chunks), payload);
      assert.deepEqual(rec.events.filter((e) => e !== 'data').slice(-2), ['eof', 'lost']);
      peer.destroy();
      await closed(peer);
    });
  }

  test('connectAcceptedSocket after a user looked at the socket (no listener) loses nothing', async () => {
    const [a, b] = await socketpair();
    a.write('one ');
    assert.equal(b.readableFlowing, null);
    const [t, rec] = await loop.connectAcceptedSocket(() => new Recorder(), b);
    a.end('two');
    await rec.lost;
    assert.equal(Buffer.concat(rec.chunks).toString(), 'one two');
    assert.equal(t.isClosing(), true);
    a.destroy();
    await closed(a);
  });

  test('an end handed to a child process as its stdin: the child reads every byte', async () => {
    const [a, b] = await socketpair();
    a.write('sent before the child started\n');
    const child = spawn(
      process.env.PYTHON ?? 'python3',
      ['-c', 'import sys; sys.stdout.write(sys.stdin.read().upper())'],
      { stdio: [b, 'pipe', 'inherit'] },
    );
    // The parent keeps no use for its copy of `b`.
    b.destroy();
    a.end('and after\n');
    const out: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    const [code] = await new Promise<[number | null]>((r) => child.once('close', (c) => r([c])));
    assert.equal(code, 0);
    assert.equal(Buffer.concat(out).toString(), 'SENT BEFORE THE CHILD STARTED\nAND AFTER\n');
    // The child's copy closed when it exited: `a` reads EOF and nothing else.
    assert.equal((await readAll(a)).length, 0);
    await Promise.all([closed(a), closed(b)]);
  });
});
