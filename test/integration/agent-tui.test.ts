// The agent CLIs' interactive mode for real: each CLI's TUI (Codex, Claude Code, Gemini CLI)
// started by the production activities in the task's tmux session, against the scripted model
// server. Pins that the adapter's argv and pre-seeded config home get the TUI to its first turn
// with no trust, onboarding or API-key dialog in the way (the prompt is its first message), that a
// redirect typed into the pane reaches the model, and that cleanup leaves nothing of it running.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { createAgentActivities, type AgentActivities } from '../../activities/agents/index.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { reapTaskProcesses, taskProcesses } from '../../activities/agents/reap.ts';
import type { CliKind } from '../../activities/agents/adapters/index.ts';
import type { PriceTable } from '../../activities/agents/adapters/cost.ts';
import { isAlive } from '../../lib/process.ts';
import { taskSession } from '../../workflows/task/spec.ts';
import { CLI_KINDS, KEY_ENV, argvHolding, cliAgent, cliProcesses, cmdlineOf, createTestRepo, filesHolding, runState, testApiKeys, until } from '../harness/agents.ts';
import { processEnv } from '../harness/process-env.ts';
import { startModelServer, type ModelServer } from '../harness/model-server/index.ts';
import { MODELS } from '../harness/model-server/clis.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';

const API_KEYS = testApiKeys();
/** Made-up prices for the three test models: a TUI's cost always comes from the table. */
const PRICES: PriceTable = Object.fromEntries(CLI_KINDS.map((kind, i) => [MODELS[kind], { inputPerMTok: i + 1, outputPerMTok: 10 * (i + 1) }]));
const env = processEnv();

let database: TestDatabase;
let stateDir: string;
let agents: AgentActivities;
let repo: string;

beforeAll(async () => {
  for (const kind of CLI_KINDS) env.set(KEY_ENV[kind], API_KEYS[kind]);
  database = await freshDatabase();
  const dir = tempDir('agent-tui');
  stateDir = join(dir, 'state');
  agents = createAgentActivities({ stateDir, db: database.db, prices: PRICES });
  repo = await createTestRepo(join(dir, 'repo'));
});

afterAll(async () => {
  await tmux(['kill-server']).catch(() => undefined);
  await database.drop();
  env.restore();
});

/** The test's own tmux client on the state folder's server (not the production wrapper around it). */
const tmux = (args: string[]) => execa('tmux', ['-S', agentPaths(stateDir).socket, ...args]);

/** What the task's pane shows now, wrapped lines joined. */
async function screen(taskId: string): Promise<string> {
  const res = await tmux(['capture-pane', '-p', '-J', '-t', `=${taskSession(taskId)}:`]).catch((err: Error) => ({ stdout: `(no pane: ${err.message})` }));
  return res.stdout;
}

/** Polls the pane until it shows `text` (the TUIs redraw: no single moment to wait for). */
async function untilScreenShows(taskId: string, text: string, timeoutMs = 30_000): Promise<string> {
  let last = '';
  await until(
    `the ${taskSession(taskId)} pane to show ${JSON.stringify(text)}`,
    async () => (last = await screen(taskId)).includes(text),
    timeoutMs,
    () => `last screen:\n${last}`,
  );
  return last;
}

