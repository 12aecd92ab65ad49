/**
 * The TLS examples run as in the tour and print the expected conversation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from './helpers/harness.js';

useHarness();

async function captured(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await run();
  } finally {
    console.log = orig;
  }
  return lines;
}

test('examples/tls-echo: the echo conversation over TLS', async () => {
  const { main } = await import('../examples/tls-echo.js');
  const lines = await captured(main);
  assert.ok(lines.includes("Verified the server's certificate for localhost"), lines.join('\n'));
  assert.ok(lines.some((l) => /^Connection from \('127\.0\.0\.1', \d+\) over TLSv1\.3/.test(l)));
  assert.deepEqual(
    lines.filter((l) => !l.startsWith('Connection from') && !l.startsWith('Verified')),
    [
      "Data sent: 'Hello World!'",
      "Data received: 'Hello World!'",
      "Send: 'Hello World!'",
      'Close the client socket',
      "Data received: 'Hello World!'",
      'The server closed the connection',
    ],
  );
});

test('examples/starttls: plain commands, the upgrade, then TLS', async () => {
  const { main } = await import('../examples/starttls.js');
  const lines = await captured(main);
  assert.deepEqual(lines, [
    "C: got '220 example.test ready'",
    "S: got 'HELLO' (plain)",
    "C: got '250 HELLO (plain)'",
    "S: got 'STARTTLS' (plain)",
    "C: got '220 Go ahead'",
    'C: upgraded to TLSv1.3',
    "S: got 'SECRET' (TLSv1.3)",
    "C: got '250 SECRET (TLSv1.3)'",
    "S: got 'QUIT' (TLSv1.3)",
    "C: got '221 Bye'",
    'C: connection closed',
  ]);
});
