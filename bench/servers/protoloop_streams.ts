/**
 * protoloop streams echo server (`startServer`, `reader.read(64 KiB)`,
 * `writer.write`, `await writer.drain()`), the same program as the
 * yardstick's asyncio streams server. It loads the streams API dynamically
 * so that the benchmark builds before streams exist: when `startServer` is
 * not exported it exits with status 3 and bench/run.ts skips it.
 * Usage: node protoloop_streams.js PORT [MAX_SECONDS [EXACT]]
 *
 * With EXACT (a byte count; or the environment's STREAMS_EXACT) it serves
 * messages of that size with `await reader.readExactly(EXACT)` instead of
 * `read(64 KiB)`: the framed-protocol way of using streams, one read and one
 * write per message.
 */
import { portAndLifetime } from './control.js';

const READ_SIZE = 64 * 1024;

/** Exit status meaning "this server is not available in this checkout". */
export const UNAVAILABLE = 3;

const { port, maxS } = portAndLifetime(process.argv.slice(2));
const exact = Number(process.argv[4] ?? process.env.STREAMS_EXACT ?? 0);
if (!Number.isInteger(exact) || exact < 0) throw new RangeError(`bad EXACT ${process.argv[4]}`);
const lib: Record<string, any> = await import('protoloop');
if (typeof lib.startServer !== 'function') {
  console.error('protoloop does not export startServer (streams) in this checkout');
  process.exit(UNAVAILABLE);
}
await lib.startServer(
  async (reader: any, writer: any) => {
    try {
      if (exact > 0) {
        for (;;) {
          const data: Buffer = await reader.readExactly(exact);
          writer.write(data);
          await writer.drain();
        }
      }
      for (;;) {
        const data: Buffer = await reader.read(READ_SIZE);
        if (data.length === 0) break;
        writer.write(data);
        await writer.drain();
      }
    } catch {
      // IncompleteReadError at the client's close (readExactly), or a
      // connection error: either ends this connection only
    } finally {
      writer.close();
    }
  },
  '127.0.0.1',
  port,
  { backlog: 1024 },
);
setTimeout(() => process.exit(0), maxS * 1000).unref();
