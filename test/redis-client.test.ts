/**
 * The Redis client example (examples/redis-client.ts, examples/redis/):
 *
 * - the RESP parser and command encoder, sans-IO: every reply type fed whole,
 *   cut at every split point, byte by byte, and in random chunkings;
 *   malformed input; argument checks;
 * - the client over the in-memory transport pair, with a scripted server
 *   (protocol errors, EOF, deterministic backpressure);
 * - the client against a real redis-server that the suite starts itself (a
 *   temporary directory, a Unix socket and a loopback TCP port) and stops.
 *   Without redis-server on the PATH these tests FAIL: CI installs it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CommandEncoder,
  encodeCommand,
  type RedisArg,
  type RespAttribute,
  RespParser,
  RespProtocolError,
  VerbatimString,
} from '../examples/redis/resp.js';
import { type RedisServer, redisServerOnPath, startRedisServer } from '../examples/redis/server.js';
import {
  main,
  RedisClient,
  RedisConnectionError,
  RedisError,
  type RespValue,
} from '../examples/redis-client.js';
import { Protocol, type Transport } from '../src/index.js';
import { createTransportPair } from '../src/testing/index.js';
import { until, useHarness } from './helpers/harness.js';

useHarness();

// ---- the parser, sans-IO ---------------------------------------------------------

type Event =
  | { reply: RespValue; attribute: RespAttribute | null }
  | { push: RespValue[]; attribute: RespAttribute | null };

/** A parser that records what it emits. */
function recorder(): { parser: RespParser; events: Event[] } {
  const events: Event[] = [];
  const parser = new RespParser({
    onReply: (reply, attribute) => events.push({ reply, attribute }),
    onPush: (push, attribute) => events.push({ push, attribute }),
  });
  return { parser, events };
}

