/**
 * The HTTP/1.1 server example (examples/http-server.ts, examples/http/parser.ts):
 *
 * - the request parser, sans-IO: every feature fed whole, cut at every
 *   split point and byte by byte; every error status, whatever the split;
 *   pause/resume;
 * - the server over the in-memory transport pair: exact error responses
 *   (fed byte by byte), keep-alive, HEAD, in-order async responses, read
 *   and write backpressure, 100-continue;
 * - the server against clients nobody here wrote: curl, python3's
 *   http.client, a raw socket pipelining, wrk. Without curl, wrk or python3
 *   these tests FAIL (.ci/run installs them).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  HttpParseError,
  type HttpParserLimits,
  type HttpRequest,
  HttpRequestParser,
} from '../examples/http/parser.js';
import {
  type HttpHandler,
  HttpServerProtocol,
  main,
  startHttpServer,
} from '../examples/http-server.js';
import { Protocol, type Server, type Transport } from '../src/index.js';
import { createTransportPair } from '../src/testing/index.js';
import { takeHandlerCalls, until, useHarness } from './helpers/harness.js';
import { portOf } from './helpers/net.js';

useHarness();

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

// ---- the parser, sans-IO ---------------------------------------------------------

/** What a parsed request looks like to a test: plain data. */
interface Seen {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
  body: string;
  trailers: Array<[string, string]>;
  keepAlive: boolean;
  expectContinue: boolean;
}

const seen = (r: HttpRequest): Seen => ({
  method: r.method,
  target: r.target,
  version: r.version,
  headers: r.headers,
  body: r.body.toString('latin1'),
  trailers: [...r.trailers].map(([n, v]) => [n, v]),
  keepAlive: r.keepAlive,
  expectContinue: r.expectContinue,
});

function parseChunks(chunks: Buffer[], limits?: HttpParserLimits, name = ''): Seen[] {
  const out: Seen[] = [];
  let heads = 0;
  const parser = new HttpRequestParser(
    { onHead: () => heads++, onRequest: (r) => out.push(seen(r)) },
    limits,
  );
  for (const c of chunks) parser.feed(c);
  assert.ok(parser.idle, `${name}: the parser is at a request boundary after the last chunk`);
  assert.equal(heads, out.length, 'one onHead per request');
  return out;
}

const bytewise = (wire: Buffer): Buffer[] => [...wire].map((x) => Buffer.from([x]));

/** The error a wire fed in the given chunks throws. */
function parseError(chunks: Buffer[], limits?: HttpParserLimits): HttpParseError {
  const parser = new HttpRequestParser({ onRequest: () => {} }, limits);
  try {
    for (const c of chunks) parser.feed(c);
  } catch (err) {
    assert.ok(err instanceof HttpParseError, String(err));
    assert.throws(
      () => parser.feed(b('GET / HTTP/1.1\r\n')),
      (e) => e === err,
      'stays failed',
    );
    return err;
  }
  assert.fail('no error thrown');
}

const req = (over: Partial<Seen>): Seen => ({
  method: 'GET',
  target: '/',
  version: '1.1',
  headers: [['Host', 'x']],
  body: '',
  trailers: [],
  keepAlive: true,
  expectContinue: false,
  ...over,
});

