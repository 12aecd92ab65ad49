'use strict';
// Node.js net with `onread`, giving each read's bytes away as asyncio's
// data_received does (and protoloop's `Protocol` must): every read lands in
// memory that is never read into again, so the receiver owns its bytes.
// It is the onread reference (node_onread.cjs) with that one change: reads
// go into consecutive, never-reused regions of a per-connection 256 KiB
// slab (a fresh slab once less than 64 KiB is left), as DESIGN.md suggests,
// instead of one reused buffer. It is the fastest Node code that keeps
// asyncio's ownership guarantee, the fair baseline for a `Protocol`.
// Usage: node node_onread_owned.cjs PORT [MAX_SECONDS]
const net = require('node:net');
const port = Number(process.argv[2]);
const maxS = Number(process.argv[3] || 600);
const SLAB = 256 * 1024;
const MIN_REST = 64 * 1024;
const HWM = 64 * 1024;

const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (accepted) => {
  const handle = accepted._handle;
  accepted._handle = null; // the old wrapper must never touch it again
  let buf = Buffer.allocUnsafeSlow(SLAB);
  const socket = new net.Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: () => buf,
      callback: (n, b) => {
        // [0, n) is owned by whoever receives it: never read into again.
        const data = Buffer.from(b.buffer, b.byteOffset, n);
        buf =
          b.length - n >= MIN_REST
            ? Buffer.from(b.buffer, b.byteOffset + n, b.length - n)
            : Buffer.allocUnsafeSlow(SLAB);
        socket.write(data);
        if (socket.writableLength > HWM) return false; // pause reading until 'drain'
        return true;
      },
    },
  });
  socket.on('drain', () => socket.resume());
  socket.on('error', () => {});
  socket.resume();
});
server.listen(port, '127.0.0.1');
setTimeout(() => process.exit(0), maxS * 1000).unref();
