// Agents in the real bubblewrap sandbox (issue #14), through the real spawn, tmux session and exit
// watch: from inside an agent run, what is not the task's own cannot be read or written, while
// the clone and the commit work; `required` on a host without bubblewrap starts nothing.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { createAgentActivities, type AgentActivities } from '../../activities/agents/index.ts';
import { sandboxSettings } from '../../activities/agents/sandboxed.ts';
import { createLocalForge } from '../../activities/forge/local-forge.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { agentUid, detectSandbox } from '../../activities/agents/sandbox.ts';
import { createTmux } from '../../activities/agents/tmux.ts';
import { git, revParse } from '../../activities/git.ts';
import { ConfigSchema } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import type { AgentCommand } from '../../workflows/task/types.ts';
import { shellQuote } from '../../activities/agents/wrapper.ts';
import { CLI_KINDS, KEY_ENV, cliAgent, createTestRepo, pathWithoutBwrap, sampleTaskRss, testApiKeys } from '../harness/agents.ts';
import { startModelServer, type ModelServer } from '../harness/model-server/index.ts';
import { tempDir } from '../harness/paths.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { processEnv } from '../harness/process-env.ts';

let database: TestDatabase;
let dir: string;
let stateDir: string;
let secretFile: string;
let visibleSecret: string;
let agents: AgentActivities;
let unsandboxed: AgentActivities;
let repo: string;

beforeAll(async () => {
  database = await freshDatabase();
  dir = tempDir('sandbox');
  stateDir = join(dir, 'state');
  // A secret file of the worker's configuration outside the state folder (an orchestrator key file, say).
  secretFile = join(dir, 'orchestrator.key');
  writeFileSync(secretFile, 'PRIVATE-KEY-MATERIAL\n', { mode: 0o600 });
  // And one where the agent could otherwise read it (world-readable, outside every hidden folder).
  visibleSecret = join('/var/tmp', `swarmflow-sandbox-test-${process.pid}.pem`);
  writeFileSync(visibleSecret, 'APP-PRIVATE-KEY\n', { mode: 0o644 });
  agents = createAgentActivities({ stateDir, db: database.db, limits: { ...ConfigSchema.shape.host.parse(undefined), sandbox: 'required' }, secretFiles: [secretFile, visibleSecret] });
  unsandboxed = createAgentActivities({ stateDir, db: database.db, limits: { ...ConfigSchema.shape.host.parse(undefined), sandbox: 'off' } });
  repo = await createTestRepo(join(dir, 'repo'));
});

afterAll(async () => {
  await createTmux(agentPaths(stateDir).socket).run(['kill-server']);
  rmSync(visibleSecret, { force: true });
  await database.drop();
});

/**
 * Node code run by the agent (or by the model's tool call): each probe's outcome as JSON, printed
 * (`PROBE {...}`) and written to probe.json; with `commit`, then a commit of its own.
 */
const PROBE = String.raw`
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const [other, state, socket, secret, visibleSecret, workerPid, projectRoot, then] = process.argv.slice(process.argv[1] && process.argv[1].endsWith('.cjs') ? 2 : 1);
const read = (p) => { try { return 'read:' + fs.readFileSync(p, 'utf8').slice(0, 40); } catch (e) { return e.code; } };
const list = (p) => { try { return 'listed:' + fs.readdirSync(p).join(','); } catch (e) { return e.code; } };
const write = (p) => { try { fs.writeFileSync(p, 'x'); return 'wrote'; } catch (e) { return e.code; } };
const out = {
  otherClone: read(other + '/README.md'),
  stateFolder: list(state),
  tmuxSocket: fs.existsSync(socket),
  secretFile: read(secret),
  visibleSecret: read(visibleSecret),
  workerEnviron: read('/proc/' + workerPid + '/environ'),
  shadow: read('/etc/shadow'),
  writeEtc: write('/etc/swarm-probe'),
  writeProject: write(projectRoot + '/swarm-probe'),
  writeRootHome: write('/root/swarm-probe'),
  writeTmp: write('/tmp/swarm-probe'),
  uid: process.getuid(),
  processes: fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length,
};
fs.writeFileSync('probe.json', JSON.stringify(out));
// What the command's environment holds (the test looks for the agent's API key in it).
fs.writeFileSync('probe-env.json', JSON.stringify(process.env));
if (then === 'commit') {
  execFileSync('git', ['add', 'probe.json']);
  execFileSync('git', ['commit', '-q', '-m', 'from the sandbox']);
}
console.log('PROBE ' + JSON.stringify(out));
`;

