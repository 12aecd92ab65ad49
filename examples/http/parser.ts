/**
 * A sans-IO HTTP/1.1 request parser: bytes in (any split, one byte at a
 * time included), requests out. No socket, no timer: the server of
 * examples/http-server.ts feeds it what `dataReceived` gets.
 *
 * ```ts
 * const parser = new HttpRequestParser({
 *   onHead: (req) => { if (req.expectContinue) write('HTTP/1.1 100 Continue\r\n\r\n'); },
 *   onRequest: (req) => respond(req),   // head, body and trailers complete
 * });
 * parser.feed(chunk);                    // throws HttpParseError (with .status) on bad input
 * ```
 *
 * What it accepts (RFC 9112), and how strictly:
 *
 * - **Lines end with CRLF.** A bare LF (or a bare CR) anywhere in the head,
 *   a chunk-size line or the trailers is a 400: strict, unlike Node's
 *   lenient llhttp flags, because a peer and a proxy that disagree on line
 *   ends are a request smuggling vector. Empty lines (CRLF) before a request
 *   line are skipped (RFC 9112 section 2.2).
 * - **Request line** `method SP target SP version`: method a token; target
 *   visible ASCII, at most `maxTargetLength` bytes (else 414; a request line
 *   longer than `maxHeaderSize` is a 431 first); method at most 32 bytes;
 *   version
 *   `HTTP/1.1` or `HTTP/1.0` (another `HTTP/d.d` is a 505, anything else a
 *   400).
 * - **Headers** `name: value`: name a token with no space before the colon;
 *   value trimmed of spaces and tabs, no control bytes but tab. A line that
 *   starts with a space or tab (obs-fold continuation) is a 400. The whole
 *   head (request line to the empty line) is at most `maxHeaderSize` bytes,
 *   else 431. HTTP/1.1 needs exactly one Host, HTTP/1.0 at most one (400).
 * - **Body**: `Content-Length` (digits; repeated or listed values must all
 *   be equal) or `Transfer-Encoding: chunked` (chunk extensions are checked
 *   and ignored; trailers are parsed like headers and kept in
 *   `req.trailers`). Both at once is a 400 (no request smuggling); a coding
 *   other than `chunked` is a 501; a body over `maxBodySize` is a 413,
 *   decided from Content-Length or the chunk sizes before the bytes arrive.
 *   The body is collected: `req.body` is one Buffer when `onRequest` runs.
 * - **Keep-alive**: HTTP/1.1 keeps the connection unless `Connection:
 *   close`; HTTP/1.0 closes it unless `Connection: keep-alive`.
 *   `req.keepAlive` says which. Pipelined requests in one buffer come out
 *   one after the other.
 * - **`Expect: 100-continue`** (HTTP/1.1, with a body): `req.expectContinue`
 *   is true in `onHead`, which runs before any byte of the body is read, so
 *   the server can send `100 Continue` (or pause). Another expectation is a
 *   417.
 *
 * Errors are thrown from `feed()`/`resume()` as {@link HttpParseError},
 * whose `status` is the response to send; the parser is failed from then on
 * (the position in the stream is lost) and rethrows it. The status does not
 * depend on how the bytes were split.
 *
 * States (one field, one transition per line or body piece):
 *
 * ```
 *   REQUEST_LINE --line--> HEADERS --empty line--> BODY --Content-Length bytes (maybe 0)--> REQUEST_LINE
 *                                               \-> CHUNK_SIZE --0--> TRAILERS --empty--> REQUEST_LINE
 *                                                   CHUNK_SIZE --n--> CHUNK_DATA --n bytes--> CHUNK_END --CRLF--> CHUNK_SIZE
 *   any --bad input--> FAILED
 * ```
 *
 * @module
 */

/** A response status the parser asks for, with its reason phrase (RFC 9110). */
export const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue',
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** The request cannot be parsed; `status` is the HTTP status to answer with (400, 413, 414...). */
export class HttpParseError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(`${status} ${REASONS[status] ?? ''}: ${message}`);
    this.status = status;
  }
}
HttpParseError.prototype.name = 'HttpParseError';

