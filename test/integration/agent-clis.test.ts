// The production agent activities with the three real agent CLIs (Codex, Claude Code, Gemini CLI):
// prepareWorkspace → spawnAgent → awaitAgentExit, each CLI in a real tmux session in a real git
// worktree, configured as the app configures it, against the scripted model server. Pins what the
// task's state gets from each adapter (outcome, usage, cost, failure kind), what a redirect does to
// a live headless run, what the CLI's process can see of the worker's environment, and cleanup.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgentActivities, type AgentActivities } from '../../activities/agents/index.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { taskProcesses } from '../../activities/agents/reap.ts';
import { createTmux } from '../../activities/agents/tmux.ts';
import type { CliKind } from '../../activities/agents/adapters/index.ts';
import type { PriceTable } from '../../activities/agents/adapters/cost.ts';
import { git } from '../../activities/git.ts';
import { isAlive } from '../../lib/process.ts';
import type { AgentCommand, AgentOutcome, TokenUsage } from '../../workflows/task/types.ts';
import { CLI_KINDS, KEY_ENV, argvHolding, cliAgent, cliProcesses, createTestRepo, environOf, filesHolding, runState, sampleTaskRss, testApiKeys, until } from '../harness/agents.ts';
import { processEnv } from '../harness/process-env.ts';
import { startModelServer, type ModelServer, type RecordedRequest, type ScriptStep } from '../harness/model-server/index.ts';
import { MODELS } from '../harness/model-server/clis.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';

// Claude prices its own runs; the other two get theirs from this table.
const PRICES: PriceTable = {
  'gpt-5-codex': { inputPerMTok: 1.25, cachedInputPerMTok: 0.125, outputPerMTok: 10 },
  'gemini-2.5-flash': { inputPerMTok: 0.3, cachedInputPerMTok: 0.075, outputPerMTok: 2.5 },
};
const API_KEYS = testApiKeys();
/** The worker's own secrets: set before the tmux server starts, never to reach an agent. */
const SECRETS: Record<string, string> = Object.fromEntries(
  ['GITHUB_TOKEN', 'DATABASE_URL', 'TELEGRAM_BOT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_WEBHOOK_SECRET', 'TEMPORAL_API_KEY'].map((name) => [name, `marker-${name.toLowerCase()}-${randomUUID()}`]),
);

const env = processEnv();

let database: TestDatabase;
let dir: string;
let stateDir: string;
let agents: AgentActivities;
let repo: string;
let server: ModelServer;
const measured: string[] = [];

beforeAll(async () => {
  for (const [name, value] of Object.entries(SECRETS)) env.set(name, value);
  for (const kind of CLI_KINDS) env.set(KEY_ENV[kind], API_KEYS[kind]);
  database = await freshDatabase();
  dir = tempDir('agent-clis');
  stateDir = join(dir, 'state');
  agents = createAgentActivities({ stateDir, db: database.db, prices: PRICES });
  repo = await createTestRepo(join(dir, 'repo'));
});

afterAll(async () => {
  await createTmux(agentPaths(stateDir).socket).run(['kill-server']);
  await database.drop();
  env.restore();
  if (measured.length) console.log(`agent CLIs through spawnAgent:\n${measured.join('\n')}`);
});

beforeEach(async () => {
  server = await startModelServer();
});
afterEach(() => server.close());

/** The agent as the app configures it from the config file (agents.<name>). */
const agentFor = (kind: CliKind): AgentCommand => cliAgent(kind, server.url, 'headless');

/** prepareWorkspace, then spawnAgent on the script; `spawnedAt` is taken just before spawnAgent. */
async function start(kind: CliKind, taskId: string, steps: ScriptStep[], prompt = 'Do the task.') {
  const workspace = await agents.prepareWorkspace({ taskId, repository: repo, baseBranch: 'main' });
  server.script(steps);
  const spawnedAt = Date.now();
  const session = await agents.spawnAgent({ taskId, attempt: 1, worktree: workspace.worktree, agent: agentFor(kind), prompt });
  const exit = () => agents.awaitAgentExit({ taskId, attempt: 1, worktree: workspace.worktree, baseBranch: 'main' });
  return { workspace, session, spawnedAt, exit, files: agentPaths(stateDir).attempt(taskId, 1) };
}

