/**
 * An HTTP/1.1 server on a protoloop `Protocol`: keep-alive, pipelining,
 * chunked request bodies, `Expect: 100-continue`, and backpressure both
 * ways, over the sans-IO parser of examples/http/parser.ts.
 *
 * ```ts
 * const server = await startHttpServer({
 *   port: 8080,
 *   handler: (req) => ({ status: 200, headers: [['Content-Type', 'text/plain']], body: 'hi\n' }),
 * });
 * ```
 *
 * - **Responses in order.** The handler may return a response or a Promise
 *   of one; pipelined requests are answered in the order they came,
 *   whatever order their promises settle in. Each response is one
 *   `writelines([head, body])`: the head is built once as one Buffer, with
 *   a `Date` string that is rebuilt at most once a second.
 * - **Read backpressure.** While requests wait for their (async) responses
 *   the transport stops reading (`pauseReading()`), and past
 *   {@link MAX_BACKLOG} waiting requests the parser stops too; both resume
 *   when the backlog is answered.
 * - **Write backpressure.** `pauseWriting()` (the transport's buffer went
 *   over its high-water mark: the client is not reading) stops everything:
 *   no more requests are parsed, nothing more is read, and the bytes
 *   already read stay in the parser. `resumeWriting()` carries on where it
 *   stopped. A client that pipelines a thousand requests for large
 *   responses and reads nothing costs one high-water mark plus one
 *   response, not a thousand responses.
 * - **Closing.** A request that is not keep-alive (`Connection: close`,
 *   HTTP/1.0 by default) gets `Connection: close` and the transport closes
 *   after its response; nothing after it is parsed. A parse error gets its
 *   status (`HTTP/1.1 400 Bad Request`...) after the responses already
 *   owed, then the write side is shut and the rest of the input is read and
 *   dropped until the client closes (at most {@link LINGER_SECONDS}), so
 *   that the client reads the error instead of a reset. A handler that
 *   throws (or rejects) gets a 500 and the loop's exception handler hears
 *   of it; the connection carries on. Nothing throws out of `dataReceived`.
 * - **HEAD** gets the headers of the GET response (Content-Length
 *   included), no body; 204 and 304 get neither body nor Content-Length.
 *
 * Call grammar (the transport's, as for every protocol):
 * `connectionMade -> dataReceived* -> [pauseWriting -> resumeWriting]* -> eofReceived? -> connectionLost`.
 *
 * `main()` (the tour) starts a server on a free port and talks to it.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import {
  type EventLoop,
  getRunningLoop,
  Protocol,
  type Server,
  type TimerHandle,
  type Transport,
} from '../src/index.js';
import {
  HttpParseError,
  type HttpParserLimits,
  type HttpRequest,
  HttpRequestParser,
  REASONS,
} from './http/parser.js';

export {
  HttpParseError,
  type HttpParserLimits,
  HttpRequest,
  HttpRequestParser,
} from './http/parser.js';

/** What a handler returns. Content-Length, Date and Connection are the server's to write. */
export interface HttpResponse {
  /** Default 200. An integer in 200..599. */
  status?: number;
  /** Extra header fields, in order. Names and values must not hold CR or LF. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** A string (sent as UTF-8) or bytes. Default empty. */
  body?: string | Uint8Array;
  /** Close the connection after this response. */
  close?: boolean;
}

/** Answers one request; may return a Promise (responses still go out in request order). */
export type HttpHandler = (req: HttpRequest) => HttpResponse | PromiseLike<HttpResponse>;

/** Options of {@link HttpServerProtocol} and {@link startHttpServer}: the parser's limits, and a handler. */
export interface HttpServerOptions extends HttpParserLimits {
  handler?: HttpHandler;
}

/** Requests parsed ahead of their responses at most (async handlers); then the parser waits. */
export const MAX_BACKLOG = 16;
/** After an error response, how long the server reads and drops input before closing anyway. */
export const LINGER_SECONDS = 2;

const HELLO = Buffer.from('Hello from protoloop\n');
const HELLO_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Type', 'text/plain; charset=utf-8'],
];

/** The default handler: a plain-text greeting for everything. */
export const helloHandler: HttpHandler = () => ({ headers: HELLO_HEADERS, body: HELLO });

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

// ---- response heads --------------------------------------------------------------

