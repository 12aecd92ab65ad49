/**
 * Certificates for the TLS examples: a throwaway CA and a certificate for
 * `localhost`, made with the `openssl` command-line tool in a temporary
 * directory that is removed again at once (the PEM data stays in memory).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExampleCerts {
  /** The CA certificate a client trusts. */
  ca: Buffer;
  /** The server's private key and certificate (for `localhost` and 127.0.0.1). */
  key: Buffer;
  cert: Buffer;
}

export function makeExampleCerts(): ExampleCerts {
  const dir = mkdtempSync(join(tmpdir(), 'protoloop-example-'));
  try {
    const openssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=Example CA',
    );
    openssl('req', ...ec, '-keyout', 'key.pem', '-out', 'req.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl(
      'x509',
      '-req',
      '-in',
      'req.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'cert.pem',
      '-days',
      '1',
      '-extfile',
      'ext',
    );
    return {
      ca: readFileSync(join(dir, 'ca.pem')),
      key: readFileSync(join(dir, 'key.pem')),
      cert: readFileSync(join(dir, 'cert.pem')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