function parseChunks(chunks: Buffer[]): Event[] {
  const { parser, events } = recorder();
  for (const c of chunks) parser.feed(c);
  assert.ok(parser.idle, 'the parser is at a reply boundary after the last chunk');
  return events;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const reply = (r: RespValue, attribute: RespAttribute | null = null): Event => ({
  reply: r,
  attribute,
});
const err = (message: string): RedisError => new RedisError(message);

/** Every reply type of RESP2 and RESP3, with what the parser must make of it. */
const CORPUS: Array<[name: string, wire: string, events: Event[]]> = [
  ['simple string OK', '+OK\r\n', [reply('OK')]],
  ['simple string', '+hello world\r\n', [reply('hello world')]],
  ['empty simple string', '+\r\n', [reply('')]],
  ['error', "-ERR unknown command 'x'\r\n", [reply(err("ERR unknown command 'x'"))]],
  ['error with a code', '-WRONGTYPE Operation\r\n', [reply(err('WRONGTYPE Operation'))]],
  ['integer 0', ':0\r\n', [reply(0)]],
  ['negative integer', ':-42\r\n', [reply(-42)]],
  ['integer with +', ':+7\r\n', [reply(7)]],
  ['largest safe integer', ':9007199254740991\r\n', [reply(9007199254740991)]],
  ['16-digit integer', ':1234567890123456\r\n', [reply(1234567890123456)]],
  ['integer past 2^53', ':9007199254740993\r\n', [reply(9007199254740993n)]],
  ['int64 min', ':-9223372036854775808\r\n', [reply(-9223372036854775808n)]],
  ['bulk string', '$5\r\nhello\r\n', [reply(b('hello'))]],
  ['empty bulk string', '$0\r\n\r\n', [reply(b(''))]],
  ['bulk string holding CRLFs', '$4\r\n\r\n\r\n\r\n', [reply(b('\r\n\r\n'))]],
  ['null bulk string', '$-1\r\n', [reply(null)]],
  ['empty array', '*0\r\n', [reply([])]],
  ['null array', '*-1\r\n', [reply(null)]],
  [
    'nested array',
    '*4\r\n:1\r\n$1\r\na\r\n*2\r\n+x\r\n$-1\r\n-ERR in array\r\n',
    [reply([1, b('a'), ['x', null], err('ERR in array')])],
  ],
  ['RESP3 null', '_\r\n', [reply(null)]],
  ['true', '#t\r\n', [reply(true)]],
  ['false', '#f\r\n', [reply(false)]],
  ['double', ',3.14\r\n', [reply(3.14)]],
  ['double with exponent', ',-1.5e10\r\n', [reply(-1.5e10)]],
  ['integral double', ',10\r\n', [reply(10)]],
  ['inf', ',inf\r\n', [reply(Number.POSITIVE_INFINITY)]],
  ['-inf', ',-inf\r\n', [reply(Number.NEGATIVE_INFINITY)]],
  ['nan', ',nan\r\n', [reply(Number.NaN)]],
  [
    'big number',
    '(3492890328409238509324850943850943825024385\r\n',
    [reply(3492890328409238509324850943850943825024385n)],
  ],
  ['negative big number', '(-1\r\n', [reply(-1n)]],
  ['bulk error', '!21\r\nSYNTAX invalid syntax\r\n', [reply(err('SYNTAX invalid syntax'))]],
  [
    'verbatim string',
    '=15\r\ntxt:Some string\r\n',
    [reply(new VerbatimString('txt', b('Some string')))],
  ],
  [
    'map',
    '%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n:2\r\n',
    [
      reply(
        new Map<RespValue, RespValue>([
          ['first', 1],
          ['second', 2],
        ]),
      ),
    ],
  ],
  ['empty map', '%0\r\n', [reply(new Map())]],
  ['set', '~3\r\n$1\r\na\r\n:1\r\n#t\r\n', [reply(new Set<RespValue>(['a', 1, true]))]],
  [
    'attribute before a reply',
    '|1\r\n+key-popularity\r\n*2\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n',
    [
      reply(
        [2039123, 9543892],
        new Map<RespValue, RespValue>([['key-popularity', [b('a'), 0.1923]]]),
      ),
    ],
  ],
  [
    'attribute inside an array is dropped',
    '*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n',
    [reply([1, 2])],
  ],
  [
    'push',
    '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n',
    [{ push: [b('message'), b('ch'), b('hello')], attribute: null }],
  ],
  ['push inside an array is an array', '*1\r\n>1\r\n:1\r\n', [reply([[1]])]],
  [
    'deep nesting',
    '*1\r\n*1\r\n%1\r\n$1\r\nk\r\n~2\r\n:1\r\n*0\r\n',
    [reply([[new Map<RespValue, RespValue>([['k', new Set<RespValue>([1, []])]])]])],
  ],
  [
    'a reply, a push, a reply',
    '+A\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n:5\r\n',
    [reply('A'), { push: [b('invalidate'), [b('key')]], attribute: null }, reply(5)],
  ],
];

describe('RESP parser (sans-IO)', () => {
  test('every reply type, fed whole', () => {
    for (const [name, wire, events] of CORPUS) {
      assert.deepStrictEqual(parseChunks([b(wire)]), events, name);
    }
  });

  test('every reply type, cut at every split point', () => {
    for (const [name, wire, events] of CORPUS) {
      const bytes = b(wire);
      for (let i = 0; i <= bytes.length; i++) {
        const got = parseChunks([bytes.subarray(0, i), bytes.subarray(i)]);
        assert.deepStrictEqual(got, events, `${name} split at ${i}`);
      }
      // And at every pair of split points.
      for (let i = 1; i < bytes.length; i++) {
        for (let j = i + 1; j < bytes.length; j++) {
          const got = parseChunks([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
          assert.deepStrictEqual(got, events, `${name} split at ${i} and ${j}`);
        }
      }
    }
  });

  test('every reply type, byte by byte', () => {
    for (const [name, wire, events] of CORPUS) {
      const bytes = b(wire);
      const chunks = [...bytes].map((x) => Buffer.from([x]));
      assert.deepStrictEqual(parseChunks(chunks), events, name);
    }
  });

  test('the whole corpus as one stream, in any chunking (property)', () => {
    const stream = Buffer.concat(CORPUS.map(([, wire]) => b(wire)));
    const expected = CORPUS.flatMap(([, , events]) => events);
    assert.deepStrictEqual(parseChunks([stream]), expected);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 200 }), (sizes) => {
        const chunks: Buffer[] = [];
        let pos = 0;
        for (const n of sizes) {
          if (pos >= stream.length) break;
          chunks.push(stream.subarray(pos, pos + n));
          pos += n;
        }
        if (pos < stream.length) chunks.push(stream.subarray(pos));
        assert.deepStrictEqual(parseChunks(chunks), expected);
      }),
      { numRuns: 300 },
    );
  });

  test('a large bulk string in many pieces, and in one piece without a copy', () => {
    const body = randomBytes(200_000);
    const wire = Buffer.concat([b(`$${body.length}\r\n`), body, b('\r\n+OK\r\n')]);
    for (const size of [1000, 65536, 7]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < wire.length; i += size) chunks.push(wire.subarray(i, i + size));
      const events = parseChunks(chunks);
      assert.equal(events.length, 2);
      assert.ok((events[0] as { reply: Buffer }).reply.equals(body), `pieces of ${size}`);
    }
    // Whole: the reply is a view of the fed bytes (they are owned, never reused).
    const events = parseChunks([wire]);
    const got = (events[0] as { reply: Buffer }).reply;
    assert.equal(got.buffer, wire.buffer);
  });

  test('idle tells whether a reply is partly received', () => {
    const { parser, events } = recorder();
    assert.equal(parser.idle, true);
    parser.feed(b('*2\r\n:1'));
    assert.equal(parser.idle, false);
    parser.feed(b('\r\n$3\r\nab'));
    assert.equal(parser.idle, false);
    parser.feed(b('c\r\n'));
    assert.equal(parser.idle, true);
    assert.deepStrictEqual(events, [reply([1, b('abc')])]);
  });

  const MALFORMED: Array<[wire: string, message: RegExp]> = [
    ['?oops\r\n', /unknown reply type byte 0x3f/],
    ['\r\n', /empty header line/],
    ['+OK\n', /not ended by CRLF/],
    ['$abc\r\n', /invalid length/],
    ['$-2\r\n', /invalid length/],
    ['$?\r\n', /invalid length/],
    ['*-2\r\n', /invalid length/],
    ['%-1\r\n', /invalid length/],
    ['!-1\r\n', /invalid length/],
    [':\r\n', /invalid integer/],
    [':12a\r\n', /invalid integer/],
    [':12345678901234567890x\r\n', /invalid integer/],
    ['#x\r\n', /invalid boolean/],
    [',abc\r\n', /invalid double/],
    [',\r\n', /invalid double/],
    ['(1.5\r\n', /invalid big number/],
    ['_x\r\n', /invalid null/],
    ['$3\r\nabcX\r\n', /bulk string not followed by CRLF/],
    ['=3\r\nabc\r\n', /verbatim string without a "fmt:" prefix/],
  ];

  test('malformed input is a RespProtocolError, and the parser stays failed', () => {
    for (const [wire, message] of MALFORMED) {
      for (const bytewise of [false, true]) {
        const { parser } = recorder();
        const feedAll = (): void => {
          if (bytewise) for (const x of b(wire)) parser.feed(Buffer.from([x]));
          else parser.feed(b(wire));
        };
        assert.throws(feedAll, (e: unknown) => {
          assert.ok(e instanceof RespProtocolError, `${wire}: ${e}`);
          assert.match(e.message, message, JSON.stringify(wire));
          return true;
        });
        assert.throws(() => parser.feed(b('+OK\r\n')), RespProtocolError, 'failed for good');
      }
    }
  });

  test('limits: bulk length and header line length', () => {
    const small = new RespParser(
      { onReply: () => {}, onPush: () => {} },
      { maxBulkLength: 10, maxLineLength: 16 },
    );
    assert.throws(() => small.feed(b('$11\r\n')), /bulk string of 11 bytes exceeds 10/);
    const lines = new RespParser({ onReply: () => {}, onPush: () => {} }, { maxLineLength: 16 });
    lines.feed(b('+0123456789'));
    assert.throws(() => lines.feed(b('0123456789')), /header line longer than 16 bytes/);
    const ok = recorder();
    ok.parser.feed(b('$10\r\n0123456789\r\n'));
    assert.equal(ok.events.length, 1);
  });

  test('argument checks name the argument', () => {
    assert.throws(() => new RespParser(null as any), /callbacks must be an object/);
    assert.throws(
      () => new RespParser({ onPush: () => {} } as any),
      /callbacks\.onReply must be a function/,
    );
    assert.throws(
      () => new RespParser({ onReply: () => {} } as any),
      /callbacks\.onPush must be a function/,
    );
    const cb = { onReply: () => {}, onPush: () => {} };
    assert.throws(() => new RespParser(cb, { maxBulkLength: 1.5 }), TypeError);
    assert.throws(() => new RespParser(cb, { maxLineLength: 0 }), RangeError);
    assert.throws(() => new RespParser(cb).feed('+OK\r\n' as any), /data must be a Buffer/);
  });

  test('a throwing callback fails the parser (the stream position is lost)', () => {
    const parser = new RespParser({
      onReply: () => {
        throw new Error('boom');
      },
      onPush: () => {},
    });
    assert.throws(() => parser.feed(b('+A\r\n+B\r\n')), /boom/);
    assert.throws(() => parser.feed(b('+C\r\n')), /boom/);
  });

  test('RedisError: name, message and code', () => {
    const e = new RedisError('WRONGTYPE Operation against a key holding the wrong kind of value');
    assert.equal(e.name, 'RedisError');
    assert.equal(e.code, 'WRONGTYPE');
    assert.ok(e instanceof Error);
    assert.equal(new RedisError('no code here').code, '');
    assert.equal(new RedisError('ERR').code, 'ERR');
  });
});

