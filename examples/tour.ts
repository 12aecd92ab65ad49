/**
 * The examples tour (`npm start`): runs every example in turn, servers and
 * clients, each printing what the Python documentation's version prints.
 */
const tour: Array<[title: string, load: () => Promise<{ main(): Promise<void> }>]> = [
  // One line per example; keep the order of the reference page, then the showcases.
  ['TCP echo server and client', () => import('./tcp-echo.js')],
  ['UDP echo server and client', () => import('./udp-echo.js')],
  ['Connecting existing sockets', () => import('./existing-sockets.js')],
  ['loop.subprocessExec() and SubprocessProtocol', () => import('./subprocess-date.js')],
  ['TLS echo server and client', () => import('./tls-echo.js')],
  ['STARTTLS: upgrading a plain line protocol', () => import('./starttls.js')],
  ['A line-based key-value server with backpressure and half-close', () => import('./line-kv.js')],
  ['Chat server on streams', () => import('./chat-server.js')],
  ['Length-prefixed binary protocol (BufferedProtocol)', () => import('./length-prefixed.js')],
  ['HTTP/1.1 server (keep-alive, pipelining, chunked bodies)', () => import('./http-server.js')],
  ['Every core: one server per core with node:cluster', () => import('./cluster.js')],
  [
    'A Redis client (RESP2/RESP3, pipelining) against a real redis-server',
    () => import('./redis-client.js'),
  ],
];

for (const [title, load] of tour) {
  console.log(`\n=== ${title} ===`);
  const mod = await load();
  await mod.main();
}
console.log('\nTour complete.');