/** `HTTP/1.1 200 OK\r\n` per status, built once. */
const statusLines = new Map<number, string>();
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}\r\n`;
    statusLines.set(status, line);
  }
  return line;
}

let dateLine = '';
let dateUntil = 0;
/**
 * `Date: <IMF-fixdate>\r\n`, rebuilt when the second changes: computed
 * lazily on the next response (a Date.now() compare), so no timer runs.
 */
function dateHeader(): string {
  const now = Date.now();
  if (now >= dateUntil) {
    dateLine = `Date: ${new Date(now).toUTCString()}\r\n`;
    dateUntil = now - (now % 1000) + 1000;
  }
  return dateLine;
}

/** The error response for a parse error: no Date, so tests can compare bytes. */
function errorResponse(status: number): Buffer {
  return Buffer.from(
    `${statusLine(status)}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    'latin1',
  );
}

const hasCrLf = (s: string): boolean => s.includes('\r') || s.includes('\n');

/** One request waiting for its response (async handler), in arrival order. */
interface Slot {
  req: HttpRequest;
  res: HttpResponse | null;
}

/**
 * One HTTP connection. Pass `() => new HttpServerProtocol(handler)` to
 * `loop.createServer()` (what {@link startHttpServer} does); the callbacks
 * below are the transport's to call.
 */
export class HttpServerProtocol extends Protocol {
  readonly #handler: HttpHandler;
  readonly #parser: HttpRequestParser;
  readonly #loop: EventLoop;
  #transport: Transport | null = null;
  /** Requests waiting for their responses, oldest at #head. Empty when every handler was synchronous. */
  #slots: Array<Slot | undefined> = [];
  #head = 0;
  #writePaused = false;
  /** A request whose `100 Continue` waits for the responses before it. */
  #continueFor: HttpRequest | null = null;
  /** No more requests: after one that is not keep-alive, or a parse error. */
  #closing = false;
  /** The status of a parse error still to be sent (after the backlog). */
  #errorStatus = 0;
  /** The error response went out; input is dropped until EOF or the linger timer. */
  #lingering = false;
  #lingerTimer: TimerHandle | null = null;
  #eof = false;
  #lost = false;
  /** Inside parser.feed()/resume(): more requests may follow in the same buffer. */
  #parsing = false;

  /** @throws TypeError handler is not a function, or a bad parser limit. */
  constructor(handler: HttpHandler = helloHandler, limits: HttpParserLimits = {}) {
    super();
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    this.#handler = handler;
    this.#loop = getRunningLoop();
    this.#parser = new HttpRequestParser(
      { onHead: (req) => this.#onHead(req), onRequest: (req) => this.#onRequest(req) },
      limits,
    );
  }

  /** False between the transport's pauseWriting() and resumeWriting(): nothing is parsed or read meanwhile. */
  get writing(): boolean {
    return !this.#writePaused;
  }

  /** Requests parsed and not answered yet (async handlers). */
  get backlog(): number {
    return this.#slots.length - this.#head;
  }

  // ---- protocol callbacks (the transport's) ------------------------------------

  override connectionMade(transport: Transport): void {
    this.#transport = transport;
  }

