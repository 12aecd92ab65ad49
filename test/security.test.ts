/**
 * Security defaults: TLS verifies the peer's certificate chain and host name
 * unless told otherwise, whatever form `ssl` takes (true, options, a
 * SecureContext) and for startTls(); `serverHostname: ''` turns off only the
 * host name check; protocol versions below TLSv1.2 are refused by default
 * on both sides (the peers are Node TLS endpoints limited to TLSv1 or
 * TLSv1.1, with OpenSSL's security level lowered so that they can speak it;
 * a control connection that allows those versions shows the peer works);
 * the streams reader's limit holds against a peer that sends an endless
 * line, read in a loop that survives each LimitOverrunError.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as tls from 'node:tls';
import {
  DEFAULT_LIMIT,
  getRunningLoop,
  LimitOverrunError,
  type StreamReader,
  type StreamReaderProtocol,
  type StreamWriter,
  startServer,
} from '../src/index.js';
import { certs, clientTls, serverTls } from './helpers/certs.js';
import { until, useHarness } from './helpers/harness.js';
import { portOf, recording, recordingServer } from './helpers/net.js';
import { Recorder } from './helpers/recorder.js';
import { snapshot } from './helpers/soak.js';

useHarness();
const loop = getRunningLoop();

/** A self-signed certificate for localhost (its own issuer: no CA vouches for it). */
const selfSigned = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'protoloop-selfsigned-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '30',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
})();

async function rejection(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  assert.fail('expected a rejection');
}

/** A protoloop TLS server with `ssl`; its protocols are recorded. */
function tlsServer(ssl: tls.TlsOptions): ReturnType<typeof recordingServer> {
  return recordingServer({ ssl });
}

/** Connect with `options`; the connection must be refused with `code`, its protocol hearing nothing. */
async function refused(
  port: number,
  options: Record<string, unknown>,
  code: RegExp,
): Promise<void> {
  const { factory, recs: made } = recording();
  const err = await rejection(loop.createConnection(factory, '127.0.0.1', port, options));
  assert.match(String(err.code), code, `${err}`);
  for (const r of made) assert.deepEqual(r.events, []);
}

/** Connect with `options`, which must succeed; returns the negotiated protocol version. */
async function accepted(port: number, options: Record<string, unknown>): Promise<string> {
  const [t, r] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port, options);
  // The negotiated version (the 'cipher' key's version is the suite's own, as in Python).
  const version = (t.getExtraInfo('ssl_object') as tls.TLSSocket).getProtocol()!;
  t.close();
  await r.lost;
  return version;
}

describe('TLS verifies certificates and host names unless told otherwise', () => {
  const SELF_SIGNED = /^DEPTH_ZERO_SELF_SIGNED_CERT$/;

  test('a self-signed server is refused with ssl: true, TLS options and a SecureContext', async () => {
    const s = await tlsServer({ key: selfSigned.key, cert: selfSigned.cert });
    const port = portOf(s.server);
    for (const ssl of [true, {}, tls.createSecureContext()]) {
      await refused(port, { ssl, serverHostname: 'localhost' }, SELF_SIGNED);
    }
    // The host name matches: serverHostname '' changes nothing, the chain is still checked.
    await refused(port, { ssl: true, serverHostname: '' }, SELF_SIGNED);
    // Told otherwise: trusting that certificate, or not verifying at all.
    assert.equal(
      await accepted(port, { ssl: { ca: selfSigned.cert }, serverHostname: 'localhost' }),
      'TLSv1.3',
    );
    await accepted(port, { ssl: { rejectUnauthorized: false }, serverHostname: 'localhost' });
    await until(() => s.recs.filter((r) => r.events.includes('lost')).length === 2);
    await s.close();
  });

  test('startTls(true) against a self-signed server: refused, connectionLost(err) once', async () => {
    const s = await tlsServer({ key: selfSigned.key, cert: selfSigned.cert });
    // A plain connection to a TLS server: the client upgrades at once.
    const [t, r] = await loop.createConnection(() => new Recorder(), '127.0.0.1', portOf(s.server));
    const err = await rejection(loop.startTls(t, r, true, { serverHostname: 'localhost' }));
    assert.match(String(err.code), SELF_SIGNED);
    await r.lost;
    assert.equal(r.lostWith, err);
    assert.deepEqual(r.events, ['made', 'lost']);
    await s.close();
  });

  test("serverHostname '' turns off only the host name check", async () => {
    // A certificate from a trusted CA, for another host name.
    const s = await tlsServer(serverTls({ cert: certs.wrongHostCert }));
    const port = portOf(s.server);
    await refused(
      port,
      { ssl: clientTls(), serverHostname: 'localhost' },
      /^ERR_TLS_CERT_ALTNAME_INVALID$/,
    );
    await accepted(port, { ssl: clientTls(), serverHostname: '' });
    // And a self-signed one is still refused with it (above); an untrusted chain too.
    await refused(port, { ssl: true, serverHostname: '' }, /^UNABLE_TO_VERIFY_LEAF_SIGNATURE$/);
    await s.close();
  });
});