describe.each<CliKind>(CLI_KINDS)('%s TUI in the task tmux session', (kind) => {
  const taskId = `${kind}-tui`;
  const prompt = `Write tui.txt for the demo (${randomUUID()}).`;
  const finalText = `TUI-FIRST-TURN-DONE-${kind}`;
  const redirectAnswer = `TUI-REDIRECT-HANDLED-${kind}`;
  let server: ModelServer;
  let worktree: string;

  beforeAll(async () => {
    server = await startModelServer();
  });
  afterAll(async () => {
    // Only after a failed test is anything of the task still running.
    reapTaskProcesses(taskId);
    await server.close();
  });

  /** The last screen, the server's requests and what it could not route: what a failure needs to be read. */
  const state = async () => {
    const requests = server.requests.map((r) => `${r.path}${r.scripted ? ' (main)' : ''}`).join(', ');
    return `screen:\n${await screen(taskId)}\n${runState(agentPaths(stateDir).attempt(taskId, 1))}\nrequests: ${requests}\nunmatched: ${server.unmatched.join(', ')}`;
  };

  it('starts with the prompt as its first message, no dialog in the way: the tool call writes a file and the screen shows the final text', async () => {
    const workspace = await agents.prepareWorkspace({ taskId, repository: repo, baseBranch: 'main' });
    worktree = workspace.worktree;
    server.script([{ tool: { command: "printf 'from the tui\\n' > tui.txt" } }, { text: finalText }]);
    const session = await agents.spawnAgent({ taskId, attempt: 1, worktree, agent: cliAgent(kind, server.url, 'interactive'), prompt });
    expect(session.session).toBe(taskSession(taskId));

    // A TUI that exits (or never gets past a dialog) fails here, with what its pane showed.
    await until('the first main-loop request', async () => server.requests.some((r) => r.scripted) || !(await agents.sessionAlive({ taskId })).alive, 60_000, state);
    const first = server.requests.find((r) => r.scripted);
    if (!first) throw new Error(`the TUI's session ended before its first model request\n${await state()}`);
    // One egress proxy for the attempt, the wrapper's: script(1)'s re-entry starts none of its own
    // (a second one took the sockets from under the sandbox and died on the key the first had taken).
    const attemptDir = agentPaths(stateDir).attempt(taskId, 1).dir;
    expect(argvHolding(attemptDir).filter((pid) => cmdlineOf(pid).some((arg) => arg.endsWith('proxy.mjs')))).toHaveLength(1);
    expect(readFileSync(join(attemptDir, 'egress.log'), 'utf8')).toBe('');
    expect(first.userTexts.join('\n')).toContain(prompt);
    // The shell creates the file before printf writes to it: wait for the content, not the name.
    const tuiText = () => (existsSync(join(worktree, 'tui.txt')) ? readFileSync(join(worktree, 'tui.txt'), 'utf8') : '');
    await until('the scripted tool call to write tui.txt', () => tuiText() === 'from the tui\n', 30_000, async () => `tui.txt: ${JSON.stringify(tuiText())}\n${await state()}`);
    const second = await server.waitFor((r) => r.scripted && r.toolOutputs.length > 0, 30_000);
    expect(second.userTexts.join('\n')).toContain(prompt);
    await untilScreenShows(taskId, finalText);
    // Still the interactive TUI, waiting for more: the session lives on after its turn.
    expect(await agents.sessionAlive({ taskId })).toEqual({ alive: true });
    // The key is in the TUI's environment only: no process's argv (script, its shell, the TUI),
    // which any local process can read, carries it.
    expect(argvHolding(API_KEYS[kind])).toEqual([]);
    // Nor is it on disk: not in the wrapper's files, nor in what the TUI wrote to its home.
    expect(filesHolding(agentPaths(stateDir).taskDir(taskId), API_KEYS[kind])).toEqual([]);
    expect(server.requests.filter((r) => r.scripted)).toHaveLength(2);
  }, 120_000);

  it('a redirect typed by sendToSession reaches the model as the next main-loop request', async () => {
    const redirect = `Also add a README section (${randomUUID()})`;
    server.script([{ text: redirectAnswer }]);
    expect(await agents.sendToSession({ taskId, message: redirect })).toEqual({ delivered: true, channel: 'tmux' });

    const next = await server.waitFor((r) => r.scripted && r.userTexts.some((text) => text.includes(redirect)), 30_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await state()}`);
    });
    // The same conversation: the first turn's prompt and answer come with it.
    expect(next.userTexts.join('\n')).toContain(prompt);
    expect(JSON.stringify(next.body)).toContain(finalText);
    expect(server.requests.filter((r) => r.scripted)).toHaveLength(3);
    await untilScreenShows(taskId, redirectAnswer);
  }, 60_000);

  it('cleanupTask kills the TUI and everything it started, and removes its home', async () => {
    const running = taskProcesses(taskId);
    expect(cliProcesses(taskId, kind).length).toBeGreaterThan(0);
    // --no-daemon: the Codex TUI started no shared app-server of its own.
    const daemons = running.filter((pid) => {
      try {
        return cmdlineOf(pid).includes('app-server');
      } catch {
        return false;
      }
    });
    const home = agentPaths(stateDir).home(taskId);
    expect(existsSync(home)).toBe(true);

    expect(await agents.cleanupTask({ taskId, repository: repo, deleteBranch: true })).toMatchObject({ session: true, worktree: true, branch: true, taskFiles: true });
    await until('every process of the task to exit', () => taskProcesses(taskId).length === 0 && running.every((pid) => !isAlive(pid)));
    // Checked after the cleanup, so a failure here leaves no daemon behind.
    expect(daemons).toEqual([]);
    expect(existsSync(home)).toBe(false);
    expect(existsSync(worktree)).toBe(false);
    expect(await agents.sessionAlive({ taskId })).toEqual({ alive: false });
  }, 30_000);

  it("quitting the TUI ends the attempt: its outcome has the session and the usage the server counted, read from the TUI's own session files", async () => {
    const workspace = await agents.prepareWorkspace({ taskId, repository: repo, baseBranch: 'main' });
    const before = { ...server.reported };
    server.script([{ tool: { command: "printf 'again\\n' > again.txt" } }, { text: finalText }]);
    await agents.spawnAgent({ taskId, attempt: 1, worktree: workspace.worktree, agent: cliAgent(kind, server.url, 'interactive'), prompt });
    await untilScreenShows(taskId, finalText, 60_000);
    expect(await agents.sendToSession({ taskId, message: '/quit' })).toEqual({ delivered: true, channel: 'tmux' });

    const exit = await agents.awaitAgentExit({ taskId, attempt: 1, worktree: workspace.worktree, baseBranch: 'main' });
    const usage = { inputTokens: server.reported.inputTokens - before.inputTokens, cachedInputTokens: 0, outputTokens: server.reported.outputTokens - before.outputTokens };
    expect(usage.inputTokens).toBeGreaterThan(0);
    const price = PRICES[MODELS[kind]]!;
    expect(exit).toMatchObject({ exitCode: 0, commits: 1 });
    expect(exit.outcome).toEqual({
      status: 'finished',
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      usage,
      cost: { usd: expect.closeTo((usage.inputTokens * price.inputPerMTok + usage.outputTokens * price.outputPerMTok) / 1e6, 12), source: 'price_table' },
    });
    await agents.cleanupTask({ taskId, repository: repo, deleteBranch: true });
  }, 90_000);
});