  override dataReceived(data: Buffer): void {
    if (this.#lingering || this.#closing) return; // after an error or a final request: dropped
    this.#parsing = true;
    try {
      this.#parser.feed(data);
    } catch (err) {
      this.#parsing = false;
      this.#parseFailed(err);
    } finally {
      this.#parsing = false;
    }
  }

  override eofReceived(): boolean {
    this.#eof = true;
    if (this.#lingering) return false;
    // Keep the write side open while responses are owed or complete requests
    // wait in the paused parser; #updateFlow closes once they are answered.
    // (Bytes of an incomplete request are dropped.)
    return this.backlog > 0 || (this.#parser.paused && !this.#closing);
  }

  override pauseWriting(): void {
    this.#writePaused = true;
    this.#updateFlow();
  }

  override resumeWriting(): void {
    this.#writePaused = false;
    this.#updateFlow();
  }

  override connectionLost(_exc: Error | null): void {
    this.#lost = true;
    this.#closing = true;
    this.#slots = [];
    this.#head = 0;
    this.#lingerTimer?.cancel();
    this.#lingerTimer = null;
  }

  // ---- the parser's callbacks -----------------------------------------------------

  #onHead(req: HttpRequest): void {
    if (!req.expectContinue) return;
    if (this.backlog === 0) this.#transport!.write(CONTINUE);
    else {
      // The 100 must not overtake the responses owed before it: wait for them.
      this.#continueFor = req;
      this.#updateFlow();
    }
  }

  #onRequest(req: HttpRequest): void {
    if (!req.keepAlive) this.#closing = true; // nothing after this request is read
    let res: HttpResponse | PromiseLike<HttpResponse>;
    try {
      res = this.#handler(req);
    } catch (err) {
      res = this.#handlerFailed(err);
    }
    if (typeof (res as PromiseLike<HttpResponse>)?.then === 'function') {
      const slot: Slot = { req, res: null };
      this.#slots.push(slot);
      (res as PromiseLike<HttpResponse>).then(
        (r) => this.#settle(slot, r),
        (err) => this.#settle(slot, this.#handlerFailed(err)),
      );
    } else if (this.backlog === 0) {
      this.#respond(req, res as HttpResponse); // the synchronous fast path: no slot
    } else {
      this.#slots.push({ req, res: res as HttpResponse });
    }
    this.#updateFlow();
  }

  // ---- internals -------------------------------------------------------------------

  #handlerFailed(err: unknown): HttpResponse {
    this.#loop.callExceptionHandler({
      message: 'HTTP request handler failed',
      exception: err instanceof Error ? err : new Error(String(err)),
      transport: this.#transport ?? undefined,
      protocol: this,
    });
    return { status: 500 };
  }

  #settle(slot: Slot, res: HttpResponse): void {
    if (this.#lost) return;
    slot.res = res;
    this.#flushSlots();
    this.#updateFlow();
  }

  /** Write the responses that are ready, oldest first, up to the first one still pending. */
  #flushSlots(): void {
    const slots = this.#slots;
    while (this.#head < slots.length && !this.#lost) {
      const s = slots[this.#head]!;
      if (s.res === null) return;
      slots[this.#head++] = undefined;
      this.#respond(s.req, s.res);
    }
    slots.length = 0;
    this.#head = 0;
  }

  /** Build the head once and write head and body in one writelines(). */
  #respond(req: HttpRequest, res: HttpResponse): void {
    const t = this.#transport!;
    if (t.isClosing()) return;
    let status = 200;
    let body: Uint8Array = EMPTY;
    let head: string;
    try {
      if (res === null || typeof res !== 'object')
        throw new TypeError(`the handler must return a response object, got ${String(res)}`);
      status = res.status ?? 200;
      if (!Number.isInteger(status) || status < 200 || status > 599)
        throw new RangeError(`response status must be an integer in 200..599, got ${status}`);
      const b = res.body;
      if (b !== undefined) body = typeof b === 'string' ? Buffer.from(b) : b;
      head = statusLine(status) + dateHeader();
      if (status !== 204 && status !== 304) head += `Content-Length: ${body.length}\r\n`;
      const hs = res.headers;
      if (hs !== undefined) {
        for (let i = 0; i < hs.length; i++) {
          const [n, v] = hs[i]!;
          if (hasCrLf(n) || hasCrLf(v))
            throw new TypeError(`response header ${JSON.stringify(n)} holds CR or LF`);
          head += `${n}: ${v}\r\n`;
        }
      }
    } catch (err) {
      res = this.#handlerFailed(err);
      status = 500;
      body = EMPTY;
      head = `${statusLine(500) + dateHeader()}Content-Length: 0\r\n`;
    }
    const close = !req.keepAlive || res.close === true;
    if (close) head += 'Connection: close\r\n\r\n';
    else head += req.version === '1.0' ? 'Connection: keep-alive\r\n\r\n' : '\r\n';
    const headBuf = Buffer.from(head, 'latin1');
    if (body.length === 0 || req.method === 'HEAD' || status === 204 || status === 304)
      t.write(headBuf);
    else t.writelines([headBuf, body]);
    if (close) {
      this.#closing = true;
      t.close();
    }
  }

  /**
   * Decide, from the state, whether the transport reads and whether the
   * parser runs; the one place both are switched. Also sends what waited
   * for the backlog to empty (a 100 Continue, an error response), and
   * closes after EOF once everything is answered.
   */
  #updateFlow(): void {
    if (this.#lost) return;
    const t = this.#transport!;
    const backlog = this.backlog;
    if (backlog === 0 && !this.#writePaused) {
      if (this.#errorStatus !== 0) {
        this.#sendError();
        return;
      }
      if (this.#continueFor !== null) {
        this.#continueFor = null;
        t.write(CONTINUE);
      }
    }
    if (this.#closing) {
      this.#parser.pause();
      return;
    }
    const parse = !this.#writePaused && backlog < MAX_BACKLOG && this.#continueFor === null;
    const read = parse && backlog === 0;
    if (read !== t.isReading()) {
      if (read) t.resumeReading();
      else t.pauseReading();
    }
    if (!parse) this.#parser.pause();
    else if (this.#parser.paused && !this.#parsing) {
      this.#parsing = true;
      try {
        this.#parser.resume();
      } catch (err) {
        this.#parsing = false;
        this.#parseFailed(err);
        return;
      } finally {
        this.#parsing = false;
      }
    } else if (this.#parser.paused) this.#parser.resume(); // inside a callback: the loop goes on
    // After EOF, close once every complete request is answered.
    if (this.#eof && !this.#parsing && this.backlog === 0 && !this.#parser.paused) t.close();
  }

  #parseFailed(err: unknown): void {
    if (!(err instanceof HttpParseError)) throw err;
    this.#closing = true;
    this.#errorStatus = err.status;
    this.#updateFlow();
  }

  /** The error response, then half-close and drop input until EOF (or the linger timer). */
  #sendError(): void {
    const t = this.#transport!;
    const status = this.#errorStatus;
    this.#errorStatus = 0;
    this.#lingering = true;
    if (t.isClosing()) return;
    t.write(errorResponse(status));
    if (this.#eof || !t.canWriteEof()) {
      t.close();
      return;
    }
    t.writeEof();
    if (!t.isReading()) t.resumeReading();
    this.#lingerTimer = this.#loop.callLater(LINGER_SECONDS, () => t.close());
  }
}