describe('no protocol version below TLSv1.2 by default', () => {
  /** Lets an OpenSSL 3 endpoint speak TLSv1/TLSv1.1 (their signatures use SHA-1). */
  const LEGACY = { ciphers: 'DEFAULT@SECLEVEL=0' };

  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    test(`a ${version}-only server is refused by a protoloop client (options, true, startTls)`, async () => {
      const peer = tls.createServer(
        { ...serverTls(), ...LEGACY, minVersion: version, maxVersion: version },
        (s) => {
          s.on('error', () => {});
          s.resume();
        },
      );
      peer.on('tlsClientError', () => {}); // our refusals, seen from the peer
      await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
      const port = portOf(peer);
      const VERSION_ALERT = /^ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION$/;
      await refused(port, { ssl: clientTls(), serverHostname: 'localhost' }, VERSION_ALERT);
      await refused(port, { ssl: true, serverHostname: 'localhost' }, VERSION_ALERT);
      const [t, r] = await loop.createConnection(() => new Recorder(), '127.0.0.1', port);
      const err = await rejection(
        loop.startTls(t, r, clientTls(), { serverHostname: 'localhost' }),
      );
      assert.match(String(err.code), VERSION_ALERT);
      await r.lost;
      assert.equal(r.lostWith, err);
      // Control: told to allow it, the same client speaks that version with this peer.
      assert.equal(
        await accepted(port, {
          ssl: clientTls({ ...LEGACY, minVersion: version }),
          serverHostname: 'localhost',
        }),
        version,
      );
      await new Promise((res) => peer.close(res));
    });

    test(`a ${version}-only client is refused by a protoloop server, which keeps serving`, async () => {
      const s = await tlsServer(serverTls());
      const port = portOf(s.server);
      const client = tls.connect({
        port,
        host: '127.0.0.1',
        ca: certs.ca,
        servername: 'localhost',
        ...LEGACY,
        minVersion: version,
        maxVersion: version,
      });
      const err = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
        client.once('error', resolve);
        client.once('secureConnect', () => reject(new Error(`${version} was accepted`)));
      });
      assert.match(String(err.code), /^ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION$/);
      client.destroy();
      await until(() => s.recs.length === 1, 'the refused connection');
      assert.deepEqual(s.recs[0]!.events, []);
      // The default server still serves a modern client; and (the control)
      // a server told to allow that version speaks it with the same client.
      assert.equal(
        await accepted(port, { ssl: clientTls(), serverHostname: 'localhost' }),
        'TLSv1.3',
      );
      await s.close();
      const legacy = await tlsServer(serverTls({ ...LEGACY, minVersion: version }));
      assert.equal(
        await accepted(portOf(legacy.server), {
          ssl: clientTls({ ...LEGACY, minVersion: version, maxVersion: version }),
          serverHostname: 'localhost',
        }),
        version,
      );
      await legacy.close();
    });
  }
});

describe('the streams reader limit against an endless line', () => {
  test('16 MiB without a newline: every readline() rejects, the buffer stays bounded, the reader recovers', async () => {
    const TOTAL = 16 * 1024 * 1024;
    const limit = DEFAULT_LIMIT;
    let maxBuffered = 0;
    let overruns = 0;
    const lines: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const server = await startServer(
      async (reader: StreamReader, writer: StreamWriter) => {
        // Watch the reader's buffer after every chunk the transport delivers.
        const proto = writer.transport.getProtocol() as StreamReaderProtocol;
        const feed = proto.dataReceived.bind(proto);
        proto.dataReceived = (d: Buffer) => {
          feed(d);
          maxBuffered = Math.max(maxBuffered, reader._bufferSize);
        };
        for (;;) {
          try {
            const line = await reader.readline();
            if (line.length === 0) break;
            lines.push(line.toString());
          } catch (e) {
            assert.ok(e instanceof LimitOverrunError, `${e}`);
            overruns++;
          }
        }
        writer.close();
        await writer.waitClosed();
        done();
      },
      '127.0.0.1',
      0,
    );
    const before = await snapshot();
    // The attacker: a raw socket that writes 'x' as fast as we take it.
    const peer = net.connect(portOf(server), '127.0.0.1');
    peer.on('error', () => {});
    peer.resume();
    await new Promise((r) => peer.once('connect', r));
    const junk = Buffer.alloc(256 * 1024, 0x78);
    for (let sent = 0; sent < TOTAL; sent += junk.length) {
      if (!peer.write(junk)) await new Promise((r) => peer.once('drain', r));
    }
    peer.end('\nhello\n');
    await finished;
    const after = await snapshot();
    // Never more than twice the limit plus one read (256 KiB) buffered.
    assert.ok(maxBuffered <= 2 * limit + 256 * 1024, `buffered ${maxBuffered}`);
    assert.ok(overruns >= TOTAL / (2 * limit + 256 * 1024), `${overruns} overruns`);
    // Recovered: the next full line came through.
    assert.equal(lines.at(-1), 'hello\n');
    assert.ok(
      after.heapUsed - before.heapUsed < 8 * 1024 * 1024,
      `heap ${before.heapUsed} -> ${after.heapUsed}`,
    );
    peer.destroy();
    server.close();
    await server.waitClosed();
  });
});
