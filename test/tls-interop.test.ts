/**
 * TLS against peers nobody here wrote: the openssl CLI (s_client against a
 * protoloop server, a protoloop client against s_server) and python3's
 * asyncio with ssl on the other side, both directions, plus STARTTLS with
 * asyncio's start_tls() as the peer.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { test } from 'node:test';
import { getRunningLoop, type Transport } from '../src/index.js';
import { certs, clientTls, serverTls } from './helpers/certs.js';
import { useHarness } from './helpers/harness.js';
import { portOf } from './helpers/net.js';
import { startPython } from './helpers/python.js';
import { Recorder } from './helpers/recorder.js';

useHarness();
const loop = getRunningLoop();

/** Run a child to its end, collecting its output. */
function finished(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** An echo server protocol that closes after echoing one line. */
class LineEchoOnce extends Recorder {
  override dataReceived(d: Buffer): void {
    super.dataReceived(d);
    if (this.received.includes(0x0a)) {
      this.transport.write(Buffer.from(`echo: ${this.received.toString()}`));
      this.transport.close();
    }
  }
}

test('openssl s_client verifies and talks to a protoloop TLS server', async () => {
  let server: Recorder | null = null;
  const srv = await loop.createServer(() => (server = new LineEchoOnce()), '127.0.0.1', 0, {
    ssl: serverTls(),
  });
  const child = spawn(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${portOf(srv)}`,
      '-CAfile',
      certs.files.caCert,
      '-verify_return_error',
      '-verify_hostname',
      'localhost',
      '-servername',
      'localhost',
      '-ign_eof',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const done = finished(child);
  child.stdin!.end('hello from s_client\n');
  const { code, out } = await done;
  assert.equal(code, 0, out);
  assert.match(out, /Verify return code: 0 \(ok\)/);
  assert.match(out, /echo: hello from s_client\n/);
  await server!.lost;
  assert.deepEqual(server!.grammar, ['made', 'data', 'lost']);
  assert.equal(server!.lostWith, null);
  srv.close();
  await srv.waitClosed();
});

test('a protoloop client against openssl s_server (-rev: lines come back reversed)', async () => {
  const child = spawn(
    'openssl',
    [
      's_server',
      '-accept',
      '127.0.0.1:0',
      '-cert',
      certs.files.serverCert,
      '-key',
      certs.files.serverKey,
      '-rev',
      '-naccept',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const done = finished(child);
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const onData = (d: string): void => {
      buf += d;
      const m = /ACCEPT .*:(\d+)/.exec(buf);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.on('close', () => reject(new Error(`s_server ended: ${buf}`)));
  });
  const [t, p] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port, {
    ssl: clientTls(),
    serverHostname: 'localhost',
  });
  const [, version, bits] = t.getExtraInfo('cipher') as [string, string, number];
  assert.equal(version, 'TLSv1.3');
  assert.ok(bits === 128 || bits === 256);
  t.write(Buffer.from('stressed\n'));
  await p.when(() => p.received.toString().includes('desserts'));
  t.close();
  await p.lost;
  assert.equal(p.lostWith, null);
  const { code } = await done;
  assert.equal(code, 0);
});

const PY_TLS_ECHO_SERVER = `
import asyncio, ssl, sys
async def main():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    done = asyncio.get_running_loop().create_future()
    class Echo(asyncio.Protocol):
        def connection_made(self, t):
            self.t = t
        def data_received(self, data):
            self.t.write(data)
        def eof_received(self):
            c = self.t.get_extra_info('cipher')
            print('CIPHER', c[0], c[1], c[2], flush=True)
        def connection_lost(self, exc):
            print('LOST', exc, flush=True)
            done.set_result(None)
    srv = await asyncio.get_running_loop().create_server(Echo, '127.0.0.1', 0, ssl=ctx)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await done
    srv.close()
    await srv.wait_closed()
asyncio.run(main())
`;

test('a protoloop client against a python3 asyncio TLS server: echo, close, same cipher', async () => {
  const py = await startPython(PY_TLS_ECHO_SERVER, [certs.files.serverCert, certs.files.serverKey]);
  const [t, p] = await loop.createConnection(() => new Recorder(), 'localhost', Number(py.ready), {
    ssl: clientTls(),
    family: 4,
  });
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  t.write(data);
  await p.receivedBytes(data.length);
  assert.ok(p.received.equals(data));
  t.close();
  await p.lost;
  assert.equal(p.lostWith, null);
  const { code, stdout, stderr } = await py.exited;
  assert.equal(code, 0, stderr);
  const [name, version, bits] = t.getExtraInfo('cipher') as [string, string, number];
  assert.match(stdout, new RegExp(`CIPHER ${name} ${version} ${bits}\\n`));
  assert.match(stdout, /LOST None/);
});

const PY_TLS_CLIENT = `
import asyncio, ssl, sys
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    r, w = await asyncio.open_connection('127.0.0.1', int(sys.argv[1]), ssl=ctx, server_hostname='localhost')
    w.write(b'ping from python\\n')
    line = await r.readline()
    print('GOT', line.decode().strip(), flush=True)
    print('CIPHER', *w.get_extra_info('cipher'), flush=True)
    w.close()
    await w.wait_closed()
    print('CLOSED', flush=True)
print('start', flush=True)
asyncio.run(main())
`;

test('a python3 asyncio TLS client against a protoloop TLS server', async () => {
  const recs: Recorder[] = [];
  const srv = await loop.createServer(
    () => {
      const r = new Recorder();
      r.onData = (d) => r.transport.write(Buffer.from(`pong: ${d.toString()}`));
      recs.push(r);
      return r;
    },
    '127.0.0.1',
    0,
    { ssl: serverTls() },
  );
  const py = await startPython(PY_TLS_CLIENT, [String(portOf(srv)), certs.files.caCert]);
  const { code, stdout, stderr } = await py.exited;
  assert.equal(code, 0, stderr);
  assert.match(stdout, /GOT pong: ping from python/);
  assert.match(stdout, /CLOSED/);
  await recs[0]!.lost;
  const [name, version, bits] = recs[0]!.transport.getExtraInfo('cipher') as [
    string,
    string,
    number,
  ];
  assert.match(stdout, new RegExp(`CIPHER ${name} ${version} ${bits}\\n`));
  assert.deepEqual(recs[0]!.grammar, ['made', 'data', 'eof', 'lost']);
  srv.close();
  await srv.waitClosed();
});

const PY_STARTTLS_CLIENT = `
import asyncio, ssl, sys
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    r, w = await asyncio.open_connection('127.0.0.1', int(sys.argv[1]))
    w.write(b'STARTTLS\\r\\n')
    print('PLAIN', (await r.readline()).decode().strip(), flush=True)
    await w.start_tls(ctx, server_hostname='localhost')
    w.write(b'secret\\r\\n')
    print('TLS', (await r.readline()).decode().strip(), flush=True)
    w.close()
    await w.wait_closed()
print('start', flush=True)
asyncio.run(main())
`;

test('startTls server side with a python3 asyncio client that calls start_tls()', async () => {
  const upgraded: Transport[] = [];
  const lines: string[] = [];
  class Starttls extends Recorder {
    override dataReceived(d: Buffer): void {
      super.dataReceived(d);
      const line = d.toString().trim();
      lines.push(line);
      if (line === 'STARTTLS') {
        this.transport.write(Buffer.from('220 go ahead\r\n'));
        loop.startTls(this.transport, this, serverTls(), { serverSide: true }).then((t) => {
          upgraded.push(t);
          this.transport = t;
        });
      } else {
        this.transport.write(
          Buffer.from(
            `250 ${line} (${String(this.transport.getExtraInfo('cipher')).split(',')[1]})\r\n`,
          ),
        );
      }
    }
  }
  const recs: Starttls[] = [];
  const srv = await loop.createServer(
    () => {
      const r = new Starttls();
      recs.push(r);
      return r;
    },
    '127.0.0.1',
    0,
  );
  const py = await startPython(PY_STARTTLS_CLIENT, [String(portOf(srv)), certs.files.caCert]);
  const { code, stdout, stderr } = await py.exited;
  assert.equal(code, 0, stderr);
  assert.match(stdout, /PLAIN 220 go ahead/);
  assert.match(stdout, /TLS 250 secret \(TLSv1\.3\)/);
  assert.deepEqual(lines, ['STARTTLS', 'secret']);
  await recs[0]!.lost;
  assert.equal(upgraded.length, 1);
  assert.equal(recs[0]!.events.filter((e) => e === 'made').length, 1);
  srv.close();
  await srv.waitClosed();
});

const PY_STARTTLS_SERVER = `
import asyncio, ssl, sys
async def main():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    done = asyncio.get_running_loop().create_future()
    async def handle(r, w):
        line = await r.readline()
        w.write(b'OK ' + line)
        await w.drain()
        await w.start_tls(ctx)
        data = await r.readline()
        w.write(b'over tls: ' + data)
        await w.drain()
        w.close()
        done.set_result(None)
    srv = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await done
    srv.close()
    await srv.wait_closed()
asyncio.run(main())
`;

test('startTls client side against a python3 asyncio server that calls start_tls()', async () => {
  const py = await startPython(PY_STARTTLS_SERVER, [certs.files.serverCert, certs.files.serverKey]);
  const p = new Recorder();
  const [plain] = await loop.createConnection(() => p, '127.0.0.1', Number(py.ready));
  plain.write(Buffer.from('STARTTLS\n'));
  await p.when(() => p.received.toString() === 'OK STARTTLS\n');
  const t = await loop.startTls(plain, p, clientTls(), { serverHostname: 'localhost' });
  assert.notEqual(t, plain);
  assert.equal(plain.isClosing(), true);
  p.transport = t;
  t.write(Buffer.from('hello\n'));
  await p.lost;
  assert.equal(p.received.toString(), 'OK STARTTLS\nover tls: hello\n');
  assert.deepEqual(p.grammar, ['made', 'data', 'eof', 'lost']);
  assert.equal(p.lostWith, null);
  const { code, stderr } = await py.exited;
  assert.equal(code, 0, stderr);
});