/** Where and how {@link startHttpServer} listens. */
export interface StartHttpServerOptions extends HttpServerOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: any free port (see `server.sockets[0].address()`). */
  port?: number;
}

/** Listen with {@link HttpServerProtocol}; resolves with the loop's Server. */
export function startHttpServer(options: StartHttpServerOptions = {}): Promise<Server> {
  const { host = '127.0.0.1', port = 0, handler = helloHandler, ...limits } = options;
  if (typeof handler !== 'function') throw new TypeError('options.handler must be a function');
  return getRunningLoop().createServer(() => new HttpServerProtocol(handler, limits), host, port);
}

// ---- the tour ------------------------------------------------------------------

/** One request with node:http (no agent: one connection each, `Connection: close`). */
function request(
  port: number,
  method: string,
  path: string,
  body?: string[],
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text, headers: res.headers }));
    });
    req.on('error', reject);
    for (const piece of body ?? []) req.write(piece); // no Content-Length: node sends it chunked
    req.end();
  });
}

/** Send `bytes` on a raw socket and collect everything until the server closes. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.end(bytes));
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

/**
 * Start a server on 127.0.0.1 port 0, make a few requests (node:http and a
 * raw socket), print one line each, and close everything.
 */
export async function main(): Promise<void> {
  const handler: HttpHandler = async (req) => {
    if (req.target === '/echo')
      return { headers: [['Content-Type', 'application/octet-stream']], body: req.body };
    if (req.target === '/slow') {
      await new Promise((r) => setImmediate(r));
      return { body: 'slow\n' };
    }
    return { headers: HELLO_HEADERS, body: `${req.method} ${req.target}\n` };
  };
  const server = await startHttpServer({ handler });
  const port = (server.sockets[0]!.address() as net.AddressInfo).port;
  console.log('HTTP server listening on 127.0.0.1 (a free port)');
  const get = await request(port, 'GET', '/hello');
  console.log(`GET /hello -> ${get.status} ${JSON.stringify(get.text)}`);
  const echo = await request(port, 'POST', '/echo', ['chunked ', 'upload']);
  console.log(
    `POST /echo (chunked upload, 2 chunks) -> ${echo.status} ${JSON.stringify(echo.text)}`,
  );
  // Three requests in one write; the second is slow, the answers still come in order.
  const three = await raw(
    port,
    'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  const bodies = three
    .split('HTTP/1.1 ')
    .slice(1)
    .map((r) => `${r.slice(0, 3)} ${r.slice(r.indexOf('\r\n\r\n') + 4).trim()}`);
  console.log(`3 pipelined requests in one write, one of them slow -> ${bodies.join(' | ')}`);
  const bad = await raw(port, 'GET /\r\n\r\n');
  console.log(`A request line without a version -> ${bad.split('\r\n')[0]}`);
  server.close();
  await server.waitClosed();
  console.log('Server closed');
}
