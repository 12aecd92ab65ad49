/**
 * python3's asyncio as a live peer: run a script that prints one line
 * (e.g. its port) when ready, collect its output, and make sure it ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface PythonPeer {
  child: ChildProcess;
  /** The first line the script printed. */
  ready: string;
  /** Everything printed on stdout, once the process exited. */
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export async function startPython(script: string, args: string[] = []): Promise<PythonPeer> {
  const child = spawn('python3', ['-c', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const ready = await new Promise<string>((resolve, reject) => {
    const onData = (d: string): void => {
      stdout += d;
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (more: string) => {
          stdout += more;
        });
        resolve(stdout.slice(0, nl));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      reject(new Error(`python exited (${code}) before ready: ${stderr}`)),
    );
  });
  return { child, ready, exited };
}
