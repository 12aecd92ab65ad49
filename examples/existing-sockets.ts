/**
 * The reference page's "Connecting Existing Sockets" example: wait until a
 * socket receives data, using a protocol on one end of a socket pair.
 */
import { type Future, getRunningLoop, Protocol, socketpair, type Transport } from 'protoloop';

class MyProtocol extends Protocol {
  transport: Transport | null = null;

  constructor(public onConLost: Future<boolean>) {
    super();
  }

  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }

  override dataReceived(data: Buffer): void {
    console.log('Received:', data.toString());
    // We are done: close the transport; connectionLost() will be called automatically.
    this.transport!.close();
  }

  override connectionLost(_exc: Error | null): void {
    // The socket has been closed.
    this.onConLost.setResult(true);
  }
}

export async function main(): Promise<void> {
  const loop = getRunningLoop();
  const onConLost = loop.createFuture<boolean>();

  // Create a pair of connected sockets.
  const [rsock, wsock] = await socketpair();

  // Register the socket to wait for data.
  const [transport, protocol] = await loop.createConnection(
    () => new MyProtocol(onConLost),
    null,
    null,
    {
      sock: rsock,
    },
  );

  // Simulate the reception of data from the network.
  loop.callSoon(() => wsock.write(Buffer.from('abc')));

  try {
    await protocol.onConLost;
  } finally {
    transport.close();
    wsock.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
