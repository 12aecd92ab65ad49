/**
 * A Redis client on a protoloop `Protocol`: pipelining, backpressure,
 * RESP2 and RESP3, in one class over the sans-IO codec of
 * examples/redis/resp.ts.
 *
 * - **Pipelining.** `send()` never waits for the previous reply: every
 *   command goes out at once, and replies are matched to commands in FIFO
 *   order (Redis answers each connection's commands in the order it got
 *   them). Commands issued in the same synchronous run go out in one write
 *   (flushed from a microtask), and `pipeline()` writes a whole batch in
 *   one `writelines()`.
 * - **Errors.** An error reply rejects that command's promise with a
 *   {@link RedisError} carrying the server's text; the connection carries
 *   on. Losing the connection rejects every command still waiting, with
 *   the transport's error (Node's own, e.g. `ECONNRESET`) or, on a plain
 *   close by the server, a {@link RedisConnectionError}.
 * - **Backpressure.** When the transport's write buffer goes over its
 *   high-water mark it calls `pauseWriting()` and `client.writable` turns
 *   false; `send()` still accepts commands (the transport buffers them),
 *   and a producer that must not buffer without bound waits:
 *
 *   ```ts
 *   for (const [key, value] of entries) {
 *     results.push(client.send('SET', key, value));
 *     if (!client.writable) await client.drain(); // resolves on resumeWriting()
 *   }
 *   ```
 *
 * - **RESP3.** `hello(3)` switches the connection to RESP3: maps, sets,
 *   doubles, booleans, big numbers, verbatim strings, and push messages,
 *   which go to the `onPush` callback (pub/sub messages, client-side caching
 *   invalidations). SUBSCRIBE and friends need RESP3 here: their
 *   confirmations are pushes, matched to the command that asked for them.
 *
 * `main()` (the tour) starts a throwaway redis-server if one is on the PATH
 * and shows each of these.
 */
import { type EventLoop, getRunningLoop, Protocol, type Transport } from '../src/index.js';
import {
  CommandEncoder,
  checkArgs,
  type RedisArg,
  RedisError,
  RespParser,
  RespProtocolError,
  type RespValue,
} from './redis/resp.js';
import { redisServerOnPath, startRedisServer } from './redis/server.js';

export {
  type RedisArg,
  RedisError,
  RespProtocolError,
  type RespValue,
  VerbatimString,
} from './redis/resp.js';

/**
 * The connection is not usable: closed, closing, lost, or not made yet.
 * `cause` holds the transport's error when there was one.
 */
export class RedisConnectionError extends Error {}
RedisConnectionError.prototype.name = 'RedisConnectionError';

/** Options of the {@link RedisClient} constructor. */
export interface RedisClientOptions {
  /**
   * Called with each RESP3 push message that is not the confirmation of a
   * command (pub/sub `message`/`pmessage`/`smessage`, `invalidate`...):
   * an array whose first element names the kind (a Buffer, e.g. `message`).
   * A throw here is a protocol callback error: reported to the loop's
   * exception handler, and the connection is closed.
   */
  onPush?: (push: RespValue[]) => void;
}

/** Options of {@link RedisClient.connect}: where (`path`, or `port` and `host`), and how. */
export interface RedisConnectOptions extends RedisClientOptions {
  /** A Unix socket path (exclusive with `port`). */
  path?: string;
  /** A TCP port (exclusive with `path`). */
  port?: number;
  /** The TCP host (default `127.0.0.1`). */
  host?: string;
  /** 3: send `HELLO 3` before resolving, so the connection speaks RESP3. Default 2. */
  protocol?: 2 | 3;
  /** The loop (default: the running loop). */
  loop?: EventLoop;
}

/** Options of {@link RedisClient.hello}. */
export interface HelloOptions {
  /** `AUTH username password` in the same command. */
  auth?: [username: string, password: string];
  /** `SETNAME name`: the connection's name in CLIENT LIST. */
  setname?: string;
}

