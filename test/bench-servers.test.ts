/**
 * The benchmark's Node servers echo every byte correctly: the C load client
 * (bench/echo_client.c, built here with `cc`) runs each in request/response
 * mode at 1 KiB and 100 KiB and in stream mode with `--verify`, which
 * compares every echoed byte. A server that lost, reordered or overwrote
 * bytes (a read buffer reused too early) would make the benchmark's numbers
 * meaningless; this catches it. Short runs: this checks bytes, not speed.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { useHarness } from './helpers/harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const BUILT = join(ROOT, 'build/bench/servers');
const SRC = join(ROOT, 'bench/servers');

const SERVERS: Array<[string, string[]]> = [
  ['protoloop Protocol', [join(BUILT, 'protoloop_echo.js'), 'protocol']],
  ['protoloop BufferedProtocol', [join(BUILT, 'protoloop_echo.js'), 'buffered']],
  ['protoloop streams', [join(BUILT, 'protoloop_streams.js')]],
  ['Node net', [join(BUILT, 'node_net.js')]],
  ['Node onread reference', [join(SRC, 'node_onread.cjs')]],
  ['Node onread, owned bytes', [join(SRC, 'node_onread_owned.cjs')]],
];

const MODES: Array<[string, string, number]> = [
  ['request/response 1 KiB', 'rr', 1024],
  ['request/response 100 KiB', 'rr', 102400],
  ['stream 64 KiB', 'stream', 65536],
];

/** A free loopback port (the servers take a port argument). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Run the client to its end; its one line of JSON. */
function runClient(client: string, args: string[]): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    execFile(client, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe('benchmark servers echo every byte (C client --verify)', () => {
  useHarness();
  let dir = '';
  let client = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'protoloop-bench-'));
    client = join(dir, 'echo_client');
    execFileSync('cc', ['-O2', '-o', client, join(ROOT, 'bench/echo_client.c')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, argv] of SERVERS) {
    test(name, async () => {
      const port = await freePort();
      // The server exits by itself after 60 s at the latest.
      const server = spawn(process.execPath, [...argv, `${port}`, '60'], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const exited = new Promise((r) => server.once('exit', r));
      try {
        for (const [what, mode, size] of MODES) {
          // The client retries connecting while the server starts listening.
          const r = await runClient(client, [
            ...['--port', `${port}`, '--mode', mode, '--size', `${size}`, '--conns', '4'],
            ...['--duration', '0.3', '--warmup', '0', '--verify'],
          ]);
          assert.equal(r.verify, true);
          assert.equal(r.errors, 0, `${what}: connection errors`);
          assert.equal(r.verify_failures, 0, `${what}: echoed bytes differ`);
          assert.ok(r.bytes > 0, `${what}: nothing echoed`);
        }
      } finally {
        server.kill();
        await exited;
      }
    });
  }

  // The framed streams server reads messages of one size (readExactly), so
  // it runs once per mode, and the client does not prime it (its 1-byte
  // echo would never make a whole message).
  test('protoloop streams, readExactly', async () => {
    for (const [what, mode, size] of MODES) {
      const port = await freePort();
      const server = spawn(
        process.execPath,
        [join(BUILT, 'protoloop_streams.js'), `${port}`, '60', `${size}`],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      const exited = new Promise((r) => server.once('exit', r));
      try {
        const r = await runClient(client, [
          ...['--port', `${port}`, '--mode', mode, '--size', `${size}`, '--conns', '4'],
          ...['--duration', '0.3', '--warmup', '0', '--verify', '--no-prime'],
        ]);
        assert.equal(r.verify, true);
        assert.equal(r.errors, 0, `${what}: connection errors`);
        assert.equal(r.verify_failures, 0, `${what}: echoed bytes differ`);
        assert.ok(r.bytes > 0, `${what}: nothing echoed`);
      } finally {
        server.kill();
        await exited;
      }
    }
  });
});
