/**
 * protoloop: Python asyncio's Transports and Protocols for Node.js.
 *
 * Everything public is exported from here; the list is pinned by a test.
 *
 * @module protoloop
 */
export type {
  ClientTlsOptions,
  ConnectAcceptedSocketOptions,
  CreateConnectionOptions,
  CreateUnixConnectionOptions,
} from './connect.js';
export { socketpair } from './connect.js';
export type { ExceptionContext, ExceptionHandler } from './context.js';
export {
  CancelledError,
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
  SendfileNotAvailableError,
} from './errors.js';
export { Future } from './futures.js';
export { Handle, TimerHandle } from './handles.js';
export { EventLoop, getRunningLoop, run } from './loop.js';
export {
  BaseProtocol,
  BufferedProtocol,
  DatagramProtocol,
  Protocol,
  SubprocessProtocol,
} from './protocols.js';
export type { SendfileFile, SendfileOptions } from './sendfile.js';
export type { CreateServerOptions, CreateUnixServerOptions, Server } from './server.js';
export {
  type ClientConnectedCallback,
  DEFAULT_LIMIT,
  type OpenConnectionOptions,
  type OpenUnixConnectionOptions,
  openConnection,
  openUnixConnection,
  type StartServerOptions,
  type StartUnixServerOptions,
  StreamReader,
  StreamReaderProtocol,
  type StreamStartTlsOptions,
  type StreamTlsContext,
  StreamWriter,
  startServer,
  startUnixServer,
} from './streams/index.js';
export type { ServerTlsOptions, StartTlsOptions } from './tls.js';
export type { CreateDatagramEndpointOptions } from './transports/datagram.js';
export type {
  Address,
  BaseTransport,
  Bytes,
  DatagramTransport,
  ReadTransport,
  SubprocessTransport,
  Transport,
  WriteTransport,
} from './transports/interfaces.js';
export {
  DEVNULL,
  PIPE,
  STDOUT,
  type SubprocessOptions,
  type SubprocessStdio,
} from './transports/subprocess.js';
