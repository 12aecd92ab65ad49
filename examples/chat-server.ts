/**
 * A line-protocol chat server on streams (startServer / openConnection).
 *
 * Each client first sends its name, then lines of chat; the server
 * broadcasts every line to everyone else. Two things a real server needs
 * are shown: a line longer than the reader's limit is refused without the
 * server buffering it (LimitOverrunError), and a client that does not read
 * is disconnected once its write buffer passes a bound, instead of letting
 * the server's memory grow.
 *
 * `main()` runs the server and three scripted clients, then prints what
 * each client saw.
 */
import type * as net from 'node:net';
import {
  LimitOverrunError,
  openConnection,
  type StreamReader,
  type StreamWriter,
  startServer,
} from '../src/index.js';

/** A client whose unsent backlog passes this is too slow and is dropped. */
const MAX_BACKLOG = 1024 * 1024;

class ChatRoom {
  readonly members = new Map<StreamWriter, string>();

  broadcast(text: string, except: StreamWriter | null = null): void {
    const data = Buffer.from(`${text}\n`);
    for (const [writer] of this.members) {
      if (writer === except) continue;
      writer.write(data);
      if (writer.transport.getWriteBufferSize() > MAX_BACKLOG) {
        // Not reading: don't let its backlog grow without bound.
        this.members.delete(writer);
        writer.transport.abort();
      }
    }
  }

  /** One client's session: name, then lines until EOF. */
  handle = async (reader: StreamReader, writer: StreamWriter): Promise<void> => {
    writer.write(Buffer.from('Welcome! Your name?\n'));
    const name = (await reader.readline()).toString().trim();
    if (name === '') {
      writer.close();
      return;
    }
    this.broadcast(`* ${name} joined`);
    this.members.set(writer, name);
    writer.write(Buffer.from(`* you are in with: ${[...this.members.values()].join(', ')}\n`));
    for (;;) {
      let line: Buffer;
      try {
        line = await reader.readline();
      } catch (e) {
        if (!(e instanceof LimitOverrunError)) throw e;
        await skipRestOfLine(reader, e);
        writer.write(Buffer.from('* line too long, dropped\n'));
        continue;
      }
      if (line.length === 0) break; // EOF
      this.broadcast(`<${name}> ${line.toString().trimEnd()}`, writer);
    }
    this.members.delete(writer);
    this.broadcast(`* ${name} left`);
    writer.close();
    await writer.waitClosed();
  };
}

/**
 * After readline's LimitOverrunError: readline has dropped the line if its
 * newline had arrived, else what was buffered; in that case drop the rest
 * of the line as it arrives, without buffering more than the limit.
 */
async function skipRestOfLine(reader: StreamReader, e: LimitOverrunError): Promise<void> {
  if (e.message.startsWith('Separator is found')) return;
  for (;;) {
    try {
      await reader.readUntil(NEWLINE);
      return;
    } catch (err) {
      if (!(err instanceof LimitOverrunError)) throw err;
      await reader.readExactly(err.consumed);
    }
  }
}

const NEWLINE = Buffer.from('\n');

/** A scripted client: its transcript, and helpers to wait for a line. */
async function client(port: number, name: string) {
  const [reader, writer] = await openConnection('127.0.0.1', port);
  const seen: string[] = [];
  const expect = async (text: string): Promise<void> => {
    for (;;) {
      const line = (await reader.readline()).toString();
      if (line === '') throw new Error(`${name}: EOF while waiting for ${JSON.stringify(text)}`);
      seen.push(line.trimEnd());
      if (line.includes(text)) return;
    }
  };
  await expect('Your name?');
  writer.write(Buffer.from(`${name}\n`));
  await expect('you are in');
  const say = async (text: string): Promise<void> => {
    writer.write(Buffer.from(`${text}\n`));
    await writer.drain();
  };
  const leave = async (): Promise<void> => {
    writer.writeEof();
    while ((await reader.readline()).length > 0);
    writer.close();
    await writer.waitClosed();
  };
  return { name, seen, expect, say, leave };
}

export async function main(): Promise<void> {
  const room = new ChatRoom();
  // A small limit so the demo can show an over-long line being refused.
  const server = await startServer(room.handle, '127.0.0.1', 0, { limit: 1024 });
  const port = (server.sockets[0]!.address() as net.AddressInfo).port;

  const alice = await client(port, 'alice');
  const bob = await client(port, 'bob');
  await alice.expect('* bob joined');
  const carol = await client(port, 'carol');
  await Promise.all([alice.expect('* carol joined'), bob.expect('* carol joined')]);

  await alice.say('hi everyone');
  await Promise.all([bob.expect('<alice> hi'), carol.expect('<alice> hi')]);
  await bob.say('hello alice');
  await Promise.all([alice.expect('<bob> hello'), carol.expect('<bob> hello')]);
  await carol.say('x'.repeat(5000)); // over the server's 1 KiB limit
  await carol.expect('line too long');
  await carol.leave();
  await Promise.all([alice.expect('* carol left'), bob.expect('* carol left')]);
  await alice.leave();
  await bob.expect('* alice left');
  await bob.leave();

  for (const c of [alice, bob, carol]) {
    console.log(`--- what ${c.name} saw ---`);
    for (const line of c.seen) console.log(line);
  }
  server.close();
  await server.waitClosed();
}
