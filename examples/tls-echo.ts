/**
 * TLS echo server and client: the reference page's TCP echo example with
 * `ssl` on both sides. The protocols are exactly the plain ones; only the
 * loop calls change (`ssl` and, for the client, the CA to trust).
 */
import type { AddressInfo } from 'node:net';
import { type BaseTransport, getRunningLoop, Protocol, type Transport } from '../src/index.js';
import { makeExampleCerts } from './tls-certs.js';

class EchoServerProtocol extends Protocol {
  transport!: Transport;

  override connectionMade(transport: Transport): void {
    const peername = transport.getExtraInfo('peername') as [string, number];
    const [name, version, bits] = transport.getExtraInfo('cipher') as [string, string, number];
    console.log(
      `Connection from ('${peername[0]}', ${peername[1]}) over ${version} (${name}, ${bits} bits)`,
    );
    this.transport = transport;
  }

  override dataReceived(data: Buffer): void {
    const message = data.toString();
    console.log(`Data received: '${message}'`);
    console.log(`Send: '${message}'`);
    this.transport.write(data);
    console.log('Close the client socket');
    this.transport.close();
  }
}

class EchoClientProtocol extends Protocol {
  constructor(
    private readonly message: string,
    private readonly onConLost: () => void,
  ) {
    super();
  }

  override connectionMade(transport: BaseTransport): void {
    const cert = transport.getExtraInfo('peercert') as { subject: { CN: string } };
    console.log(`Verified the server's certificate for ${cert.subject.CN}`);
    (transport as Transport).write(Buffer.from(this.message));
    console.log(`Data sent: '${this.message}'`);
  }

  override dataReceived(data: Buffer): void {
    console.log(`Data received: '${data.toString()}'`);
  }

  override connectionLost(_exc: Error | null): void {
    console.log('The server closed the connection');
    this.onConLost();
  }
}

export async function main(): Promise<void> {
  const loop = getRunningLoop();
  const { ca, key, cert } = makeExampleCerts();
  const server = await loop.createServer(() => new EchoServerProtocol(), '127.0.0.1', 0, {
    ssl: { key, cert },
  });
  const port = (server.sockets[0]!.address() as AddressInfo).port;

  let done!: () => void;
  const lost = new Promise<void>((resolve) => {
    done = resolve;
  });
  await loop.createConnection(
    () => new EchoClientProtocol('Hello World!', done),
    'localhost',
    port,
    {
      ssl: { ca },
      family: 4,
    },
  );
  await lost;
  server.close();
  await server.waitClosed();
}
