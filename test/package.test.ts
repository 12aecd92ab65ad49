/**
 * Packaging: `npm pack` makes a tarball that installs into an empty project
 * (offline: the package has no runtime dependencies) and works there from
 * plain JavaScript (an echo round trip over TCP) and from TypeScript (a file
 * type-checked by the repository's tsc against the installed `.d.ts`).
 *
 * The tarball is made from `dist/` as `npm test` built it (`--ignore-scripts`
 * skips `prepack`, which would build it again).
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { useHarness } from './helpers/harness.js';

useHarness();

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** Every command is bounded; a hang fails the test instead of the suite. */
const TIMEOUT_MS = 60_000;

/** The environment for nested npm runs: without `npm test`'s own `npm_*` settings (prefix, scripts). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.toLowerCase().startsWith('npm_')) env[k] = v;
  }
  return env;
}

/** Run npm (the one running `npm test` when there is one, else the one on PATH). */
function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const cli = process.env.npm_execpath;
  const [cmd, argv] = cli?.endsWith('.js') ? [process.execPath, [cli, ...args]] : ['npm', args];
  return spawnSync(cmd, argv, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: TIMEOUT_MS });
}

function check(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.error, undefined, `${what}: ${r.error}`);
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let dir = '';
let app = '';
let packed: { filename: string; files: Array<{ path: string }> } | null = null;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'protoloop-pack-'));
  const out = check(
    npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root),
    'npm pack',
  );
  packed = JSON.parse(out)[0];
  app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
  );
  check(
    npm(['install', '--offline', '--no-audit', '--no-fund', join(dir, packed!.filename)], app),
    'npm install of the tarball',
  );
});

after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the built library, its types and the docs, and nothing else', () => {
  const files = packed!.files.map((f) => f.path).sort();
  for (const f of [
    'package.json',
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/loop.js',
    'dist/tls.js',
    'dist/testing/index.js',
    'dist/testing/index.d.ts',
    'docs/porting-from-asyncio.md',
    'docs/errors.md',
  ]) {
    assert.ok(files.includes(f), `${f} is missing from the tarball`);
  }
  for (const f of files) {
    assert.match(f, /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/|docs\/)/, f);
    assert.doesNotMatch(f, /\.map$|^docs\/api\//, f);
  }
  // Every module the library is built from ships with its declarations.
  for (const f of files.filter((p) => p.startsWith('dist/') && p.endsWith('.js'))) {
    assert.ok(files.includes(f.replace(/\.js$/, '.d.ts')), `no declarations for ${f}`);
  }
});

test('package.json: ESM entry points with types first, engines, no side effects', () => {
  assert.equal(pkg.type, 'module');
  // engines names what CI tests: the machine's Node 20 and every line .ci/run installs.
  assert.equal(pkg.engines.node, '^20.19.0 || ^22.12.0 || ^24.0.0 || ^26.0.0');
  const ci = readFileSync(join(root, '.ci/run'), 'utf8');
  const lines = /for line in ([\d ]+); do/.exec(ci)?.[1]?.trim().split(' ');
  const majors = [...pkg.engines.node.matchAll(/\^(\d+)\./g)].map((m) => m[1]);
  assert.deepEqual(majors.slice(1), lines, '.ci/run tests the lines engines names');
  assert.ok(
    majors.includes(process.versions.node.split('.')[0]),
    `engines covers ${process.version}`,
  );
  assert.equal(pkg.sideEffects, false);
  assert.deepEqual(pkg.dependencies ?? {}, {}, 'protoloop has no runtime dependencies');
  for (const [subpath, target] of Object.entries<Record<string, string>>(pkg.exports)) {
    if (subpath === './package.json') continue;
    assert.deepEqual(Object.keys(target), ['types', 'default'], subpath);
    for (const file of Object.values(target)) {
      assert.ok(
        packed!.files.some((f) => `./${f.path}` === file),
        `${subpath} points at ${file}, which is not in the tarball`,
      );
    }
  }
  assert.ok(typeof pkg.description === 'string' && pkg.description.length > 0);
  assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.includes('asyncio'));
  assert.equal(pkg.license, 'MIT');
});

