/**
 * Why protoloop exists: a line-based key-value server in one small class,
 * with exact backpressure and half-close, and no stream plumbing.
 *
 * - Framing lives in dataReceived: split on "\n", keep the partial tail.
 * - Backpressure is explicit: when replies pile up past the transport's
 *   high-water mark, pauseWriting() arrives and the server stops reading
 *   requests (pauseReading) until resumeWriting(). A client that pipelines
 *   thousands of requests without reading replies cannot make it buffer
 *   without bound.
 * - Half-close: the client sends its requests then writeEof(); the server's
 *   eofReceived() returns true so it can finish replying, then closes.
 */
import { getRunningLoop, Protocol, type Transport } from 'protoloop';

const store = new Map<string, string>();

class KVProtocol extends Protocol {
  transport!: Transport;
  #tail = '';
  pauses = 0;

  override connectionMade(transport: Transport): void {
    this.transport = transport;
    // A smaller window than the 64 KiB default, so the demo shows the effect.
    transport.setWriteBufferLimits(4096);
  }

  override dataReceived(data: Buffer): void {
    const lines = (this.#tail + data.toString('latin1')).split('\n');
    this.#tail = lines.pop()!;
    for (const line of lines)
      this.transport.write(Buffer.from(`${this.#execute(line)}\n`, 'latin1'));
  }

  #execute(line: string): string {
    const [cmd, key = '', ...rest] = line.trim().split(' ');
    switch (cmd?.toUpperCase()) {
      case 'SET':
        store.set(key, rest.join(' '));
        return 'OK';
      case 'GET':
        return store.has(key) ? `VALUE ${store.get(key)}` : 'NOT_FOUND';
      case 'DEL':
        return store.delete(key) ? 'DELETED' : 'NOT_FOUND';
      default:
        return `ERROR unknown command ${JSON.stringify(cmd)}`;
    }
  }

  override pauseWriting(): void {
    this.pauses++;
    this.transport.pauseReading(); // stop taking requests while replies back up
  }

  override resumeWriting(): void {
    this.transport.resumeReading();
  }

  override eofReceived(): boolean {
    // The client is done sending; keep the connection to finish replying.
    this.transport.close(); // flushes every pending reply, then connectionLost(null)
    return true;
  }

  override connectionLost(exc: Error | null): void {
    console.log(`server: connection closed (${exc ?? 'clean'}), write pauses: ${this.pauses}`);
  }
}

class PipeliningClient extends Protocol {
  replies: string[] = [];
  #tail = '';
  done = getRunningLoop().createFuture<void>();

  constructor(private requests: string[]) {
    super();
  }

  override connectionMade(transport: Transport): void {
    // All requests in one vectored write, then half-close.
    transport.writelines(this.requests.map((r) => Buffer.from(`${r}\n`)));
    transport.writeEof();
    // Read the replies slowly at first: the server must hold back, not buffer.
    transport.pauseReading();
    getRunningLoop().callLater(0.05, () => transport.resumeReading());
  }

  override dataReceived(data: Buffer): void {
    const lines = (this.#tail + data.toString('latin1')).split('\n');
    this.#tail = lines.pop()!;
    this.replies.push(...lines);
  }

  override connectionLost(): void {
    this.done.setResult();
  }
}

export async function main(): Promise<void> {
  const loop = getRunningLoop();
  await using server = await loop.createServer(() => new KVProtocol(), '127.0.0.1', 0);
  const { port } = server.sockets[0]!.address() as { port: number };

  const requests: string[] = [];
  for (let i = 0; i < 3000; i++) requests.push(`SET key${i} ${'v'.repeat(4000)}`);
  for (let i = 0; i < 3000; i++) requests.push(`GET key${i}`); // about 12 MB of replies
  requests.push('SET greeting hello', 'GET greeting', 'DEL greeting', 'FLY away');
  const [, client] = await loop.createConnection(
    () => new PipeliningClient(requests),
    '127.0.0.1',
    port,
  );
  await client.done;
  console.log(`client: ${client.replies.length} replies for ${requests.length} requests`);
  for (const r of client.replies.slice(-4)) console.log(`client: ${r.slice(0, 60)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