/** One command (or pipeline) waiting for its replies. */
interface Pending {
  resolve: (value: any) => void;
  reject: (err: Error) => void;
  /** pipeline() and (un)subscribe: the replies so far; null for a plain send(). */
  replies: RespValue[] | null;
  /** Replies still to come; -1: "one per current subscription" (UNSUBSCRIBE with no channel). */
  left: number;
  /** The push kind that confirms this command (`subscribe`...), or null for a normal reply. */
  confirm: string | null;
}

/** The connection's states, in order; one transition each way, guarded in one place. */
const State = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Buffered commands are flushed at once, not at the end of the turn, past
 * this many bytes: a synchronous loop of send() calls then reaches the
 * transport (and its pauseWriting) every 16 KiB, so `writable` never lags
 * by more than that.
 */
const FLUSH_AT = 16 * 1024;

/** The push kinds that confirm a (un)subscribe command, and which subscription set each one changes. */
const CONFIRMATIONS: Record<string, { family: 0 | 1 | 2; adds: boolean }> = {
  subscribe: { family: 0, adds: true },
  unsubscribe: { family: 0, adds: false },
  psubscribe: { family: 1, adds: true },
  punsubscribe: { family: 1, adds: false },
  ssubscribe: { family: 2, adds: true },
  sunsubscribe: { family: 2, adds: false },
};

/** The lowercase (un)subscribe command name, or null: cheap for the common case of other commands. */
function subscribeKind(name: RedisArg): string | null {
  if (typeof name !== 'string' || name.length < 9 || name.length > 12) return null;
  const lower = name.toLowerCase();
  return Object.hasOwn(CONFIRMATIONS, lower) ? lower : null;
}

/** A push's kind as a string (`message`, `subscribe`...), or null. */
function pushKind(first: RespValue | undefined): string | null {
  if (first instanceof Buffer) return first.length <= 16 ? first.toString('latin1') : null;
  return typeof first === 'string' ? first : null;
}

/**
 * A Redis connection. Make one with {@link RedisClient.connect}, or pass
 * `() => new RedisClient()` to any protoloop connection method (the
 * protocol callbacks below are the transport's to call).
 *
 * Commands: {@link send}, {@link pipeline}, {@link hello}. Flow control:
 * {@link writable}, {@link drain}. Ending: {@link close}, {@link abort}.
 */
