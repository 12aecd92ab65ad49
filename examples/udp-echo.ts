/**
 * The reference page's UDP echo server and UDP echo client, run together:
 * the server answers every datagram with the same bytes; the client sends
 * one message and closes its endpoint when the answer arrives. Each prints
 * what the Python version prints.
 *
 * Python's server serves for an hour; here it closes once the client is done.
 */
import {
  type Address,
  DatagramProtocol,
  type DatagramTransport,
  type Future,
  getRunningLoop,
} from '../src/index.js';

/** Python's `repr()` of a str (the examples' messages have no quotes in them). */
function pyRepr(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Python prints an address tuple as `('127.0.0.1', 9999)`. */
function pyTuple(addr: Address): string {
  return `('${addr[0]}', ${addr[1]})`;
}

class EchoServerProtocol extends DatagramProtocol {
  transport!: DatagramTransport;

  override connectionMade(transport: DatagramTransport): void {
    this.transport = transport;
  }

  override datagramReceived(data: Buffer, addr: Address): void {
    const message = data.toString();
    console.log(`Received ${pyRepr(message)} from ${pyTuple(addr)}`);
    console.log(`Send ${pyRepr(message)} to ${pyTuple(addr)}`);
    this.transport.sendto(data, addr);
  }
}

class EchoClientProtocol extends DatagramProtocol {
  transport: DatagramTransport | null = null;

  constructor(
    readonly message: string,
    readonly onConLost: Future<boolean>,
  ) {
    super();
  }

  override connectionMade(transport: DatagramTransport): void {
    this.transport = transport;
    console.log('Send:', this.message);
    this.transport.sendto(Buffer.from(this.message));
  }

  override datagramReceived(data: Buffer, _addr: Address): void {
    console.log('Received:', data.toString());
    console.log('Close the socket');
    this.transport!.close();
  }

  override errorReceived(exc: Error): void {
    console.log('Error received:', exc.message);
  }

  override connectionLost(_exc: Error | null): void {
    console.log('Connection closed');
    this.onConLost.setResult(true);
  }
}

/** The server on 127.0.0.1:9999 as in the docs, or an ephemeral port if 9999 is taken. */
async function startServer(): Promise<DatagramTransport> {
  const loop = getRunningLoop();
  console.log('Starting UDP server');
  // One protocol instance will be created to serve all client requests.
  try {
    const [transport] = await loop.createDatagramEndpoint(() => new EchoServerProtocol(), {
      localAddr: ['127.0.0.1', 9999],
    });
    return transport;
  } catch (exc) {
    if ((exc as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw exc;
    const [transport] = await loop.createDatagramEndpoint(() => new EchoServerProtocol(), {
      localAddr: ['127.0.0.1', 0],
    });
    return transport;
  }
}

async function client(port: number): Promise<void> {
  const loop = getRunningLoop();
  const onConLost = loop.createFuture<boolean>();
  const message = 'Hello World!';
  const [transport] = await loop.createDatagramEndpoint(
    () => new EchoClientProtocol(message, onConLost),
    { remoteAddr: ['127.0.0.1', port] },
  );
  try {
    await onConLost;
  } finally {
    transport.close();
  }
}

export async function main(): Promise<void> {
  const server = await startServer();
  try {
    const [, port] = server.getExtraInfo('sockname') as Address;
    await client(port);
  } finally {
    server.close();
  }
}
