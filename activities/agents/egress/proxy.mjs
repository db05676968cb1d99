// The egress proxy of one sandboxed agent run (issue #14). A sandboxed agent has a network
// namespace of its own, with loopback only: its one way out is a unix socket to this process,
// which the wrapper starts beside it, outside the sandbox. Each connection is an HTTP proxy
// request (CONNECT host:port, or an absolute http:// URI); the destination is let through only if
// the allow-list names it, and never to a private, loopback or link-local address the list does not
// name as an address of its own (cloud metadata, the host's other services). Every destination
// asked for is recorded, let through or not, one JSON line each, for the attempt's receipt.
//
// Egress is enforced per TCP connection: once a destination is let through, the bytes are piped
// as they are (TLS stays end to end; a second request on a kept-alive plain HTTP connection can
// only reach the same destination).
//
// The model route holds the agent's API key, so the key never enters the sandbox: the CLI is
// given a placeholder and a plain-HTTP base URL inside the sandbox (the bridge's model port, which
// leads to ./model.sock here); each request on it is sent on to the real model endpoint, over TLS
// where the endpoint has it, with the placeholder replaced by the key in its request line and
// headers. Whatever the model's shell commands read (env, the CLI's config, /proc) is the
// placeholder, which is worth nothing anywhere else.
//
// Usage: node proxy.mjs <attempt folder>   (reads egress.json there, and the key from model.key,
// which it removes; listens on ./egress.sock and ./model.sock, appends to egress.jsonl; the socket
// paths are relative, as unix socket paths are short).
import { lookup } from 'node:dns/promises';
import { Buffer } from 'node:buffer';
import { appendFileSync, chmodSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, createServer as createHttpServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, connect, createServer, isIP } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseAuthority } from '../../../lib/authority.mjs';

export const SOCKET = 'egress.sock';
export const MODEL_SOCKET = 'model.sock';
export const PLAN = 'egress.json';
/** The key the model route adds, beside the plan: read once at start, then removed. */
export const MODEL_KEY = 'model.key';
export const RECORD = 'egress.jsonl';
/** A hostile agent could ask forever: past this many lines, requests are still judged but no longer written down. */
export const MAX_RECORDED = 10_000;
const MAX_HEAD = 16 * 1024;

/** Addresses no agent reaches by name: private, loopback, link-local (cloud metadata), CGNAT, multicast, reserved. */
const NOT_PUBLIC = new BlockList();
/** @type {Array<[string, number]>} */
const V4 = [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]];
/** @type {Array<[string, number]>} */
const V6 = [['::', 128], ['::1', 128], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]];
for (const [net, prefix] of V4) NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of V6) NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');

/**
 * An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it is (a BlockList
 * would match IPv4 addresses against a ::ffff:0:0/96 rule, all of them).
 * @param {string} address
 */
function isPublic(address) {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return isPublic(mapped);
  return !NOT_PUBLIC.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** @typedef {(host: string, options: { all: true, verbatim: true }) => Promise<Array<{ address: string }>>} Resolve */
/** @typedef {{ allowed: true, address: string } | { allowed: false, reason: string }} Verdict */

/**
 * Whether the agent may reach host:port: the allow-list entry, then the addresses it resolves to.
 * An entry that is an address (the local model server, 127.0.0.1:4000) is reached as named; a name
 * must resolve to public addresses only, so no name leads to metadata or the host's own ports.
 * @param {readonly string[]} allow `host:port` entries, a host of `*.example.com` for its subdomains
 * @param {string} host
 * @param {number} port
 * @param {Resolve} resolve
 * @returns {Promise<Verdict>}
 */
export async function decide(allow, host, port, resolve = lookup) {
  const named = allow.some((entry) => {
    const e = parseAuthority(entry);
    if (!e || e.port !== port) return false;
    return e.host === host || (e.host.startsWith('*.') && host.endsWith(e.host.slice(1)));
  });
  if (!named) return { allowed: false, reason: `${host}:${port} is not on the allow-list` };
  if (isIP(host)) return { allowed: true, address: host };
  if (host === 'localhost') return { allowed: true, address: '127.0.0.1' };
  let addresses;
  try {
    addresses = await resolve(host, { all: true, verbatim: true });
  } catch (err) {
    const e = /** @type {NodeJS.ErrnoException} */ (err);
    return { allowed: false, reason: `${host} does not resolve (${e.code ?? e.message})` };
  }
  const inner = addresses.find((a) => !isPublic(a.address));
  if (inner) return { allowed: false, reason: `${host} resolves to ${inner.address}, not a public address` };
  const first = addresses[0];
  return first ? { allowed: true, address: first.address } : { allowed: false, reason: `${host} has no address` };
}

/**
 * The request's head (up to the blank line) and what followed it; undefined if the client went away first.
 * @param {import('node:net').Socket} socket
 * @returns {Promise<{ head: string, rest: Buffer } | { tooLarge: true } | undefined>}
 */
function readHead(socket) {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1 && buffered.length <= MAX_HEAD) return;
      socket.off('data', onData);
      socket.pause();
      if (end === -1) return resolve({ tooLarge: true });
      resolve({ head: buffered.subarray(0, end).toString('latin1'), rest: buffered.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('end', () => resolve(undefined));
    socket.once('error', () => resolve(undefined));
  });
}