/** Limits of {@link HttpRequestParser}; each one's excess has its own status. */
export interface HttpParserLimits {
  /** Bytes of the head, request line to the empty line included (431 past it). Default 16 KiB, as Node's. */
  maxHeaderSize?: number;
  /** Bytes of the request target (414 past it). Default 8 KiB. */
  maxTargetLength?: number;
  /** Bytes of the body, chunked or not (413 past it). Default 1 MiB. */
  maxBodySize?: number;
}

/** What {@link HttpRequestParser} calls. */
export interface HttpParserCallbacks {
  /** The head is complete; the body (if any) is not read yet. Every request gets it. Optional. */
  onHead?(req: HttpRequest): void;
  /** The request is complete: `body` and `trailers` are set. */
  onRequest(req: HttpRequest): void;
}

type Fields = Array<[name: string, value: string]>;
const EMPTY = Buffer.alloc(0);
const NO_FIELDS: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

/** One parsed request. */
export class HttpRequest {
  /** The method as sent (methods are case-sensitive): `GET`, `POST`... */
  method: string;
  /** The request target as sent: `/path?query`, or `*`, or an absolute URL. */
  target: string;
  /** `1.0` or `1.1`. */
  version: '1.0' | '1.1';
  /** The header fields in order, names as sent; see {@link header} for a lookup. */
  headers: Fields;
  /** The body (empty when none). Set when `onRequest` runs. */
  body: Buffer = EMPTY;
  /** The trailer fields of a chunked body (empty otherwise). */
  trailers: ReadonlyArray<readonly [string, string]> = NO_FIELDS;
  /** Whether the connection stays open after this request's response. */
  keepAlive = true;
  /** `Expect: 100-continue` on an HTTP/1.1 request with a body: send `100 Continue` to get it. */
  expectContinue = false;
  /** Content-Length, or -1 when the body is chunked or absent. */
  contentLength = -1;
  /** Transfer-Encoding: chunked. */
  chunked = false;

  constructor(method: string, target: string, version: '1.0' | '1.1', headers: Fields) {
    this.method = method;
    this.target = target;
    this.version = version;
    this.headers = headers;
  }

  /**
   * The value of a header, the name matched case-insensitively; repeated
   * fields are joined with `, ` (RFC 9110 section 5.3). `undefined` when absent.
   */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    let out: string | undefined;
    for (const [n, v] of this.headers) {
      if (n.length === lower.length && n.toLowerCase() === lower)
        out = out === undefined ? v : `${out}, ${v}`;
    }
    return out;
  }
}

// ---- byte classes ------------------------------------------------------------------

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** tchar (RFC 9110 section 5.6.2): the bytes of a method or a header name. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = TCHAR[c + 0x20] = 1;

/** field-vchar, SP and HTAB (RFC 9110 section 5.5): bytes of a header value or chunk extension. */
const VALUE = new Uint8Array(256);
VALUE[HTAB] = 1;
for (let c = 0x20; c <= 0x7e; c++) VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) VALUE[c] = 1;

