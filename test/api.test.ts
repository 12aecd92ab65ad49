/** The public surface: what `protoloop` exports is pinned here (STYLE 10). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as api from '../src/index.js';

const EXPECTED = [
  'BaseProtocol',
  'BufferedProtocol',
  'CancelledError',
  'DEFAULT_LIMIT',
  'DEVNULL',
  'DatagramProtocol',
  'EventLoop',
  'Future',
  'Handle',
  'IncompleteReadError',
  'InvalidStateError',
  'LimitOverrunError',
  'PIPE',
  'Protocol',
  'STDOUT',
  'SendfileNotAvailableError',
  'StreamReader',
  'StreamReaderProtocol',
  'StreamWriter',
  'SubprocessProtocol',
  'TimerHandle',
  'getRunningLoop',
  'openConnection',
  'openUnixConnection',
  'run',
  'socketpair',
  'startServer',
  'startUnixServer',
];

test('the runtime exports of protoloop are exactly the documented ones', () => {
  assert.deepEqual(Object.keys(api).sort(), [...EXPECTED].sort());
});

test('every loop method of DESIGN 2.3 that exists so far is a function', () => {
  const loop = api.getRunningLoop();
  for (const m of [
    'time',
    'callSoon',
    'callLater',
    'callAt',
    'createFuture',
    'setExceptionHandler',
    'getExceptionHandler',
    'defaultExceptionHandler',
    'callExceptionHandler',
    'createConnection',
    'createServer',
    'createUnixConnection',
    'createUnixServer',
    'connectAcceptedSocket',
    'createDatagramEndpoint',
    'connectReadPipe',
    'connectWritePipe',
    'subprocessExec',
    'subprocessShell',
    'startTls',
    'sendfile',
  ]) {
    assert.equal(typeof (loop as unknown as Record<string, unknown>)[m], 'function', m);
  }
});

test('a plain Node program imports the built package by name', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import * as p from 'protoloop'; console.log(typeof p.getRunningLoop)",
    ],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'function\n');
});