/** @typedef {{ method: string, host: string, port: number, forward?: string } | { error: string }} ProxyRequest */

/**
 * What the request asks for: a CONNECT's authority, or an absolute http:// URI's, with the head to
 * send on (origin-form, proxy headers off, one request per connection).
 * @param {string} head
 * @returns {ProxyRequest}
 */
export function parseRequest(head) {
  const [requestLine = '', ...headerLines] = head.split('\r\n');
  const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine);
  if (!match) return { error: 'not an HTTP/1.x request line' };
  const method = match[1] ?? '';
  const target = match[2] ?? '';
  if (method === 'CONNECT') {
    const destination = parseAuthority(target);
    return destination ? { method, ...destination } : { error: `CONNECT needs host:port, not ${target}` };
  }
  let url;
  try {
    url = new URL(target);
  } catch {
    return { error: `a proxy request needs an absolute http:// URI, not ${target}` };
  }
  if (url.protocol !== 'http:') return { error: `${url.protocol} is not proxied in the clear: use CONNECT` };
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const headers = headerLines.filter((line) => !/^(proxy-connection|proxy-authorization|connection|keep-alive):/i.test(line));
  const forward = [`${method} ${url.pathname}${url.search} HTTP/1.1`, ...headers, 'Connection: close', '', ''].join('\r\n');
  return { method, host, port: Number(url.port || 80), forward };
}

/**
 * @param {string} status
 * @param {string} reason
 */
const refusal = (status, reason) => `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Swarmflow-Egress: refused\r\nConnection: close\r\n\r\nswarmflow egress: ${reason}\n`;

/** @typedef {{ upstream: string, placeholder: string, key: string }} ModelRoute */
/** @typedef {{ allow: readonly string[], model?: ModelRoute }} Plan */
/** @typedef {(entry: Record<string, unknown>) => void} Recorder */

/** @param {string} host @param {number} port */
const authority = (host, port) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** Headers that belong to one hop (RFC 9110 §7.6.1), and Host, which is the endpoint's. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/**
 * A request's headers as the model endpoint gets them: hop-by-hop ones off, Host the endpoint's,
 * and the placeholder replaced by the key wherever it shows (Authorization, x-api-key, x-goog-api-key…).
 * @param {readonly string[]} rawHeaders name, value, name, value… as received
 * @param {string} host the endpoint's Host header
 * @param {(text: string) => string} swap
 * @returns {Record<string, string | string[]>}
 */
