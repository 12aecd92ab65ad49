/**
 * protoloop echo servers: `protocol` (a `Protocol` whose dataReceived writes
 * the bytes back) or `buffered` (a `BufferedProtocol` reading into its own
 * 256 KiB buffer). Both stop reading while the transport asks them to pause
 * writing, as the yardstick's servers do.
 * Usage: node protoloop_echo.js protocol|buffered PORT [MAX_SECONDS]
 */
import { BufferedProtocol, getRunningLoop, Protocol, type Transport } from 'protoloop';
import { installControl, portAndLifetime } from './control.js';

let open = 0;

class Echo extends Protocol {
  transport!: Transport;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
    open++;
  }
  override dataReceived(data: Buffer): void {
    this.transport.write(data);
  }
  override pauseWriting(): void {
    this.transport.pauseReading();
  }
  override resumeWriting(): void {
    this.transport.resumeReading();
  }
  override connectionLost(): void {
    open--;
  }
}

class BufferedEcho extends BufferedProtocol {
  transport!: Transport;
  // One buffer per connection, reused for every read: write() copies what
  // the kernel does not take at once, so reusing it is safe.
  #buf = Buffer.allocUnsafe(256 * 1024);
  override connectionMade(transport: Transport): void {
    this.transport = transport;
    open++;
  }
  override getBuffer(_sizehint: number): Buffer {
    return this.#buf;
  }
  override bufferUpdated(nbytes: number): void {
    this.transport.write(this.#buf.subarray(0, nbytes));
  }
  override pauseWriting(): void {
    this.transport.pauseReading();
  }
  override resumeWriting(): void {
    this.transport.resumeReading();
  }
  override connectionLost(): void {
    open--;
  }
}

const [kind, ...rest] = process.argv.slice(2);
if (kind !== 'protocol' && kind !== 'buffered') throw new TypeError(`unknown kind ${kind}`);
const { port, maxS } = portAndLifetime(rest);
const factory = kind === 'protocol' ? () => new Echo() : () => new BufferedEcho();
await getRunningLoop().createServer(factory, '127.0.0.1', port, { backlog: 1024 });
installControl(() => open);
setTimeout(() => process.exit(0), maxS * 1000).unref();