/** What the server counted for the run: Gemini's totals include its side requests (routing, next-speaker checks), the others' do not. */
function served(kind: CliKind): TokenUsage {
  const side = kind === 'gemini' ? server.sideReported : { inputTokens: 0, outputTokens: 0 };
  return { inputTokens: server.reported.inputTokens + side.inputTokens, cachedInputTokens: 0, outputTokens: server.reported.outputTokens + side.outputTokens };
}

/**
 * What the served tokens cost: Codex and Gemini are priced from the table, Claude prices its own
 * runs at Anthropic's list price (claude-sonnet-4-5: $3 / $15 per million input / output tokens).
 */
const CLAUDE_LIST_PRICE = { inputPerMTok: 3, outputPerMTok: 15 };
function expectedCost(kind: CliKind, usage: TokenUsage): NonNullable<AgentOutcome['cost']> {
  const price = kind === 'claude' ? CLAUDE_LIST_PRICE : PRICES[MODELS[kind]]!;
  return { usd: (usage.inputTokens * price.inputPerMTok + usage.outputTokens * price.outputPerMTok) / 1e6, source: kind === 'claude' ? 'cli' : 'price_table' };
}

const scriptedRequests = () => server.requests.filter((r) => r.scripted);

describe.each<CliKind>(['codex', 'claude', 'gemini'])('%s through the agent activities', (kind) => {
  it('edits and commits through a tool call: the commit is on the task branch, the outcome has the served usage, a session id and the cost', async () => {
    const taskId = `${kind}-tool`;
    const { workspace, spawnedAt, exit, files } = await start(kind, taskId, [{ tool: { command: "printf 'x\\n' > feature.txt && git add -A && git commit -q -m feature" } }, { text: 'done' }], 'Add feature.txt and commit it.');
    const peakRssMb = sampleTaskRss(taskId);
    const first = await server.waitFor(() => true);
    const result = await exit();
    const rss = peakRssMb();
    const side = server.requests.filter((r) => !r.scripted).length;
    measured.push(`${kind}: spawnAgent to first model request ${first.at - spawnedAt} ms; peak RSS of the task's processes ${rss} MiB; ${side} side requests`);

    expect(scriptedRequests()).toHaveLength(2);
    expect(scriptedRequests()[0]?.userTexts.join('\n')).toContain('Add feature.txt and commit it.');
    expect(result.exitCode).toBe(0);
    expect(result.commits).toBeGreaterThanOrEqual(1);
    expect((await git(repo, ['show', `swarm/${taskId}:feature.txt`])).stdout).toBe('x');
    const log = (await git(repo, ['log', '--format=%s|%an', `main..swarm/${taskId}`])).stdout.split('\n');
    // Codex's sandbox cannot write the clone's git dir: its edit is committed for it, on the branch of
    // record only (nothing of ours is written into the clone, which keeps it uncommitted). The others commit themselves.
    expect(log).toEqual(kind === 'codex' ? [`${kind}: changes left uncommitted by attempt 1|swarmflow ${kind}`] : [`feature|swarmflow ${kind}`]);
    expect((await git(workspace.worktree, ['status', '--porcelain'])).stdout).toBe(kind === 'codex' ? '?? feature.txt' : '');

    const usage = served(kind);
    expect(usage.inputTokens).toBeGreaterThan(0);
    const cost = expectedCost(kind, usage);
    expect(cost.usd).toBeGreaterThan(0);
    expect(result.outcome).toEqual({ status: 'finished', message: 'done', sessionId: expect.any(String), usage, cost: { usd: expect.any(Number), source: cost.source } });
    expect(result.outcome?.cost?.usd).toBeCloseTo(cost.usd, 12);
    // Claude and Gemini run the session id chosen up front; Codex names its own thread.
    const chosen = readFileSync(join(files.dir, 'session-id'), 'utf8').trim();
    if (kind === 'codex') expect(result.outcome?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    else expect(result.outcome?.sessionId).toBe(chosen);
    expect(rss).toBeGreaterThan(10);
  });

  it.each([
    [401, 'auth'],
    [429, 'rate_limited'],
    [500, 'server_error'],
  ] as const)('a scripted %i ends the run failed as %s', async (status, failure) => {
    const taskId = `${kind}-fail-${status}`;
    // One error, then the default "done": a CLI that retried would finish.
    const retryAfter = status === 401 ? {} : { retryAfterSeconds: 7 };
    const { exit } = await start(kind, taskId, [{ error: { status, message: `scripted failure ${status}`, ...retryAfter } }]);
    const result = await exit();

    expect(scriptedRequests()).toHaveLength(1);
    expect(result.exitCode).not.toBe(0);
    expect(result.commits).toBe(0);
    expect(result.outcome).toMatchObject({ status: 'failed', failure, message: expect.any(String) });
    expect(result.outcome?.retryAfterMs).toBe(RETRY_AFTER[kind][status]);
  });

  it.each(['reset', 'cut'] as const)('a dropped connection (%s: before the response, or mid-stream) ends the run failed as server_error: the provider\'s fault, not the agent\'s', async (drop) => {
    const taskId = `${kind}-drop-${drop}`;
    // Claude retries a cut stream once on its own, even with no retries configured.
    const { exit } = await start(kind, taskId, [{ drop }, { drop }]);
    const result = await exit();

    expect(result.exitCode).not.toBe(0);
    expect(result.commits).toBe(0);
    expect(result.outcome).toMatchObject({ status: 'failed', failure: 'server_error', message: expect.any(String) });
  });

  it('a redirect sent while a turn is in flight reaches the model in the resumed session, and the run finishes', async () => {
    const taskId = `${kind}-redirect`;
    const { exit } = await start(kind, taskId, [{ stall: true, then: { text: 'first answer' } }, { text: 'redirect handled' }], 'Build the feature.');
    await server.waitFor((r) => r.scripted);
    const redirect = `Stop: build the API layer first (${randomUUID()})`;
    // Queued, not delivered: the agent has it once its session was resumed with it.
    const queued = await agents.sendToSession({ taskId, message: redirect });
    expect(queued).toEqual({ delivered: false, channel: 'inbox', inbox: expect.stringMatching(/\.msg$/) });
    server.release();

    const resumed = await server.waitFor((r) => r.scripted && r.userTexts.some((text) => text.includes(redirect)));
    // The resumed session carries the first turn's history.
    expect(resumed.userTexts.join('\n')).toContain('Build the feature.');
    expect(JSON.stringify(resumed.body)).toContain('first answer');
    const result = await exit();
    expect(scriptedRequests()).toHaveLength(2);
    expect(result.exitCode).toBe(0);
    expect(result.outcome).toMatchObject({ status: 'finished', message: 'redirect handled', usage: served(kind) });
    expect(result.redirects).toEqual([{ id: queued.inbox, delivered: true }]);
    // Both turns, each counted once (Claude's resumed turn reports the session's running cost).
    expect(result.outcome?.cost?.usd).toBeCloseTo(expectedCost(kind, served(kind)).usd, 12);

    expect(await agents.sendToSession({ taskId, message: 'too late' })).toEqual({ delivered: false });
  });

  it('the stuck watch sees the CLI rerun a failing command; an urgent correction interrupts the looping turn, and the resumed session gets it and finishes', async () => {
    const taskId = `${kind}-stuck`;
    const correction = `Stop rerunning the check (${randomUUID()})`;
    const corrected = (r: RecordedRequest) => r.scripted && r.userTexts.some((text) => text.includes(correction));
    // The model reruns the same failing check for as long as nobody tells it otherwise.
    const { workspace, exit, files } = await start(kind, taskId, [{ repeat: { tool: { command: 'cat done.txt' } }, until: corrected }, { text: 'stopped looping' }], 'Make the check pass.');
    const watch = { taskId, attempt: 1, worktree: workspace.worktree, limits: { repeats: 3, idleMinutes: 15 } };
    const watched = await agents.watchForStuck({ ...watch, eventsOffset: 0 });
    if (kind === 'gemini') {
      // Gemini CLI stops a loop of identical calls itself, within a second, before a 2 s read can see
      // it (its shell results here carry no exit code either): the run ends, and the watch with it.
      expect(watched).toEqual({ stuck: false, eventsOffset: expect.any(Number) });
      expect(readFileSync(files.eventsFile, 'utf8')).toContain('Loop detected, stopping execution');
      expect((await exit()).exitCode).toBe(0);
      return;
    }
    expect(watched).toMatchObject({ stuck: true, verdict: { stuck: true, reason: 'repeated_failing_command', what: 'cat done.txt', times: 3 } });
    if (!watched.stuck) throw new Error('not stuck');
    expect(watched.firstRepeatAtMs).toBeLessThanOrEqual(watched.detectedAtMs);

    const sent = await agents.sendToSession({ taskId, message: correction, interrupt: true });
    expect(sent).toEqual({ delivered: false, channel: 'inbox', inbox: expect.stringMatching(/\.now\.msg$/) });
    // Re-armed at once, as the workflow does; it judges only what comes after the session took the correction.
    const rearmed = agents.watchForStuck({ ...watch, eventsOffset: watched.eventsOffset, afterCorrection: sent.inbox! });
    // The turn never ends by itself: only the interrupt gets the correction to the model.
    await server.waitFor(corrected, 60_000);
    const result = await exit();
    expect(result.outcome).toMatchObject({ status: 'finished', message: 'stopped looping' });
    expect(result.redirects).toEqual([{ id: sent.inbox, delivered: true }]);
    expect(await rearmed).toEqual({ stuck: false, eventsOffset: expect.any(Number) });
  });

  it('a redirect queued while the turn fails is not resumed: the failure stays the outcome and the exit reports it undelivered', async () => {
    const taskId = `${kind}-redirect-failed`;
    const { exit } = await start(kind, taskId, [{ stall: true, headers: false, then: { error: { status: 429, message: 'rate limit exceeded' } } }], 'Build the feature.');
    await server.waitFor((r) => r.scripted);
    const queued = await agents.sendToSession({ taskId, message: 'Use the API layer.' });
    expect(queued).toMatchObject({ delivered: false, channel: 'inbox' });
    server.release();

    const result = await exit();
    // No resume after the failure (Gemini could not even resume: its session holds no reply).
    expect(scriptedRequests()).toHaveLength(1);
    expect(result.outcome).toMatchObject({ status: 'failed', failure: 'rate_limited' });
    expect(result.redirects).toEqual([{ id: queued.inbox, delivered: false }]);
  });

  it("a respawn (run 2, after a rate limit) resumes the attempt's session with a message, and reports only its own usage", async () => {
    const taskId = `${kind}-respawn`;
    const { workspace, exit } = await start(kind, taskId, [{ text: 'first run answer' }], 'Start the feature.');
    const first = await exit();
    expect(first.outcome).toMatchObject({ status: 'finished', message: 'first run answer' });
    const firstUsage = first.outcome!.usage;

    const before = { ...served(kind) };
    server.script([{ text: 'second run answer' }]);
    const message = `Your previous run was interrupted (rate limit). Continue (${randomUUID()})`;
    const session = await agents.spawnAgent({ taskId, attempt: 1, run: 2, resumeWith: message, worktree: workspace.worktree, agent: agentFor(kind), prompt: 'Start the feature.' });
    expect(session).toMatchObject({ attempt: 1, run: 2 });
    // Generous: once, in a whole-suite run, Gemini's resumed run sent nothing for 30 s.
    const resumed = await server.waitFor((r) => r.scripted && r.userTexts.some((text) => text.includes(message)), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${runState(agentPaths(stateDir).attempt(taskId, 1, 2))}`);
    });
    // The earlier run's conversation comes with it: the same session, resumed.
    expect(resumed.userTexts.join('\n')).toContain('Start the feature.');
    expect(JSON.stringify(resumed.body)).toContain('first run answer');

    const second = await agents.awaitAgentExit({ taskId, attempt: 1, run: 2, worktree: workspace.worktree, baseBranch: 'main' });
    const after = served(kind);
    expect(second.outcome).toMatchObject({ status: 'finished', message: 'second run answer', sessionId: first.outcome!.sessionId });
    // Only what the second run was served, whether or not the CLI's counts run on across the session.
    expect(second.outcome!.usage).toEqual({ inputTokens: after.inputTokens - before.inputTokens, cachedInputTokens: 0, outputTokens: after.outputTokens - before.outputTokens });
    expect(second.outcome!.usage.inputTokens).toBeGreaterThan(0);
    expect(firstUsage.inputTokens).toBe(before.inputTokens);
    // And only its own cost: the two runs' costs add up to what the session's tokens cost.
    expect(second.outcome!.cost?.usd).toBeCloseTo(expectedCost(kind, second.outcome!.usage).usd, 12);
    expect(first.outcome!.cost!.usd + second.outcome!.cost!.usd).toBeCloseTo(expectedCost(kind, after).usd, 12);
  }, 120_000);

  it('runs the agent under the host memory limit (prlimit --data here)', async () => {
    const taskId = `${kind}-limits`;
    const { exit } = await start(kind, taskId, [{ stall: true, then: { text: 'done' } }]);
    await server.waitFor((r) => r.scripted);
    const clis = cliProcesses(taskId, kind);
    expect(clis.length).toBeGreaterThan(0);
    for (const pid of clis) {
      // The default agentMemoryLimitMb: 4096 MB of writable memory per process.
      expect(readFileSync(`/proc/${pid}/limits`, 'utf8')).toMatch(/^Max data size\s+4294967296\s+4294967296\s+bytes/m);
    }
    server.release();
    await exit();
  });

  // Gemini will not resume a session whose first request failed (exit 42): that run starts over.
  it('a respawn after a rate limit on the very first request runs the prompt, resumed or started over', async () => {
    const taskId = `${kind}-respawn-first`;
    const { workspace, exit } = await start(kind, taskId, [{ error: { status: 429, message: 'rate limit exceeded' } }], 'Start the feature from scratch.');
    expect((await exit()).outcome).toMatchObject({ status: 'failed', failure: 'rate_limited' });

    server.script([{ text: 'second run answer' }]);
    const resumeWith = 'Your previous run was interrupted (rate limit). Continue the task where you left off.';
    await agents.spawnAgent({ taskId, attempt: 1, run: 2, resumeWith, worktree: workspace.worktree, agent: agentFor(kind), prompt: 'Start the feature from scratch.' });
    const second = await agents.awaitAgentExit({ taskId, attempt: 1, run: 2, worktree: workspace.worktree, baseBranch: 'main' });
    expect(second.outcome).toMatchObject({ status: 'finished', message: 'second run answer' });
    expect(scriptedRequests().at(-1)!.userTexts.join('\n')).toContain('Start the feature from scratch.');
  });

  it("keeps the worker's secrets from the CLI process, and its own key too: the CLI has a placeholder, under its key's name", async () => {
    const taskId = `${kind}-secrets`;
    const { session, exit, files } = await start(kind, taskId, [{ stall: true, then: { text: 'done' } }]);
    await server.waitFor((r) => r.scripted);

    const clis = cliProcesses(taskId, kind);
    expect(clis.length).toBeGreaterThan(0);
    // Nor in any process's argv, which every local process can read.
    for (const value of [API_KEYS[kind], ...Object.values(SECRETS)]) expect(argvHolding(value)).toEqual([]);
    for (const pid of taskProcesses(taskId)) {
      const environ = environOf(pid);
      const names = environ.map((entry) => entry.slice(0, entry.indexOf('=')));
      for (const [name, value] of Object.entries(SECRETS)) {
        expect(names).not.toContain(name);
        expect(environ.join('\n')).not.toContain(value);
      }
      // The other CLIs' keys are the worker's too.
      for (const other of Object.keys(API_KEYS) as CliKind[]) if (other !== kind) expect(environ.join('\n')).not.toContain(API_KEYS[other]);
    }
    const alive = clis.map(environOf).filter((environ) => environ.length > 0);
    expect(alive.length).toBeGreaterThan(0);
    // Sandboxed, its egress proxy holds the key and swaps it in on the way to the model.
    for (const environ of alive) {
      expect(environ.filter((entry) => entry.includes(API_KEYS[kind]))).toEqual([]);
      expect(environ).toContainEqual(expect.stringMatching(new RegExp(`^${KEY_ENV[kind]}=swarmflow-held-key-[0-9a-f]{24}$`)));
    }
    expect(JSON.stringify(server.requests.find((r) => r.scripted)!.headers)).toContain(API_KEYS[kind]);

    // Nor does the tmux server, whose environment every new pane starts from.
    const serverEnv = (await createTmux(agentPaths(stateDir).socket).run(['show-environment', '-g'])).stdout;
    for (const value of [...Object.keys(SECRETS), ...Object.values(SECRETS), ...Object.values(API_KEYS)]) expect(serverEnv).not.toContain(value);
    // Nor is the key on disk while the CLI runs: the wrapper removed the environment file as it started it.
    expect(existsSync(files.envFile)).toBe(false);
    expect(filesHolding(agentPaths(stateDir).taskDir(taskId), API_KEYS[kind])).toEqual([]);

    server.release();
    const result = await exit();
    expect(result.outcome?.status).toBe('finished');
    const written = [files.logFile, files.eventsFile, files.promptFile].map((file) => readFileSync(file, 'utf8')).join('\n') + JSON.stringify([session, result]);
    for (const value of [...Object.values(SECRETS), ...Object.values(API_KEYS)]) expect(written).not.toContain(value);
  });

  it("runs the model's shell commands in the agent's environment, without its key", async () => {
    const taskId = `${kind}-tool-env`;
    const { workspace, exit } = await start(kind, taskId, [{ tool: { command: 'env > tool-env.txt' } }, { text: 'done' }]);
    expect((await exit()).exitCode).toBe(0);
    const toolEnv = readFileSync(join(workspace.worktree, 'tool-env.txt'), 'utf8');
    expect(toolEnv).toContain(`SWARM_TASK_ID=${taskId}\n`);
    expect(toolEnv).toContain(`GIT_AUTHOR_NAME=swarmflow ${kind}\n`);
    for (const value of Object.values(SECRETS)) expect(toolEnv).not.toContain(value);
    expect(toolEnv).not.toContain(API_KEYS[kind]);
  });

  it('cleanupTask kills the live CLI and everything it started, and removes its home', async () => {
    const taskId = `${kind}-cleanup`;
    const { workspace } = await start(kind, taskId, [{ stall: true, then: { text: 'done' } }]);
    await server.waitFor((r) => r.scripted);
    const running = taskProcesses(taskId);
    expect(cliProcesses(taskId, kind).length).toBeGreaterThan(0);
    const home = agentPaths(stateDir).home(taskId);
    expect(existsSync(home)).toBe(true);

    expect(await agents.cleanupTask({ taskId, repository: repo, deleteBranch: true })).toMatchObject({ session: true, worktree: true, branch: true, taskFiles: true });
    await until('every process of the task to exit', () => taskProcesses(taskId).length === 0 && running.every((pid) => !isAlive(pid)));
    expect(existsSync(home)).toBe(false);
    expect(existsSync(workspace.worktree)).toBe(false);
  });
});

/**
 * The provider's Retry-After (7 s, sent with the scripted 429 and 500) as each CLI surfaces it.
 * Only Gemini does, and only for a 429 ("Suggested retry after 7s.", from the error's RetryInfo);
 * Codex and Claude 0.169/2.1.332 print no wait at all, so their outcome has none.
 */
const RETRY_AFTER: Record<CliKind, Record<401 | 429 | 500, number | undefined>> = {
  codex: { 401: undefined, 429: undefined, 500: undefined },
  claude: { 401: undefined, 429: undefined, 500: undefined },
  gemini: { 401: undefined, 429: 7_000, 500: undefined },
};