export class RedisClient extends Protocol {
  #transport: Transport | null = null;
  #state: State = State.CONNECTING;
  /** Why the connection ended (or will end): rejects everything pending in connectionLost. */
  #error: Error | null = null;
  readonly #encoder = new CommandEncoder();
  readonly #parser: RespParser;
  /** Commands waiting for replies, oldest at #head (an array with a moving head: no shift() per reply). */
  #queue: Array<Pending | undefined> = [];
  #head = 0;
  #flushScheduled = false;
  #paused = false;
  #drainWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  #resp: 2 | 3 = 2;
  readonly #onPush: ((push: RespValue[]) => void) | null;
  /** Channels, patterns and shard channels subscribed to (latin1 keys), as the confirmations said. */
  readonly #subscriptions: [Set<string>, Set<string>, Set<string>] = [
    new Set(),
    new Set(),
    new Set(),
  ];
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;

  /** @throws TypeError `options.onPush` is given but is not a function. */
  constructor(options: RedisClientOptions = {}) {
    super();
    if (options === null || typeof options !== 'object')
      throw new TypeError('options must be an object');
    if (options.onPush !== undefined && typeof options.onPush !== 'function')
      throw new TypeError('options.onPush must be a function');
    this.#onPush = options.onPush ?? null;
    this.#parser = new RespParser({
      onReply: (reply) => this.#reply(reply),
      onPush: (push) => this.#push(push),
    });
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /**
   * Connect to a Redis server over a Unix socket (`{ path }`) or TCP
   * (`{ port, host }`), and with `protocol: 3` switch to RESP3 first.
   * Rejects with a TypeError/RangeError naming a bad option, with Node's
   * error if the connection fails (`ENOENT`, `ECONNREFUSED`), or with the
   * server's {@link RedisError} if HELLO fails (the connection is closed
   * then).
   */
  static async connect(options: RedisConnectOptions): Promise<RedisClient> {
    if (options === null || typeof options !== 'object')
      throw new TypeError('options must be an object with path or port');
    const { path, port, host = '127.0.0.1', protocol = 2, onPush, loop } = options;
    if ((path === undefined) === (port === undefined))
      throw new TypeError('options must have exactly one of path and port');
    if (path !== undefined && (typeof path !== 'string' || path === ''))
      throw new TypeError(`options.path must be a non-empty string, got ${String(path)}`);
    if (port !== undefined) {
      if (typeof port !== 'number' || !Number.isInteger(port))
        throw new TypeError(`options.port must be an integer, got ${String(port)}`);
      if (port < 1 || port > 65535)
        throw new RangeError(`options.port must be in 1..65535, got ${port}`);
    }
    if (typeof host !== 'string' || host === '')
      throw new TypeError(`options.host must be a non-empty string, got ${String(host)}`);
    if (protocol !== 2 && protocol !== 3)
      throw new RangeError(`options.protocol must be 2 or 3, got ${String(protocol)}`);
    const l = loop ?? getRunningLoop();
    const factory = (): RedisClient => new RedisClient(onPush === undefined ? {} : { onPush });
    const [, client] =
      path !== undefined
        ? await l.createUnixConnection(factory, path)
        : await l.createConnection(factory, host, port!);
    if (protocol === 3) {
      try {
        await client.hello(3);
      } catch (err) {
        client.abort();
        throw err;
      }
    }
    return client;
  }

  // ---- commands ----------------------------------------------------------------

  /**
   * Send one command; resolves with its reply, rejects with a
   * {@link RedisError} on an error reply, with a TypeError naming the
   * argument (`args[1]`) for an argument that is not a string, Buffer,
   * Uint8Array, finite number or bigint, or with the connection's error if
   * it is lost before the reply. Never waits to write: check
   * {@link writable} to respect backpressure.
   *
   * `SUBSCRIBE`, `PSUBSCRIBE`, `SSUBSCRIBE` and their `UN` forms need RESP3
   * ({@link hello}); they resolve with their confirmation pushes (one per
   * channel), and the messages that follow go to `onPush`.
   */
  send(...args: RedisArg[]): Promise<RespValue> {
    if (this.#state !== State.OPEN) return Promise.reject(this.#unusable());
    let confirm: string | null = null;
    let left = 1;
    if (args.length > 0) {
      confirm = subscribeKind(args[0]!);
      if (confirm !== null) {
        if (this.#resp !== 3)
          return Promise.reject(
            new TypeError(`${String(args[0])} needs RESP3 on this client: call hello(3) first`),
          );
        // One confirmation per channel named; with none (unsubscribe from
        // everything) one per current subscription, counted when it starts.
        left = args.length > 1 ? args.length - 1 : -1;
        if (left === -1 && CONFIRMATIONS[confirm]!.adds)
          return Promise.reject(new TypeError(`${String(args[0])} needs at least one channel`));
      }
    }
    try {
      this.#encoder.push(args);
    } catch (err) {
      return Promise.reject(err);
    }
    const replies = confirm === null ? null : [];
    return new Promise((resolve, reject) => {
      this.#queue.push({ resolve, reject, replies, left, confirm });
      this.#afterEncode();
    });
  }

  /**
   * Send many commands in one write (`writelines`); resolves with their
   * replies in order. An error reply does not reject the batch: it is a
   * {@link RedisError} in its slot, as the other commands ran. Rejects with
   * a TypeError naming the command (`commands[3][1]`) if any is malformed
   * (then nothing is sent), or with the connection's error if it is lost.
   * (Un)subscribe commands cannot be pipelined: use send().
   */
  pipeline(commands: ReadonlyArray<ArrayLike<RedisArg>>): Promise<RespValue[]> {
    if (this.#state !== State.OPEN) return Promise.reject(this.#unusable());
    if (!Array.isArray(commands))
      return Promise.reject(new TypeError('commands must be an array of commands'));
    const n = commands.length;
    try {
      // Check everything before encoding anything: a bad command sends nothing.
      for (let i = 0; i < n; i++) {
        const cmd = commands[i]!;
        checkArgs(cmd, `commands[${i}]`);
        if (subscribeKind(cmd[0]!) !== null)
          throw new TypeError(`commands[${i}]: ${String(cmd[0])} cannot be pipelined: use send()`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (n === 0) return Promise.resolve([]);
    for (let i = 0; i < n; i++) this.#encoder.push(commands[i]!);
    return new Promise((resolve, reject) => {
      this.#queue.push({ resolve, reject, replies: [], left: n, confirm: null });
      this.#flush();
    });
  }

  /**
   * `HELLO protover [AUTH user pass] [SETNAME name]`: switch the
   * connection's protocol (3 = RESP3) and get the server's description (a
   * Map in RESP3). RangeError if `protover` is not 2 or 3.
   */
  async hello(protover: 2 | 3 = 3, options: HelloOptions = {}): Promise<RespValue> {
    if (protover !== 2 && protover !== 3)
      throw new RangeError(`protover must be 2 or 3, got ${String(protover)}`);
    if (options === null || typeof options !== 'object')
      throw new TypeError('options must be an object');
    const args: RedisArg[] = ['HELLO', protover];
    if (options.auth !== undefined) {
      const a = options.auth;
      if (!Array.isArray(a) || a.length !== 2 || !a.every((s) => typeof s === 'string'))
        throw new TypeError('options.auth must be [username, password], two strings');
      args.push('AUTH', a[0], a[1]);
    }
    if (options.setname !== undefined) {
      if (typeof options.setname !== 'string')
        throw new TypeError('options.setname must be a string');
      args.push('SETNAME', options.setname);
    }
    const reply = await this.send(...args);
    this.#resp = protover;
    return reply;
  }

  /** The protocol this connection speaks: 2 until {@link hello}(3) succeeds. */
  get resp(): 2 | 3 {
    return this.#resp;
  }

  /** send() and pipeline() calls still waiting for their replies. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  // ---- flow control ------------------------------------------------------------

  /**
   * False while the transport has asked us to stop writing (between
   * `pauseWriting()` and `resumeWriting()`), and once the client is closing
   * or closed. Commands sent meanwhile are buffered, not refused: a
   * producer waits with `if (!client.writable) await client.drain()`.
   */
  get writable(): boolean {
    return this.#state === State.OPEN && !this.#paused;
  }

  /**
   * Resolves when writing may go on: at once unless the transport paused
   * us, else at `resumeWriting()`. Rejects with a
   * {@link RedisConnectionError} if the client is closing or closed (also
   * when that happens while waiting), so a producer loop never waits
   * forever.
   */
  drain(): Promise<void> {
    if (this.#state !== State.OPEN) return Promise.reject(this.#unusable());
    if (!this.#paused) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  // ---- ending --------------------------------------------------------------------

  /**
   * Close gracefully: no new commands (they reject with a
   * {@link RedisConnectionError}), the replies of those already sent still
   * arrive, then the transport closes. Resolves once the connection is
   * gone (`connectionLost`). Idempotent. A command that never returns
   * (`BLPOP key 0`) keeps it open: use {@link abort} then.
   */
  close(): Promise<void> {
    if (this.#state === State.OPEN) {
      this.#state = State.CLOSING;
      this.#rejectDrainWaiters(this.#unusable());
      this.#flush();
      if (this.pending === 0) this.#transport!.close();
    } else if (this.#state === State.CONNECTING) {
      this.#state = State.CLOSED;
      this.#resolveClosed();
    }
    return this.#closed;
  }

  /**
   * Drop the connection now: every command still waiting rejects with a
   * {@link RedisConnectionError}, buffered commands are not sent.
   */
  abort(): void {
    if (this.#state === State.CLOSED) return;
    if (this.#transport === null) {
      this.close();
      return;
    }
    this.#error ??= new RedisConnectionError('the connection was aborted');
    this.#state = State.CLOSING; // no new commands; connectionLost follows
    this.#encoder.take(); // commands not written yet never will be
    this.#rejectDrainWaiters(this.#unusable());
    this.#transport.abort();
  }

  // ---- protocol callbacks (the transport's) ------------------------------------

  /** The transport's: the connection is up. */
  override connectionMade(transport: Transport): void {
    this.#transport = transport;
    if (this.#state === State.CONNECTING) this.#state = State.OPEN;
    else transport.close(); // closed before the connection was made
  }

  /** The transport's: reply bytes. */
  override dataReceived(data: Buffer): void {
    try {
      this.#parser.feed(data);
    } catch (err) {
      // Bytes that are not RESP, or a reply nobody asked for: nothing after
      // them can be matched to a command. Everything pending fails with it.
      if (!(err instanceof RespProtocolError)) throw err;
      this.#error ??= err;
      this.#transport!.abort();
    }
  }

  /** The transport's: the server closed its side; we close ours (pending commands fail). */
  override eofReceived(): boolean {
    return false;
  }

  /** The transport's: over the high-water mark. */
  override pauseWriting(): void {
    this.#paused = true;
  }

  /** The transport's: drained to the low-water mark. */
  override resumeWriting(): void {
    this.#paused = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** The transport's: the connection is gone; everything still pending rejects. */
  override connectionLost(exc: Error | null): void {
    const graceful = this.#state === State.CLOSING && this.pending === 0;
    this.#state = State.CLOSED;
    if (!graceful) {
      this.#error ??= exc ?? new RedisConnectionError('the server closed the connection');
    }
    this.#encoder.take(); // buffered commands can no longer be sent
    const err = this.#error ?? new RedisConnectionError('the connection is closed');
    const q = this.#queue;
    const head = this.#head;
    this.#queue = [];
    this.#head = 0;
    for (let i = head; i < q.length; i++) q[i]!.reject(err);
    this.#rejectDrainWaiters(this.#unusable());
    this.#resolveClosed();
  }

  // ---- internals -------------------------------------------------------------------

  /** Why a command cannot be sent now. */
  #unusable(): Error {
    switch (this.#state) {
      case State.CONNECTING:
        return new RedisConnectionError('not connected yet');
      case State.CLOSING:
        return new RedisConnectionError('the client is closing');
      default:
        return new RedisConnectionError('the connection is closed', {
          cause: this.#error ?? undefined,
        });
    }
  }

  #rejectDrainWaiters(err: Error): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  /** After a send(): flush now if much is buffered, else once the current synchronous run ends. */
  #afterEncode(): void {
    if (this.#encoder.length >= FLUSH_AT) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /**
   * Write everything encoded so far. The chunks are views of the encoder's
   * reused buffer (see CommandEncoder): valid here because the transport
   * copies whatever the kernel does not take before write() returns.
   */
  #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#encoder.length === 0) return;
    const chunks = this.#encoder.take();
    if (this.#state === State.CLOSED) return; // lost meanwhile: those commands were rejected
    const t = this.#transport!;
    if (chunks.length === 1) t.write(chunks[0]!);
    else t.writelines(chunks);
  };

  /** The oldest pending command is done. */
  #shift(): Pending {
    const e = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#state === State.CLOSING && this.pending === 0) this.#transport!.close();
    return e;
  }

  /** A reply from the parser: it belongs to the oldest pending command. */
  #reply(reply: RespValue): void {
    const e = this.#queue[this.#head];
    if (e === undefined)
      throw new RespProtocolError('a reply arrived with no command waiting for it');
    if (e.replies === null || e.confirm !== null) {
      // A plain command, or an (un)subscribe refused with an error reply.
      this.#shift();
      if (reply instanceof RedisError) e.reject(reply);
      else e.resolve(reply);
      return;
    }
    e.replies.push(reply);
    if (--e.left === 0) {
      this.#shift();
      e.resolve(e.replies);
    }
  }

  /** A push from the parser: a command's (un)subscribe confirmation, or the user's. */
  #push(push: RespValue[]): void {
    const kind = pushKind(push[0]);
    const c = kind === null ? undefined : CONFIRMATIONS[kind];
    if (c !== undefined) {
      const set = this.#subscriptions[c.family];
      const e = this.#queue[this.#head];
      const ours = e !== undefined && e.confirm === kind;
      // "Unsubscribe from all": one confirmation per subscription (at least
      // one), counted before this confirmation changes the set.
      if (ours && e.left < 0) e.left = Math.max(1, set.size);
      const channel = push[1];
      if (channel instanceof Buffer) {
        if (c.adds) set.add(channel.toString('latin1'));
        else set.delete(channel.toString('latin1'));
      }
      if (ours) {
        e.replies!.push(push);
        if (--e.left === 0) {
          this.#shift();
          e.resolve(e.replies);
        }
        return;
      }
    }
    this.#onPush?.(push);
  }
}

// ---- the tour ------------------------------------------------------------------

const show = (v: unknown): string => {
  if (v instanceof Buffer) return JSON.stringify(v.toString('utf8'));
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v instanceof Map)
    return `Map {${[...v].map(([k, x]) => `${show(k)} => ${show(x)}`).join(', ')}}`;
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
};

/**
 * Start a redis-server on a Unix socket in a temporary directory, show a
 * few commands, pipelining, an error reply and RESP3, then stop it. Skips
 * with one line when redis-server is not installed.
 */
export async function main(): Promise<void> {
  if (!redisServerOnPath()) {
    console.log('redis-server is not on the PATH: skipping the Redis client example');
    return;
  }
  const server = await startRedisServer();
  try {
    console.log(`redis-server ${server.version.join('.')} on a Unix socket`);
    const client = await RedisClient.connect({ path: server.path });
    console.log(`SET greeting hello -> ${show(await client.send('SET', 'greeting', 'hello'))}`);
    console.log(`GET greeting -> ${show(await client.send('GET', 'greeting'))}`);
    console.log(`GET missing -> ${show(await client.send('GET', 'missing'))}`);
    console.log(`INCR visits -> ${show(await client.send('INCR', 'visits'))}`);
    console.log(`INCR visits -> ${show(await client.send('INCR', 'visits'))}`);
    // Three commands in flight at once, replies in order.
    const [a, b, c] = await Promise.all([
      client.send('RPUSH', 'letters', 'a', 'b', 'c'),
      client.send('LRANGE', 'letters', 0, -1),
      client.send('INCRBY', 'visits', 40),
    ]);
    console.log(`RPUSH + LRANGE + INCRBY in flight together -> ${show(a)}, ${show(b)}, ${show(c)}`);
    const batch = await client.pipeline([
      ['SET', 'n', 1],
      ['INCR', 'n'],
      ['LPUSH', 'n', 'x'],
      ['GET', 'n'],
    ]);
    console.log(`pipeline() of 4 in one write -> ${show(batch)}`);
    try {
      await client.send('LPUSH', 'greeting', 'x');
    } catch (err) {
      console.log(`LPUSH on a string -> ${show(err)}`);
    }
    const hello = (await client.hello(3)) as Map<RespValue, RespValue>;
    console.log(
      `HELLO 3 -> server ${show(hello.get('server'))}, proto ${show(hello.get('proto'))}`,
    );
    await client.send('HSET', 'user:1', 'name', 'Ada', 'born', 1815);
    console.log(`HGETALL in RESP3 -> ${show(await client.send('HGETALL', 'user:1'))}`);
    await client.send('ZADD', 'scores', 2.5, 'ada');
    console.log(
      `ZSCORE in RESP3 (a double) -> ${show(await client.send('ZSCORE', 'scores', 'ada'))}`,
    );
    await client.close();
    console.log('Client closed');
  } finally {
    await server.stop();
  }
  console.log('redis-server stopped, its directory removed');
}
