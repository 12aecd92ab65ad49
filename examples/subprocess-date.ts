/**
 * The reference page's "loop.subprocess_exec() and SubprocessProtocol"
 * example: run a child that prints the current date, collect its output
 * with a SubprocessProtocol, wait for it to exit, print
 * `Current date: ...`. `process.execPath` (node) stands in for
 * `sys.executable`, and the child prints the date as Python's
 * `print(datetime.datetime.now())` does.
 *
 * protoloop guarantees that every pipeConnectionLost comes before
 * processExited, so the protocol could resolve in processExited alone; the
 * example keeps the Python version's check of both for a faithful port.
 */
import { type Future, getRunningLoop, run, SubprocessProtocol } from '../src/index.js';

class DateProtocol extends SubprocessProtocol {
  output: Buffer[] = [];
  pipeClosed = false;
  exited = false;

  constructor(private exitFuture: Future<boolean>) {
    super();
  }

  override pipeConnectionLost(_fd: number, _exc: Error | null): void {
    this.pipeClosed = true;
    this.checkForExit();
  }

  override pipeDataReceived(_fd: number, data: Buffer): void {
    this.output.push(data);
  }

  override processExited(): void {
    this.exited = true;
    this.checkForExit();
  }

  checkForExit(): void {
    if (this.pipeClosed && this.exited) this.exitFuture.setResult(true);
  }
}

/** Python's `str(datetime.datetime.now())`: local time, microseconds. */
const code = `const d = new Date(), p = (n, w = 2) => String(n).padStart(w, '0');
console.log(\`\${d.getFullYear()}-\${p(d.getMonth() + 1)}-\${p(d.getDate())} \` +
  \`\${p(d.getHours())}:\${p(d.getMinutes())}:\${p(d.getSeconds())}.\${p(d.getMilliseconds() * 1000, 6)}\`);`;

async function getDate(): Promise<string> {
  // Get a reference to the event loop as we plan to use low-level APIs.
  const loop = getRunningLoop();
  const exitFuture = loop.createFuture<boolean>();

  // Create the subprocess controlled by DateProtocol; redirect the standard
  // output into a pipe.
  const [transport, protocol] = await loop.subprocessExec(
    () => new DateProtocol(exitFuture),
    process.execPath,
    ['-e', code],
    { stdin: null, stderr: null },
  );

  // Wait for the subprocess exit using the processExited() method of the protocol.
  await exitFuture;

  // Close the stdout pipe.
  transport.close();

  // Read the output which was collected by the pipeDataReceived() method of the protocol.
  return Buffer.concat(protocol.output).toString('ascii').trimEnd();
}

export async function main(): Promise<void> {
  const date = await run(getDate);
  console.log(`Current date: ${date}`);
}