/**
 * The network as the agent sees it: the registry directly and through HTTP_PROXY, another port of
 * the host, a name off the list, a private and the metadata address, and DNS.
 */
const NET_PROBE = String.raw`
const http = require('node:http');
const net = require('node:net');
const dns = require('node:dns');
const [registry, other] = process.argv.slice(1);
const proxy = new URL(process.env.HTTP_PROXY);
const get = (options) => new Promise((resolve) => {
  const req = http.get(options, (res) => { let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(res.statusCode + ' ' + body)); });
  req.on('error', (e) => resolve(e.code));
});
const viaProxy = (path) => get({ host: proxy.hostname, port: proxy.port, path });
const connectVia = (authority) => new Promise((resolve) => {
  const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: authority });
  req.on('connect', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
  req.on('response', (res) => resolve(res.statusCode));
  req.on('error', (e) => resolve(e.code));
  req.end();
});
const direct = (host, port) => new Promise((resolve) => {
  const s = net.connect({ host, port: Number(port) });
  s.on('connect', () => { s.destroy(); resolve('connected'); });
  s.on('error', (e) => resolve(e.code));
});
(async () => {
  const out = {
    registryDirect: await get('http://127.0.0.1:' + registry + '/'),
    registryProxied: await viaProxy('http://127.0.0.1:' + registry + '/'),
    otherDirect: await direct('127.0.0.1', other),
    otherProxied: await connectVia('127.0.0.1:' + other),
    nameOffTheList: await connectVia('example.com:443'),
    privateAddress: await connectVia('10.0.0.1:80'),
    metadataProxied: await viaProxy('http://169.254.169.254/latest/meta-data/'),
    metadataDirect: await direct('169.254.169.254', 80),
    dns: await new Promise((resolve) => dns.lookup('example.com', (e) => resolve(e ? e.code : 'resolved'))),
  };
  console.log('NET ' + JSON.stringify(out));
})();
`;

