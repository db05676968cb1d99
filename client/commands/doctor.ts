// `swarm doctor`: one line per check, the fix for each failure, non-zero exit when any fails.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MIN_NODE, TOOLS, nodeIsRecentEnough, resolveChromium, resolveTool } from '../../scripts/tools.mjs';
import { ping } from '../../activities/store/db.ts';
import { Spool, spoolDir } from '../../activities/store/evidence/spool.ts';
import { detectMemoryLimit } from '../../activities/agents/memory-limit.ts';
import { detectSandbox } from '../../activities/agents/sandbox.ts';
import { hostQueue, redactUrl, type Config } from '../../lib/config.ts';
import type { doctorRoundTrip, RoundTrip } from '../../workflows/doctor.ts';
import { SwarmClient } from '../swarm-client.ts';
import { resolveBinary } from '../../activities/agents/adapters/index.ts';
import { resolveEndpoints } from '../endpoints.ts';
import { cliEngine } from './cli-engine.ts';

const run = promisify(execFile);

/** A workflow on the orchestration queue that queries Postgres and visits this host's queue. */
function roundTrip(client: SwarmClient, timeout = '20 seconds'): Promise<RoundTrip> {
  return client.temporal.workflow.execute<typeof doctorRoundTrip>('doctorRoundTrip', {
    taskQueue: client.config.workers.orchestrationQueue,
    workflowId: `doctor-${client.config.workers.hostId}-${Date.now()}`,
    args: [hostQueue(client.config)],
    workflowExecutionTimeout: timeout,
    staticSummary: 'swarmflow doctor: round trip through both workers and Postgres',
  });
}

export interface CheckResult {
  name: string;
  status: 'ok' | 'fail' | 'skipped';
  detail: string;
  fix?: string;
}


function checkNode(): CheckResult {
  return nodeIsRecentEnough()
    ? { name: 'node', status: 'ok', detail: `v${process.versions.node}` }
    : { name: 'node', status: 'fail', detail: `v${process.versions.node} is older than ${MIN_NODE.join('.')}`, fix: 'install Node 20.19 or newer' };
}

function checkTool(key: keyof typeof TOOLS, name: string, needed: boolean): CheckResult {
  const found = resolveTool(TOOLS[key]);
  if (found.ok) return { name, status: 'ok', detail: `${found.path} (from ${found.source})` };
  if (!needed) return { name, status: 'skipped', detail: `not installed; not needed with TEMPORAL_ADDRESS set` };
  return { name, status: 'fail', detail: found.reason, fix: found.fix };
}

/** The UI gate's browser, on this host: found, and able to say its version. */
export async function checkChromium(env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  const found = resolveChromium(env);
  if (!found.ok) return { name: 'chromium', status: 'fail', detail: `${found.reason}: the UI gate cannot take screenshots of a repository's preview`, fix: found.fix };
  const version = await checkCommand('chromium', ['--version'], `${found.path} does not run: reinstall it (apt-get install --reinstall chromium), or set SWARM_CHROMIUM to a working Chromium`, found.path);
  return version.status === 'ok' ? { ...version, detail: `${version.detail} (${found.path}, from ${found.source})` } : version;
}

/** Run where the host worker runs: the limit is applied on this machine. */
function checkAgentMemoryLimit(): CheckResult {
  const limit = detectMemoryLimit();
  return limit.mechanism === 'none'
    ? { name: 'agent-memory', status: 'fail', detail: `agents would run without a memory limit: ${limit.detail}`, fix: 'apt-get install util-linux (prlimit), or run the host worker where cgroup v2 has the memory controller' }
    : { name: 'agent-memory', status: 'ok', detail: `${limit.mechanism}: ${limit.detail}` };
}

