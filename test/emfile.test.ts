/**
 * A server that runs out of file descriptors on accept keeps serving and
 * accepts again once descriptors are free (DESIGN 3.9). The server runs in a
 * child process with a low descriptor limit (`ulimit -n`).
 *
 * libuv answers EMFILE with its "emfile trick": it closes a descriptor it
 * keeps in reserve, accepts the pending connections and closes them at once,
 * then takes the reserve back. So the client over the limit sees its
 * connection closed, and Node's server is usually not even told (when it is,
 * protoloop reports 'socket.accept() out of system resource' to the loop's
 * exception handler and keeps serving).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { test } from 'node:test';
import { useHarness } from './helpers/harness.js';

useHarness();

const child = `
import { getRunningLoop, Protocol } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
const loop = getRunningLoop();
loop.setExceptionHandler((_l, ctx) => console.log('HANDLER ' + ctx.message + ' ' + ctx.exception?.code));
let live = 0;
class Echo extends Protocol {
  connectionMade(t) { this.t = t; live++; }
  dataReceived(d) { this.t.write(d); }
  connectionLost() { live--; console.log('LIVE ' + live); }
}
const server = await loop.createServer(() => new Echo(), '127.0.0.1', 0);
console.log('PORT ' + server.sockets[0].address().port);
process.stdin.on('data', () => {});
process.stdin.on('end', () => { server.close(); server.closeClients(); });
`;

function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

test('EMFILE on accept: reported, the server keeps serving and accepts again', async () => {
  const proc = spawn(
    'sh',
    ['-c', `ulimit -n 48 && exec "${process.execPath}" --input-type=module -e "$0"`, child],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  let waiter: (() => void) | null = null;
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    waiter?.();
  });
  const exited = new Promise((r) => proc.on('close', r));
  const waitLine = async (pred: (l: string) => boolean): Promise<string> => {
    for (;;) {
      const l = lines.find(pred);
      if (l !== undefined) return l;
      if (proc.exitCode !== null) throw new Error(`child exited: ${lines.join('|')}`);
      await new Promise<void>((r) => {
        waiter = r;
      });
    }
  };

  const port = Number((await waitLine((l) => l.startsWith('PORT '))).slice(5));
  // Open connections until one is dropped because the server is out of
  // descriptors: every live one echoes a byte, the dropped one just closes.
  const socks: net.Socket[] = [];
  let dropped = false;
  for (let i = 0; i < 200 && !dropped; i++) {
    const s = await connectRaw(port);
    s.on('error', () => {}); // a dropped connection may be reset
    socks.push(s);
    const outcome = await new Promise<string>((r) => {
      s.once('data', () => r('echo'));
      s.once('close', () => r('closed'));
      s.write('x');
    });
    dropped = outcome === 'closed';
  }
  assert.ok(dropped, 'the descriptor limit was never reached');
  assert.ok(socks.length > 5 && socks.length < 48, `${socks.length} connections before the limit`);
  for (const l of lines.filter((x) => x.startsWith('HANDLER'))) {
    assert.match(l, /^HANDLER socket\.accept\(\) out of system resource (EMFILE|ENFILE)$/);
  }

  // Free descriptors: close every connection and wait for the server to see it.
  for (const s of socks) s.destroy();
  await waitLine((l) => l === 'LIVE 0');
  assert.ok(!lines.some((l) => l.startsWith('HANDLER') && !l.includes('out of system resource')));

  // The same server accepts and echoes again.
  const s = await connectRaw(port);
  const echoed = new Promise<string>((r) => s.once('data', (d) => r(d.toString())));
  s.write('again');
  assert.equal(await echoed, 'again');
  s.destroy();
  proc.stdin!.end();
  await exited;
});
