/**
 * A length-prefixed binary protocol on BufferedProtocol.
 *
 * Each message is a frame: a 4-byte big-endian length, then that many bytes
 * of payload. The protocol hands the transport the free tail of its own
 * receive buffer (`getBuffer`), so received bytes land where they are parsed
 * with no intermediate copy; `bufferUpdated(n)` then cuts complete frames.
 * A frame announced larger than `maxFrame` is a protocol violation: the
 * connection is aborted.
 *
 * `main()` runs a server that answers every message with its SHA-256 and a
 * client that sends a few messages (one empty, one of 300 KB).
 */
import { createHash } from 'node:crypto';
import type * as net from 'node:net';
import { BufferedProtocol, getRunningLoop, type Transport } from '../src/index.js';

/** Bytes in a frame header. */
export const HEADER = 4;

/** A BufferedProtocol that reassembles length-prefixed frames; subclass and override `messageReceived`. */
export class LengthPrefixedProtocol extends BufferedProtocol {
  transport: Transport | null = null;
  /** The largest payload accepted (default 1 MiB). */
  readonly maxFrame: number;
  /** Error that ended the connection from our side (an oversized frame), if any. */
  violation: Error | null = null;
  /** Received bytes live in #buf[#start, #end). */
  #buf: Buffer;
  #start = 0;
  #end = 0;

  constructor(maxFrame = 1024 * 1024, initialBuffer = 16 * 1024) {
    super();
    this.maxFrame = maxFrame;
    this.#buf = Buffer.allocUnsafe(initialBuffer);
  }

  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }

  /** Send one message as a frame (header and payload in one vectored write). */
  sendMessage(payload: Uint8Array): void {
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32BE(payload.length, 0);
    this.transport!.writelines([header, payload]);
  }

  /** Called with each complete payload (owned by the callee). */
  messageReceived(_payload: Buffer): void {}

  override getBuffer(_sizehint: number): Uint8Array {
    // Make room at the tail: drop consumed bytes first, grow if a frame
    // that is known to be bigger than the buffer is still arriving.
    if (this.#end === this.#buf.length) {
      const pending = this.#end - this.#start;
      const need = this.#frameSize();
      if (this.#start > 0) {
        this.#buf.copy(this.#buf, 0, this.#start, this.#end);
        this.#start = 0;
        this.#end = pending;
      }
      if (this.#end === this.#buf.length || need > this.#buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, need));
        this.#buf.copy(grown, 0, 0, this.#end);
        this.#buf = grown;
      }
    }
    return this.#buf.subarray(this.#end);
  }

  override bufferUpdated(nbytes: number): void {
    this.#end += nbytes;
    for (;;) {
      const available = this.#end - this.#start;
      if (available < HEADER) break;
      const length = this.#buf.readUInt32BE(this.#start);
      if (length > this.maxFrame) {
        this.violation = new RangeError(
          `frame of ${length} bytes exceeds maxFrame ${this.maxFrame}`,
        );
        this.transport!.abort();
        return;
      }
      if (available < HEADER + length) break;
      const from = this.#start + HEADER;
      this.#start = from + length;
      this.messageReceived(Buffer.from(this.#buf.subarray(from, from + length)));
      if (this.transport!.isClosing()) return;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /** The size of the frame at the head of the buffer, header included (0 if unknown yet). */
  #frameSize(): number {
    if (this.#end - this.#start < HEADER) return 0;
    return HEADER + this.#buf.readUInt32BE(this.#start);
  }
}

/** Encode one frame (for tests and clients that write raw bytes). */
export function frame(payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(HEADER);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

/** Server side of the demo: answers each message with its SHA-256 digest. */
export class DigestServer extends LengthPrefixedProtocol {
  override messageReceived(payload: Buffer): void {
    this.sendMessage(createHash('sha256').update(payload).digest());
  }
}

export async function main(): Promise<void> {
  const loop = getRunningLoop();
  const server = await loop.createServer(() => new DigestServer(), '127.0.0.1', 0);
  const port = (server.sockets[0]!.address() as net.AddressInfo).port;

  const messages = [
    Buffer.from('hello'),
    Buffer.alloc(0),
    Buffer.alloc(300_000, 0x2a),
    Buffer.from('bye'),
  ];
  const replies: Buffer[] = [];
  let done!: () => void;
  const allReplies = new Promise<void>((r) => (done = r));
  class Client extends LengthPrefixedProtocol {
    override messageReceived(payload: Buffer): void {
      replies.push(payload);
      if (replies.length === messages.length) done();
    }
    override connectionLost(): void {
      console.log('Client: connection closed');
    }
  }
  const [transport, client] = await loop.createConnection(() => new Client(), '127.0.0.1', port);
  for (const m of messages) client.sendMessage(m);
  await allReplies;
  for (const [i, m] of messages.entries()) {
    const ok = createHash('sha256').update(m).digest().equals(replies[i]!);
    console.log(
      `Message of ${m.length} bytes: digest ${replies[i]!.toString('hex').slice(0, 16)}... ${ok ? 'ok' : 'WRONG'}`,
    );
  }
  transport.close();
  server.close();
  await server.waitClosed();
}
