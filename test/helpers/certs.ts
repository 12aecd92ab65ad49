/**
 * Test certificates, made with the `openssl` CLI into a temporary directory
 * when first imported (a few tens of milliseconds with EC keys) and removed
 * when the process exits: a CA, a server certificate for `localhost` (and
 * 127.0.0.1), an expired one, one for another host name, a client
 * certificate from the same CA, and a self-signed "rogue" client.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  /** The directory holding every file below. */
  dir: string;
  caCert: string;
  serverKey: string;
  serverCert: string;
  expiredCert: string;
  wrongHostCert: string;
  clientKey: string;
  clientCert: string;
  rogueKey: string;
  rogueCert: string;
}

export interface Certs {
  files: CertFiles;
  ca: Buffer;
  key: Buffer;
  cert: Buffer;
  expiredCert: Buffer;
  wrongHostCert: Buffer;
  clientKey: Buffer;
  clientCert: Buffer;
  rogueKey: Buffer;
  rogueCert: Buffer;
}

const CA_CONFIG = `[ca]
default_ca = d
[d]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[localhost]
subjectAltName = DNS:localhost,IP:127.0.0.1
[other]
subjectAltName = DNS:other.example
[client]
extendedKeyUsage = clientAuth
`;

function make(): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'protoloop-certs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  run(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '3650',
    '-subj',
    '/CN=protoloop test CA',
  );
  run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  run('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=protoloop client');
  const sign = (csr: string, out: string, ext: string, dates: string[]): void =>
    run(
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      'ca.pem',
      '-keyfile',
      'ca.key',
      '-in',
      csr,
      '-out',
      out,
      '-extensions',
      ext,
      '-notext',
      ...dates,
    );
  const valid = ['-startdate', '20200101000000Z', '-enddate', '20991231000000Z'];
  sign('server.csr', 'server.pem', 'localhost', valid);
  sign('server.csr', 'expired.pem', 'localhost', [
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
  ]);
  sign('server.csr', 'wronghost.pem', 'other', valid);
  sign('client.csr', 'client.pem', 'client', valid);
  run(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'rogue.key',
    '-out',
    'rogue.pem',
    '-days',
    '30',
    '-subj',
    '/CN=rogue',
  );
  const files: CertFiles = {
    dir,
    caCert: join(dir, 'ca.pem'),
    serverKey: join(dir, 'server.key'),
    serverCert: join(dir, 'server.pem'),
    expiredCert: join(dir, 'expired.pem'),
    wrongHostCert: join(dir, 'wronghost.pem'),
    clientKey: join(dir, 'client.key'),
    clientCert: join(dir, 'client.pem'),
    rogueKey: join(dir, 'rogue.key'),
    rogueCert: join(dir, 'rogue.pem'),
  };
  return {
    files,
    ca: readFileSync(files.caCert),
    key: readFileSync(files.serverKey),
    cert: readFileSync(files.serverCert),
    expiredCert: readFileSync(files.expiredCert),
    wrongHostCert: readFileSync(files.wrongHostCert),
    clientKey: readFileSync(files.clientKey),
    clientCert: readFileSync(files.clientCert),
    rogueKey: readFileSync(files.rogueKey),
    rogueCert: readFileSync(files.rogueCert),
  };
}

/** The certificates (made once per test process). */
export const certs: Certs = make();

/** Server options with the valid localhost certificate. */
export function serverTls(extra: Record<string, unknown> = {}): import('node:tls').TlsOptions {
  return { key: certs.key, cert: certs.cert, ...extra };
}

/** Client options trusting the test CA. */
export function clientTls(
  extra: Record<string, unknown> = {},
): import('node:tls').ConnectionOptions {
  return { ca: certs.ca, ...extra };
}