// ---- the encoder -------------------------------------------------------------------

/** Decode an encoded command with the parser: the arguments as the server sees them. */
function decode(bytes: Buffer): Buffer[] {
  const events = parseChunks([bytes]);
  assert.equal(events.length, 1);
  return (events[0] as { reply: Buffer[] }).reply;
}

const asBytes = (a: RedisArg): Buffer =>
  typeof a === 'string'
    ? Buffer.from(a, 'utf8')
    : a instanceof Uint8Array
      ? Buffer.from(a)
      : Buffer.from(String(a));

describe('RESP command encoder (sans-IO)', () => {
  test('the wire format of a command', () => {
    assert.equal(
      encodeCommand(['SET', 'key', 'value']).toString('latin1'),
      '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n',
    );
    assert.equal(
      encodeCommand(['INCRBY', 'n', -12, 10n ** 20n, 2.5]).toString('latin1'),
      '*5\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$3\r\n-12\r\n$21\r\n100000000000000000000\r\n$3\r\n2.5\r\n',
    );
  });

  test('every kind of argument arrives byte for byte', () => {
    const every = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) every[i] = i;
    const args: RedisArg[] = [
      'CMD',
      '',
      'héllo €',
      '😀 emoji',
      'a'.repeat(64),
      'a'.repeat(65),
      'é'.repeat(1000),
      'x'.repeat(100_000),
      every,
      new Uint8Array([0, 13, 10, 255]),
      new Uint8Array(randomBytes(50_000)),
      randomBytes(100_000),
      0,
      -1,
      1.5,
      1e21,
      2n ** 70n,
    ];
    const got = decode(encodeCommand(args));
    assert.equal(got.length, args.length);
    for (const [i, a] of args.entries()) assert.ok(got[i]!.equals(asBytes(a)), `args[${i}]`);
  });

  test('many commands in one batch: what take() returns is their concatenation', () => {
    const enc = new CommandEncoder();
    const big = randomBytes(40_000);
    const cmds: RedisArg[][] = [];
    for (let i = 0; i < 3000; i++) cmds.push(['SET', `key:${i}`, i % 100 === 0 ? big : `v${i}`]);
    for (const c of cmds) enc.push(c);
    const total = enc.length;
    const chunks = enc.take();
    const joined = Buffer.concat(chunks);
    assert.equal(joined.length, total);
    assert.ok(joined.equals(Buffer.concat(cmds.map(encodeCommand))));
    // Large Buffers are not copied: they are chunks of their own.
    assert.ok(chunks.includes(big));
    assert.equal(enc.length, 0);
    assert.deepEqual(enc.take(), []);
    // The reused buffer encodes the next batch correctly.
    enc.push(['PING']);
    assert.equal(Buffer.concat(enc.take()).toString(), '*1\r\n$4\r\nPING\r\n');
  });

  test('bad arguments: a TypeError naming the argument, nothing appended', () => {
    const enc = new CommandEncoder();
    enc.push(['PING']);
    const before = enc.length;
    const cases: Array<[unknown, RegExp]> = [
      [[], /args must hold at least the command name/],
      ['SET', /args must be an array of arguments, got string/],
      [null, /args must be an array of arguments, got null/],
      [['SET', {}], /args\[1\] must be a string, Buffer, Uint8Array, number or bigint, got Object/],
      [['SET', 'k', undefined], /args\[2\] must be a string.*got undefined/],
      [['SET', 'k', null], /args\[2\] must be a string.*got null/],
      [['SET', 'k', true], /args\[2\] must be a string.*got boolean/],
      [['SET', 'k', Number.NaN], /args\[2\] must be a finite number, got NaN/],
      [['SET', 'k', Number.POSITIVE_INFINITY], /args\[2\] must be a finite number, got Infinity/],
      [['SET', 'k', new ArrayBuffer(2)], /args\[2\] must be a string.*got ArrayBuffer/],
    ];
    for (const [args, message] of cases) {
      assert.throws(
        () => enc.push(args as RedisArg[]),
        (e: unknown) => {
          assert.ok(e instanceof TypeError);
          assert.match(e.message, message);
          return true;
        },
      );
      assert.equal(enc.length, before);
    }
    assert.equal(Buffer.concat(enc.take()).toString(), '*1\r\n$4\r\nPING\r\n');
  });
});

