/**
 * python3's asyncio streams as a live peer for a line protocol, both ways:
 * a Python server with a protoloop client, and a protoloop server with a
 * Python client.
 */
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { describe, test } from 'node:test';
import { openConnection, startServer } from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { startPython } from './helpers/python.js';

/** An asyncio line server: answers each line with its length and the line reversed; serves one client. */
const PY_SERVER = `
import asyncio

async def main():
    done = asyncio.Event()
    async def handle(reader, writer):
        async for line in reader:
            body = line.rstrip(b'\\n')
            writer.write(b'%d %s\\n' % (len(body), body[::-1]))
            await writer.drain()
        writer.write(b'bye\\n')
        writer.close()
        await writer.wait_closed()
        done.set()
    server = await asyncio.start_server(handle, '127.0.0.1', 0, limit=1 << 20)
    print(server.sockets[0].getsockname()[1], flush=True)
    await done.wait()
    server.close()
    await server.wait_closed()

asyncio.run(main())
`;

/** An asyncio client: sends lines, half-closes, prints every reply line it reads. */
const PY_CLIENT = `
import asyncio, sys

async def main(port):
    print('ready', flush=True)
    reader, writer = await asyncio.open_connection('127.0.0.1', port, limit=1 << 20)
    for word in [b'alpha', b'beta', b'x' * 100000, b'gamma']:
        writer.write(word + b'\\n')
        await writer.drain()
    writer.write_eof()
    replies = []
    while True:
        line = await reader.readline()
        if not line:
            break
        replies.append(line.decode().rstrip('\\n')[:20])
    writer.close()
    await writer.wait_closed()
    print('|'.join(replies), flush=True)

asyncio.run(main(int(sys.argv[1])))
`;

describe('streams with python3 asyncio as the peer', () => {
  useHarness();

  test('protoloop openConnection against an asyncio start_server line server', async () => {
    const py = await startPython(PY_SERVER);
    const [reader, writer] = await openConnection('127.0.0.1', Number(py.ready));
    writer.write(Buffer.from('hello\n'));
    assert.equal((await reader.readline()).toString(), '5 olleh\n');
    const long = 'y'.repeat(200_000);
    writer.writelines([Buffer.from('ab\n'), Buffer.from(`${long}\n`)]);
    await writer.drain();
    assert.equal((await reader.readline()).toString(), '2 ba\n');
    // A reply longer than the default limit: readUntil rejects and leaves
    // the data buffered, so readExactly can take the whole line.
    await assert.rejects(reader.readUntil(Buffer.from('\n')), { name: 'LimitOverrunError' });
    const reply = await reader.readExactly(200_008);
    assert.equal(reply.toString(), `200000 ${long}\n`);
    writer.write(Buffer.from('last\n'));
    writer.writeEof();
    const lines: string[] = [];
    for await (const line of reader) lines.push(line.toString());
    assert.deepEqual(lines, ['4 tsal\n', 'bye\n']);
    writer.close();
    await writer.waitClosed();
    const { code, stderr } = await py.exited;
    assert.equal(code, 0, stderr);
  });

  test('an asyncio open_connection client against protoloop startServer', async () => {
    const server = await startServer(
      async (reader, writer) => {
        for await (const line of reader) {
          const body = line.subarray(0, line.length - 1);
          writer.write(Buffer.from(`${body.length} ${Buffer.from(body).reverse()}\n`));
          await writer.drain();
        }
        writer.write(Buffer.from('bye\n'));
        writer.close();
        await writer.waitClosed();
      },
      '127.0.0.1',
      0,
      { limit: 256 * 1024 },
    );
    const port = (server.sockets[0]!.address() as net.AddressInfo).port;
    const py = await startPython(PY_CLIENT, [String(port)]);
    assert.equal(py.ready, 'ready');
    const { code, stdout, stderr } = await py.exited;
    assert.equal(code, 0, stderr);
    assert.equal(stdout.split('\n')[1], `5 ahpla|4 ateb|100000 ${'x'.repeat(13)}|5 ammag|bye`);
    server.close();
    await server.waitClosed();
  });
});
