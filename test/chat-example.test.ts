/**
 * The chat server example (examples/chat-server.ts) runs bounded and every
 * client sees exactly its expected transcript.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../examples/chat-server.js';
import { useHarness } from './helpers/harness.js';

useHarness();

test('chat server on streams: three clients, an over-long line, everyone leaves', async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    await main();
  } finally {
    console.log = log;
  }
  assert.deepEqual(lines, [
    '--- what alice saw ---',
    'Welcome! Your name?',
    '* you are in with: alice',
    '* bob joined',
    '* carol joined',
    '<bob> hello alice',
    '* carol left',
    '--- what bob saw ---',
    'Welcome! Your name?',
    '* you are in with: alice, bob',
    '* carol joined',
    '<alice> hi everyone',
    '* carol left',
    '* alice left',
    '--- what carol saw ---',
    'Welcome! Your name?',
    '* you are in with: alice, bob, carol',
    '<alice> hi everyone',
    '<bob> hello alice',
    '* line too long, dropped',
  ]);
});
