/**
 * Turn the benchmark's raw runs into a summary (medians, min-max, ratios),
 * a Markdown report and an SVG chart. Plain code, no dependencies.
 */
import type { RunRecord } from './run.js';

/** median / min / max of one quantity over the rounds. */
export interface Stat {
  median: number | null;
  min: number | null;
  max: number | null;
}

/** One server in one mode. */
export interface Cell {
  runs: number;
  failed_runs: number;
  errors: number;
  disturbed_runs: number;
  rps: Stat;
  mib_s: Stat;
  p99_us: number | null;
  server_cpu: number | null;
  client_cpu: number | null;
  server_us_per_req: Stat;
  server_us_per_mib: Stat;
  /** median(this) / median(node-net), rps (stream: MiB/s) */
  x_net: number | null;
  /** median(this) / median(node-onread) */
  x_onread: number | null;
}

export interface MemCell {
  runs: number;
  conns: number | null;
  heap_per_conn: Stat;
  external_per_conn: Stat;
  rss_per_conn: Stat;
  errors: string[];
}

export interface Summary {
  meta: Record<string, any>;
  /** key: `rr/1024`, `rr/10240`, ..., `stream` */
  echo: Record<string, { mode: string; size: number; servers: Record<string, Cell> }>;
  conn: Record<string, Cell>;
  mem: Record<string, MemCell>;
  cluster: Record<string, Cell>;
  sendfile: Record<string, Cell>;
}

const finite = (xs: Array<number | null | undefined>): number[] =>
  xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));

