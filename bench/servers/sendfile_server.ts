/**
 * File-serving servers for the sendfile benchmark: every connection gets the
 * whole file, then the server closes it.
 * - `protoloop`: `await loop.sendfile(transport, fileHandle)` then close().
 * - `node-pipe`: Node's idiom, `fs.createReadStream(file).pipe(socket)`.
 * Usage: node sendfile_server.js protoloop|node-pipe FILE PORT [MAX_SECONDS]
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { getRunningLoop, Protocol, type Transport } from 'protoloop';
import { portAndLifetime } from './control.js';

const [kind, file, ...rest] = process.argv.slice(2);
const { port, maxS } = portAndLifetime(rest);
if (file === undefined) throw new TypeError('FILE missing');

if (kind === 'protoloop') {
  const loop = getRunningLoop();
  const fh = await fs.promises.open(file, 'r');
  class Sender extends Protocol {
    override connectionMade(transport: Transport): void {
      loop.sendfile(transport, fh).then(
        () => transport.close(),
        () => transport.abort(),
      );
    }
  }
  await loop.createServer(() => new Sender(), '127.0.0.1', port, { backlog: 1024 });
} else if (kind === 'node-pipe') {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    fs.createReadStream(file).pipe(socket);
  });
  server.listen({ port, host: '127.0.0.1', backlog: 1024 });
} else {
  throw new TypeError(`unknown kind ${kind}`);
}
setTimeout(() => process.exit(0), maxS * 1000).unref();