export function forwardedHeaders(rawHeaders, host, swap) {
  /** @type {Record<string, string | string[]>} */
  const headers = { host };
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    const value = swap(rawHeaders[i + 1] ?? '');
    const seen = headers[name];
    headers[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return headers;
}

/**
 * The model route: each request sent on to the model endpoint with the key in place of the placeholder.
 * @param {ModelRoute} route
 * @param {readonly string[]} allow
 * @param {Resolve} resolve
 * @param {Recorder} record
 */
function modelRoute(route, allow, resolve, record) {
  const upstream = new URL(route.upstream);
  const secure = upstream.protocol === 'https:';
  const host = upstream.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = Number(upstream.port || (secure ? 443 : 80));
  const destination = authority(host, port);
  /** @param {string} text */
  const swap = (text) => text.split(route.placeholder).join(route.key);
  return createHttpServer(async (req, res) => {
    req.on('error', () => res.destroy());
    /** @param {number} status @param {string} reason */
    const refuse = (status, reason) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-swarmflow-egress': 'refused' }).end(`swarmflow egress: ${reason}\n`);
    };
    // Judged per request, as any destination is: the endpoint's name must still resolve to public addresses.
    const verdict = await decide(allow, host, port, resolve);
    if (!verdict.allowed) {
      record({ destination, allowed: false, reason: verdict.reason });
      return refuse(403, verdict.reason);
    }
    const send = secure ? httpsRequest : httpRequest;
    const out = send({
      host: verdict.address,
      port,
      // TLS checks the endpoint's certificate against its name, not the address it resolved to.
      ...(secure && !isIP(host) ? { servername: host } : {}),
      method: req.method,
      path: swap(req.url ?? '/'),
      headers: forwardedHeaders(req.rawHeaders, upstream.host, swap),
    });
    out.on('response', (answer) => {
      record({ destination, allowed: true });
      /** @type {Record<string, string | string[]>} */
      const headers = {};
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
      res.writeHead(answer.statusCode ?? 502, headers);
      // An answer cut short upstream is cut short here too: the CLI sees the drop it would have seen.
      answer.on('error', () => res.destroy());
      answer.on('aborted', () => res.destroy());
      answer.pipe(res);
    });
    out.on('error', (err) => {
      const code = /** @type {NodeJS.ErrnoException} */ (err).code ?? err.message;
      record({ destination, allowed: true, error: code });
      refuse(502, `${destination}: ${code}`);
    });
    // The CLI gave up on a streamed answer: so do we.
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
}

/**
 * The plan the wrapper's proxy runs: egress.json, and the key beside it, which is removed once read
 * (only this process holds it then).
 * @param {string} dir
 * @returns {Plan}
 */
function readPlan(dir) {
  /** @type {{ allow: string[], model?: { upstream: string, placeholder: string } }} */
  const plan = JSON.parse(readFileSync(`${dir}/${PLAN}`, 'utf8'));
  if (!plan.model) return { allow: plan.allow };
  const key = readFileSync(`${dir}/${MODEL_KEY}`, 'utf8').trim();
  rmSync(`${dir}/${MODEL_KEY}`, { force: true });
  return { allow: plan.allow, model: { ...plan.model, key } };
}

/**
 * @param {import('node:net').Server} server
 * @param {string} path
 * @returns {Promise<void>}
 */
function listenOn(server, path) {
  return new Promise((ready, fail) => {
    server.once('error', fail);
    server.listen(path, () => {
      // The agent's uid connects to it, through the one bind that shows it.
      chmodSync(path, 0o666);
      ready();
    });
  });
}

/**
 * Serves the run's proxy on `dir/egress.sock` (and its model route on `dir/model.sock`, listening
 * first: the wrapper waits for egress.sock), as the plan in `dir` says; resolves once both listen.
 * @param {string} dir
 * @returns {Promise<{ close: () => Promise<void> }>}
 */
export async function serve(dir) {
  const plan = readPlan(dir);
  const list = plan.allow;
  const resolve = lookup;
  let recorded = 0;
  /** @type {Recorder} */
  const record = (entry) => {
    if (recorded++ >= MAX_RECORDED) return;
    appendFileSync(`${dir}/${RECORD}`, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
  };
  const server = createServer(async (client) => {
    client.on('error', () => client.destroy());
    const read = await readHead(client);
    if (!read) return client.destroy();
    if ('tooLarge' in read) return client.end(refusal('431 Request Header Fields Too Large', 'the request head is too large'));
    const request = parseRequest(read.head);
    if ('error' in request) {
      record({ destination: null, allowed: false, reason: request.error });
      return client.end(refusal('400 Bad Request', request.error));
    }
    const { host, port, method, forward } = request;
    const destination = authority(host, port);
    const verdict = await decide(list, host, port, resolve);
    if (!verdict.allowed) {
      record({ destination, allowed: false, reason: verdict.reason });
      return client.end(refusal('403 Forbidden', verdict.reason));
    }
    const upstream = connect({ host: verdict.address, port });
    upstream.once('error', (err) => {
      const code = /** @type {NodeJS.ErrnoException} */ (err).code ?? err.message;
      record({ destination, allowed: true, error: code });
      if (client.writable) client.end(refusal('502 Bad Gateway', `${destination}: ${code}`));
    });
    upstream.once('connect', () => {
      record({ destination, allowed: true });
      if (method === 'CONNECT') client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      else if (forward) upstream.write(forward, 'latin1');
      if (read.rest.length > 0) upstream.write(read.rest);
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
      client.resume();
    });
  });
  const servers = [...(plan.model ? [{ server: modelRoute(plan.model, list, resolve, record), path: `${dir}/${MODEL_SOCKET}` }] : []), { server, path: `${dir}/${SOCKET}` }];
  // Run as a process, `dir` is "." (see below): the attempt folder's absolute path may be longer than a unix socket's 107 bytes.
  for (const { server: s, path } of servers) await listenOn(s, path);
  return {
    close: () =>
      Promise.all(
        servers.map(({ server: s }) => {
          // A kept-alive model connection would hold the close open.
          if ('closeAllConnections' in s) s.closeAllConnections();
          return new Promise((closed) => s.close(() => closed(undefined)));
        }),
      ).then(() => undefined),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node proxy.mjs <attempt folder>');
    process.exit(2);
  }
  process.chdir(dir);
  for (const socket of [SOCKET, MODEL_SOCKET]) rmSync(socket, { force: true });
  // No top-level await: the module is also imported (its decide and parseRequest), by code that require()s it.
  void serve('.').then((proxy) => {
    // Not SIGINT: a Ctrl-C in an interactive agent's pane is the agent's.
    for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => void proxy.close().then(() => process.exit(0)));
  });
}