/** An HTTP server on 127.0.0.1 that answers `body` and counts its requests. */
async function localServer(body: string): Promise<{ port: number; hits: number; close: () => Promise<void> }> {
  const state = { port: 0, hits: 0, close: () => new Promise<void>((r) => server.close(() => r())) };
  const server = createServer((_req, res) => {
    state.hits++;
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  return state;
}

/** The probe's arguments: another task's clone, the state folder, the tmux socket, the secret files, the worker's pid, the project. */
const probeArgs = (otherClone: string) => [otherClone, stateDir, agentPaths(stateDir).socket, secretFile, visibleSecret, String(process.pid), PROJECT_ROOT];

/** What a sandboxed run of task `taskId` must have seen; of the state folder, only the way to what it was shown. */
function expectIsolated(seen: Record<string, unknown>, taskId: string, stateFolder = 'listed:tasks,worktrees'): void {
  expect(seen).toMatchObject({
    otherClone: 'ENOENT',
    // The state folder is an empty tmpfs but for the paths shown again: its own clone, home and prompt.
    stateFolder,
    tmuxSocket: false,
    // A secret file in a hidden folder is not there; one elsewhere is /dev/null on a nodev mount: unreadable.
    secretFile: 'ENOENT',
    visibleSecret: 'EACCES',
    workerEnviron: 'ENOENT',
    writeEtc: 'EROFS',
    writeProject: 'EROFS',
    writeTmp: 'wrote',
  });
  // Its own pid namespace: a handful of processes, the worker's not among them.
  expect(seen.processes).toBeLessThan(12);
  if (process.getuid?.() === 0) {
    // As root: a uid of its own, which cannot read root's files either.
    expect(seen.uid).toBe(agentUid(taskId));
    expect(seen.shadow).toBe('EACCES');
    // EROFS when the CLI's own sandbox (Codex's) refuses it first.
    expect(['EACCES', 'EROFS']).toContain(seen.writeRootHome);
  }
}

describe('an agent run in the bubblewrap sandbox', () => {
  it('sees nothing of ours: another task, the state folder, the tmux socket, a secret file, the worker; writes only its clone, and commits', async () => {
    expect(detectSandbox()).toMatchObject({ available: true });
    const other = await agents.prepareWorkspace({ taskId: 'other-task', repository: repo, baseBranch: 'main' });
    const ws = await agents.prepareWorkspace({ taskId: 'boxed', repository: repo, baseBranch: 'main' });
    const agent: AgentCommand = { name: 'prober', command: ['node', '-e', PROBE, ...probeArgs(other.worktree), 'commit'], passEnv: [] };
    const session = await agents.spawnAgent({ taskId: 'boxed', attempt: 1, worktree: ws.worktree, agent, prompt: 'probe' });
    // What the receipt and the operator are told.
    expect(session.isolation).toBe(process.getuid?.() === 0 ? `bubblewrap, uid ${agentUid('boxed')}, at most 2048 processes; no network` : "bubblewrap, the worker's uid in a user namespace; no network");
    const exit = await agents.awaitAgentExit({ taskId: 'boxed', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    const line = readFileSync(session.logFile, 'utf8').split('\n').find((l) => l.startsWith('PROBE '));
    expect(line ?? readFileSync(session.logFile, "utf8")).toMatch(/^PROBE /);
    expectIsolated(JSON.parse(line!.slice('PROBE '.length)) as Record<string, unknown>, 'boxed');
    expect(exit).toMatchObject({ exitCode: 0, commits: 1 });
    expect(exit.headSha).toBe(await revParse(ws.worktree, 'swarm/boxed'));
    expect(readFileSync(secretFile, 'utf8')).toBe('PRIVATE-KEY-MATERIAL\n');
  }, 60_000);

  it('reaches the network only through its proxy: the allowed registry answers, another local port, a name off the list, a private and the metadata address are refused, and every destination is in the exit record', async () => {
    const registry = await localServer('registry index');
    const other = await localServer('another service of the host');
    try {
      const ws = await agents.prepareWorkspace({ taskId: 'egress', repository: repo, baseBranch: 'main' });
      const agent: AgentCommand = { name: 'netprobe', command: ['node', '-e', NET_PROBE, String(registry.port), String(other.port)], passEnv: [] };
      const session = await agents.spawnAgent({ taskId: 'egress', attempt: 1, worktree: ws.worktree, agent, prompt: 'probe', network: [`127.0.0.1:${registry.port}`] });
      expect(session.isolation).toContain(`; network only to 127.0.0.1:${registry.port}, through a recording proxy`);
      const exit = await agents.awaitAgentExit({ taskId: 'egress', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
      const log = readFileSync(session.logFile, 'utf8');
      const line = log.split('\n').find((l) => l.startsWith('NET '));
      expect(line ?? log).toMatch(/^NET /);
      expect(JSON.parse(line!.slice('NET '.length))).toEqual({
        // At its usual URL (forwarded into the sandbox), and through HTTP_PROXY.
        registryDirect: '200 registry index',
        registryProxied: '200 registry index',
        otherDirect: 'ECONNREFUSED',
        otherProxied: 403,
        nameOffTheList: 403,
        privateAddress: 403,
        metadataProxied: '403 swarmflow egress: 169.254.169.254:80 is not on the allow-list\n',
        metadataDirect: 'ENETUNREACH',
        dns: expect.stringMatching(/^(EAI_AGAIN|ENOTFOUND)$/),
      });
      // Nothing reached the host's other service.
      expect(other.hits).toBe(0);
      expect(registry.hits).toBe(2);
      expect(exit.egress).toEqual({
        requests: 6,
        refused: 4,
        destinations: expect.arrayContaining([
          { destination: `127.0.0.1:${registry.port}`, allowed: true, count: 2 },
          { destination: `127.0.0.1:${other.port}`, allowed: false, count: 1, reason: `127.0.0.1:${other.port} is not on the allow-list` },
          { destination: 'example.com:443', allowed: false, count: 1, reason: 'example.com:443 is not on the allow-list' },
          { destination: '10.0.0.1:80', allowed: false, count: 1, reason: '10.0.0.1:80 is not on the allow-list' },
          { destination: '169.254.169.254:80', allowed: false, count: 1, reason: '169.254.169.254:80 is not on the allow-list' },
        ]),
      });
      expect(exit.egress!.destinations).toHaveLength(5);
    } finally {
      await Promise.all([registry.close(), other.close()]);
    }
  }, 60_000);

  it('runs the bootstrap install in the task\'s sandbox with its wider list, then the agent narrowed: the registry the install used is refused to the agent', async () => {
    const registry = await localServer('package tarball');
    const other = await localServer('another service of the host');
    try {
      const installRepo = await createTestRepo(join(dir, 'repo-install'));
      // The install fetches through HTTP_PROXY (as npm and pip do), writes its packages into the clone, and tries the host's other port.
      const install = String.raw`
const http = require('node:http');
const fs = require('node:fs');
const proxy = new URL(process.env.HTTP_PROXY);
const get = (url) => new Promise((resolve) => { const r = http.get({ host: proxy.hostname, port: proxy.port, path: url }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(res.statusCode + ' ' + b)); }); r.on('error', (e) => resolve(e.code)); });
(async () => {
  const [registry, other, state] = process.argv.slice(2);
  const seen = { registry: await get('http://127.0.0.1:' + registry + '/pkg.tgz'), other: await get('http://127.0.0.1:' + other + '/'), state: (() => { try { return fs.readdirSync(state).join(','); } catch (e) { return e.code; } })(), uid: process.getuid(), home: process.env.HOME };
  fs.mkdirSync('node_modules/pkg', { recursive: true });
  fs.writeFileSync('node_modules/pkg/index.js', 'module.exports = 1;\n');
  fs.writeFileSync('install-seen.json', JSON.stringify(seen));
})();
`;
      writeFileSync(join(installRepo, 'install.cjs'), install);
      await git(installRepo, ['add', '-A']);
      await git(installRepo, ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', 'commit', '--quiet', '-m', 'install script']);
      const bootstrap = { envFiles: [], install: { command: `node install.cjs ${registry.port} ${other.port} ${stateDir}`, timeoutMs: 30_000 }, network: { allow: [`127.0.0.1:${registry.port}`] } };
      const ws = await agents.prepareWorkspace({ taskId: 'installed', repository: installRepo, baseBranch: 'main', bootstrap });
      expect(ws.bootstrap.install).toMatchObject({ exitCode: 0 });
      const seen = JSON.parse(readFileSync(join(ws.worktree, 'install-seen.json'), 'utf8')) as Record<string, unknown>;
      expect(seen).toMatchObject({ registry: '200 package tarball', other: `403 swarmflow egress: 127.0.0.1:${other.port} is not on the allow-list\n`, state: 'tasks,worktrees', home: join(stateDir, 'tasks', 'installed', 'home') });
      if (process.getuid?.() === 0) expect(seen.uid).toBe(agentUid('installed'));
      expect(ws.bootstrap.install?.egress).toEqual({
        requests: 2,
        refused: 1,
        destinations: [
          { destination: `127.0.0.1:${registry.port}`, allowed: true, count: 1 },
          { destination: `127.0.0.1:${other.port}`, allowed: false, count: 1, reason: `127.0.0.1:${other.port} is not on the allow-list` },
        ],
      });
      expect(readFileSync(join(ws.worktree, 'node_modules', 'pkg', 'index.js'), 'utf8')).toBe('module.exports = 1;\n');

      // The agent after it: the policy's network.allow (none here), not the install's list.
      const agent: AgentCommand = { name: 'after-install', command: ['node', '-e', "require('node:http').get('http://127.0.0.1:' + process.argv[1] + '/pkg.tgz', (r) => console.log('AGENT ' + r.statusCode)).on('error', (e) => console.log('AGENT ' + e.code))", String(registry.port)], passEnv: [] };
      const session = await agents.spawnAgent({ taskId: 'installed', attempt: 1, worktree: ws.worktree, agent, prompt: 'p' });
      await agents.awaitAgentExit({ taskId: 'installed', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
      expect(readFileSync(session.logFile, 'utf8')).toContain('AGENT ECONNREFUSED');
      expect(registry.hits).toBe(1);
      expect(other.hits).toBe(0);
    } finally {
      await Promise.all([registry.close(), other.close()]);
    }
  }, 60_000);

  it('stops a run at host.agentMaxRuntime, and a full private /tmp at host.agentTmpMb, saying so in the log', async () => {
    const limited = createAgentActivities({ stateDir, db: database.db, limits: { ...ConfigSchema.shape.host.parse(undefined), sandbox: 'required', agentMaxRuntime: '3s', agentTmpMb: 16 } });
    const ws = await limited.prepareWorkspace({ taskId: 'overtime', repository: repo, baseBranch: 'main' });
    const fill = String.raw`
const fs = require('node:fs');
let written = 0, error = '';
try { for (;;) { fs.appendFileSync('/tmp/fill', Buffer.alloc(1024 * 1024)); written++; } } catch (e) { error = e.code; }
console.log('TMP ' + JSON.stringify({ written, error }));
setInterval(() => {}, 1000);
`;
    const startedAt = Date.now();
    const session = await limited.spawnAgent({ taskId: 'overtime', attempt: 1, worktree: ws.worktree, agent: { name: 'overtime', command: ['node', '-e', fill], passEnv: [] }, prompt: 'p' });
    const exit = await limited.awaitAgentExit({ taskId: 'overtime', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    const elapsed = Date.now() - startedAt;
    expect(exit.exitCode).toBe(124);
    expect(exit.logTail).toContain('swarmflow: the agent ran for host.agentMaxRuntime (3s) and was stopped');
    // Stopped at its time, not at the next check of the workflow's.
    expect(elapsed).toBeGreaterThanOrEqual(3_000);
    expect(elapsed).toBeLessThan(30_000);
    const line = readFileSync(session.logFile, 'utf8').split('\n').find((l) => l.startsWith('TMP '));
    const tmp = JSON.parse(line!.slice('TMP '.length)) as { written: number; error: string };
    expect(tmp.error).toBe('ENOSPC');
    expect(tmp.written).toBeLessThanOrEqual(16);
  }, 60_000);

  it("stops a run whose clone and home pass host.agentDiskMb, saying so in its exit", async () => {
    const limited = createAgentActivities({ stateDir, db: database.db, limits: { ...ConfigSchema.shape.host.parse(undefined), sandbox: 'required', agentDiskMb: 64 } });
    const ws = await limited.prepareWorkspace({ taskId: 'disk-hog', repository: repo, baseBranch: 'main' });
    // 80 MiB into its clone, then it would wait for ten minutes: only the disk check ends it within the test's minute.
    const fill = "require('node:fs').writeFileSync('fill.bin', Buffer.alloc(80 * 1024 * 1024, 1)); setTimeout(() => {}, 600_000)";
    await limited.spawnAgent({ taskId: 'disk-hog', attempt: 1, worktree: ws.worktree, agent: { name: 'hog', command: ['node', '-e', fill], passEnv: [] }, prompt: 'fill' });
    const exit = await limited.awaitAgentExit({ taskId: 'disk-hog', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    expect(exit.exitCode).toBeNull();
    expect(exit.logTail).toMatch(/swarmflow: the agent's clone and home took 8\d MiB, past host\.agentDiskMb \(64 MiB\), and it was stopped$/);
    expect(await limited.sessionAlive({ taskId: 'disk-hog' })).toEqual({ alive: false });
  }, 60_000);

  it('stops a fork bomb at host.agentMaxProcesses: the task uid cannot start more', async () => {
    const capped = createAgentActivities({ stateDir, db: database.db, limits: { ...ConfigSchema.shape.host.parse(undefined), sandbox: 'required', agentMaxProcesses: 100 } });
    const ws = await capped.prepareWorkspace({ taskId: 'fork-bomb', repository: repo, baseBranch: 'main' });
    const bomb = String.raw`
const { spawn } = require('node:child_process');
let started = 0, refused = 0, other = '';
const children = [];
let pending = 300;
for (let i = 0; i < 300; i++) {
  const child = spawn('sleep', ['30']);
  child.on('spawn', () => { started++; children.push(child); if (--pending === 0) done(); });
  child.on('error', (e) => { if (e.code === 'EAGAIN') refused++; else other = e.code; if (--pending === 0) done(); });
}
function done() { console.log('BOMB ' + JSON.stringify({ started, refused, other })); for (const c of children) c.kill('SIGKILL'); process.exit(0); }
`;
    const session = await capped.spawnAgent({ taskId: 'fork-bomb', attempt: 1, worktree: ws.worktree, agent: { name: 'bomb', command: ['node', '-e', bomb], passEnv: [] }, prompt: 'p' });
    // RLIMIT_NPROC counts per uid: only a task's own uid (the worker is root) makes it the task's cap, and only then is one claimed.
    if (process.getuid?.() !== 0) {
      expect(session.isolation).not.toContain('processes');
      return;
    }
    expect(session.isolation).toContain('at most 100 processes');
    await capped.awaitAgentExit({ taskId: 'fork-bomb', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    const line = readFileSync(session.logFile, 'utf8').split('\n').find((l) => l.startsWith('BOMB '));
    expect(line ?? readFileSync(session.logFile, 'utf8')).toMatch(/^BOMB /);
    const { started, refused, other } = JSON.parse(line!.slice('BOMB '.length)) as { started: number; refused: number; other: string };
    // node itself holds ~11 threads of the 100; the rest of the 300 are refused.
    expect(started).toBeLessThan(100);
    expect(refused).toBe(300 - started);
    expect(other).toBe('');
  }, 60_000);

  it('`required` where bubblewrap is missing: the spawn is refused with the fix, and no session starts', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'no-bwrap', repository: repo, baseBranch: 'main' });
    const vars = processEnv();
    vars.set('PATH', pathWithoutBwrap(dir));
    try {
      const agent: AgentCommand = { name: 'scripted', command: ['node', join(dirname(PROJECT_ROOT), 'nothing.mjs')], passEnv: [] };
      await expect(agents.spawnAgent({ taskId: 'no-bwrap', attempt: 1, worktree: ws.worktree, agent, prompt: 'p' })).rejects.toMatchObject({
        type: 'AgentMisconfigured',
        nonRetryable: true,
        message: expect.stringContaining('agent "scripted" must run sandboxed (host.sandbox "required", the default for a CLI agent) and this host cannot: bubblewrap (bwrap) is not installed. Fix: apt-get install --no-install-recommends bubblewrap'),
      });
    } finally {
      vars.restore();
    }
    expect(await agents.sessionAlive({ taskId: 'no-bwrap' })).toEqual({ alive: false });
  });
});

describe("the local forge's CI checks in the sandbox", () => {
  it("run the agent's code as the task's uid: a check sees nothing of ours and writes only its checkout; its verdict stands", async () => {
    const forge = createLocalForge({ db: database.db, stateDir, sandbox: sandboxSettings(stateDir, { ...ConfigSchema.shape.host.parse(undefined), sandbox: 'required' }, [secretFile, visibleSecret]) });
    const other = await agents.prepareWorkspace({ taskId: 'ci-other', repository: repo, baseBranch: 'main' });
    // The agent's branch, with the probe as its test.
    const clone = join(dir, 'ci-branch');
    await git(dir, ['clone', '--quiet', repo, clone]);
    writeFileSync(join(clone, 'probe.cjs'), PROBE);
    await git(clone, ['add', 'probe.cjs']);
    await git(clone, ['-c', 'user.name=Agent', '-c', 'user.email=agent@example.invalid', 'commit', '--quiet', '-m', 'a test of its own']);
    await git(clone, ['push', '--quiet', 'origin', 'HEAD:refs/heads/swarm/ci-boxed']);
    const headSha = (await revParse(clone, 'HEAD'))!;
    const pr = await forge.ensurePr({ taskId: 'ci-boxed', repository: repo, base: 'main', branch: 'swarm/ci-boxed', title: 'probe', body: 'probe' });
    const command = ['node', 'probe.cjs', ...probeArgs(other.worktree)].map(shellQuote).join(' ');
    const verdict = await forge.runCi({ taskId: 'ci-boxed', repository: repo, number: pr.number, headSha, checks: [{ name: 'probe', command, timeoutMs: 30_000 }] });
    expect(verdict).toMatchObject({ status: 'passed', checks: [{ name: 'probe', status: 'passed', exitCode: 0 }] });
    const line = verdict.checks[0]!.outputTail.split('\n').find((l) => l.startsWith('PROBE '));
    expect(line ?? verdict.checks[0]!.outputTail).toMatch(/^PROBE /);
    // Its checkout is under the state folder's ci/: the one name that shows of it.
    expectIsolated(JSON.parse(line!.slice('PROBE '.length)) as Record<string, unknown>, 'ci-boxed', 'listed:ci');
  }, 60_000);
});

/** Per CLI, sandboxed and not: spawnAgent to the first model request, and the task's processes' peak RSS (printed at the end). */
const measured: string[] = [];
afterAll(() => {
  if (measured.length > 0) console.log(`agent CLIs, sandboxed vs not:\n${measured.join('\n')}`);
});

describe.each(CLI_KINDS)('%s in the sandbox, through its tool call', (kind) => {
  let server: ModelServer;
  const keys = processEnv();
  beforeEach(async () => {
    server = await startModelServer();
    keys.set(KEY_ENV[kind], testApiKeys()[kind]);
  });
  afterEach(() => {
    keys.restore();
    return server.close();
  });

  /** The probe as the model's tool call, run by `through`; what it saw, the exit, and the figures. */
  async function probeRun(through: AgentActivities, taskId: string) {
    const other = await through.prepareWorkspace({ taskId: `${taskId}-other`, repository: repo, baseBranch: 'main' });
    const ws = await through.prepareWorkspace({ taskId, repository: repo, baseBranch: 'main' });
    writeFileSync(join(ws.worktree, 'probe.cjs'), PROBE);
    server.script([{ tool: { command: ['node', 'probe.cjs', ...probeArgs(other.worktree), 'file'].map(shellQuote).join(' ') } }, { text: 'done' }]);
    const peakRss = sampleTaskRss(taskId);
    const spawnedAt = Date.now();
    await through.spawnAgent({ taskId, attempt: 1, worktree: ws.worktree, agent: cliAgent(kind, server.url, 'headless'), prompt: 'Probe.' });
    const exit = await through.awaitAgentExit({ taskId, attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    const firstRequestMs = (server.requests.find((r) => r.scripted && r.at >= spawnedAt)?.at ?? NaN) - spawnedAt;
    const env = JSON.parse(readFileSync(join(ws.worktree, 'probe-env.json'), 'utf8')) as Record<string, string>;
    return { seen: JSON.parse(readFileSync(join(ws.worktree, 'probe.json'), 'utf8')) as Record<string, unknown>, env, exit, spawnedAt, firstRequestMs, rssMiB: peakRss() };
  }

  it("the model's shell command sees nothing of ours either, and its edits are collected; unsandboxed, the same command reads another task's clone", async () => {
    const boxed = await probeRun(agents, `${kind}-boxed`);
    expect(boxed.exit.exitCode).toBe(0);
    expectIsolated(boxed.seen, `${kind}-boxed`);
    // The key never entered the sandbox: the CLI had a placeholder, which its egress proxy swapped
    // for the key on the way to the model. So no tool call finds it, under any name, whatever the
    // CLI's own scrubbing does (Claude Code's needs a nested sandbox, Gemini's also withholds the
    // git identity): the model server got the key, the sandbox never had it.
    expect(boxed.env.PATH).toBeTruthy();
    const key = process.env[KEY_ENV[kind]]!;
    expect(key).toMatch(/-test-/);
    expect(Object.entries(boxed.env).filter(([, value]) => value.includes(key)).map(([name]) => name)).toEqual([]);
    const modelRequests = server.requests.filter((r) => r.at >= boxed.spawnedAt);
    expect(modelRequests.length).toBeGreaterThan(0);
    for (const r of modelRequests) expect(JSON.stringify(r.headers)).toContain(key);
    // Codex's shell environment policy also leaves the placeholder out; the others' commands see it, worth nothing.
    if (kind !== 'codex') expect(boxed.env[KEY_ENV[kind]]).toMatch(/^swarmflow-held-key-[0-9a-f]{24}$/);
    // What the run left uncommitted in its clone is on the task branch.
    expect(boxed.exit.commits).toBe(1);
    // Its model endpoint let through its egress proxy; whatever else the CLI asked for (Codex: its
    // update check on github.com, chatgpt.com's telemetry) refused, and recorded with the reason.
    const destinations = boxed.exit.egress?.destinations ?? [];
    expect(destinations.filter((d) => d.allowed)).toEqual([{ destination: new URL(server.url).host, allowed: true, count: expect.any(Number) }]);
    for (const d of destinations.filter((d) => !d.allowed)) expect(d.reason).toBe(`${d.destination} is not on the allow-list`);
    if (destinations.length > 1) console.log(`${kind} asked for, and was refused: ${destinations.filter((d) => !d.allowed).map((d) => d.destination).join(', ')}`);

    // The same run with host.sandbox "off": the isolation above is the sandbox's, not the CLI's.
    const open = await probeRun(unsandboxed, `${kind}-open`);
    expect(open.seen.otherClone).toMatch(/^read:/);
    expect(open.seen.stateFolder).toMatch(/^listed:.*tmux\.sock/);
    measured.push(`${kind}: spawnAgent to first model request ${boxed.firstRequestMs} ms sandboxed, ${open.firstRequestMs} ms not; peak RSS of the task's processes ${boxed.rssMiB} MiB sandboxed, ${open.rssMiB} MiB not`);
  }, 120_000);
});

