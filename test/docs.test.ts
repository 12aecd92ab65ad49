/**
 * The documentation keeps up with the code: every public name has its page,
 * every public method its section, every link in the Markdown resolves
 * (files and #anchors), the README's quick start is the two commands, and
 * typedoc finds every public member documented (validation.notDocumented
 * with treatWarningsAsErrors, as `npm run docs` runs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as api from '../src/index.js';
import { Server } from '../src/server.js';
import * as testing from '../src/testing/index.js';
import { useHarness } from './helpers/harness.js';

useHarness();

const root = fileURLToPath(new URL('../..', import.meta.url));
const docs = join(root, 'docs');
const reference = join(docs, 'reference');

/** The Markdown files of the documentation (the generated docs/api/ is not ours). */
function markdownFiles(): string[] {
  const files = ['README.md', 'CHANGELOG.md'].map((f) => join(root, f));
  for (const dir of [docs, reference]) {
    for (const f of readdirSync(dir)) if (f.endsWith('.md')) files.push(join(dir, f));
  }
  return files;
}

/** Lines outside fenced code blocks. */
function prose(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) out.push(line);
  }
  return out;
}

function headings(file: string): string[] {
  return prose(readFileSync(file, 'utf8'))
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) => l.replace(/^#+ /, ''));
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens, -N for repeats. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings(file)) {
    const base = h
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const referenceHeadings = [
  ...readdirSync(reference).flatMap((f) => headings(join(reference, f))),
  ...headings(join(docs, 'errors.md')),
];

/** A heading that documents `name`: `` `name` `` or `` `name(...)` `` (optionally `x.name(`). */
function documented(name: string): boolean {
  const re = new RegExp(`\`(?:[\\w.]+\\.)?${name.replace(/[$[\]]/g, '\\$&')}[\`(]`);
  return referenceHeadings.some((h) => re.test(h));
}

test('every runtime export of protoloop and protoloop/testing has a reference section', () => {
  const missing = [...Object.keys(api), ...Object.keys(testing)].filter(
    (name) => !documented(name),
  );
  assert.deepEqual(missing, []);
});

test('every exported interface has a reference page', () => {
  const missing = [
    'BaseTransport',
    'ReadTransport',
    'WriteTransport',
    'Transport',
    'DatagramTransport',
    'SubprocessTransport',
    'Server',
  ].filter((name) => !documented(name));
  assert.deepEqual(missing, []);
});

/** Public members of a class: own prototype members not starting with `_`; accessors flagged. */
function members(cls: { prototype: object }): Array<[name: string, accessor: boolean]> {
  return Object.getOwnPropertyNames(cls.prototype)
    .filter((m) => m !== 'constructor' && !m.startsWith('_'))
    .map((m) => [m, Object.getOwnPropertyDescriptor(cls.prototype, m)?.get !== undefined]);
}

test('every public method and property of the public classes has its section', () => {
  const pages: Array<[string, { prototype: object }, string]> = [
    ['event-loop.md', api.EventLoop, 'loop'],
    ['future.md', api.Future, 'future'],
    ['handle.md', api.Handle, 'handle'],
    ['timer-handle.md', api.TimerHandle, 'timerHandle'],
    ['server.md', Server, 'server'],
    ['base-protocol.md', api.BaseProtocol, 'protocol'],
    ['protocol.md', api.Protocol, 'protocol'],
    ['buffered-protocol.md', api.BufferedProtocol, 'protocol'],
    ['datagram-protocol.md', api.DatagramProtocol, 'protocol'],
    ['subprocess-protocol.md', api.SubprocessProtocol, 'protocol'],
    ['stream-reader.md', api.StreamReader, 'reader'],
    ['stream-writer.md', api.StreamWriter, 'writer'],
    ['stream-reader-protocol.md', api.StreamReaderProtocol, 'protocol'],
  ];
  const missing: string[] = [];
  for (const [page, cls, prefix] of pages) {
    const hs = headings(join(reference, page));
    for (const [m, accessor] of members(cls)) {
      const wanted = accessor ? `\`${prefix}.${m}\`` : `\`${prefix}.${m}(`;
      if (!hs.some((h) => h.includes(wanted))) missing.push(`${page}: ${prefix}.${m}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('every relative link in the Markdown resolves, anchors included', () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    for (const line of prose(readFileSync(file, 'utf8'))) {
      for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        const href = m[1]!;
        if (/^[a-z]+:/.test(href)) continue; // https:, mailto:
        const [path, anchor] = href.split('#') as [string, string | undefined];
        const target = path === '' ? file : resolve(dirname(file), path);
        const where = `${relative(root, file)} -> ${href}`;
        if (!existsSync(target)) {
          broken.push(`${where} (no such file)`);
        } else if (anchor !== undefined && target.endsWith('.md')) {
          if (!anchors(target).has(anchor)) broken.push(`${where} (no such heading)`);
        }
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('the examples of docs/testing.md are the ones test/testing-guide.test.ts runs', () => {
  const guide = readFileSync(join(docs, 'testing.md'), 'utf8');
  const runnable = guide.slice(guide.indexOf('## A first test'));
  const blocks = [...runnable.matchAll(/```ts\n([\s\S]*?)```/g)].map((b) => b[1]!);
  assert.ok(blocks.length >= 4);
  const source = readFileSync(join(root, 'test', 'testing-guide.test.ts'), 'utf8');
  for (const block of blocks) {
    // Without the imports (the test imports from src/) and the file-name comments.
    const code = block
      .replace(/^import [\s\S]*?from '[^']+';\n/gm, '')
      .replace(/^\/\/ \S+\.ts\n/gm, '')
      .trim();
    assert.ok(source.includes(code), `not in test/testing-guide.test.ts:\n${code}`);
  }
});

test('the README quick start is exactly the two commands', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  assert.ok(section, 'a "Quick start" section');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((b) => b[1]);
  assert.deepEqual(blocks, ['npm ci && npm start\nnpm ci && npm test\n']);
});

test('typedoc: every public member is documented (npm run docs would pass)', () => {
  const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
  const r = spawnSync(process.execPath, [typedoc, '--emit', 'none'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.error, undefined);
  assert.equal(r.status, 0, `typedoc:\n${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout + r.stderr, /warning|error/i);
});
