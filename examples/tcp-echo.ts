/**
 * The reference page's "TCP Echo Server" and "TCP Echo Client" examples,
 * ported line for line. The server closes each connection after one echo.
 *
 *   Python                                   protoloop
 *   class EchoServerProtocol(asyncio.Protocol)  class EchoServerProtocol extends Protocol
 *   loop.create_server(lambda: ..., ...)        loop.createServer(() => ..., ...)
 */
import { type Future, getRunningLoop, Protocol, type Transport } from 'protoloop';
import { pyRepr } from './pyrepr.js';

class EchoServerProtocol extends Protocol {
  transport!: Transport;

  override connectionMade(transport: Transport): void {
    const peername = transport.getExtraInfo('peername');
    console.log(`Connection from ${pyRepr(peername)}`);
    this.transport = transport;
  }

  override dataReceived(data: Buffer): void {
    const message = data.toString();
    console.log(`Data received: ${pyRepr(message)}`);
    console.log(`Send: ${pyRepr(message)}`);
    this.transport.write(data);
    console.log('Close the client socket');
    this.transport.close();
  }
}

class EchoClientProtocol extends Protocol {
  constructor(
    private message: string,
    private onConLost: Future<boolean>,
  ) {
    super();
  }

  override connectionMade(transport: Transport): void {
    transport.write(Buffer.from(this.message));
    console.log(`Data sent: ${pyRepr(this.message)}`);
  }

  override dataReceived(data: Buffer): void {
    console.log(`Data received: ${pyRepr(data.toString())}`);
  }

  override connectionLost(_exc: Error | null): void {
    console.log('The server closed the connection');
    this.onConLost.setResult(true);
  }
}

export async function main(): Promise<void> {
  const loop = getRunningLoop();
  // The server (asyncio: `async with server: await server.serve_forever()`).
  await using server = await loop.createServer(() => new EchoServerProtocol(), '127.0.0.1', 8888);

  // The client.
  const onConLost = loop.createFuture<boolean>();
  const message = 'Hello World!';
  const [transport] = await loop.createConnection(
    () => new EchoClientProtocol(message, onConLost),
    '127.0.0.1',
    8888,
  );
  // Wait until the protocol signals that the connection is lost and close the transport.
  try {
    await onConLost;
  } finally {
    transport.close();
  }
  void server;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
