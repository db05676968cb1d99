// The sandbox's egress proxy (activities/agents/egress/proxy.mjs) on a real unix socket and real
// upstream servers: what it lets through, what it refuses and why, and its record of both.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { decide, MODEL_KEY, MODEL_SOCKET, parseRequest, PLAN, RECORD, serve, SOCKET } from '../../activities/agents/egress/proxy.mjs';
import { egressRecord, writeEgressPlan } from '../../activities/agents/egress/plan.ts';
import { tempDir } from '../harness/paths.ts';

const resolveTo = (...addresses: string[]) => () => Promise.resolve(addresses.map((address) => ({ address })));

describe('decide: the allow-list, then where a name resolves', () => {
  const allow = ['registry.npmjs.org:443', '*.pythonhosted.org:443', '127.0.0.1:4000', 'localhost:5000'];

  it('lets through a listed name that resolves to public addresses, a subdomain of a wildcard, and a listed address as named', async () => {
    await expect(decide(allow, 'registry.npmjs.org', 443, resolveTo('104.16.0.35'))).resolves.toEqual({ allowed: true, address: '104.16.0.35' });
    await expect(decide(allow, 'files.pythonhosted.org', 443, resolveTo('151.101.0.223'))).resolves.toEqual({ allowed: true, address: '151.101.0.223' });
    await expect(decide(allow, '127.0.0.1', 4000)).resolves.toEqual({ allowed: true, address: '127.0.0.1' });
    await expect(decide(allow, 'localhost', 5000)).resolves.toEqual({ allowed: true, address: '127.0.0.1' });
  });

  it('refuses what the list does not name: another port, another host, the wildcard\'s own apex, an address', async () => {
    await expect(decide(allow, 'registry.npmjs.org', 80, resolveTo('104.16.0.35'))).resolves.toEqual({ allowed: false, reason: 'registry.npmjs.org:80 is not on the allow-list' });
    await expect(decide(allow, 'evil.example', 443, resolveTo('1.2.3.4'))).resolves.toMatchObject({ allowed: false });
    await expect(decide(allow, 'pythonhosted.org', 443, resolveTo('1.2.3.4'))).resolves.toMatchObject({ allowed: false });
    await expect(decide(allow, '127.0.0.1', 4001)).resolves.toMatchObject({ allowed: false });
    await expect(decide(allow, '169.254.169.254', 80)).resolves.toMatchObject({ allowed: false });
  });

  it('refuses a listed name that resolves to a private, loopback, link-local or mapped address (DNS rebinding), or does not resolve', async () => {
    for (const address of ['10.1.2.3', '127.0.0.1', '169.254.169.254', '192.168.1.1', '172.20.0.1', '100.64.0.1', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1']) {
      await expect(decide(allow, 'registry.npmjs.org', 443, resolveTo('104.16.0.35', address))).resolves.toEqual({ allowed: false, reason: `registry.npmjs.org resolves to ${address}, not a public address` });
    }
    const unresolvable = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    await expect(decide(allow, 'registry.npmjs.org', 443, unresolvable)).resolves.toEqual({ allowed: false, reason: 'registry.npmjs.org does not resolve (ENOTFOUND)' });
  });
});

describe('parseRequest', () => {
  it('reads a CONNECT authority and an absolute URI, which is sent on in origin form without proxy headers, one request per connection', () => {
    expect(parseRequest('CONNECT [::1]:443 HTTP/1.1\r\nHost: x')).toEqual({ method: 'CONNECT', host: '::1', port: 443 });
    expect(parseRequest('GET http://Example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com\r\nProxy-Authorization: Basic x\r\nConnection: keep-alive')).toEqual({
      method: 'GET',
      host: 'example.com',
      port: 8080,
      forward: 'GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n',
    });
  });

  it('says what is wrong with anything else', () => {
    expect(parseRequest('GET /relative HTTP/1.1')).toEqual({ error: 'a proxy request needs an absolute http:// URI, not /relative' });
    expect(parseRequest('GET https://example.com/ HTTP/1.1')).toEqual({ error: 'https: is not proxied in the clear: use CONNECT' });
    expect(parseRequest('CONNECT example.com HTTP/1.1')).toEqual({ error: 'CONNECT needs host:port, not example.com' });
    expect(parseRequest('\u0016\u0003\u0001 binary')).toEqual({ error: 'not an HTTP/1.x request line' });
  });
});

describe('the proxy on its socket', () => {
  let dir: string;
  let proxy: Awaited<ReturnType<typeof serve>>;
  let upstream: Server;
  let port: number;

  beforeAll(async () => {
    dir = tempDir('egress');
    upstream = createServer((req, res) => res.end(`upstream saw ${req.method} ${req.url} connection=${req.headers.connection}`));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    port = (upstream.address() as AddressInfo).port;
    writeEgressPlan(dir, [`127.0.0.1:${port}`]);
    proxy = await serve(dir);
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => upstream.close(r));
  });

  /** Sends `request` over the proxy's socket; everything the proxy answered. */
  const ask = (request: string | Buffer) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ path: join(dir, SOCKET) });
      let answer = '';
      socket.on('data', (c) => {
        answer += c.toString('latin1');
        // A tunnel stays open: once the upstream answered through it, that is all.
        if (/^HTTP\/1\.1 200 Connection Established/.test(answer) && answer.includes('upstream saw')) socket.end();
      });
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
      socket.write(request);
    });

  it('tunnels an allowed CONNECT, forwards an allowed plain request, refuses the rest with the reason; the record has each', async () => {
    const tunnelled = await ask(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nGET /through HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(tunnelled).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK[\s\S]*upstream saw GET \/through connection=close$/);
    const forwarded = await ask(`GET http://127.0.0.1:${port}/pkg?v=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nProxy-Connection: keep-alive\r\n\r\n`);
    expect(forwarded).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*upstream saw GET \/pkg\?v=1 connection=close$/);
    const refused = await ask(`CONNECT 127.0.0.1:${port + 1} HTTP/1.1\r\n\r\n`);
    expect(refused).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*X-Swarmflow-Egress: refused[\s\S]*swarmflow egress: 127\.0\.0\.1:\d+ is not on the allow-list\n$/);
    expect(await ask('hello\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request[\s\S]*not an HTTP\/1\.x request line\n$/);
    expect(await ask(Buffer.alloc(17 * 1024, 'a'))).toMatch(/^HTTP\/1\.1 431 /);

    expect(egressRecord(dir)).toEqual({
      requests: 4,
      refused: 2,
      destinations: [
        { destination: `127.0.0.1:${port}`, allowed: true, count: 2 },
        { destination: `127.0.0.1:${port + 1}`, allowed: false, count: 1, reason: `127.0.0.1:${port + 1} is not on the allow-list` },
        { destination: '(malformed request)', allowed: false, count: 1, reason: 'not an HTTP/1.x request line' },
      ],
    });
    // Each line says when: the receipt's order is the agent's.
    const lines = readFileSync(join(dir, RECORD), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { at: string });
    expect(lines.every((l) => !Number.isNaN(Date.parse(l.at)))).toBe(true);
  });
});