// ---- the client over the in-memory pair ------------------------------------------------

/** The server side of an in-memory pair: records what it gets, replies what the test says. */
class ScriptedServer extends Protocol {
  transport!: Transport;
  received = Buffer.alloc(0);
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override dataReceived(d: Buffer): void {
    this.received = Buffer.concat([this.received, d]);
  }
  /** The commands received so far, decoded. */
  commands(): string[][] {
    const out: string[][] = [];
    const p = new RespParser({
      onReply: (r) => out.push((r as Buffer[]).map(String)),
      onPush: () => {},
    });
    p.feed(this.received);
    return out;
  }
}

async function pairClient(
  capacity?: number,
): Promise<{ client: RedisClient; server: ScriptedServer; transport: Transport }> {
  const client = new RedisClient();
  const server = new ScriptedServer();
  const [transport] = createTransportPair(
    client,
    server,
    capacity === undefined ? {} : { capacity },
  );
  await until(() => client.writable && server.transport !== undefined, 'both ends connected');
  return { client, server, transport };
}

/** Settle a promise into what it resolved to or the error it rejected with. */
function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: any }> {
  return p.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );
}

describe('RedisClient over the in-memory pair (no sockets)', () => {
  test('replies match commands in FIFO order; error replies reject only their command', async () => {
    const { client, server } = await pairClient();
    const p1 = settle(client.send('GET', 'a'));
    const p2 = settle(client.send('INCR', 'b'));
    const p3 = settle(client.pipeline([['PING'], ['GET', 'c']]));
    const p4 = settle(client.send('LPUSH', 'a', 'x'));
    await until(() => server.commands().length === 5, 'five commands');
    assert.deepEqual(server.commands(), [
      ['GET', 'a'],
      ['INCR', 'b'],
      ['PING'],
      ['GET', 'c'],
      ['LPUSH', 'a', 'x'],
    ]);
    assert.equal(client.pending, 4);
    server.transport.write(b('$1\r\n1\r\n:2\r\n+PONG\r\n-ERR nope\r\n-WRONGTYPE bad\r\n'));
    assert.deepStrictEqual((await p1).value, b('1'));
    assert.equal((await p2).value, 2);
    assert.deepStrictEqual((await p3).value, ['PONG', new RedisError('ERR nope')]);
    const e4 = (await p4).error;
    assert.ok(e4 instanceof RedisError);
    assert.equal(e4.code, 'WRONGTYPE');
    assert.equal(client.pending, 0);
    await client.close();
  });

  test('commands issued in one synchronous run go out in one write', async () => {
    const { client, server, transport } = await pairClient();
    let writes = 0;
    const write = transport.write.bind(transport);
    const writelines = transport.writelines.bind(transport);
    transport.write = (d) => {
      writes++;
      write(d);
    };
    transport.writelines = (l) => {
      writes++;
      writelines(l);
    };
    const all = Promise.all(Array.from({ length: 100 }, (_, i) => client.send('ECHO', i)));
    await until(() => server.commands().length === 100);
    assert.equal(writes, 1);
    server.transport.write(Buffer.concat(Array.from({ length: 100 }, (_, i) => b(`:${i}\r\n`))));
    assert.deepEqual(
      await all,
      Array.from({ length: 100 }, (_, i) => i),
    );
    await client.close();
  });

  test('bytes that are not RESP reject every pending command with a RespProtocolError', async () => {
    const { client, server } = await pairClient();
    const pending = [
      settle(client.send('GET', 'a')),
      settle(client.pipeline([['PING'], ['PING']])),
    ];
    await until(() => server.commands().length === 3);
    server.transport.write(b('+PONG\r\n?garbage\r\n'));
    const [r1, r2] = await Promise.all(pending);
    assert.ok(r1!.value !== undefined);
    assert.ok(r2!.error instanceof RespProtocolError);
    assert.match(r2!.error.message, /unknown reply type byte/);
    await client.close();
    const after = await settle(client.send('PING'));
    assert.ok(after.error instanceof RedisConnectionError);
    assert.ok(after.error.cause instanceof RespProtocolError);
  });

  test('a reply with no command waiting is a protocol error', async () => {
    const { client, server } = await pairClient();
    server.transport.write(b('+OK\r\n'));
    await until(() => !client.writable, 'the client gave up on the connection');
    await client.close(); // resolves once the connection is gone
    const r = await settle(client.send('PING'));
    assert.ok(r.error.cause instanceof RespProtocolError);
    assert.match(r.error.cause.message, /no command waiting/);
  });

  test('the server closing the connection rejects pending commands with RedisConnectionError', async () => {
    const { client, server } = await pairClient();
    const r = settle(client.send('BLPOP', 'list', 0));
    await until(() => server.commands().length === 1);
    server.transport.close();
    const { error } = await r;
    assert.ok(error instanceof RedisConnectionError);
    assert.match(error.message, /the server closed the connection/);
    assert.equal(client.writable, false);
    await assert.rejects(client.drain(), RedisConnectionError);
  });

  test('backpressure: pauseWriting turns writable false, drain() waits for resumeWriting', async () => {
    // A server that does not read: the client's transport buffer fills up.
    const { client, server } = await pairClient(4096);
    server.transport.pauseReading();
    const value = Buffer.alloc(1024, 0x61);
    const replies: Promise<RespValue>[] = [];
    let waits = 0;
    for (let i = 0; i < 200; i++) {
      replies.push(client.send('SET', `k${i}`, value));
      if (!client.writable) {
        waits++;
        const drained = client.drain();
        server.transport.resumeReading(); // let it drain...
        await drained;
        server.transport.pauseReading(); // ...and block it again
      }
    }
    assert.ok(waits > 0, 'the producer had to wait');
    server.transport.resumeReading();
    await until(() => server.commands().length === 200, 'all 200 commands', 100_000);
    server.transport.write(Buffer.from('+OK\r\n'.repeat(200)));
    assert.deepEqual(await Promise.all(replies), Array(200).fill('OK'));
    await client.close();
  });

  test('drain() resolves at once when not paused, and rejects when closed while waiting', async () => {
    const { client, server } = await pairClient(1024);
    await client.drain();
    server.transport.pauseReading();
    const p = settle(client.pipeline([['SET', 'k', Buffer.alloc(200_000)]]));
    assert.equal(client.writable, false, 'paused inside the write');
    const waiting = settle(client.drain());
    client.abort();
    const w = await waiting;
    assert.ok(w.error instanceof RedisConnectionError);
    const r = await p;
    assert.ok(r.error instanceof RedisConnectionError);
    assert.match(r.error.message, /aborted/);
  });

  test('send() before the connection is made, and after close(), rejects', async () => {
    const client = new RedisClient();
    const server = new ScriptedServer();
    createTransportPair(client, server);
    const early = await settle(client.send('PING'));
    assert.ok(early.error instanceof RedisConnectionError);
    assert.match(early.error.message, /not connected yet/);
    await until(() => client.writable);
    const p = client.send('PING');
    const closing = client.close();
    const late = await settle(client.send('PING'));
    assert.match(late.error.message, /the client is closing/);
    await until(() => server.commands().length === 1);
    server.transport.write(b('+PONG\r\n')); // close() waits for this reply
    assert.equal(await p, 'PONG');
    await closing;
    const closed = await settle(client.send('PING'));
    assert.match(closed.error.message, /the connection is closed/);
    assert.equal(await client.close(), undefined, 'close() is idempotent');
  });

  test('argument checks: TypeError naming the argument; nothing is sent', async () => {
    const { client, server } = await pairClient();
    await assert.rejects(client.send(), /args must hold at least the command name/);
    await assert.rejects(client.send('SET', 'k', {} as any), /args\[2\] must be a string/);
    await assert.rejects(client.pipeline('PING' as any), /commands must be an array/);
    await assert.rejects(
      client.pipeline([
        ['SET', 'a', 'b'],
        ['SET', 'b', null as any],
      ]),
      /commands\[1\]\[2\] must be a string/,
    );
    await assert.rejects(client.pipeline([['PING'], []]), /commands\[1\] must hold at least/);
    await assert.rejects(client.pipeline([['SUBSCRIBE', 'ch']]), /cannot be pipelined/);
    await assert.rejects(client.send('SUBSCRIBE', 'ch'), /needs RESP3 on this client/);
    await assert.rejects(client.hello(4 as any), RangeError);
    await assert.rejects(client.hello(3, { auth: ['u'] as any }), /options\.auth must be/);
    assert.deepEqual(await client.pipeline([]), []);
    const ping = client.send('PING');
    await until(() => server.commands().length === 1);
    assert.deepEqual(server.commands(), [['PING']], 'only the valid command went out');
    server.transport.write(b('+PONG\r\n'));
    assert.equal(await ping, 'PONG');
    assert.throws(
      () => new RedisClient({ onPush: 1 as any }),
      /options\.onPush must be a function/,
    );
    await assert.rejects(RedisClient.connect(undefined as any), /options must be an object/);
    await assert.rejects(RedisClient.connect({}), /exactly one of path and port/);
    await assert.rejects(
      RedisClient.connect({ path: '/x', port: 1 }),
      /exactly one of path and port/,
    );
    await assert.rejects(RedisClient.connect({ port: 0 }), RangeError);
    await assert.rejects(
      RedisClient.connect({ port: '6379' as any }),
      /options\.port must be an integer/,
    );
    await assert.rejects(
      RedisClient.connect({ path: '' }),
      /options\.path must be a non-empty string/,
    );
    await assert.rejects(RedisClient.connect({ port: 1, host: '' }), /options\.host/);
    await assert.rejects(
      RedisClient.connect({ port: 1, protocol: 1 as any }),
      /options\.protocol must be 2 or 3/,
    );
    await client.close();
  });
});

