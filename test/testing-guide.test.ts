/**
 * The examples of docs/testing.md ("Testing your own protocol"), run as they
 * are printed there (only the imports differ: the docs import the package
 * by name). test/docs.test.ts checks that the two stay the same.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ExceptionContext, getRunningLoop, Protocol, type Transport } from '../src/index.js';
import { createTransportPair } from '../src/testing/index.js';
import { useHarness } from './helpers/harness.js';

useHarness();

export class ShoutProtocol extends Protocol {
  #transport!: Transport;
  #pending = '';

  override connectionMade(transport: Transport): void {
    this.#transport = transport;
  }

  override dataReceived(data: Buffer): void {
    this.#pending += data.toString('latin1');
    for (let nl = this.#pending.indexOf('\n'); nl !== -1; nl = this.#pending.indexOf('\n')) {
      const line = this.#pending.slice(0, nl);
      this.#pending = this.#pending.slice(nl + 1);
      if (line === 'QUIT') {
        this.#transport.close();
        return;
      }
      this.#transport.write(Buffer.from(`${line.toUpperCase()}\n`, 'latin1'));
    }
  }
}

/** The other end: records every callback and what it received. */
class Recorder extends Protocol {
  events: string[] = [];
  received: Buffer[] = [];
  done = getRunningLoop().createFuture<Error | null>();

  override connectionMade(_transport: Transport): void {
    this.events.push('connectionMade');
  }
  override dataReceived(data: Buffer): void {
    this.received.push(data);
  }
  override eofReceived(): void {
    this.events.push('eofReceived');
  }
  override connectionLost(exc: Error | null): void {
    this.events.push('connectionLost');
    this.done.setResult(exc);
  }
  text(): string {
    return Buffer.concat(this.received).toString('latin1');
  }
}

test('shouts every line back and closes on QUIT', async () => {
  // A protocol callback that throws goes to the loop's exception handler,
  // not to the test: collect those reports and fail on any.
  const reports: ExceptionContext[] = [];
  getRunningLoop().setExceptionHandler((_loop, context) => reports.push(context));

  const client = new Recorder();
  const [, clientTransport] = createTransportPair(new ShoutProtocol(), client);
  clientTransport.write(Buffer.from('hello\nwor')); // split lines are reassembled
  clientTransport.write(Buffer.from('ld\nQUIT\nnot answered\n'));

  assert.equal(await client.done, null); // a clean close
  assert.equal(client.text(), 'HELLO\nWORLD\n');
  assert.deepEqual(client.events, ['connectionMade', 'eofReceived', 'connectionLost']);
  assert.deepEqual(reports, []);
  getRunningLoop().setExceptionHandler(null);
});

/** Writes `total` bytes in 4 KiB chunks, respecting flow control, then closes. */
export class Producer extends Protocol {
  events: string[] = [];
  sent = 0;
  bufferAtPause = -1;
  #transport!: Transport;

  constructor(readonly total: number) {
    super();
  }
  override connectionMade(transport: Transport): void {
    this.#transport = transport;
    this.#produce();
  }
  override pauseWriting(): void {
    this.events.push('pauseWriting');
    this.bufferAtPause = this.#transport.getWriteBufferSize();
  }
  override resumeWriting(): void {
    this.events.push('resumeWriting');
    this.#produce();
  }
  #produce(): void {
    while (this.events.at(-1) !== 'pauseWriting' && this.sent < this.total) {
      const n = Math.min(4096, this.total - this.sent);
      this.#transport.write(Buffer.alloc(n, this.sent >> 12)); // may call pauseWriting()
      this.sent += n;
    }
    if (this.sent === this.total) this.#transport.close();
  }
}

test('the producer pauses over the high-water mark and resumes at the low one', async () => {
  const producer = new Producer(256 * 1024);
  const sink = new Recorder();
  const [producerTransport, sinkTransport] = createTransportPair(producer, sink, {
    capacity: 1024, // the "kernel" holds 1 KiB per direction
  });
  sinkTransport.pauseReading(); // a slow peer: nothing is read for now

  await until(() => producer.events.length > 0);
  const [, high] = producerTransport.getWriteBufferLimits();
  assert.deepEqual(producer.events, ['pauseWriting']);
  assert.ok(producer.bufferAtPause > high); // strictly over the mark,
  assert.ok(producer.bufferAtPause <= high + 4096); // by less than one chunk: it stopped at once

  sinkTransport.resumeReading();
  assert.equal(await sink.done, null);
  assert.equal(Buffer.concat(sink.received).length, 256 * 1024);
  // pauseWriting and resumeWriting alternate, pause first.
  producer.events.forEach((e, i) => {
    assert.equal(e, i % 2 === 0 ? 'pauseWriting' : 'resumeWriting');
  });
});

/** Wait until `pred()` holds, checking once per loop turn; bounded, no timers. */
async function until(pred: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (pred()) return;
    await new Promise<void>((resolve) => getRunningLoop().callSoon(() => resolve()));
  }
  throw new Error('condition not reached');
}
