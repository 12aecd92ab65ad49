/**
 * The length-prefixed BufferedProtocol of examples/length-prefixed.ts,
 * unit-tested without sockets through createTransportPair.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { DigestServer, frame, LengthPrefixedProtocol, main } from '../examples/length-prefixed.js';
import { Protocol, type Transport } from '../src/index.js';
import { createTransportPair } from '../src/testing/index.js';
import { until, useHarness } from './helpers/harness.js';

/** Collects the messages it receives. */
class Collector extends LengthPrefixedProtocol {
  messages: Buffer[] = [];
  lost: Error | null | undefined = undefined;
  override messageReceived(payload: Buffer): void {
    this.messages.push(payload);
  }
  override connectionLost(exc: Error | null): void {
    this.lost = exc;
  }
}

/** A raw peer that writes bytes exactly as given. */
class Raw extends Protocol {
  transport!: Transport;
  lost = false;
  received: Buffer[] = [];
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override dataReceived(d: Buffer): void {
    this.received.push(d);
  }
  override connectionLost(): void {
    this.lost = true;
  }
}

describe('length-prefixed protocol over the in-memory pair', () => {
  useHarness();

  test('frames cut into 3-byte reads are reassembled', async () => {
    const payloads = [
      Buffer.from('a'),
      Buffer.alloc(0),
      Buffer.from('hello, world'),
      Buffer.alloc(40_000, 7),
    ];
    const wire = Buffer.concat(payloads.map(frame));
    // Capacity 3: the receiver gets the stream in reads of at most 3 bytes.
    const raw = new Raw();
    const rx = new Collector(1 << 20, 8);
    createTransportPair(raw, rx, { capacity: 3 });
    await until(() => raw.transport !== undefined);
    raw.transport.write(wire);
    await until(() => rx.messages.length === payloads.length, 'all messages', 200_000);
    assert.deepEqual(rx.messages, payloads);
    raw.transport.close();
    await until(() => raw.lost && rx.lost !== undefined);
    assert.equal(rx.lost, null);
  });

  test('many frames in one read, and a frame larger than the initial buffer', async () => {
    const raw = new Raw();
    const rx = new Collector(1 << 20, 16);
    createTransportPair(raw, rx, { capacity: Number.POSITIVE_INFINITY });
    await until(() => raw.transport !== undefined);
    const small = Array.from({ length: 100 }, (_, i) => Buffer.from(`message ${i}`));
    const big = Buffer.alloc(500_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    raw.transport.write(
      Buffer.concat([...small.map(frame), frame(big), frame(Buffer.from('end'))]),
    );
    await until(() => rx.messages.length === 102);
    assert.deepEqual(rx.messages.slice(0, 100), small);
    assert.ok(rx.messages[100]!.equals(big));
    assert.equal(rx.messages[101]!.toString(), 'end');
    raw.transport.close();
    await until(() => raw.lost);
  });

  test('an oversized frame aborts the connection before buffering it', async () => {
    const raw = new Raw();
    const rx = new Collector(1000);
    createTransportPair(raw, rx);
    await until(() => raw.transport !== undefined);
    raw.transport.write(frame(Buffer.from('fine')));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1001);
    raw.transport.write(header);
    raw.transport.write(Buffer.alloc(1001));
    await until(() => rx.lost !== undefined && raw.lost);
    assert.deepEqual(rx.messages.map(String), ['fine']);
    assert.match(String(rx.violation), /frame of 1001 bytes exceeds maxFrame 1000/);
  });

  test('DigestServer answers each message with its SHA-256, with backpressure in between', async () => {
    const client = new Collector();
    const server = new DigestServer();
    createTransportPair(client, server, { capacity: 1024 });
    await until(() => client.transport !== null && server.transport !== null);
    const msgs = [Buffer.from('one'), Buffer.alloc(200_000, 1), Buffer.from('three')];
    for (const m of msgs) client.sendMessage(m);
    await until(() => client.messages.length === 3, 'three digests', 100_000);
    for (const [i, m] of msgs.entries()) {
      assert.ok(client.messages[i]!.equals(createHash('sha256').update(m).digest()));
    }
    client.transport!.close();
    await until(() => client.lost !== undefined);
  });

  test('the example itself runs over TCP and prints four verified digests', async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      await main();
    } finally {
      console.log = log;
    }
    assert.equal(lines.filter((l) => l.endsWith('... ok')).length, 4);
  });
});