/** What isolation agents get on this host, under host.sandbox (unset: required for CLI agents, preferred for commands). */
export function checkAgentSandbox(config: Config, env: NodeJS.ProcessEnv = process.env): CheckResult {
  const mode = config.host.sandbox;
  const setting = mode ? `host.sandbox "${mode}"` : 'host.sandbox unset: required for CLI agents, preferred for command agents';
  if (mode === 'off') return { name: 'agent-sandbox', status: 'ok', detail: `off (${setting}): agents run as the worker's user and see what it sees` };
  const support = detectSandbox(env);
  if (support.available) return { name: 'agent-sandbox', status: 'ok', detail: `${support.detail} (${setting})` };
  // Without one, `preferred` runs agents unsandboxed (said here); anything else starts no CLI agent.
  if (mode === 'preferred') return { name: 'agent-sandbox', status: 'ok', detail: `none: ${support.problem}; agents run unsandboxed (${setting}). To sandbox them: ${support.fix}` };
  return { name: 'agent-sandbox', status: 'fail', detail: `${support.problem}: CLI agents will not start (${setting})`, fix: `${support.fix}; or SWARM_SANDBOX=preferred to run them unsandboxed` };
}

async function checkCommand(name: string, args: string[], fix: string, binary = name): Promise<CheckResult> {
  try {
    const { stdout } = await run(binary, args);
    return { name, status: 'ok', detail: stdout.trim().split('\n')[0] ?? '' };
  } catch (err) {
    return { name, status: 'fail', detail: `${name} is not usable: ${(err as Error).message.split('\n')[0]}`, fix };
  }
}

/** One agent CLI: its version, and what runs it against its package's declared Node engine. */
async function checkAgentCli(name: string, agent: { kind: string; binary?: string }): Promise<CheckResult> {
  const binary = resolveBinary(agent.binary ?? agent.kind) ?? agent.binary ?? agent.kind;
  const version = await checkCommand(`agent ${name}`, ['--version'], `npm install (the pinned ${agent.kind} CLI), or set agents.${name}.binary`, binary);
  if (version.status !== 'ok') return version;
  const engine = await cliEngine(binary);
  const wants = engine.wants ? `engines node ${engine.wants}` : 'no declared engine';
  if (engine.kind === 'native') return { ...version, detail: `${version.detail}; native binary, runs without Node (${wants} does not apply)` };
  if (!engine.node) return { ...version, status: 'fail', detail: `${version.detail}; a Node script, and no node is on PATH`, fix: 'install Node, on the PATH the host worker runs with' };
  const runs = `runs on Node ${engine.version} (${engine.node})`;
  if (engine.ok === false) {
    return { ...version, status: 'fail', detail: `${version.detail}; ${runs}, but ${engine.pkg} declares ${wants}`, fix: `put a Node that meets ${engine.wants} first on the host worker's PATH, or pin a ${engine.pkg} release whose engines accept ${engine.version}` };
  }
  return { ...version, detail: `${version.detail}; ${runs}, ${wants}${engine.ok === undefined ? ' (a range this check does not read)' : ''}` };
}

/** The agent CLIs the configuration uses (the key is checked at spawn, on the host). */
export function checkAgentClis(config: Config): Array<Promise<CheckResult>> {
  return Object.entries(config.agents).flatMap(([name, agent]) => (agent.kind === 'command' ? [] : [checkAgentCli(name, agent)]));
}