function median(xs: Array<number | null | undefined>): number | null {
  const v = finite(xs).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function stat(xs: Array<number | null | undefined>): Stat {
  const v = finite(xs);
  return {
    median: median(v),
    min: v.length ? Math.min(...v) : null,
    max: v.length ? Math.max(...v) : null,
  };
}

/** CPU used by other processes during a run (0 when unknown). */
const othersOf = (r: RunRecord): number => r.result.machine?.others_cpu ?? 0;

/**
 * One attempt per (section, server, mode, size, round): disturbed runs are
 * repeated, and of the attempts the least disturbed one (other processes
 * used the least CPU during it) is used; failed attempts only when nothing
 * else exists.
 */
function bestAttempts(records: RunRecord[]): RunRecord[] {
  const m = new Map<string, RunRecord>();
  const score = (r: RunRecord): number => (r.result.error ? Infinity : othersOf(r));
  for (const r of records) {
    const k = `${r.section}|${r.server}|${r.mode}|${r.size}|${r.round}`;
    const prev = m.get(k);
    if (!prev || score(r) < score(prev)) m.set(k, r);
  }
  return [...m.values()];
}

function cell(rs: RunRecord[]): Cell {
  const ok = rs.filter((r) => !r.result.error);
  const res = ok.map((r) => r.result);
  return {
    runs: ok.length,
    failed_runs: rs.length - ok.length,
    errors: res.reduce((a, r) => a + (r.errors ?? 0), 0),
    disturbed_runs: res.filter((r) => (r.machine?.others_cpu ?? 0) > 0.15).length,
    rps: stat(res.map((r) => r.rps)),
    mib_s: stat(res.map((r) => r.mib_s)),
    p99_us: median(res.map((r) => r.lat_us?.p99)),
    server_cpu: median(res.map((r) => r.server_cpu)),
    client_cpu: median(res.map((r) => r.client_cpu)),
    server_us_per_req: stat(
      res.map((r) => (r.rps > 0 && r.server_cpu != null ? (r.server_cpu / r.rps) * 1e6 : null)),
    ),
    server_us_per_mib: stat(
      res.map((r) => (r.mib_s > 0 && r.server_cpu != null ? (r.server_cpu / r.mib_s) * 1e6 : null)),
    ),
    x_net: null,
    x_onread: null,
  };
}

function group<K>(rs: RunRecord[], key: (r: RunRecord) => K): Map<K, RunRecord[]> {
  const m = new Map<K, RunRecord[]>();
  for (const r of rs) {
    const k = key(r);
    const l = m.get(k);
    if (l) l.push(r);
    else m.set(k, [r]);
  }
  return m;
}

function addRatios(cells: Record<string, Cell>, metric: (c: Cell) => number | null): void {
  const net = cells['node-net'] ? metric(cells['node-net']) : null;
  const onread = cells['node-onread'] ? metric(cells['node-onread']) : null;
  for (const c of Object.values(cells)) {
    const v = metric(c);
    c.x_net = v != null && net ? v / net : null;
    c.x_onread = v != null && onread ? v / onread : null;
  }
}

/** Build the summary from every run record. */
export function summarize(records: RunRecord[], meta: Record<string, any>): Summary {
  const used = bestAttempts(records);
  const order = (names: Iterable<string>): string[] => {
    const known = Object.keys(meta.servers ?? {});
    return [...names].sort((a, b) => {
      const ia = known.indexOf(a);
      const ib = known.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
  };
  const bySection = group(used, (r) => r.section);
  const summary: Summary = { meta, echo: {}, conn: {}, mem: {}, cluster: {}, sendfile: {} };

  const echo = bySection.get('echo') ?? [];
  const byMode = group(echo, (r) => (r.mode === 'stream' ? 'stream' : `rr/${r.size}`));
  const modeKeys = [...byMode.keys()].sort((a, b) => {
    const sa = a === 'stream' ? Infinity : Number(a.slice(3));
    const sb = b === 'stream' ? Infinity : Number(b.slice(3));
    return sa - sb;
  });
  for (const key of modeKeys) {
    const rs = byMode.get(key)!;
    const byServer = group(rs, (r) => r.server);
    const cells: Record<string, Cell> = {};
    for (const s of order(byServer.keys())) cells[s] = cell(byServer.get(s)!);
    addRatios(cells, key === 'stream' ? (c) => c.mib_s.median : (c) => c.rps.median);
    summary.echo[key] = { mode: rs[0]!.mode, size: rs[0]!.size, servers: cells };
  }
  for (const sec of ['conn', 'cluster', 'sendfile'] as const) {
    const byServer = group(bySection.get(sec) ?? [], (r) => r.server);
    const cells: Record<string, Cell> = {};
    for (const s of order(byServer.keys())) cells[s] = cell(byServer.get(s)!);
    addRatios(cells, sec === 'sendfile' ? (c) => c.mib_s.median : (c) => c.rps.median);
    summary[sec] = cells;
  }
  const memBy = group(bySection.get('mem') ?? [], (r) => r.server);
  for (const s of order(memBy.keys())) {
    const rs = memBy.get(s)!;
    const ok = rs.filter((r) => !r.result.error).map((r) => r.result);
    summary.mem[s] = {
      runs: ok.length,
      conns: median(ok.map((r) => r.conns)),
      heap_per_conn: stat(ok.map((r) => r.heap_per_conn)),
      external_per_conn: stat(ok.map((r) => r.external_per_conn)),
      rss_per_conn: stat(ok.map((r) => r.rss_per_conn)),
      errors: rs.filter((r) => r.result.error).map((r) => String(r.result.error)),
    };
  }
  return summary;
}

// ---- Markdown ----------------------------------------------------------------------

const int = (x: number | null): string =>
  x == null ? 'n/a' : Math.round(x).toLocaleString('en-US');
const fix = (x: number | null, d = 2): string => (x == null ? 'n/a' : x.toFixed(d));
const size = (b: number): string =>
  b >= 1024 * 1024 && b % (1024 * 1024) === 0
    ? `${b / 1024 / 1024} MiB`
    : b % 1024 === 0
      ? `${b / 1024} KiB`
      : `${b} B`;
const range = (s: Stat, f: (x: number | null) => string = int): string => `${f(s.min)}–${f(s.max)}`;
/** † client near saturation; ‡ disturbed run kept; ! errors or failed runs. */
const flags = (c: Cell): string =>
  (c.client_cpu != null && c.client_cpu >= 0.9 ? ' †' : '') +
  (c.disturbed_runs ? ' ‡' : '') +
  (c.errors || c.failed_runs ? ` ! (${c.errors} errors, ${c.failed_runs} failed runs)` : '');

/** The report as Markdown. */
export function renderMarkdown(s: Summary): string {
  const m = s.meta;
  const p = m.params;
  const out: string[] = [];
  out.push('# protoloop echo benchmark');
  out.push('');
  out.push(
    `Run ${m.started_utc} – ${m.finished_utc} (${m.elapsed_s} s) on ${m.machine.cpus} vCPU ${m.machine.cpu_model}, Linux ${m.machine.kernel}, Node ${m.machine.node}, Python ${m.machine.python}.`,
  );
  out.push('');
  out.push(
    `Method: server pinned to CPU ${p.server_cpu}, C epoll client (bench/echo_client.c) pinned to CPU ${p.client_cpu}; ${p.rounds} interleaved rounds, a fresh server process per run, ${p.warmup_s} s warm-up + ${p.duration_s} s measured; ${p.conns} connections; medians over rounds (min–max shows the noise). ` +
      '×net = ratio to Node `net` (the idiomatic baseline), ×onread = ratio to the `onread` reference server; server µs/req = server CPU time per request (independent of the client); client CPU near 1.0 (†) means the client limits the number. A run disturbed by other processes (> 0.15 of a core) is repeated up to twice and the least disturbed attempt is used; ‡ = even that one was disturbed.',
  );
  out.push('');
  const keys = Object.keys(s.echo);
  if (keys.length) {
    const names = Object.keys(s.echo[keys[0]!]!.servers);
    out.push('## Overview (median req/s; stream: MiB/s; ×net)');
    out.push('');
    const head = [
      'server',
      ...keys.map((k) => (k === 'stream' ? 'stream MiB/s' : `${size(s.echo[k]!.size)} req/s`)),
      ...keys.filter((k) => k !== 'stream').map((k) => `µs/req ${size(s.echo[k]!.size)}`),
    ];
    out.push(`| ${head.join(' | ')} |`);
    out.push(`|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
    for (const n of names) {
      const cells = [n];
      for (const k of keys) {
        const c = s.echo[k]!.servers[n];
        if (!c) cells.push('–');
        else {
          const v = k === 'stream' ? c.mib_s.median : c.rps.median;
          cells.push(`${int(v)} (${fix(c.x_net)})${flags(c)}`);
        }
      }
      for (const k of keys.filter((k) => k !== 'stream')) {
        cells.push(fix(s.echo[k]!.servers[n]?.server_us_per_req.median ?? null, 1));
      }
      out.push(`| ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  for (const k of keys) {
    const g = s.echo[k]!;
    const stream = k === 'stream';
    out.push(
      stream
        ? `## Stream: ${p.conns} connections writing ${size(g.size)} chunks continuously`
        : `## Request/response, ${size(g.size)} messages, ${p.conns} connections`,
    );
    out.push('');
    if (stream) {
      out.push(
        '| server | MiB/s | min–max | ×net | ×onread | server CPU | server µs/MiB | client CPU |',
      );
      out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
      for (const [n, c] of Object.entries(g.servers)) {
        out.push(
          `| ${n} | ${int(c.mib_s.median)}${flags(c)} | ${range(c.mib_s)} | ${fix(c.x_net)} | ${fix(c.x_onread)} | ${fix(c.server_cpu)} | ${int(c.server_us_per_mib.median)} | ${fix(c.client_cpu)} |`,
        );
      }
    } else {
      out.push(
        '| server | req/s | min–max | ×net | ×onread | p99 µs | server CPU | server µs/req (min–max) | client CPU |',
      );
      out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const [n, c] of Object.entries(g.servers)) {
        out.push(
          `| ${n} | ${int(c.rps.median)}${flags(c)} | ${range(c.rps)} | ${fix(c.x_net)} | ${fix(c.x_onread)} | ${int(c.p99_us)} | ${fix(c.server_cpu)} | ${fix(c.server_us_per_req.median, 2)} (${range(c.server_us_per_req, (x) => fix(x, 2))}) | ${fix(c.client_cpu)} |`,
        );
      }
    }
    out.push('');
  }
  if (Object.keys(s.conn).length) {
    out.push(
      `## Connections accepted and closed per second (${p.conns} concurrent: connect, 1-byte echo, close)`,
    );
    out.push('');
    out.push('| server | conn/s | min–max | ×net | server CPU | server µs/conn | client CPU |');
    out.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const [n, c] of Object.entries(s.conn)) {
      out.push(
        `| ${n} | ${int(c.rps.median)}${flags(c)} | ${range(c.rps)} | ${fix(c.x_net)} | ${fix(c.server_cpu)} | ${fix(c.server_us_per_req.median, 1)} | ${fix(c.client_cpu)} |`,
      );
    }
    out.push('');
  }
  if (Object.keys(s.mem).length) {
    out.push(
      `## Memory per idle connection (${p.idle_conns} connections, each echoed 1 byte, then idle; after full GCs)`,
    );
    out.push('');
    out.push(
      '| server | connections | JS heap B/conn (min–max) | external B/conn | RSS B/conn (min–max) |',
    );
    out.push('|---|---:|---:|---:|---:|');
    for (const [n, c] of Object.entries(s.mem)) {
      out.push(
        `| ${n} | ${int(c.conns)} | ${int(c.heap_per_conn.median)} (${range(c.heap_per_conn)}) | ${int(c.external_per_conn.median)} | ${int(c.rss_per_conn.median)} (${range(c.rss_per_conn)}) |` +
          (c.errors.length ? ` errors: ${c.errors.join('; ')}` : ''),
      );
    }
    out.push('');
  }
  if (Object.keys(s.cluster).length) {
    const one = s.cluster['cluster-1']?.rps.median ?? null;
    out.push(
      `## Every core: examples/cluster.ts with node:cluster (1 KiB request/response, ${p.conns * 2} connections; primary, workers and client share all ${m.machine.cpus} CPUs)`,
    );
    out.push('');
    out.push(
      '| server | req/s | min–max | × 1 worker | server CPU (all processes) | server µs/req | client CPU |',
    );
    out.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const [n, c] of Object.entries(s.cluster)) {
      out.push(
        `| ${n} | ${int(c.rps.median)}${flags(c)} | ${range(c.rps)} | ${fix(one && c.rps.median != null ? c.rps.median / one : null)} | ${fix(c.server_cpu)} | ${fix(c.server_us_per_req.median, 1)} | ${fix(c.client_cpu)} |`,
      );
    }
    out.push('');
  }
  if (Object.keys(s.sendfile).length) {
    out.push(
      '## sendfile: whole-file downloads of an 8 MiB file, 4 concurrent connections (close after each file)',
    );
    out.push('');
    out.push('| server | MiB/s | min–max | files/s | server CPU | server µs/MiB | client CPU |');
    out.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const [n, c] of Object.entries(s.sendfile)) {
      out.push(
        `| ${n} | ${int(c.mib_s.median)}${flags(c)} | ${range(c.mib_s)} | ${fix(c.rps.median, 1)} | ${fix(c.server_cpu)} | ${int(c.server_us_per_mib.median)} | ${fix(c.client_cpu)} |`,
      );
    }
    out.push('');
  }
  out.push('## Servers');
  out.push('');
  for (const [n, d] of Object.entries(m.servers ?? {})) out.push(`- **${n}**: ${d}`);
  out.push(
    '- **cluster-N**: examples/cluster.ts `serve`: N workers, each a protoloop `Protocol` echo server, sharing one port through node:cluster',
  );
  out.push(
    '- **sendfile-protoloop** / **sendfile-node-pipe**: `await loop.sendfile(transport, fileHandle)` / `fs.createReadStream(file).pipe(socket)`',
  );
  out.push('');
  out.push('Raw runs: bench/results/latest.jsonl; everything: bench/results/latest.json.');
  out.push('');
  return out.join('\n');
}

// ---- SVG ---------------------------------------------------------------------------

const PALETTE = [
  '#1f6feb',
  '#58a6ff',
  '#0b3d91',
  '#6e7781',
  '#d29922',
  '#2da44e',
  '#8250df',
  '#cf222e',
];

const esc = (t: string): string =>
  t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A grouped bar chart: one group per mode (1/10/100 KiB request/response,
 * stream), one bar per server, bar height = ratio to Node `net` in that mode,
 * labelled with the ratio; min-max whiskers from the rounds.
 */
export function renderSvg(s: Summary): string {
  const keys = Object.keys(s.echo);
  const names = keys.length ? Object.keys(s.echo[keys[0]!]!.servers) : [];
  const W = 900;
  const H = 420;
  const left = 60;
  const right = 20;
  const top = 50;
  const bottom = 80 + 18 * Math.ceil(names.length / 3);
  const plotH = H - top - bottom + 18 * Math.ceil(names.length / 3);
  const height = H + 18 * Math.ceil(names.length / 3);
  const ratios: number[] = [];
  for (const k of keys) {
    for (const n of names) {
      const c = s.echo[k]!.servers[n];
      if (!c?.x_net) continue;
      const base =
        k === 'stream'
          ? s.echo[k]!.servers['node-net']?.mib_s.median
          : s.echo[k]!.servers['node-net']?.rps.median;
      const hi = k === 'stream' ? c.mib_s.max : c.rps.max;
      ratios.push(c.x_net, base && hi ? hi / base : c.x_net);
    }
  }
  const maxR = Math.max(1.5, Math.ceil((Math.max(...ratios, 1) + 0.25) * 2) / 2);
  const y = (r: number): number => top + plotH - (r / maxR) * plotH;
  const groupW = (W - left - right) / Math.max(1, keys.length);
  const barW = Math.min(36, (groupW - 20) / Math.max(1, names.length));
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
  );
  o.push(
    '<title>protoloop echo benchmark: throughput of each server relative to Node net, per message size</title>',
  );
  o.push(`<rect width="${W}" height="${height}" fill="#ffffff"/>`);
  o.push(
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">Echo throughput relative to Node net (higher is better; whiskers: min–max over rounds)</text>`,
  );
  const m = s.meta;
  o.push(
    `<text x="${W / 2}" y="40" text-anchor="middle" fill="#57606a">${esc(`${m.machine.cpus} vCPU, Node ${m.machine.node}, ${m.params.rounds} rounds, server and C client pinned to separate cores, ${m.finished_utc.slice(0, 10)}`)}</text>`,
  );
  for (let r = 0; r <= maxR + 1e-9; r += 0.5) {
    const yy = y(r).toFixed(1);
    o.push(
      `<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="${r === 1 ? '#57606a' : '#d0d7de'}" stroke-width="${r === 1 ? 1.5 : 1}"${r === 1 ? ' stroke-dasharray="4 3"' : ''}/>`,
    );
    o.push(
      `<text x="${left - 8}" y="${(y(r) + 4).toFixed(1)}" text-anchor="end" fill="#57606a">${r.toFixed(1)}×</text>`,
    );
  }
  keys.forEach((k, gi) => {
    const g = s.echo[k]!;
    const gx = left + gi * groupW + (groupW - barW * names.length) / 2;
    names.forEach((n, si) => {
      const c = g.servers[n];
      if (!c || c.x_net == null) return;
      const x = gx + si * barW;
      const yy = y(c.x_net);
      o.push(
        `<rect x="${(x + 2).toFixed(1)}" y="${yy.toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${(top + plotH - yy).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${n}: ${c.x_net.toFixed(2)}× node-net`)}</title></rect>`,
      );
      const base =
        k === 'stream' ? g.servers['node-net']?.mib_s.median : g.servers['node-net']?.rps.median;
      const lo = k === 'stream' ? c.mib_s.min : c.rps.min;
      const hi = k === 'stream' ? c.mib_s.max : c.rps.max;
      if (base && lo != null && hi != null) {
        const cx = (x + barW / 2).toFixed(1);
        o.push(
          `<line x1="${cx}" x2="${cx}" y1="${y(lo / base).toFixed(1)}" y2="${y(hi / base).toFixed(1)}" stroke="#24292f" stroke-width="1"/>`,
        );
      }
      o.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(yy - 6).toFixed(1)}" text-anchor="middle" font-size="10" fill="#24292f">${c.x_net.toFixed(2)}</text>`,
      );
    });
    const label =
      k === 'stream' ? `stream (${size(g.size)} writes)` : `${size(g.size)} request/response`;
    o.push(
      `<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${(top + plotH + 18).toFixed(1)}" text-anchor="middle" font-weight="600">${esc(label)}</text>`,
    );
  });
  const ly = top + plotH + 42;
  names.forEach((n, i) => {
    const col = i % 3;
    const row = Math.floor(i / 3);
    const x = left + col * 270;
    const yy = ly + row * 18;
    o.push(
      `<rect x="${x}" y="${yy - 10}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`,
    );
    o.push(`<text x="${x + 18}" y="${yy}">${esc(n)}</text>`);
  });
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}