const ECHO_JS = `
import { getRunningLoop, Protocol, run } from 'protoloop';
import { createTransportPair } from 'protoloop/testing';

class Echo extends Protocol {
  connectionMade(transport) { this.transport = transport; }
  dataReceived(data) { this.transport.write(data); }
}

class Client extends Protocol {
  constructor(done) { super(); this.done = done; this.chunks = []; }
  connectionMade(transport) {
    transport.write(Buffer.from('hello from plain JavaScript'));
    transport.writeEof();
  }
  dataReceived(data) { this.chunks.push(data); }
  connectionLost(exc) {
    if (exc) this.done.setException(exc);
    else this.done.setResult(Buffer.concat(this.chunks).toString());
  }
}

const echoed = await run(async () => {
  const loop = getRunningLoop();
  const server = await loop.createServer(() => new Echo(), '127.0.0.1', 0);
  const port = server.sockets[0].address().port;
  const done = loop.createFuture();
  await loop.createConnection(() => new Client(done), '127.0.0.1', port);
  const text = await done;
  server.close();
  await server.waitClosed();
  return text;
});
console.log(echoed);

// protoloop/testing: the same echo over an in-memory pair.
const overPair = await run(async () => {
  const done = getRunningLoop().createFuture();
  // Client.connectionMade writes and half-closes; Echo answers, then closes at EOF.
  createTransportPair(new Echo(), new Client(done));
  return await done;
});
console.log(overPair);
`;

test('from plain JavaScript: an echo round trip over TCP and over protoloop/testing', () => {
  writeFileSync(join(app, 'echo.js'), ECHO_JS);
  const r = spawnSync(process.execPath, ['echo.js'], {
    cwd: app,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
  });
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'hello from plain JavaScript\nhello from plain JavaScript\n');
});

test('only the exported entry points resolve', () => {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "await import('protoloop/dist/loop.js')"],
    { cwd: app, encoding: 'utf8', timeout: TIMEOUT_MS },
  );
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
});

const CONSUMER_TS = `
import {
  type Address,
  type CreateConnectionOptions,
  getRunningLoop,
  InvalidStateError,
  Protocol,
  type Server,
  type Transport,
} from 'protoloop';
import { createTransportPair, DEFAULT_CAPACITY } from 'protoloop/testing';

class Echo extends Protocol {
  transport: Transport | null = null;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }
  override dataReceived(data: Buffer): void {
    this.transport?.write(data);
  }
}

export async function main(): Promise<string> {
  const loop = getRunningLoop();
  await using server: Server = await loop.createServer(() => new Echo(), '127.0.0.1', 0);
  const options: CreateConnectionOptions = { happyEyeballsDelay: 0.25 };
  const [transport, protocol] = await loop.createConnection(() => new Echo(), '::1', 1, options);
  const echo: Echo = protocol;
  const [low, high]: [number, number] = transport.getWriteBufferLimits();
  const peer = transport.getExtraInfo('peername') as Address;
  const err: Error = new InvalidStateError('x');
  const [a, b]: [Transport, Transport] = createTransportPair(new Echo(), new Echo(), {
    capacity: DEFAULT_CAPACITY,
  });
  a.close();
  b.close();
  // @ts-expect-error a string is not bytes
  transport.write('text');
  // @ts-expect-error delays are numbers (seconds)
  loop.callLater('1', () => {});
  // @ts-expect-error options are camelCase
  await loop.createServer(() => new Echo(), null, 0, { reuse_address: true });
  return [echo, low, high, peer, err, server.isServing()].join();
}
`;

/** The README's TypeScript examples, each a module of its own. */
function readmeExamples(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test('from TypeScript: a consumer and the README examples type-check against the installed declarations', () => {
  writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
  const examples = readmeExamples();
  assert.ok(examples.length > 0);
  const files = ['consumer.ts'];
  examples.forEach((code, i) => {
    files.push(`readme-${i}.ts`);
    writeFileSync(join(app, `readme-${i}.ts`), code);
  });
  // A consumer's usual settings; skipLibCheck off, so protoloop's own .d.ts
  // files are checked too. @types/node comes from this repository.
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        typeRoots: [join(root, 'node_modules', '@types')],
        types: ['node'],
      },
      files,
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  assert.ok(existsSync(tsc));
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {
    cwd: app,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
  });
  assert.equal(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
});