/** One request over the model route's socket, as the CLI sends it to its base URL: the status, headers and whole body. */
function askModel(dir: string, path: string, headers: Record<string, string>, body = '') {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = request({ socketPath: join(dir, MODEL_SOCKET), method: 'POST', path, headers: { host: '127.0.0.1:3129', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the model route: the proxy holds the key, the CLI has a placeholder', () => {
  let dir: string;
  let proxy: Awaited<ReturnType<typeof serve>>;
  let upstream: Server;
  let port: number;
  const seen: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
  const KEY = 'sk-real-key-never-in-the-sandbox';

  beforeAll(async () => {
    dir = tempDir('model-route');
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body });
        // A streamed answer, as a model's is: it reaches the CLI as it comes.
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req-1' });
        res.write('event: one\ndata: {}\n\n');
        // A provider that drops the connection mid-stream.
        if (req.url?.includes('/cut')) return void setTimeout(() => req.socket.destroy(), 20);
        setTimeout(() => res.end('event: two\ndata: {}\n\n'), 20);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    port = (upstream.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await proxy?.close();
    await new Promise((r) => upstream.close(r));
  });

  it('swaps the placeholder for the key in the request line and headers only, streams the answer back, records the endpoint; the key file is gone once read', async () => {
    const plan = writeEgressPlan(dir, [`127.0.0.1:${port}`], { upstream: `http://127.0.0.1:${port}/v1/`, key: KEY });
    const held = plan.model!;
    expect(held.baseUrl).toBe(`http://127.0.0.1:${held.port}/v1`);
    expect(held.placeholder).toMatch(/^swarmflow-held-key-[0-9a-f]{24}$/);
    expect(held.port).not.toBe(plan.proxyPort);
    // The plan names no key; the key file is for the proxy alone.
    expect(readFileSync(join(dir, PLAN), 'utf8')).not.toContain(KEY);
    proxy = await serve(dir);
    expect(existsSync(join(dir, MODEL_KEY))).toBe(false);

    const answer = await askModel(dir, `/v1/messages?key=${held.placeholder}`, { 'x-api-key': held.placeholder, authorization: `Bearer ${held.placeholder}`, connection: 'keep-alive', 'content-type': 'application/json' }, `{"said":"${held.placeholder}"}`);
    expect(answer).toMatchObject({ status: 200, body: 'event: one\ndata: {}\n\nevent: two\ndata: {}\n\n' });
    expect(answer.headers['x-request-id']).toBe('req-1');
    const got = seen.at(-1)!;
    expect(got.url).toBe(`/v1/messages?key=${KEY}`);
    expect(got.headers).toMatchObject({ 'x-api-key': KEY, authorization: `Bearer ${KEY}`, host: `127.0.0.1:${port}`, 'content-type': 'application/json' });
    // The body is the model's conversation: passed on as it is (a key never belongs there).
    expect(got.body).toBe(`{"said":"${held.placeholder}"}`);
    expect(egressRecord(dir)).toEqual({ requests: 1, refused: 0, destinations: [{ destination: `127.0.0.1:${port}`, allowed: true, count: 1 }] });
  });

  it('cuts the CLI\'s answer short where the endpoint cut its own: a dropped stream is a drop, never a hang', async () => {
    const cut = new Promise<string>((resolve) => {
      const req = request({ socketPath: join(dir, MODEL_SOCKET), method: 'POST', path: '/v1/cut', headers: { host: '127.0.0.1:3129' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('aborted', () => resolve(`aborted after ${JSON.stringify(text)}`));
        res.on('end', () => resolve(`ended after ${JSON.stringify(text)}`));
      });
      req.on('error', (e) => resolve(`error ${e.message}`));
      req.end();
    });
    await expect(cut).resolves.toBe(`aborted after ${JSON.stringify('event: one\ndata: {}\n\n')}`);
  });

  it('refuses an endpoint off the list, and says why an endpoint cannot be reached', async () => {
    const offList = tempDir('model-route-off');
    writeEgressPlan(offList, [], { upstream: `http://127.0.0.1:${port}`, key: KEY });
    const refusing = await serve(offList);
    try {
      const answer = await askModel(offList, '/v1/messages', { 'x-api-key': 'anything' });
      expect(answer).toMatchObject({ status: 403, body: `swarmflow egress: 127.0.0.1:${port} is not on the allow-list\n` });
      expect(answer.headers['x-swarmflow-egress']).toBe('refused');
    } finally {
      await refusing.close();
    }
    const gone = tempDir('model-route-gone');
    writeEgressPlan(gone, [`127.0.0.1:${port + 1}`], { upstream: `http://127.0.0.1:${port + 1}`, key: KEY });
    const failing = await serve(gone);
    try {
      await expect(askModel(gone, '/v1/messages', {})).resolves.toMatchObject({ status: 502, body: `swarmflow egress: 127.0.0.1:${port + 1}: ECONNREFUSED\n` });
    } finally {
      await failing.close();
    }
  });

  it('speaks TLS to an https endpoint and checks its certificate against the endpoint\'s name', async () => {
    const tls = tempDir('model-route-tls');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem')], { stdio: 'ignore' });
    const secure = createTlsServer({ key: readFileSync(join(tls, 'key.pem')), cert: readFileSync(join(tls, 'cert.pem')) }, (_req, res) => res.end('over tls'));
    await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
    const tlsPort = (secure.address() as AddressInfo).port;
    writeEgressPlan(tls, [`localhost:${tlsPort}`], { upstream: `https://localhost:${tlsPort}`, key: KEY });
    const proxied = await serve(tls);
    try {
      // A certificate no CA vouches for is refused: the key is never sent to it.
      const answer = await askModel(tls, '/v1/messages', {});
      expect(answer.status).toBe(502);
      expect(answer.body).toMatch(/^swarmflow egress: localhost:\d+: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\n$/);
    } finally {
      await proxied.close();
      await new Promise((r) => secure.close(r));
    }
  });
});