export async function runDoctor(config: Config): Promise<CheckResult[]> {
  const endpoints = resolveEndpoints(config);
  const results: CheckResult[] = [
    checkNode(),
    checkTool('temporal', 'temporal-cli', !config.temporal.address),
    checkTool('temporalTestServer', 'temporal-test-server', true),
    await checkCommand('git', ['--version'], 'apt-get install git'),
    await checkCommand('tmux', ['-V'], 'apt-get install tmux'),
    await checkChromium(),
    checkAgentMemoryLimit(),
    checkAgentSandbox(config),
    ...(await Promise.all(checkAgentClis(config))),
  ];

  let client: SwarmClient | undefined;
  try {
    client = await SwarmClient.connect({ config, connectTimeoutMs: 3_000 });
    await client.temporal.workflowService.describeNamespace({ namespace: config.temporal.namespace });
    results.push({ name: 'temporal-server', status: 'ok', detail: `${endpoints.temporalAddress}, namespace ${config.temporal.namespace}` });
  } catch (err) {
    results.push({
      name: 'temporal-server',
      status: 'fail',
      detail: `cannot reach Temporal at ${endpoints.temporalAddress}: ${(err as Error).message.split('\n')[0]}`,
      fix: config.temporal.address
        ? 'check TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the TLS/API key settings'
        : 'start the stack with `npm start` (or set TEMPORAL_ADDRESS to a running server)',
    });
    await client?.close();
    client = undefined;
  }

  if (!endpoints.databaseUrl) {
    results.push({ name: 'postgres', status: 'fail', detail: 'no database: DATABASE_URL is unset and no embedded stack is running', fix: 'start the stack with `npm start`, or set DATABASE_URL' });
  } else {
    try {
      await ping(endpoints.databaseUrl);
      results.push({ name: 'postgres', status: 'ok', detail: redactUrl(endpoints.databaseUrl) });
    } catch (err) {
      results.push({
        name: 'postgres',
        status: 'fail',
        detail: (err as Error).message,
        fix: config.database.url
          ? 'check DATABASE_URL and that the server is running'
          : 'the embedded Postgres of `npm start` is down: stop the stack (Ctrl-C) and run `npm start` again',
      });
    }
  }

  results.push(checkSpool(config, results.at(-1)?.status === 'ok'));

  if (!client) {
    results.push({ name: 'workers', status: 'skipped', detail: 'needs the Temporal server' });
    results.push({ name: 'round-trip', status: 'skipped', detail: 'needs the Temporal server' });
    return results;
  }
  try {
    const pollers = await client.pollers();
    const idle = pollers.filter((p) => p.pollers === 0);
    results.push(
      idle.length === 0
        ? { name: 'workers', status: 'ok', detail: pollers.map((p) => `${p.taskQueue}: ${p.pollers} poller(s)`).join(', ') }
        : { name: 'workers', status: 'fail', detail: `no worker polls ${idle.map((p) => p.taskQueue).join(', ')}`, fix: 'start the workers with `npm start` (on this host, for its host queue)' },
    );
    try {
      const trip = await roundTrip(client);
      results.push({ name: 'round-trip', status: 'ok', detail: `workflow → activity → Postgres (${trip.migrations} migrations) → ${trip.host.hostId} host queue (${trip.host.git}, ${trip.host.tmux})` });
    } catch (err) {
      results.push({
        name: 'round-trip',
        status: 'fail',
        detail: `the doctor workflow failed: ${rootCause(err)}`,
        fix: 'fix the failing checks above; then look at the doctor-* workflow in the Web UI',
      });
    }
  } finally {
    await client.close();
  }
  return results;
}

/** Signed artifacts waiting on this host for Postgres: fine for seconds after it is back, a problem after that. */
export function checkSpool(config: Pick<Config, 'stateDir'>, postgresUp: boolean): CheckResult {
  const spool = new Spool(spoolDir(config.stateDir));
  const waiting = spool.read();
  if (waiting.length === 0) return { name: 'spool', status: 'ok', detail: `empty (${spool.file})` };
  const tasks = [...new Set(waiting.map((r) => r.taskId))];
  return {
    name: 'spool',
    status: 'fail',
    detail: `${waiting.length} signed record(s) of ${tasks.length} task(s) (${tasks.slice(0, 5).join(', ')}${tasks.length > 5 ? ', …' : ''}) wait in ${spool.file}: Postgres was unreachable when they were written`,
    fix: postgresUp
      ? 'Postgres is back: the orchestration worker moves them in within seconds; if they stay, start the orchestration worker (`npm start`) and look at its log'
      : 'bring Postgres back (see the postgres check): the orchestration worker then moves them in, in order; do not delete the file',
  };
}

/** The innermost message of a WorkflowFailedError → ActivityFailure → ApplicationFailure chain. */
function rootCause(err: unknown): string {
  let e = err as Error | undefined;
  while (e && e.cause instanceof Error) e = e.cause;
  return e?.message ?? String(err);
}

export function formatResults(results: CheckResult[]): string {
  const mark = { ok: 'ok  ', fail: 'FAIL', skipped: 'skip' } as const;
  const width = Math.max(...results.map((r) => r.name.length));
  return results
    .map((r) => `${mark[r.status]} ${r.name.padEnd(width)}  ${r.detail}${r.fix ? `\n     ${' '.repeat(width)}  fix: ${r.fix}` : ''}`)
    .join('\n');
}
