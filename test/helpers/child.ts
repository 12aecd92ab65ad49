/**
 * A test's child process: a compiled fixture run with this Node, bounded in
 * time (killed after `ms`), its whole output collected.
 */
import { spawn } from 'node:child_process';

/** Run `node [...execArgv] file [...args]`; resolves with its stdout and stderr, rejects on a non-zero exit. */
export function runChild(
  file: string,
  opts: { args?: string[]; execArgv?: string[]; env?: NodeJS.ProcessEnv; ms?: number } = {},
): Promise<{ out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...(opts.execArgv ?? []), file, ...(opts.args ?? [])], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.ms ?? 60_000);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${file} exited with ${code}: ${err}`));
      else resolve({ out, err });
    });
  });
}