/** Every feature, with what the parser must make of it. */
const VALID: Array<[name: string, wire: string, requests: Seen[]]> = [
  ['a GET', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', [req({})]],
  [
    'headers: names as sent, values trimmed of OWS, empty value, obs-text',
    'GET /p?q=1 HTTP/1.1\r\nhOsT: x\r\nX-A:   spaced \t \r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\r\n',
    [
      req({
        target: '/p?q=1',
        headers: [
          ['hOsT', 'x'],
          ['X-A', 'spaced'],
          ['X-Empty', ''],
          ['X-Latin', 'caf\xe9'],
        ],
      }),
    ],
  ],
  [
    'Content-Length body',
    'POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nhello\r\nworld',
    [
      req({
        method: 'POST',
        target: '/u',
        headers: [
          ['Host', 'x'],
          ['Content-Length', '12'],
        ],
        body: 'hello\r\nworld',
      }),
    ],
  ],
  [
    'Content-Length repeated with equal values, and 0',
    'PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabcPUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
    [
      req({
        method: 'PUT',
        headers: [
          ['Host', 'x'],
          ['Content-Length', '3, 3'],
          ['content-length', '3'],
        ],
        body: 'abc',
      }),
      req({
        method: 'PUT',
        headers: [
          ['Host', 'x'],
          ['Content-Length', '0'],
        ],
      }),
    ],
  ],
  [
    'chunked: sizes in hex, extensions ignored, trailers kept',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n' +
      '5\r\nhello\r\nA;name=value;x="q"\r\n0123456789\r\n001 ;ext\r\n!\r\n0\r\nX-Sum: 16\r\nX-T:  t \r\n\r\n',
    [
      req({
        method: 'POST',
        headers: [
          ['Host', 'x'],
          ['Transfer-Encoding', 'Chunked'],
        ],
        body: 'hello0123456789!',
        trailers: [
          ['X-Sum', '16'],
          ['X-T', 't'],
        ],
      }),
    ],
  ],
  [
    'chunked with no data chunk',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    [
      req({
        method: 'POST',
        headers: [
          ['Host', 'x'],
          ['Transfer-Encoding', 'chunked'],
        ],
      }),
    ],
  ],
  [
    'HTTP/1.1 Connection: close',
    'GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n',
    [
      req({
        headers: [
          ['Host', 'x'],
          ['Connection', 'Close'],
        ],
        keepAlive: false,
      }),
    ],
  ],
  [
    'HTTP/1.0 closes by default, no Host needed',
    'GET / HTTP/1.0\r\n\r\n',
    [req({ version: '1.0', headers: [], keepAlive: false })],
  ],
  [
    'HTTP/1.0 with Connection: keep-alive (in a list)',
    'GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n',
    [req({ version: '1.0', headers: [['Connection', 'foo, Keep-Alive']], keepAlive: true })],
  ],
  [
    'pipelined requests in one buffer, with empty lines between',
    'GET /1 HTTP/1.1\r\nHost: x\r\n\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nZ',
    [
      req({ target: '/1' }),
      req({ method: 'HEAD', target: '/2' }),
      req({
        method: 'POST',
        target: '/3',
        headers: [
          ['Host', 'x'],
          ['Content-Length', '1'],
        ],
        body: 'Z',
      }),
    ],
  ],
  [
    'Expect: 100-continue with a body',
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok',
    [
      req({
        method: 'POST',
        headers: [
          ['Host', 'x'],
          ['Expect', '100-Continue'],
          ['Content-Length', '2'],
        ],
        body: 'ok',
        expectContinue: true,
      }),
    ],
  ],
  [
    'Expect: 100-continue without a body, and on HTTP/1.0 (ignored)',
    'GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\nPOST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n1',
    [
      req({
        headers: [
          ['Host', 'x'],
          ['Expect', '100-continue'],
        ],
      }),
      req({
        method: 'POST',
        version: '1.0',
        headers: [
          ['Expect', '100-continue'],
          ['Content-Length', '1'],
        ],
        body: '1',
        keepAlive: false,
      }),
    ],
  ],
  [
    'any token method, asterisk and absolute targets',
    "M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS http://h/p?a=%20 HTTP/1.1\r\nHost: h\r\n\r\nX!#$%&'*+.^_`|~ / HTTP/1.1\r\nHost: x\r\n\r\n",
    [
      req({ method: 'M-SEARCH', target: '*' }),
      req({ method: 'OPTIONS', target: 'http://h/p?a=%20', headers: [['Host', 'h']] }),
      req({ method: "X!#$%&'*+.^_`|~" }),
    ],
  ],
];

/** Bad input, the status it gets, and the limits in force. */
const ERRORS: Array<[name: string, wire: string, status: number, limits?: HttpParserLimits]> = [
  ['no version', 'GET /\r\n\r\n', 400],
  ['no target', 'GET HTTP/1.1\r\n\r\n', 400],
  ['two spaces', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['space in the target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['control byte in the target', 'GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['lowercase version', 'GET / http/1.1\r\nHost: x\r\n\r\n', 400],
  ['bad method byte', 'G(T / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['not HTTP at all (a TLS hello)', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400],
  ['method over 32 bytes', `${'A'.repeat(33)} / HTTP/1.1\r\n\r\n`, 400],
  ['bare LF ending the request line', 'GET / HTTP/1.1\nHost: x\r\n\r\n', 400],
  ['bare LF ending a header', 'GET / HTTP/1.1\r\nHost: x\n\r\n', 400],
  ['bare LF as the empty line', 'GET / HTTP/1.1\r\nHost: x\r\n\n', 400],
  ['bare CR before the request line', '\rGET / HTTP/1.1\r\n\r\n', 400],
  ['header without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n', 400],
  ['space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
  ['empty header name', 'GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n', 400],
  ['obs-fold continuation', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n', 400],
  ['control byte in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', 400],
  ['bare CR in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n', 400],
  ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  [
    'Content-Length and Transfer-Encoding (smuggling)',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  [
    'Transfer-Encoding and Content-Length (the other order)',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
    400,
  ],
  ['Content-Length not digits', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n', 400],
  ['Content-Length negative', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
  ['Content-Length empty', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n', 400],
  [
    'conflicting Content-Lengths',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    400,
  ],
  [
    'conflicting Content-Length list',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n',
    400,
  ],
  [
    'chunked twice',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
    400,
  ],
  ['bad chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
  [
    'chunk size with junk after it',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n',
    400,
  ],
  ['empty chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\n', 400],
  [
    'chunk data longer than its size',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n',
    400,
  ],
  [
    'bare LF after chunk data',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n',
    400,
  ],
  [
    'chunk-size line over 4 KiB',
    `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;${'e'.repeat(4096)}\r\n`,
    400,
  ],
  [
    'bad trailer line',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n',
    400,
  ],
  [
    'Content-Length over the body limit',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n',
    413,
    { maxBodySize: 10 },
  ],
  [
    'Content-Length of 30 digits',
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${'9'.repeat(30)}\r\n\r\n`,
    413,
  ],
  [
    'chunks over the body limit',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n5\r\n',
    413,
    { maxBodySize: 10 },
  ],
  [
    'one chunk size past 2^53',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n',
    413,
  ],
  [
    'target over the limit',
    `GET /${'a'.repeat(64)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    414,
    { maxTargetLength: 64 },
  ],
  ['target over 8 KiB (the default)', `GET /${'a'.repeat(8192)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
  [
    'headers over the limit',
    `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(100)}\r\n\r\n`,
    431,
    { maxHeaderSize: 100 },
  ],
  [
    'many small headers over 16 KiB (the default)',
    `GET / HTTP/1.1\r\nHost: x\r\n${'X-Some: header\r\n'.repeat(1100)}\r\n`,
    431,
  ],
  [
    'a request line over the head limit',
    `GET /${'a'.repeat(200)} HTTP/1.1\r\n`,
    431,
    { maxHeaderSize: 100 },
  ],
  [
    'trailers over the limit',
    `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ${'t'.repeat(100)}\r\n\r\n`,
    431,
    { maxHeaderSize: 100 },
  ],
  [
    'gzip transfer coding',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
    501,
  ],
  ['unknown transfer coding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n', 501],
  ['unknown expectation', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n', 417],
  ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
  ['HTTP/0.9 spelled out', 'GET / HTTP/0.9\r\n\r\n', 505],
  ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: x\r\n\r\n', 505],
];

describe('HTTP request parser (sans-IO)', () => {
  test('every feature, fed whole', () => {
    for (const [name, wire, requests] of VALID) {
      assert.deepStrictEqual(parseChunks([b(wire)], {}, name), requests, name);
    }
  });

  test('every feature, cut at every split point', () => {
    for (const [name, wire, requests] of VALID) {
      const bytes = b(wire);
      for (let i = 0; i <= bytes.length; i++) {
        const got = parseChunks([bytes.subarray(0, i), bytes.subarray(i)]);
        assert.deepStrictEqual(got, requests, `${name} split at ${i}`);
      }
    }
  });

  test('every feature, byte by byte', () => {
    for (const [name, wire, requests] of VALID) {
      assert.deepStrictEqual(parseChunks(bytewise(b(wire))), requests, name);
    }
  });

  test('all of them as one stream, in chunks of every size from 1 to 64', () => {
    const stream = Buffer.concat(VALID.map(([, wire]) => b(wire)));
    const expected = VALID.flatMap(([, , requests]) => requests);
    for (let size = 1; size <= 64; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      assert.deepStrictEqual(parseChunks(chunks), expected, `chunks of ${size}`);
    }
  });

  test('every error status, fed whole and byte by byte: the same status', () => {
    for (const [name, wire, status, limits] of ERRORS) {
      const whole = parseError([b(wire)], limits);
      assert.equal(whole.status, status, `${name}: ${whole.message}`);
      const bytes = parseError(bytewise(b(wire)), limits);
      assert.equal(bytes.status, status, `${name} byte by byte: ${bytes.message}`);
      assert.equal(bytes.message, whole.message, name);
      assert.equal(whole.name, 'HttpParseError');
    }
  });

  test('a body within the limit is fine (the limits are inclusive)', () => {
    const [r] = parseChunks(
      [b('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789')],
      {
        maxBodySize: 10,
      },
    );
    assert.equal(r!.body, '0123456789');
    const wire = `GET /${'a'.repeat(63)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    assert.equal(parseChunks([b(wire)], { maxTargetLength: 64 })[0]!.target.length, 64);
    const head = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
    assert.equal(parseChunks([b(head)], { maxHeaderSize: head.length }).length, 1);
    assert.equal(parseError([b(head)], { maxHeaderSize: head.length - 1 }).status, 431);
  });

  test('header() is case-insensitive and joins repeated fields', () => {
    let got: HttpRequest | null = null;
    const p = new HttpRequestParser({ onRequest: (r) => (got = r) });
    p.feed(b('GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\nACCEPT: b\r\n\r\n'));
    assert.equal(got!.header('accept'), 'a, b');
    assert.equal(got!.header('HOST'), 'x');
    assert.equal(got!.header('nope'), undefined);
  });

  test('onHead runs before the body is read (100-continue)', () => {
    const events: string[] = [];
    const p = new HttpRequestParser({
      onHead: (r) => events.push(`head ${r.expectContinue}`),
      onRequest: (r) => events.push(`request ${r.body.toString()}`),
    });
    p.feed(b('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n'));
    assert.deepEqual(events, ['head true']);
    assert.equal(p.idle, false);
    p.feed(b('da'));
    p.feed(b('ta'));
    assert.deepEqual(events, ['head true', 'request data']);
    assert.equal(p.idle, true);
  });

  test('pause() from a callback holds the next pipelined requests until resume()', () => {
    const targets: string[] = [];
    const p = new HttpRequestParser({
      onRequest: (r) => {
        targets.push(r.target);
        p.pause();
      },
    });
    const three = b(
      'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HT',
    );
    p.feed(three);
    assert.deepEqual(targets, ['/1']);
    assert.equal(p.paused, true);
    assert.ok(p.buffered > 0);
    p.feed(b('TP/1.1\r\nHost: x\r\n\r\n')); // buffered while paused
    assert.deepEqual(targets, ['/1']);
    p.resume();
    assert.deepEqual(targets, ['/1', '/2']);
    p.resume();
    assert.deepEqual(targets, ['/1', '/2', '/3']);
    assert.equal(p.idle, true);
    p.resume(); // idempotent
  });

  test('a large body in many pieces, and in one piece without a copy', () => {
    const body = randomBytes(300_000);
    const head = b(`PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    let got: Buffer | null = null;
    const p = new HttpRequestParser({ onRequest: (r) => (got = r.body) });
    const wire = Buffer.concat([head, body]);
    for (let i = 0; i < wire.length; i += 1000) p.feed(wire.subarray(i, i + 1000));
    assert.ok(body.equals(got!));
    p.feed(wire);
    assert.equal(got!.buffer, wire.buffer, 'a body that came in one read is a view of it');
  });

  test('limit arguments are checked', () => {
    assert.throws(
      () => new HttpRequestParser({ onRequest() {} }, { maxBodySize: 0 }),
      /limits\.maxBodySize must be a positive integer/,
    );
    assert.throws(
      () => new HttpRequestParser({ onRequest() {} }, { maxHeaderSize: 1.5 }),
      /limits\.maxHeaderSize/,
    );
  });
});

// ---- the server over the in-memory pair ------------------------------------------------

/** The client end: collects every byte, knows when the connection is gone. */
class Client extends Protocol {
  transport!: Transport;
  data = '';
  lost = false;
  eof = false;
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override dataReceived(d: Buffer): void {
    this.data += d.toString('latin1');
  }
  override eofReceived(): boolean {
    this.eof = true;
    return false;
  }
  override connectionLost(): void {
    this.lost = true;
  }
}

/** A server protocol that counts the reads it gets (to prove byte-by-byte delivery). */
class CountingServer extends HttpServerProtocol {
  reads: number[] = [];
  transport: Transport | null = null;
  override connectionMade(t: Transport): void {
    this.transport = t;
    super.connectionMade(t);
  }
  override dataReceived(d: Buffer): void {
    this.reads.push(d.length);
    super.dataReceived(d);
  }
}

async function pair(
  handler?: HttpHandler,
  limits?: HttpParserLimits,
  capacity?: number,
): Promise<{ client: Client; server: CountingServer }> {
  const server = new CountingServer(handler, limits);
  const client = new Client();
  createTransportPair(server, client, capacity === undefined ? {} : { capacity });
  await until(() => client.transport !== undefined && server.transport !== null, 'connected');
  return { client, server };
}

/** Split a byte string of responses into [head, body] pairs (Content-Length framing; HEAD: pass counts). */
function responses(
  data: string,
  headCount = 0,
): Array<{ status: number; head: string; body: string }> {
  const out: Array<{ status: number; head: string; body: string }> = [];
  let pos = 0;
  while (pos < data.length) {
    const end = data.indexOf('\r\n\r\n', pos);
    if (end === -1) break;
    const head = data.slice(pos, end);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length: (\d+)/i.exec(head);
    const len = m === null || status === 100 || out.length < headCount ? 0 : Number(m[1]);
    if (end + 4 + len > data.length) break;
    out.push({ status, head, body: data.slice(end + 4, end + 4 + len) });
    pos = end + 4 + len;
  }
  return out;
}

const errorBytes = (status: number, reason: string): string =>
  `HTTP/1.1 ${status} ${reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;

const REASON: Record<number, string> = {
  400: 'Bad Request',
  413: 'Content Too Large',
  414: 'URI Too Long',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

const echo: HttpHandler = (r) => ({
  headers: [['X-Method', r.method]],
  body: r.body.length > 0 ? r.body : `${r.method} ${r.target}`,
});

describe('HttpServerProtocol over the in-memory pair', () => {
  test('every error status, fed byte by byte: the exact error response, then the close', async () => {
    for (const [name, wire, status, limits] of ERRORS) {
      // The byte-by-byte run of each: a few hundred bytes at most but the 8 KiB and 16 KiB ones.
      if (wire.length > 5000) continue;
      const { client, server } = await pair(echo, limits);
      for (const byte of b(wire)) {
        if (client.lost || client.eof) break; // the error can come before the last byte
        client.transport.write(Buffer.from([byte]));
        await turn();
      }
      await until(() => client.lost, `${name}: the connection closes`);
      assert.ok(
        server.reads.every((n) => n === 1),
        `${name}: delivered byte by byte`,
      );
      assert.equal(client.data, errorBytes(status, REASON[status]!), name);
    }
  });

  test('the long error inputs, fed whole', async () => {
    for (const [name, wire, status, limits] of ERRORS) {
      const { client } = await pair(echo, limits);
      client.transport.write(b(wire));
      await until(() => client.lost, `${name}: the connection closes`);
      assert.equal(client.data, errorBytes(status, REASON[status]!), name);
    }
  });

  test('responses: Date, Content-Length, the handler headers; keep-alive by default', async () => {
    const { client } = await pair(echo);
    client.transport.write(b('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'));
    await until(() => responses(client.data).length === 1);
    const [r] = responses(client.data);
    assert.match(
      r!.head,
      /^HTTP\/1\.1 200 OK\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\nContent-Length: 6\r\nX-Method: GET$/,
    );
    assert.equal(r!.body, 'GET /a');
    assert.equal(client.lost, false, 'kept alive');
    client.transport.close();
    await until(() => client.lost);
  });

  test("HEAD: the GET response's Content-Length, no body; 204: neither", async () => {
    const { client } = await pair((r) =>
      r.target === '/none' ? { status: 204, body: 'dropped' } : { body: 'twelve bytes' },
    );
    client.transport.write(
      b(
        'HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /none HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
      ),
    );
    await until(() => responses(client.data, 1).length === 3);
    const [head, none, get] = responses(client.data, 1);
    assert.match(head!.head, /\r\nContent-Length: 12$/);
    assert.equal(head!.body, '');
    assert.match(none!.head, /^HTTP\/1\.1 204 No Content\r\nDate: [^\r]+$/);
    assert.equal(get!.body, 'twelve bytes');
    assert.ok(client.data.endsWith('\r\n\r\ntwelve bytes'), 'nothing after the last body');
    client.transport.close();
    await until(() => client.lost);
  });

  test('Connection: close and HTTP/1.0: answered, then closed; 1.0 keep-alive stays open', async () => {
    {
      const { client } = await pair(echo);
      client.transport.write(
        b(
          'GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n',
        ),
      );
      await until(() => client.lost);
      const rs = responses(client.data);
      assert.equal(rs.length, 1, 'nothing after the close is answered');
      assert.match(rs[0]!.head, /\r\nConnection: close$/);
    }
    {
      const { client } = await pair(echo);
      client.transport.write(b('GET /1 HTTP/1.0\r\n\r\n'));
      await until(() => client.lost);
      assert.match(responses(client.data)[0]!.head, /\r\nConnection: close$/);
    }
    {
      const { client } = await pair(echo);
      client.transport.write(b('GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'));
      await until(() => responses(client.data).length === 1);
      assert.match(responses(client.data)[0]!.head, /\r\nConnection: keep-alive$/);
      assert.equal(client.lost, false);
      client.transport.close();
      await until(() => client.lost);
    }
  });

  test('async handlers: answers in request order; reading paused while a backlog waits', async () => {
    const waiting = new Map<string, (r: { body: string }) => void>();
    const { client, server } = await pair((r) =>
      r.target === '/sync'
        ? { body: 'sync' }
        : new Promise((resolve) => waiting.set(r.target, resolve)),
    );
    client.transport.write(
      b(['/1', '/2', '/sync', '/3'].map((t) => `GET ${t} HTTP/1.1\r\nHost: x\r\n\r\n`).join('')),
    );
    await until(() => waiting.size === 3, 'three handlers waiting');
    assert.equal(server.backlog, 4);
    assert.equal(server.transport!.isReading(), false, 'reading paused while answers are owed');
    waiting.get('/3')!({ body: 'three' });
    waiting.get('/2')!({ body: 'two' });
    await turn();
    assert.equal(client.data, '', 'nothing overtakes the first answer');
    waiting.get('/1')!({ body: 'one' });
    await until(() => responses(client.data).length === 4);
    assert.deepEqual(
      responses(client.data).map((r) => r.body),
      ['one', 'two', 'sync', 'three'],
    );
    assert.equal(server.backlog, 0);
    assert.equal(server.transport!.isReading(), true, 'reading resumed once caught up');
    client.transport.close();
    await until(() => client.lost);
  });

  test('at most MAX_BACKLOG (16) requests are parsed ahead; the rest wait in the parser', async () => {
    const waiting: Array<() => void> = [];
    const { client, server } = await pair(
      (r) => new Promise((resolve) => waiting.push(() => resolve({ body: r.target }))),
    );
    const wire = Array.from({ length: 40 }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    client.transport.write(b(wire.join('')));
    await until(() => waiting.length === 16);
    await turn();
    assert.equal(waiting.length, 16, 'the parser stopped at 16');
    assert.equal(server.backlog, 16);
    while (responses(client.data).length < 40) {
      for (const w of waiting.splice(0)) w();
      await turn();
    }
    assert.deepEqual(
      responses(client.data).map((r) => r.body),
      Array.from({ length: 40 }, (_, i) => `/${i}`),
    );
    client.transport.close();
    await until(() => client.lost);
  });

  test('a handler that throws or rejects: 500, reported, the connection carries on', async () => {
    const { client } = await pair((r) => {
      if (r.target === '/throw') throw new Error('boom');
      if (r.target === '/reject') return Promise.reject(new Error('async boom'));
      if (r.target === '/bad') return { status: 99 };
      return { body: 'fine' };
    });
    client.transport.write(
      b(
        ['/throw', '/reject', '/bad', '/ok']
          .map((t) => `GET ${t} HTTP/1.1\r\nHost: x\r\n\r\n`)
          .join(''),
      ),
    );
    await until(() => responses(client.data).length === 4);
    assert.deepEqual(
      responses(client.data).map((r) => r.status),
      [500, 500, 500, 200],
    );
    const calls = takeHandlerCalls();
    assert.deepEqual(
      calls.map((c) => [c.message, c.exception?.message]),
      [
        ['HTTP request handler failed', 'boom'],
        ['HTTP request handler failed', 'async boom'],
        ['HTTP request handler failed', 'response status must be an integer in 200..599, got 99'],
      ],
    );
    client.transport.close();
    await until(() => client.lost);
  });

  test('Expect: 100-continue: the 100 goes out before the body is sent, after earlier answers', async () => {
    let release: (() => void) | null = null;
    const { client } = await pair((r) =>
      r.target === '/slow'
        ? new Promise((resolve) => (release = () => resolve({ body: 'slow' })))
        : { body: `got ${r.body.length}` },
    );
    client.transport.write(
      b('POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n'),
    );
    await until(() => client.data.length > 0);
    assert.equal(client.data, 'HTTP/1.1 100 Continue\r\n\r\n');
    client.transport.write(b('12345'));
    await until(() => responses(client.data).length === 2);
    assert.equal(responses(client.data)[1]!.body, 'got 5');
    // Behind a slow answer: the 100 waits for it.
    client.data = '';
    client.transport.write(
      b(
        'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n' +
          'POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n',
      ),
    );
    await until(() => release !== null);
    for (let i = 0; i < 20; i++) await turn();
    assert.equal(client.data, '', 'no 100 before the slow answer');
    release!();
    await until(() => client.data.endsWith('HTTP/1.1 100 Continue\r\n\r\n'));
    assert.equal(responses(client.data)[0]!.body, 'slow');
    client.transport.write(b('ab'));
    await until(() => responses(client.data).length === 3);
    assert.equal(responses(client.data)[2]!.body, 'got 2');
    client.transport.close();
    await until(() => client.lost);
  });

  test('a client that half-closes after pipelining still gets every answer, then the close', async () => {
    const { client } = await pair(
      (r) => new Promise((resolve) => setImmediate(() => resolve({ body: r.target }))),
    );
    client.transport.write(
      b('GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /partial'),
    );
    client.transport.writeEof();
    await until(() => client.lost);
    assert.deepEqual(
      responses(client.data).map((r) => r.body),
      ['/1', '/2'],
    );
  });

  test('write backpressure: a client that does not read pauses the server; bounded buffer; every answer arrives', async () => {
    const big = Buffer.alloc(100 * 1024, 0x61);
    let answered = 0;
    const { client, server } = await pair(
      () => {
        answered++;
        return { body: big };
      },
      {},
      64 * 1024,
    );
    const t = server.transport!;
    const [, high] = t.getWriteBufferLimits();
    client.transport.pauseReading();
    const n = 200;
    client.transport.write(b('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n)));
    let maxBuffered = 0;
    // Steady state: paused for good (the client reads nothing, nothing drains).
    for (let stable = 0; stable < 50; ) {
      await turn();
      maxBuffered = Math.max(maxBuffered, t.getWriteBufferSize());
      stable = server.writing ? 0 : stable + 1;
    }
    assert.ok(answered < 5, `the server stopped producing (answered ${answered} of ${n})`);
    assert.ok(
      maxBuffered <= high + big.length + 200,
      `buffered ${maxBuffered} stays within high (${high}) + one response`,
    );
    assert.equal(t.isReading(), false, 'and stopped reading');
    client.transport.resumeReading();
    while (responses(client.data).length < n) {
      await turn();
      maxBuffered = Math.max(maxBuffered, t.getWriteBufferSize());
    }
    assert.equal(answered, n);
    assert.ok(maxBuffered <= high + big.length + 200, `buffered at most ${maxBuffered}`);
    assert.ok(responses(client.data).every((r) => r.body.length === big.length));
    client.transport.close();
    await until(() => client.lost);
  });

  test('constructor and startHttpServer() argument checks', () => {
    assert.throws(() => new HttpServerProtocol(1 as any), /handler must be a function/);
    assert.throws(() => startHttpServer({ handler: 'x' as any }), /options\.handler/);
    assert.throws(() => new HttpServerProtocol(echo, { maxBodySize: -1 }), /maxBodySize/);
  });
});

// ---- real clients ----------------------------------------------------------------------

/** Fail (not skip) when a tool is missing: .ci/run installs them. */
function requireTool(name: string): void {
  const ok = spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
  assert.ok(ok, `${name} is not installed: install it (apt-get install ${name}; .ci/run does)`);
}

/** Run a program; resolves with its output (rejects on a non-zero exit). */
function run(
  cmd: string,
  args: string[],
  input?: Buffer | string,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { maxBuffer: 64 * 1024 * 1024, encoding: 'latin1' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** The echo handler for the real clients: the body back, or a line about the request. */
const echoBack: HttpHandler = (r) =>
  r.method === 'POST' || r.method === 'PUT'
    ? {
        headers: [
          ['Content-Type', 'application/octet-stream'],
          ['X-Chunked', String(r.chunked)],
        ],
        body: r.body,
      }
    : { headers: [['Content-Type', 'text/plain']], body: `${r.method} ${r.target}\n` };

describe('HttpServerProtocol against real clients', () => {
  let server: Server;
  let url: string;
  let port: number;

  before(async () => {
    server = await startHttpServer({ handler: echoBack, maxBodySize: 8 * 1024 * 1024 });
    port = portOf(server);
    url = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    server.close();
    await server.waitClosed();
  });

  test('curl, wrk and python3 are installed (CI installs them; the suite fails without them)', () => {
    requireTool('curl');
    requireTool('wrk');
    requireTool('python3');
  });

  test('curl: two URLs on one kept-alive connection', async () => {
    requireTool('curl');
    const { stdout } = await run('curl', [
      '-s',
      '-w',
      ' connects=%{num_connects}\n',
      `${url}/one`,
      `${url}/two`,
    ]);
    assert.equal(stdout, 'GET /one\n connects=1\nGET /two\n connects=0\n');
  });

  test('curl: a chunked upload of 1 MiB comes back byte for byte', async () => {
    requireTool('curl');
    const body = randomBytes(1024 * 1024);
    const { stdout } = await run(
      'curl',
      ['-s', '-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', `${url}/up`],
      body,
    );
    assert.ok(Buffer.from(stdout, 'latin1').equals(body), 'the same bytes');
  });

  test('curl: Expect: 100-continue with a large body', async () => {
    requireTool('curl');
    const body = randomBytes(2 * 1024 * 1024);
    const { stdout, stderr } = await run(
      'curl',
      ['-sv', '-H', 'Expect: 100-continue', '--data-binary', '@-', `${url}/big`],
      body,
    );
    assert.match(stderr, /< HTTP\/1\.1 100 Continue/);
    assert.match(stderr, /< HTTP\/1\.1 200 OK/);
    assert.ok(Buffer.from(stdout, 'latin1').equals(body), 'the same bytes');
  });

  test("python3's http.client: keep-alive over several requests, and a chunked upload", async () => {
    requireTool('python3');
    const script = `
import http.client, json, sys
c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]))
out = []
socks = set()
for i in range(5):
    c.request('GET', '/n%d' % i)
    r = c.getresponse()
    out.append([r.status, r.read().decode()])
    socks.add(id(c.sock))
def gen():
    yield b'hello '
    yield b'chunked '
    yield b'world'
c.request('POST', '/up', body=gen(), encode_chunked=True)
r = c.getresponse()
out.append([r.status, r.read().decode(), r.getheader('X-Chunked')])
socks.add(id(c.sock))
c.close()
print(json.dumps({'out': out, 'connections': len(socks)}))
`;
    const { stdout } = await run('python3', ['-c', script, String(port)]);
    assert.deepEqual(JSON.parse(stdout), {
      out: [
        [200, 'GET /n0\n'],
        [200, 'GET /n1\n'],
        [200, 'GET /n2\n'],
        [200, 'GET /n3\n'],
        [200, 'GET /n4\n'],
        [200, 'hello chunked world', 'true'],
      ],
      connections: 1,
    });
  });

  test('a raw socket: 10 requests in one write, 10 responses in order', async () => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (data += d));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const wire = Array.from(
      { length: 10 },
      (_, i) => `GET /p${i} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ).join('');
    sock.write(wire);
    await until(() => responses(data).length === 10, 'ten responses', 100_000);
    assert.deepEqual(
      responses(data).map((r) => r.body),
      Array.from({ length: 10 }, (_, i) => `GET /p${i}\n`),
    );
    const closed = new Promise((r) => sock.once('close', r));
    sock.end();
    await closed;
  });

  test('a raw socket that stops reading: the server buffer stays bounded; then every response arrives', async () => {
    const big = Buffer.alloc(256 * 1024, 0x62);
    let proto: CountingServer | null = null;
    const { getRunningLoop } = await import('../src/index.js');
    const srv = await getRunningLoop().createServer(
      () => (proto = new CountingServer(() => ({ body: big }))),
      '127.0.0.1',
      0,
    );
    const sock = net.connect({ port: portOf(srv), host: '127.0.0.1' });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.pause();
    const n = 200; // 50 MiB of responses: far more than the kernel's socket buffers
    sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n));
    await until(() => proto?.transport != null, 'accepted');
    const t = proto!.transport!;
    const [, high] = t.getWriteBufferLimits();
    let maxBuffered = 0;
    for (let stable = 0; stable < 200; ) {
      await turn();
      maxBuffered = Math.max(maxBuffered, t.getWriteBufferSize());
      stable = proto!.writing ? 0 : stable + 1;
    }
    const bound = high + big.length + 200;
    assert.ok(maxBuffered <= bound, `buffered at most ${maxBuffered} (bound ${bound})`);
    let received = 0;
    let data = Buffer.alloc(0);
    let count = 0;
    const head = Buffer.from('HTTP/1.1 200 OK');
    sock.on('data', (d: Buffer) => {
      received += d.length;
      data = Buffer.concat([data, d]);
      // Count responses as they come (each is head + 256 KiB).
      for (;;) {
        const end = data.indexOf('\r\n\r\n');
        if (end === -1 || data.length < end + 4 + big.length) break;
        assert.ok(data.subarray(0, head.length).equals(head));
        data = data.subarray(end + 4 + big.length);
        count++;
      }
      maxBuffered = Math.max(maxBuffered, t.getWriteBufferSize());
    });
    sock.resume();
    await until(() => count === n, `${n} responses`, 1_000_000);
    assert.ok(received > n * big.length);
    assert.ok(maxBuffered <= bound, `buffered at most ${maxBuffered} (bound ${bound})`);
    const closed = new Promise((r) => sock.once('close', r));
    sock.end();
    await closed;
    srv.close();
    await srv.waitClosed();
  });

  test('wrk -t1 -c10 -d1s: requests served, no errors', async () => {
    requireTool('wrk');
    const { stdout } = await run('wrk', ['-t1', '-c10', '-d1s', `${url}/`]);
    const m = /(\d+) requests in/.exec(stdout);
    assert.ok(m !== null, stdout);
    assert.ok(Number(m[1]) > 0, stdout);
    assert.doesNotMatch(stdout, /Non-2xx or 3xx responses/);
    const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
      stdout,
    );
    if (errors !== null) assert.deepEqual(errors.slice(1).map(Number), [0, 0, 0, 0], stdout);
  });
});

describe('the HTTP server example for the tour', () => {
  test('main() starts a server, talks to it, and closes it', async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      await main();
    } finally {
      console.log = log;
    }
    assert.deepEqual(lines, [
      'HTTP server listening on 127.0.0.1 (a free port)',
      'GET /hello -> 200 "GET /hello\\n"',
      'POST /echo (chunked upload, 2 chunks) -> 200 "chunked upload"',
      '3 pipelined requests in one write, one of them slow -> 200 GET /a | 200 slow | 200 GET /c',
      'A request line without a version -> HTTP/1.1 400 Bad Request',
      'Server closed',
    ]);
  });
});
