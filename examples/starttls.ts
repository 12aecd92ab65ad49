/**
 * STARTTLS: a plain line protocol (SMTP-like) that upgrades the live
 * connection to TLS after a `STARTTLS` command, with `loop.startTls()` on
 * both sides. The protocol objects stay the same across the upgrade: they
 * get no second `connectionMade`, they just swap in the new transport.
 */
import type { AddressInfo } from 'node:net';
import { getRunningLoop, Protocol, type Transport } from '../src/index.js';
import { makeExampleCerts } from './tls-certs.js';

const loop = getRunningLoop();
const { ca, key, cert } = makeExampleCerts();

/** Splits the byte stream into CRLF-terminated lines. */
abstract class LineProtocol extends Protocol {
  transport!: Transport;
  #buffer = '';

  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }

  override dataReceived(data: Buffer): void {
    this.#buffer += data.toString();
    for (let i = this.#buffer.indexOf('\r\n'); i >= 0; i = this.#buffer.indexOf('\r\n')) {
      const line = this.#buffer.slice(0, i);
      this.#buffer = this.#buffer.slice(i + 2);
      this.lineReceived(line);
    }
  }

  sendLine(line: string): void {
    this.transport.write(Buffer.from(`${line}\r\n`));
  }

  /** Which channel the transport is: plain, or the TLS version. */
  get channel(): string {
    const cipher = this.transport.getExtraInfo('cipher') as [string, string, number] | undefined;
    return cipher === undefined ? 'plain' : cipher[1];
  }

  abstract lineReceived(line: string): void;
}

class Server extends LineProtocol {
  override connectionMade(transport: Transport): void {
    super.connectionMade(transport);
    this.sendLine('220 example.test ready');
  }

  override lineReceived(line: string): void {
    console.log(`S: got '${line}' (${this.channel})`);
    if (line === 'STARTTLS') {
      // The reply is queued before the upgrade and reaches the client in
      // plain text, before the TLS handshake.
      this.sendLine('220 Go ahead');
      loop
        .startTls(this.transport, this, { key, cert }, { serverSide: true })
        .then((tls) => {
          this.transport = tls;
        })
        .catch((err: Error) => console.log(`S: upgrade failed: ${err.message}`));
    } else if (line === 'QUIT') {
      this.sendLine('221 Bye');
      this.transport.close();
    } else {
      this.sendLine(`250 ${line} (${this.channel})`);
    }
  }
}

class Client extends LineProtocol {
  constructor(private readonly finished: () => void) {
    super();
  }

  override lineReceived(line: string): void {
    console.log(`C: got '${line}'`);
    if (line.startsWith('220 example.test')) {
      this.sendLine('HELLO');
    } else if (line === '250 HELLO (plain)') {
      this.sendLine('STARTTLS');
    } else if (line === '220 Go ahead') {
      loop
        .startTls(this.transport, this, { ca }, { serverHostname: 'localhost' })
        .then((tls) => {
          this.transport = tls;
          console.log(`C: upgraded to ${this.channel}`);
          this.sendLine('SECRET');
        })
        .catch((err: Error) => console.log(`C: upgrade failed: ${err.message}`));
    } else if (line.startsWith('250 SECRET')) {
      this.sendLine('QUIT');
    }
  }

  override connectionLost(_exc: Error | null): void {
    console.log('C: connection closed');
    this.finished();
  }
}

export async function main(): Promise<void> {
  const server = await loop.createServer(() => new Server(), '127.0.0.1', 0);
  const port = (server.sockets[0]!.address() as AddressInfo).port;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  await loop.createConnection(() => new Client(finished), '127.0.0.1', port);
  await done;
  server.close();
  await server.waitClosed();
}
