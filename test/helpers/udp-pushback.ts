/**
 * Run by test/datagram.test.ts inside a private network namespace whose
 * loopback has a rate-limited queueing discipline (tc tbf): there the kernel
 * really pushes back on UDP sends (EAGAIN), which loopback otherwise never
 * does. A sender that outpaces the link writes as fast as its protocol is
 * allowed to; this script prints one JSON line with what happened.
 */
import type * as dgram from 'node:dgram';
import {
  type Address,
  DatagramProtocol,
  type DatagramTransport,
  getRunningLoop,
} from '../../src/index.js';

const COUNT = Number(process.argv[2] ?? 1000);
const SIZE = 1000;

// A safety net only: the run normally ends in well under a second.
const guard = setTimeout(() => {
  console.log(JSON.stringify({ error: 'timed out', ...result() }));
  process.exit(2);
}, 20_000);
guard.unref();

const events: string[] = [];
let maxBuffer = 0;
let maxAtResume = 0;
let bufferAtClose = -1;
let received = 0;
let inOrder = true;
let lostWith: unknown = 'not called';

function result(): Record<string, unknown> {
  return {
    pauses: events.filter((e) => e === 'pause').length,
    resumes: events.filter((e) => e === 'resume').length,
    maxBuffer,
    maxAtResume,
    bufferAtClose,
    received,
    inOrder,
    lostWith: lostWith === null ? null : String(lostWith),
    events: events.join(' '),
  };
}

let allReceived!: () => void;
const sinkDone = new Promise<void>((r) => (allReceived = r));

class Sink extends DatagramProtocol {
  override datagramReceived(data: Buffer, _addr: Address): void {
    if (data.readUInt32BE(0) !== received) inOrder = false;
    if (++received === COUNT) allReceived();
  }
}

class Sender extends DatagramProtocol {
  t!: DatagramTransport;
  next = 0;
  paused = false;
  done!: () => void;
  finished = new Promise<void>((r) => (this.done = r));

  override connectionMade(t: DatagramTransport): void {
    this.t = t;
    // A small kernel send buffer, so the rate limit shows at once.
    (t.getExtraInfo('socket') as dgram.Socket).setSendBufferSize(4096);
    this.pump();
  }
  /** Send until paused or done: the sender always outpaces a 20 Mbit/s link. */
  pump(): void {
    while (!this.paused && this.next < COUNT) {
      const d = Buffer.alloc(SIZE);
      d.writeUInt32BE(this.next++, 0);
      this.t.sendto(d);
      maxBuffer = Math.max(maxBuffer, this.t.getWriteBufferSize());
    }
    if (this.next === COUNT && !this.t.isClosing()) {
      bufferAtClose = this.t.getWriteBufferSize();
      events.push('close');
      this.t.close(); // must flush what libuv still holds, then connectionLost(null)
    }
  }
  override pauseWriting(): void {
    events.push('pause');
    this.paused = true;
  }
  override resumeWriting(): void {
    events.push('resume');
    maxAtResume = Math.max(maxAtResume, this.t.getWriteBufferSize());
    this.paused = false;
    // Not from inside the transport's callback stack: on the next turn.
    getRunningLoop().callSoon(() => this.pump());
  }
  override connectionLost(exc: Error | null): void {
    events.push('lost');
    lostWith = exc;
    this.done();
  }
}

const loop = getRunningLoop();
const [sink] = await loop.createDatagramEndpoint(() => new Sink(), {
  localAddr: ['127.0.0.1', 0],
});
const port = (sink.getExtraInfo('sockname') as Address)[1];
const [, sender] = await loop.createDatagramEndpoint(() => new Sender(), {
  remoteAddr: ['127.0.0.1', port],
});
await sender.finished;
// Everything was handed to the kernel before connectionLost; wait for the
// sink to read it (a lost datagram ends the run through the guard above).
await sinkDone;
sink.close();
clearTimeout(guard);
console.log(JSON.stringify(result()));
