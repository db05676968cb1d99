// Inside a sandboxed agent run's network namespace (issue #14), where only loopback exists: the
// bridge to the run's egress proxy (proxy.mjs) over the one unix socket bound in, then the agent.
// - 127.0.0.1:<proxy port> is the proxy (HTTP_PROXY/HTTPS_PROXY point there): bytes go through as
//   they are, and the proxy judges each destination;
// - each allowed loopback destination (a local model server, a local registry) listens here on its
//   own port too, so the agent reaches it at its usual URL: the bridge asks the proxy for it
//   (CONNECT), which judges and records it like any other;
// - the model port, when the proxy holds the agent's key: plain HTTP, each connection handed as it
//   is to the proxy's model route (its own socket), which adds the key and speaks TLS onwards.
// Nothing else answers: another local port is refused, a name does not resolve, an address has no route.
//
// Usage: node bridge.mjs <socket> <proxy port> <forwarded ports, comma-separated, or -> <model port=model socket, or -> -- <argv…>
import { spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { connect, createServer } from 'node:net';
import { constants } from 'node:os';

const [socketArg, proxyPort, forwarded, modelArg, separator, ...argv] = process.argv.slice(2);
const [command, ...args] = argv;
const [modelPort, modelSocket] = modelArg === '-' ? [] : (modelArg ?? '').split('=');
if (!socketArg || !proxyPort || !forwarded || (modelArg !== '-' && !modelSocket) || separator !== '--' || !command) {
  console.error('usage: node bridge.mjs <socket> <proxy port> <ports|-> <model port=socket|-> -- <argv...>');
  process.exit(2);
}
const socket = socketArg;

/**
 * Listens on 127.0.0.1:port; each connection is handed to `relay`.
 * @param {string} port
 * @param {(client: import('node:net').Socket) => void} relay
 * @returns {Promise<void>}
 */
function listen(port, relay) {
  return new Promise((ready, fail) => {
    const server = createServer((client) => {
      client.on('error', () => client.destroy());
      relay(client);
    });
    server.once('error', fail);
    server.listen(Number(port), '127.0.0.1', () => ready());
  });
}

/**
 * The bytes as they are, to one of the proxy's sockets.
 * @param {string} path
 * @returns {(client: import('node:net').Socket) => void}
 */
const piped = (path) => (client) => {
  const upstream = connect({ path });
  upstream.on('error', () => client.destroy());
  client.pipe(upstream).pipe(client);
};

/**
 * A loopback destination: a tunnel asked of the proxy, then the bytes as they are.
 * @param {string} port
 * @returns {(client: import('node:net').Socket) => void}
 */
function tunnel(port) {
  return (client) => {
    client.pause();
    const upstream = connect({ path: socket });
    upstream.on('error', () => client.destroy());
    upstream.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    let head = Buffer.alloc(0);
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      upstream.off('data', onData);
      if (!/^HTTP\/1\.1 200 /.test(head.toString('latin1'))) return client.destroy();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) client.write(rest);
      upstream.pipe(client);
      client.pipe(upstream);
      client.resume();
    };
    upstream.on('data', onData);
  };
}

try {
  await listen(proxyPort, piped(socket));
  if (modelPort && modelSocket) await listen(modelPort, piped(modelSocket));
  for (const port of forwarded === '-' ? [] : forwarded.split(',')) await listen(port, tunnel(port));
} catch (err) {
  console.error(`swarmflow: the sandbox's network bridge cannot start: ${/** @type {Error} */ (err).message}`);
  process.exit(125);
}

const child = spawn(command, args, { stdio: 'inherit' });
child.on('error', (err) => {
  console.error(`swarmflow: cannot start ${command}: ${err.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
// A terminal's Ctrl-C reaches the whole foreground group, the agent with it; the rest is passed on.
process.on('SIGINT', () => undefined);
for (const signal of /** @type {const} */ (['SIGTERM', 'SIGHUP'])) process.on(signal, () => child.kill(signal));