// ---- against a real redis-server ------------------------------------------------------------

/** Wait for the first call of a callback. */
function nextCall<T>(): { fn: (v: T) => void; next: () => Promise<T> } {
  const queue: T[] = [];
  let wake: (() => void) | null = null;
  return {
    fn: (v) => {
      queue.push(v);
      wake?.();
    },
    next: async () => {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      wake = null;
      return queue.shift()!;
    },
  };
}

const str = (v: RespValue): string => (v as Buffer).toString();

describe('RedisClient against redis-server', () => {
  let server: RedisServer;
  let client: RedisClient;

  before(async () => {
    // Not a skip: without redis-server this throws and every test below fails.
    server = await startRedisServer({ tcp: true, args: ['--enable-debug-command', 'yes'] });
    client = await RedisClient.connect({ path: server.path });
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  test('redis-server is installed (CI installs it; the suite fails without it)', () => {
    assert.ok(redisServerOnPath(), 'redis-server must be on the PATH');
    assert.ok(server.version[0] >= 6, `redis >= 6 for RESP3, got ${server.version.join('.')}`);
  });

  test('SET/GET are binary safe: every byte value, and a 1 MiB value', async () => {
    const every = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) every[i] = i;
    assert.equal(await client.send('SET', every, every), 'OK');
    assert.deepStrictEqual(await client.send('GET', every), every);
    const big = randomBytes(1024 * 1024);
    assert.equal(await client.send('SET', 'big', big), 'OK');
    const got = (await client.send('GET', 'big')) as Buffer;
    assert.ok(got.equals(big));
    assert.equal(await client.send('STRLEN', 'big'), big.length);
    assert.equal(await client.send('SET', 'text', 'héllo €'), 'OK');
    assert.equal(str(await client.send('GET', 'text')), 'héllo €');
  });

  test('over loopback TCP as well', async () => {
    const tcp = await RedisClient.connect({ port: server.port!, host: '127.0.0.1' });
    const value = randomBytes(300_000);
    assert.equal(await tcp.send('SET', 'tcp', value), 'OK');
    assert.ok(((await tcp.send('GET', 'tcp')) as Buffer).equals(value));
    await tcp.close();
  });

  test('null and integer replies', async () => {
    assert.equal(await client.send('GET', 'no-such-key'), null);
    assert.equal(await client.send('DEL', 'counter'), 0);
    assert.equal(await client.send('INCR', 'counter'), 1);
    assert.equal(await client.send('INCRBY', 'counter', 41), 42);
    assert.equal(await client.send('DECRBY', 'counter', 50), -8);
    assert.equal(await client.send('EXISTS', 'counter', 'no-such-key'), 1);
    assert.equal(await client.send('SET', 'huge', '9223372036854775806'), 'OK');
    assert.equal(await client.send('INCR', 'huge'), 9223372036854775807n);
    assert.equal(await client.send('LINDEX', 'no-such-list', 0), null);
  });

  test('error replies reject with RedisError, and the connection carries on', async () => {
    await client.send('SET', 'astring', 'x');
    const e = await settle(client.send('LPUSH', 'astring', 'y'));
    assert.ok(e.error instanceof RedisError);
    assert.equal(e.error.name, 'RedisError');
    assert.equal(e.error.code, 'WRONGTYPE');
    assert.equal(
      e.error.message,
      'WRONGTYPE Operation against a key holding the wrong kind of value',
    );
    await assert.rejects(client.send('NOSUCHCOMMAND'), (err: unknown) => {
      assert.ok(err instanceof RedisError);
      assert.equal(err.code, 'ERR');
      assert.match(err.message, /unknown command 'NOSUCHCOMMAND'/);
      return true;
    });
    await assert.rejects(client.send('GET'), /wrong number of arguments for 'get' command/);
    assert.equal(await client.send('PING'), 'PONG');
  });

  test('arrays: LRANGE, empty, nested (SCAN)', async () => {
    await client.send('DEL', 'list');
    assert.equal(await client.send('RPUSH', 'list', 'a', Buffer.from([0, 255]), 3), 3);
    assert.deepStrictEqual(await client.send('LRANGE', 'list', 0, -1), [
      b('a'),
      Buffer.from([0, 255]),
      b('3'),
    ]);
    assert.deepStrictEqual(await client.send('LRANGE', 'no-such-list', 0, -1), []);
    await client.send('SET', 'scan:only', 1);
    const [cursor, keys] = (await client.send('SCAN', 0, 'MATCH', 'scan:*', 'COUNT', 1000)) as [
      Buffer,
      Buffer[],
    ];
    assert.ok(cursor instanceof Buffer);
    assert.deepStrictEqual(keys, [b('scan:only')]);
    assert.deepStrictEqual(await client.send('MGET', 'scan:only', 'no-such-key'), [b('1'), null]);
  });

  test('10,000 pipelined send() calls: replies in order', async () => {
    await client.send('DEL', 'seq');
    const replies = await Promise.all(
      Array.from({ length: 10_000 }, () => client.send('INCR', 'seq')),
    );
    assert.deepEqual(
      replies,
      Array.from({ length: 10_000 }, (_, i) => i + 1),
    );
  });

  test('pipeline() of 10,000 commands in one write: replies in order, errors in their slots', async () => {
    const cmds: RedisArg[][] = [];
    for (let i = 0; i < 10_000; i++)
      cmds.push(i % 2 === 0 ? ['SET', `p:${i}`, i] : ['GET', `p:${i - 1}`]);
    cmds.push(['LPUSH', 'p:0', 'x']);
    const replies = await client.pipeline(cmds);
    assert.equal(replies.length, 10_001);
    for (let i = 0; i < 10_000; i++) {
      if (i % 2 === 0) assert.equal(replies[i], 'OK');
      else assert.equal(str(replies[i]!), String(i - 1));
    }
    assert.ok(replies[10_000] instanceof RedisError);
  });

  test('backpressure: a large pipeline pauses writing, drain() waits, every reply arrives', async () => {
    const value = Buffer.alloc(4096, 0x62);
    const cmds = Array.from({ length: 4000 }, (_, i) => ['SET', `bp:${i}`, value]);
    const done = client.pipeline(cmds); // 16 MB: far past the 64 KiB high-water mark
    assert.equal(client.writable, false, 'pauseWriting came inside the write');
    await client.drain();
    assert.equal(client.writable, true);
    assert.deepEqual(await done, Array(4000).fill('OK'));
    assert.ok(((await client.send('GET', 'bp:3999')) as Buffer).equals(value));
  });

  test('backpressure: a send() producer that waits with drain() when not writable', async () => {
    const value = Buffer.alloc(8192, 0x63);
    const replies: Promise<RespValue>[] = [];
    let waits = 0;
    for (let i = 0; i < 3000; i++) {
      replies.push(client.send('SET', `prod:${i}`, value));
      if (!client.writable) {
        waits++;
        await client.drain();
      }
    }
    assert.ok(waits > 0, 'the transport paused the producer at least once');
    assert.deepEqual(await Promise.all(replies), Array(3000).fill('OK'));
  });

  test('RESP3 after HELLO 3: maps, doubles, sets, nulls', async () => {
    const c3 = await RedisClient.connect({ path: server.path });
    assert.equal(c3.resp, 2);
    const hello = (await c3.hello(3, { setname: 'resp3-test' })) as Map<RespValue, RespValue>;
    assert.equal(c3.resp, 3);
    assert.ok(hello instanceof Map);
    assert.equal(str(hello.get('server')!), 'redis');
    assert.equal(hello.get('proto'), 3);
    assert.equal(str(await c3.send('CLIENT', 'GETNAME')), 'resp3-test');
    await c3.send('DEL', 'h', 'z', 's');
    await c3.send('HSET', 'h', 'name', 'Ada', 'born', 1815);
    assert.deepStrictEqual(
      await c3.send('HGETALL', 'h'),
      new Map<RespValue, RespValue>([
        ['name', b('Ada')],
        ['born', b('1815')],
      ]),
    );
    assert.deepStrictEqual(
      await c3.send('CONFIG', 'GET', 'appendonly'),
      new Map<RespValue, RespValue>([['appendonly', b('no')]]),
    );
    await c3.send('ZADD', 'z', 2.5, 'a', '-inf', 'b');
    assert.equal(await c3.send('ZSCORE', 'z', 'a'), 2.5);
    assert.equal(await c3.send('ZSCORE', 'z', 'b'), Number.NEGATIVE_INFINITY);
    assert.equal(await c3.send('ZSCORE', 'z', 'none'), null);
    await c3.send('SADD', 's', 'x', 'y');
    assert.deepStrictEqual(await c3.send('SMEMBERS', 's'), new Set(['x', 'y']));
    assert.equal(await c3.send('GET', 'no-such-key'), null);
    // The same commands in RESP2, for contrast: flat arrays and bulk strings.
    assert.deepStrictEqual(await client.send('ZSCORE', 'z', 'a'), b('2.5'));
    assert.deepStrictEqual(await client.send('HGETALL', 'h'), [
      b('name'),
      b('Ada'),
      b('born'),
      b('1815'),
    ]);
    await c3.close();
  });

  test('RESP3 types from DEBUG PROTOCOL: booleans, big numbers, verbatim, attributes, pushes', async () => {
    const pushes = nextCall<RespValue[]>();
    const c3 = await RedisClient.connect({ path: server.path, protocol: 3, onPush: pushes.fn });
    assert.equal(await c3.send('DEBUG', 'PROTOCOL', 'true'), true);
    assert.equal(await c3.send('DEBUG', 'PROTOCOL', 'false'), false);
    assert.equal(await c3.send('DEBUG', 'PROTOCOL', 'null'), null);
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: the value redis-server sends, not π
    assert.equal(await c3.send('DEBUG', 'PROTOCOL', 'double'), 3.141);
    assert.equal(
      await c3.send('DEBUG', 'PROTOCOL', 'bignum'),
      1234567999999999999999999999999999999n,
    );
    const verbatim = await c3.send('DEBUG', 'PROTOCOL', 'verbatim');
    assert.ok(verbatim instanceof VerbatimString);
    assert.equal(verbatim.format, 'txt');
    assert.equal(verbatim.toString(), 'This is a verbatim\nstring');
    // The attribute is skipped; the reply that follows it is the command's.
    assert.equal(
      str(await c3.send('DEBUG', 'PROTOCOL', 'attrib')),
      'Some real reply following the attribute',
    );
    assert.equal(
      str(await c3.send('DEBUG', 'PROTOCOL', 'push')),
      'Some real reply following the push reply',
    );
    assert.deepStrictEqual(await pushes.next(), [b('server-cpu-usage'), 42]);
    assert.deepStrictEqual(await c3.send('DEBUG', 'PROTOCOL', 'set'), new Set([0, 1, 2]));
    await c3.close();
  });

  test('RESP3 pushes: client-side caching invalidations', async () => {
    const pushes = nextCall<RespValue[]>();
    const tracked = await RedisClient.connect({
      path: server.path,
      protocol: 3,
      onPush: pushes.fn,
    });
    assert.equal(await tracked.send('CLIENT', 'TRACKING', 'ON'), 'OK');
    await tracked.send('SET', 'cached', 'v1');
    assert.equal(str(await tracked.send('GET', 'cached')), 'v1');
    await client.send('SET', 'cached', 'v2'); // another connection changes the key
    assert.deepStrictEqual(await pushes.next(), [b('invalidate'), [b('cached')]]);
    assert.equal(str(await tracked.send('GET', 'cached')), 'v2');
    await tracked.close();
  });

  test('RESP3 pub/sub: SUBSCRIBE resolves with its confirmations, messages go to onPush', async () => {
    const pushes = nextCall<RespValue[]>();
    const sub = await RedisClient.connect({ path: server.path, protocol: 3, onPush: pushes.fn });
    const confirmations = (await sub.send('SUBSCRIBE', 'ch1', 'ch2')) as RespValue[];
    assert.deepStrictEqual(confirmations, [
      [b('subscribe'), b('ch1'), 1],
      [b('subscribe'), b('ch2'), 2],
    ]);
    assert.deepStrictEqual(await sub.send('PSUBSCRIBE', 'news.*'), [
      [b('psubscribe'), b('news.*'), 3],
    ]);
    assert.equal(await sub.send('PING'), 'PONG', 'RESP3 allows any command while subscribed');
    assert.equal(await client.send('PUBLISH', 'ch2', 'hello'), 1);
    assert.deepStrictEqual(await pushes.next(), [b('message'), b('ch2'), b('hello')]);
    assert.equal(await client.send('PUBLISH', 'news.today', Buffer.from([0, 1, 2])), 1);
    assert.deepStrictEqual(await pushes.next(), [
      b('pmessage'),
      b('news.*'),
      b('news.today'),
      Buffer.from([0, 1, 2]),
    ]);
    // UNSUBSCRIBE with no channel: one confirmation per channel subscribed to.
    const unsub = (await sub.send('UNSUBSCRIBE')) as RespValue[][];
    assert.equal(unsub.length, 2);
    assert.deepStrictEqual(new Set(unsub.map((u) => str(u[1]!))), new Set(['ch1', 'ch2']));
    assert.equal(unsub[1]![2], 1, 'the pattern subscription remains');
    assert.deepStrictEqual(await sub.send('PUNSUBSCRIBE'), [[b('punsubscribe'), b('news.*'), 0]]);
    // With nothing left, the server still confirms once (channel null).
    assert.deepStrictEqual(await sub.send('UNSUBSCRIBE'), [[b('unsubscribe'), null, 0]]);
    assert.equal(await client.send('PUBLISH', 'ch1', 'nobody'), 0);
    assert.equal(str(await sub.send('ECHO', 'still in order')), 'still in order');
    await sub.close();
  });

  test('close() waits for the replies already asked for', async () => {
    const c = await RedisClient.connect({ path: server.path });
    const replies = [
      c.send('SET', 'closing', 1),
      c.send('INCR', 'closing'),
      c.pipeline([['GET', 'closing']]),
    ];
    const closed = c.close();
    assert.equal(c.writable, false);
    await assert.rejects(c.send('PING'), /the client is closing/);
    assert.deepStrictEqual(await Promise.all(replies), ['OK', 2, [b('2')]]);
    await closed;
    await assert.rejects(c.send('PING'), /the connection is closed/);
  });

  test('abort() rejects the commands still waiting (a BLPOP that never returns)', async () => {
    const c = await RedisClient.connect({ path: server.path });
    const blocked = settle(c.send('BLPOP', 'never-pushed', 0));
    const behind = settle(c.send('PING'));
    c.abort();
    for (const r of await Promise.all([blocked, behind])) {
      assert.ok(r.error instanceof RedisConnectionError);
      assert.match(r.error.message, /aborted/);
    }
    await c.close();
  });

  test('connection loss: SHUTDOWN NOSAVE of a separate server rejects every pending command', async () => {
    const doomed = await startRedisServer();
    try {
      const admin = await RedisClient.connect({ path: doomed.path });
      const victim = await RedisClient.connect({ path: doomed.path });
      // Commands pending on the server side: BLPOP blocks, the rest waits behind it.
      const pending = [
        settle(victim.send('BLPOP', 'never-pushed', 0)),
        settle(victim.send('GET', 'x')),
        settle(victim.pipeline([['PING'], ['PING']])),
      ];
      // Wait until the server has the victim blocked (an event we ask for, no sleeping).
      for (;;) {
        const info = str(await admin.send('INFO', 'clients'));
        if (/blocked_clients:1\b/.test(info)) break;
      }
      assert.equal(victim.pending, 3);
      const exited = new Promise((r) => doomed.child.once('exit', r));
      const shutdown = await settle(admin.send('SHUTDOWN', 'NOSAVE'));
      assert.ok(shutdown.error, 'SHUTDOWN has no reply: the connection just ends');
      const results = await Promise.all(pending);
      const first = results[0]!.error;
      // A plain close gives RedisConnectionError; the kernel may report a reset instead.
      assert.ok(
        first instanceof RedisConnectionError || first?.code === 'ECONNRESET',
        `rejected with ${first}`,
      );
      for (const r of results) assert.equal(r.error, first, 'every pending command gets the error');
      assert.equal(victim.pending, 0);
      const later = await settle(victim.send('PING'));
      assert.ok(later.error instanceof RedisConnectionError);
      assert.equal(later.error.cause, first);
      await exited;
      await Promise.all([admin.close(), victim.close()]);
    } finally {
      await doomed.stop();
    }
  });

  test("connect() to a socket nobody listens on rejects with Node's error", async () => {
    await assert.rejects(RedisClient.connect({ path: `${server.dir}/nobody.sock` }), {
      code: 'ENOENT',
    });
  });
});

describe('the Redis example for the tour', () => {
  test('main() starts redis-server, shows the commands, and stops it', async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      await main();
    } finally {
      console.log = log;
    }
    assert.match(lines[0]!, /^redis-server \d+\.\d+\.\d+ on a Unix socket$/);
    assert.deepEqual(lines.slice(1), [
      'SET greeting hello -> "OK"',
      'GET greeting -> "hello"',
      'GET missing -> null',
      'INCR visits -> 1',
      'INCR visits -> 2',
      'RPUSH + LRANGE + INCRBY in flight together -> 3, ["a", "b", "c"], 42',
      'pipeline() of 4 in one write -> ["OK", 2, RedisError: WRONGTYPE Operation against a key holding the wrong kind of value, "2"]',
      'LPUSH on a string -> RedisError: WRONGTYPE Operation against a key holding the wrong kind of value',
      'HELLO 3 -> server "redis", proto 3',
      'HGETALL in RESP3 -> Map {"name" => "Ada", "born" => "1815"}',
      'ZSCORE in RESP3 (a double) -> 2.5',
      'Client closed',
      'redis-server stopped, its directory removed',
    ]);
  });
});
