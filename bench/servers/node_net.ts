/**
 * Idiomatic Node `net` echo server: the baseline. The same program as the
 * yardstick's `node_net.js`: `socket.on('data', d => socket.write(d))` with
 * the usual backpressure guard (pause when write() returns false, resume on
 * 'drain'). Usage: node node_net.js PORT [MAX_SECONDS]
 */
import * as net from 'node:net';
import { installControl, portAndLifetime } from './control.js';

const { port, maxS } = portAndLifetime(process.argv.slice(2));
let open = 0;
const server = net.createServer({ noDelay: true }, (socket) => {
  open++;
  socket.on('close', () => open--);
  socket.on('data', (d) => {
    if (!socket.write(d)) socket.pause();
  });
  socket.on('drain', () => socket.resume());
  socket.on('error', () => {});
});
server.listen({ port, host: '127.0.0.1', backlog: 1024 });
installControl(() => open);
setTimeout(() => process.exit(0), maxS * 1000).unref();