/** Hex digit values, -1 for other bytes. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x41 + c] = HEX[0x61 + c] = 10 + c;

/** `buf[start, start + lower.length)` is `lower`, ASCII case-insensitively (name bytes are tchars). */
function nameIs(buf: Buffer, start: number, len: number, lower: string): boolean {
  if (len !== lower.length) return false;
  for (let i = 0; i < len; i++) if ((buf[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** A comma-separated list's elements, trimmed and lowercased, empty ones dropped (RFC 9110 section 5.6.1). */
function tokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t !== '') out.push(t);
  }
  return out;
}

const State = {
  REQUEST_LINE: 0,
  HEADERS: 1,
  BODY: 2,
  CHUNK_SIZE: 3,
  CHUNK_DATA: 4,
  CHUNK_END: 5,
  TRAILERS: 6,
  FAILED: 7,
} as const;
type State = (typeof State)[keyof typeof State];

/** A chunk-size line (size, extensions, CRLF) longer than this is a 400; no client needs more. */
const MAX_CHUNK_LINE = 4096;
/** A method longer than this is a 400 (the longest registered method, UPDATEREDIRECTREF, has 17 bytes). */
const MAX_METHOD = 32;

/**
 * The parser. `feed()` bytes; callbacks run synchronously from inside
 * `feed()` (and `resume()`). `pause()` from a callback stops after it: the
 * rest stays buffered until `resume()`, so a server can hold pipelined
 * requests back (and pause reading) while its responses cannot be written.
 */
export class HttpRequestParser {
  readonly #cb: HttpParserCallbacks;
  readonly #maxHead: number;
  readonly #maxTarget: number;
  readonly #maxBody: number;
  #state: State = State.REQUEST_LINE;
  #error: HttpParseError | null = null;
  /** Unparsed bytes are `#buf[#pos..]`. */
  #buf: Buffer = EMPTY;
  #pos = 0;
  /** Bytes of the current (partial) line already searched for LF. */
  #scanned = 0;
  #paused = false;
  #running = false;

  // The request being parsed.
  #req: HttpRequest | null = null;
  /** Head (or trailer) bytes so far, for the 431 limit. */
  #headUsed = 0;
  /** Body bytes still to come in this Content-Length body or chunk. */
  #left = 0;
  #bodyLen = 0;
  #chunks: Buffer[] = [];
  #hosts = 0;
  #te: string | null = null;
  #expect: string | null = null;
  #connClose = false;
  #connKeepAlive = false;

  /** @throws TypeError a limit that is not a positive integer. */
  constructor(callbacks: HttpParserCallbacks, limits: HttpParserLimits = {}) {
    this.#cb = callbacks;
    this.#maxHead = limit(limits.maxHeaderSize, 16 * 1024, 'maxHeaderSize');
    this.#maxTarget = limit(limits.maxTargetLength, 8 * 1024, 'maxTargetLength');
    this.#maxBody = limit(limits.maxBodySize, 1024 * 1024, 'maxBodySize');
  }

  /** True at a request boundary with nothing buffered. */
  get idle(): boolean {
    return this.#state === State.REQUEST_LINE && this.#req === null && this.buffered === 0;
  }

  /** Bytes received and not parsed yet (held while paused, or a partial line). */
  get buffered(): number {
    return this.#buf.length - this.#pos;
  }

  /** Whether `pause()` is in effect. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Parse `data` (after whatever is buffered). The parser keeps references
   * to `data` (body pieces), so the caller must own it: `dataReceived`'s
   * bytes are. Throws {@link HttpParseError} on bad input, and the same
   * error on every call after it.
   */
  feed(data: Buffer): void {
    if (this.#error !== null) throw this.#error;
    if (this.#running) throw new Error('HttpRequestParser.feed() called from one of its callbacks');
    if (this.#pos === this.#buf.length) {
      this.#buf = data;
      this.#pos = 0;
    } else if (data.length > 0) {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), data]);
      this.#pos = 0;
    }
    if (!this.#paused) this.#run();
  }

  /** Stop parsing after the current callback; bytes fed meanwhile are buffered. Idempotent. */
  pause(): void {
    this.#paused = true;
  }

  /** Parse what is buffered (callbacks run from here), then carry on with `feed()`. Idempotent. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#error !== null) throw this.#error;
    if (!this.#running) this.#run();
  }

  #run(): void {
    this.#running = true;
    try {
      while (!this.#paused && this.#step()) {}
    } catch (err) {
      if (err instanceof HttpParseError) {
        this.#state = State.FAILED;
        this.#error = err;
        this.#buf = EMPTY;
        this.#pos = 0;
      }
      throw err;
    } finally {
      this.#running = false;
    }
    if (this.#pos === this.#buf.length && this.#pos !== 0) {
      this.#buf = EMPTY; // release the caller's buffer
      this.#pos = 0;
    }
  }

  /** One transition; false when more bytes are needed. */
  #step(): boolean {
    switch (this.#state) {
      case State.REQUEST_LINE:
        return this.#requestLine();
      case State.HEADERS:
      case State.TRAILERS:
        return this.#fieldLine();
      case State.BODY:
      case State.CHUNK_DATA:
        return this.#bodyBytes();
      case State.CHUNK_SIZE:
        return this.#chunkSize();
      case State.CHUNK_END:
        return this.#chunkEnd();
      default:
        throw this.#error!;
    }
  }

  /**
   * The LF ending the line at #pos, or -1 to wait. The line (LF included)
   * may be at most `room` bytes, else `status`; a bare LF is a 400. The
   * check does not depend on the split: a partial line over `room` fails
   * exactly when the whole line would.
   */
  #lineEnd(room: number, status: number, what: string): number {
    const buf = this.#buf;
    const pos = this.#pos;
    const lf = buf.indexOf(LF, pos + this.#scanned);
    if (lf === -1) {
      if (buf.length - pos > room) throw new HttpParseError(status, `${what} too long`);
      this.#scanned = buf.length - pos;
      return -1;
    }
    this.#scanned = 0;
    if (lf - pos + 1 > room) throw new HttpParseError(status, `${what} too long`);
    if (lf === pos || buf[lf - 1] !== CR)
      throw new HttpParseError(400, 'bare LF: lines end with CRLF');
    return lf;
  }

  #requestLine(): boolean {
    const buf = this.#buf;
    let pos = this.#pos;
    // Empty lines before a request line are skipped (RFC 9112 section 2.2).
    while (pos < buf.length && buf[pos] === CR) {
      if (pos + 1 === buf.length) return false;
      if (buf[pos + 1] !== LF) throw new HttpParseError(400, 'bare CR');
      this.#pos = pos += 2;
    }
    if (pos === buf.length) return false;
    // The method is checked as its bytes arrive (bounded by the head limit),
    // so that a stream that is not HTTP (a TLS hello) fails at once, with the
    // same status whatever the split.
    const bound = Math.min(buf.length, pos + this.#maxHead, pos + MAX_METHOD + 1);
    let sp = pos;
    while (sp < bound && TCHAR[buf[sp]!] === 1) sp++;
    if (sp < bound ? buf[sp] !== SP || sp === pos : sp - pos > MAX_METHOD)
      throw new HttpParseError(400, 'malformed request line (method)');
    const lf = this.#lineEnd(this.#maxHead, 431, 'request line');
    if (lf === -1) return false;
    const end = lf - 1; // the CR
    // sp is the first space (the method check stopped there, before the CR).
    const t0 = sp + 1;
    const sp2 = buf.indexOf(SP, t0);
    if (sp2 === -1 || sp2 > end)
      throw new HttpParseError(400, 'malformed request line (no version)');
    if (sp2 - t0 > this.#maxTarget)
      throw new HttpParseError(414, `request target over ${this.#maxTarget} bytes`);
    if (sp2 === t0) throw new HttpParseError(400, 'malformed request line (empty target)');
    for (let i = t0; i < sp2; i++) {
      const c = buf[i]!;
      if (c <= SP || c >= 0x7f) throw new HttpParseError(400, 'malformed request target');
    }
    const version = httpVersion(buf, sp2 + 1, end);
    const method = methodName(buf, pos, sp);
    this.#req = new HttpRequest(method, buf.toString('latin1', t0, sp2), version, []);
    this.#headUsed = lf + 1 - pos;
    this.#pos = lf + 1;
    this.#state = State.HEADERS;
    return true;
  }

  /** A header line (HEADERS) or trailer line (TRAILERS); the empty line ends the section. */
  #fieldLine(): boolean {
    const lf = this.#lineEnd(this.#maxHead - this.#headUsed, 431, 'header section');
    if (lf === -1) return false;
    const buf = this.#buf;
    const pos = this.#pos;
    this.#headUsed += lf + 1 - pos;
    this.#pos = lf + 1;
    const end = lf - 1;
    if (end === pos) {
      if (this.#state === State.HEADERS) this.#endHead();
      else this.#complete();
      return true;
    }
    const first = buf[pos];
    if (first === SP || first === HTAB)
      throw new HttpParseError(400, 'obs-fold header continuation is not accepted');
    let colon = pos;
    while (colon < end && TCHAR[buf[colon]!] === 1) colon++;
    if (colon === pos || colon === end || buf[colon] !== COLON)
      throw new HttpParseError(400, 'malformed header line');
    let v0 = colon + 1;
    let v1 = end;
    while (v0 < v1 && (buf[v0] === SP || buf[v0] === HTAB)) v0++;
    while (v1 > v0 && (buf[v1 - 1] === SP || buf[v1 - 1] === HTAB)) v1--;
    for (let i = v0; i < v1; i++) {
      if (VALUE[buf[i]!] !== 1) throw new HttpParseError(400, 'control byte in a header value');
    }
    const name = buf.toString('latin1', pos, colon);
    const value = buf.toString('latin1', v0, v1);
    if (this.#state === State.TRAILERS) {
      (this.#req!.trailers as Fields).push([name, value]);
      return true;
    }
    this.#req!.headers.push([name, value]);
    this.#special(buf, pos, colon - pos, value);
    return true;
  }

  /** The headers that frame the message or the connection, told apart by bytes (no lowercase copies). */
  #special(buf: Buffer, at: number, len: number, value: string): void {
    const req = this.#req!;
    switch (len) {
      case 4:
        if (nameIs(buf, at, len, 'host')) this.#hosts++;
        return;
      case 6:
        if (nameIs(buf, at, len, 'expect'))
          this.#expect = this.#expect === null ? value : `${this.#expect}, ${value}`;
        return;
      case 10:
        if (nameIs(buf, at, len, 'connection')) {
          for (const t of tokens(value)) {
            if (t === 'close') this.#connClose = true;
            else if (t === 'keep-alive') this.#connKeepAlive = true;
          }
        }
        return;
      case 14:
        if (nameIs(buf, at, len, 'content-length')) {
          // `5` or a list of equal values (`5, 5`), as RFC 9110 section 8.6 allows.
          for (const part of value.split(',')) {
            const n = contentLength(part.trim(), this.#maxBody);
            if (req.contentLength !== -1 && req.contentLength !== n)
              throw new HttpParseError(400, 'conflicting Content-Length values');
            req.contentLength = n;
          }
        }
        return;
      case 17:
        if (nameIs(buf, at, len, 'transfer-encoding'))
          this.#te = this.#te === null ? value : `${this.#te}, ${value}`;
        return;
    }
  }

  /** The empty line after the headers: decide the framing and the connection's fate. */
  #endHead(): void {
    const req = this.#req!;
    if (this.#te !== null) {
      if (req.contentLength !== -1)
        throw new HttpParseError(400, 'both Content-Length and Transfer-Encoding');
      const codings = tokens(this.#te);
      for (const c of codings) {
        if (c !== 'chunked') throw new HttpParseError(501, `transfer coding ${c} is not supported`);
      }
      if (codings.length !== 1) throw new HttpParseError(400, 'chunked applied more than once');
      req.chunked = true;
    }
    if (req.version === '1.1' ? this.#hosts !== 1 : this.#hosts > 1)
      throw new HttpParseError(400, this.#hosts === 0 ? 'no Host header' : 'more than one Host');
    const hasBody = req.chunked || req.contentLength > 0;
    if (this.#expect !== null && req.version === '1.1') {
      // HTTP/1.0 requests' expectations are ignored (RFC 9110 section 10.1.1).
      if (this.#expect.trim().toLowerCase() !== '100-continue')
        throw new HttpParseError(417, `unknown expectation ${this.#expect}`);
      req.expectContinue = hasBody;
    }
    // HTTP/1.0 with Transfer-Encoding: its framing is suspect, close after it (RFC 9112 section 6.1).
    req.keepAlive =
      !this.#connClose && (req.version === '1.1' || (this.#connKeepAlive && !req.chunked));
    // BODY with 0 bytes left completes at the next step: onHead runs first either way.
    this.#left = Math.max(req.contentLength, 0);
    this.#state = req.chunked ? State.CHUNK_SIZE : State.BODY;
    this.#cb.onHead?.(req);
  }

  #bodyBytes(): boolean {
    if (this.#left === 0) {
      this.#complete(); // a request without a body
      return true;
    }
    const avail = this.#buf.length - this.#pos;
    if (avail === 0) return false;
    const n = Math.min(avail, this.#left);
    this.#chunks.push(this.#buf.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    this.#bodyLen += n;
    this.#left -= n;
    if (this.#left === 0) {
      if (this.#state === State.BODY) this.#complete();
      else this.#state = State.CHUNK_END;
    }
    return true;
  }

  /** `hex-size [BWS ; extensions] CRLF`. */
  #chunkSize(): boolean {
    const lf = this.#lineEnd(MAX_CHUNK_LINE, 400, 'chunk-size line');
    if (lf === -1) return false;
    const buf = this.#buf;
    const end = lf - 1;
    let i = this.#pos;
    let size = 0;
    while (i < end && HEX[buf[i]!]! >= 0) {
      size = size * 16 + HEX[buf[i]!]!;
      // Checked per digit, so that size stays an exact integer however many digits come.
      if (this.#bodyLen + size > this.#maxBody)
        throw new HttpParseError(413, `body over ${this.#maxBody} bytes`);
      i++;
    }
    if (i === this.#pos) throw new HttpParseError(400, 'bad chunk size');
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
    if (i < end) {
      if (buf[i] !== 0x3b) throw new HttpParseError(400, 'bad chunk size');
      for (; i < end; i++) {
        if (VALUE[buf[i]!] !== 1)
          throw new HttpParseError(400, 'control byte in a chunk extension');
      }
    }
    this.#pos = lf + 1;
    if (size === 0) {
      this.#req!.trailers = [];
      this.#headUsed = 0; // the trailer section has a head-sized limit of its own
      this.#state = State.TRAILERS;
      return true;
    }
    this.#left = size;
    this.#state = State.CHUNK_DATA;
    return true;
  }

  /** The CRLF after a chunk's data, checked byte by byte as it arrives. */
  #chunkEnd(): boolean {
    const buf = this.#buf;
    const pos = this.#pos;
    if (pos === buf.length) return false;
    if (buf[pos] !== CR) throw new HttpParseError(400, 'chunk data not followed by CRLF');
    if (pos + 1 === buf.length) return false;
    if (buf[pos + 1] !== LF) throw new HttpParseError(400, 'chunk data not followed by CRLF');
    this.#pos = pos + 2;
    this.#state = State.CHUNK_SIZE;
    return true;
  }

  /** The request is complete: reset for the next one, then tell the callback. */
  #complete(): void {
    const req = this.#req!;
    const chunks = this.#chunks;
    if (chunks.length === 1) req.body = chunks[0]!;
    else if (chunks.length > 1) req.body = Buffer.concat(chunks, this.#bodyLen);
    if (chunks.length !== 0) this.#chunks = [];
    this.#req = null;
    this.#bodyLen = 0;
    this.#hosts = 0;
    this.#te = null;
    this.#expect = null;
    this.#connClose = false;
    this.#connKeepAlive = false;
    this.#state = State.REQUEST_LINE;
    this.#cb.onRequest(req);
  }
}

function limit(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1)
    throw new TypeError(`limits.${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** `HTTP/1.1` or `HTTP/1.0`; another `HTTP/d.d` is a 505, anything else a 400. */
function httpVersion(buf: Buffer, start: number, end: number): '1.0' | '1.1' {
  const d = (i: number): boolean => buf[start + i]! >= 0x30 && buf[start + i]! <= 0x39;
  if (
    end - start !== 8 ||
    buf.toString('latin1', start, start + 5) !== 'HTTP/' ||
    !d(5) ||
    buf[start + 6] !== 0x2e ||
    !d(7)
  )
    throw new HttpParseError(400, 'malformed request line (version)');
  if (buf[start + 5] === 0x31) {
    if (buf[start + 7] === 0x31) return '1.1';
    if (buf[start + 7] === 0x30) return '1.0';
  }
  throw new HttpParseError(505, `HTTP/${buf.toString('latin1', start + 5, end)} is not supported`);
}

/** The method string; the common ones without a new string each time. */
function methodName(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  const c0 = buf[start];
  if (len === 3 && c0 === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (
    len === 4 &&
    buf[start + 1] === 0x4f &&
    buf[start + 2] === 0x53 &&
    c0 === 0x50 &&
    buf[start + 3] === 0x54
  )
    return 'POST';
  if (
    len === 4 &&
    c0 === 0x48 &&
    buf[start + 1] === 0x45 &&
    buf[start + 2] === 0x41 &&
    buf[start + 3] === 0x44
  )
    return 'HEAD';
  return buf.toString('latin1', start, end);
}

/** One Content-Length value: digits only (400), at most maxBody (413). */
function contentLength(s: string, maxBody: number): number {
  if (s.length === 0) throw new HttpParseError(400, 'empty Content-Length');
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) throw new HttpParseError(400, `invalid Content-Length ${s}`);
  }
  // Leading zeros are fine; a value past maxBody (or past 2^53) is a 413.
  const n = s.length > 15 ? Number.POSITIVE_INFINITY : Number(s);
  if (n > maxBody) throw new HttpParseError(413, `body over ${maxBody} bytes`);
  return n;
}
