// The model stand-in against the three real agent CLIs (Codex, Claude Code, Gemini CLI), each run
// headless as a real process in a temp git repository with a private HOME, with the command line
// and environment the production adapters give it (see harness/model-server/clis.ts). Proves the
// stand-in speaks each wire protocol well enough for a full tool turn, and pins down what the
// adapters rely on: event shapes, usage, session ids, resume, error signals and exit codes,
// fail-fast retries.
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { runCli, type CliEvent, type CliName, type CliOptions, type CliResult } from '../harness/model-server/clis.ts';
import { startModelServer, type ModelServer } from '../harness/model-server/index.ts';
import { tempDir } from '../harness/paths.ts';

type Event = CliEvent;
const message = (error: Event['error']) => (typeof error === 'object' ? error.message : error);

let server: ModelServer;
beforeEach(async () => {
  server = await startModelServer();
});
afterEach(() => server.close());

const measured: string[] = [];
afterAll(() => {
  if (measured.length) console.log(`model stand-in measurements:\n${measured.join('\n')}`);
});

const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd });

async function workspace(name: CliName): Promise<{ root: string; repo: string; home: string }> {
  const root = tempDir(`model-${name}`);
  const repo = join(root, 'repo');
  const home = join(root, 'home');
  mkdirSync(repo);
  mkdirSync(home);
  await git(repo, 'init', '--quiet', '--initial-branch=main');
  writeFileSync(join(repo, 'README.md'), '# demo\n');
  await git(repo, 'add', 'README.md');
  await git(repo, '-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', 'commit', '--quiet', '-m', 'initial commit');
  return { root, repo, home };
}

const run = (name: CliName, o: Omit<CliOptions, 'url'>): Promise<CliResult> => runCli(name, { url: server.url, ...o });
const scripted = () => server.requests.filter((r) => r.scripted);

/** Each CLI's way of saying the same things, read from its JSON events. */
const read: Record<CliName, { session(e: Event[]): string; usage(e: Event[]): { input: number; output: number }; finalText(e: Event[]): string; failure(e: Event[]): string }> = {
  codex: {
    session: (e) => e.find((x) => x.type === 'thread.started')?.thread_id ?? '',
    usage: (e) => {
      const u = e.find((x) => x.type === 'turn.completed')?.usage;
      return { input: u?.input_tokens ?? 0, output: u?.output_tokens ?? 0 };
    },
    finalText: (e) => e.filter((x) => x.type === 'item.completed' && x.item?.type === 'agent_message').at(-1)?.item?.text ?? '',
    failure: (e) => message(e.find((x) => x.type === 'turn.failed')?.error) ?? '',
  },
  claude: {
    session: (e) => e.find((x) => x.type === 'system' && x.subtype === 'init')?.session_id ?? '',
    usage: (e) => {
      const u = e.find((x) => x.type === 'result')?.usage;
      return { input: u?.input_tokens ?? 0, output: u?.output_tokens ?? 0 };
    },
    finalText: (e) => e.find((x) => x.type === 'result')?.result ?? '',
    failure: (e) => {
      const r = e.find((x) => x.type === 'result');
      return r?.is_error ? (r.result ?? '') : '';
    },
  },
  gemini: {
    session: (e) => e.find((x) => x.type === 'init')?.session_id ?? '',
    // Gemini's totals include its side requests (routing, next-speaker checks).
    usage: (e) => {
      const s = e.find((x) => x.type === 'result')?.stats;
      return { input: s?.input_tokens ?? 0, output: s?.output_tokens ?? 0 };
    },
    finalText: (e) => e.filter((x) => x.type === 'message' && x.role === 'assistant').map((x) => x.content).join(''),
    failure: (e) => {
      const r = e.find((x) => x.type === 'result');
      return r?.status === 'error' ? (message(r.error) ?? '') : '';
    },
  },
};

/** What each CLI does with a single scripted error once its retries are off: exit code and what it says. */
const failures: Record<CliName, Record<number, { exitCode: number; says: RegExp }>> = {
  codex: {
    401: { exitCode: 1, says: /unexpected status 401 Unauthorized/ },
    429: { exitCode: 1, says: /429 Too Many Requests/ },
    500: { exitCode: 1, says: /high demand/ },
  },
  claude: {
    401: { exitCode: 1, says: /Failed to authenticate\. API Error: 401/ },
    429: { exitCode: 1, says: /Request rejected \(429\)/ },
    500: { exitCode: 1, says: /API Error: 500/ },
  },
  // Gemini exits with the HTTP status itself, truncated to a byte (401 → 145, 429 → 173, 500 → 244).
  gemini: {
    401: { exitCode: 145, says: /UNAUTHENTICATED/ },
    429: { exitCode: 173, says: /request a quota increase/ },
    500: { exitCode: 244, says: /INTERNAL/ },
  },
};

const TOOL_COMMAND = "printf 'hello\\n' > hello.txt";

describe.each<CliName>(['codex', 'claude', 'gemini'])('%s against the model stand-in', (name) => {
  it('runs a shell tool call, sends its output back, and reports the usage the server counted', async () => {
    const { repo, home } = await workspace(name);
    server.script([{ tool: { command: TOOL_COMMAND } }, { text: 'done' }]);

    const result = await run(name, { cwd: repo, home, prompt: 'Write hello.txt' });

    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(repo, 'hello.txt'), 'utf8')).toBe('hello\n');
    const [first, second] = scripted();
    expect(scripted()).toHaveLength(2);
    expect(first?.userTexts.join('\n')).toContain('Write hello.txt');
    expect(first?.toolOutputs).toEqual([]);
    expect(second?.toolOutputs).toHaveLength(1);
    expect(read[name].finalText(result.events)).toBe('done');
    // 100+10n input and 20+n output for turns 1 and 2.
    expect(server.reported).toEqual({ inputTokens: 230, outputTokens: 43 });
    const side = name === 'gemini' ? server.sideReported : { inputTokens: 0, outputTokens: 0 };
    expect(read[name].usage(result.events)).toEqual({ input: 230 + side.inputTokens, output: 43 + side.outputTokens });
    if (name === 'claude') expect(result.events.find((e) => e.type === 'result')?.total_cost_usd).toBeGreaterThan(0);
    if (name === 'gemini') {
      const model = /models\/([^:]+):/.exec(first?.path ?? '')?.[1] ?? '';
      expect(result.events.find((e) => e.type === 'result')?.stats?.models[model]).toMatchObject({ input_tokens: 230, output_tokens: 43 });
    }
  });

  it.each([401, 429, 500])('gives up at once on a scripted %i, with a signal that names it', async (status) => {
    const { repo, home } = await workspace(name);
    // One error, then the default "done": a CLI that retried would succeed and exit 0.
    server.script([{ error: { status, message: 'scripted failure', ...(status === 429 ? { retryAfterSeconds: 1 } : {}) } }]);

    const result = await run(name, { cwd: repo, home, prompt: 'Say hi' });

    expect(scripted()).toHaveLength(1);
    expect(result.exitCode).toBe(failures[name][status]?.exitCode);
    expect(read[name].failure(result.events)).toMatch(failures[name][status]!.says);
    if (name === 'claude') {
      const outcome = result.events.find((e) => e.type === 'result');
      expect(outcome).toMatchObject({ is_error: true, api_error_status: status, terminal_reason: 'api_error' });
      const kind = { 401: 'authentication_failed', 429: 'rate_limit', 500: 'server_error' }[status];
      expect(result.events.find((e) => e.type === 'assistant')?.error).toBe(kind);
    }
    const lastRequest = server.requests.at(-1)?.at ?? result.startedAt;
    measured.push(`${name} ${status}: exit ${result.exitCode} ${result.startedAt + result.ms - lastRequest} ms after the error (${result.ms} ms in all)`);
  });

  it('resumes a session headless with a new message, sending the earlier history', async () => {
    const { repo, home } = await workspace(name);
    const chosen = randomUUID();
    server.script([{ text: 'first answer' }]);
    const first = await run(name, { cwd: repo, home, prompt: 'first message', sessionId: chosen });
    expect(first.exitCode).toBe(0);
    const session = read[name].session(first.events);
    // Codex names its own thread; Claude and Gemini take the id we chose.
    if (name === 'codex') expect(session).toMatch(/^[0-9a-f-]{36}$/);
    else expect(session).toBe(chosen);

    const before = server.requests.length;
    server.script([{ text: 'second answer' }]);
    const second = await run(name, { cwd: repo, home, prompt: 'second message', resume: session });

    expect(second.exitCode).toBe(0);
    expect(read[name].session(second.events)).toBe(session);
    expect(read[name].finalText(second.events)).toBe('second answer');
    const resumed = server.requests.slice(before).find((r) => r.scripted);
    // Trimmed: Gemini appends its `-p` text (a space) to the prompt it read on stdin.
    expect(resumed?.userTexts.map((text) => text.trim())).toEqual(expect.arrayContaining(['first message', 'second message']));
    expect(JSON.stringify(resumed?.body)).toContain('first answer');
  });

  it('holds a stalled stream open until released', async () => {
    const { repo, home } = await workspace(name);
    server.script([{ stall: true, then: { text: 'late answer' } }]);
    let exited = false;
    const running = run(name, { cwd: repo, home, prompt: 'Say hi' }).finally(() => (exited = true));

    await server.waitFor((r) => r.scripted);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(exited).toBe(false);
    server.release();
    const result = await running;

    expect(result.exitCode).toBe(0);
    expect(read[name].finalText(result.events)).toBe('late answer');
  });

  it('reaches the model quickly: spawn-to-first-request latency and peak memory', async () => {
    const runs: Array<{ first: number; main: number; rss: number }> = [];
    for (let i = 0; i < 3; i++) {
      const { repo, home } = await workspace(name);
      const before = server.requests.length;
      const result = await run(name, { cwd: repo, home, prompt: 'Say hi' });
      expect(result.exitCode).toBe(0);
      const mine = server.requests.slice(before);
      runs.push({ first: mine[0]!.at - result.startedAt, main: mine.find((r) => r.scripted)!.at - result.startedAt, rss: result.peakTreeRssKb });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const first = median(runs.map((r) => r.first));
    const rssMb = Math.round(Math.max(...runs.map((r) => r.rss)) / 1024);
    measured.push(`${name}: first request ${first} ms, first main-loop request ${median(runs.map((r) => r.main))} ms (median of 3); peak tree RSS ${rssMb} MiB`);
    expect(first).toBeLessThan(20_000);
    expect(rssMb).toBeGreaterThan(10);
  });
});

describe('committing from inside a git worktree through the agent shell tool', () => {
  const COMMIT = "printf 'x\\n' > wt.txt && git add -A && git commit -q -m 'agent commit'";

  async function worktree(name: CliName) {
    const { root, repo, home } = await workspace(name);
    const wt = join(root, 'wt');
    await git(repo, 'worktree', 'add', '--quiet', '-b', 'agent', wt);
    return { repo, home, wt };
  }

  it.each<CliName>(['claude', 'gemini'])('%s commits with the production flags (git identity from the env)', async (name) => {
    const { home, wt } = await worktree(name);
    server.script([{ tool: { command: COMMIT } }, { text: 'done' }]);
    const result = await run(name, { cwd: wt, home, prompt: 'Commit' });
    expect(result.exitCode).toBe(0);
    expect((await git(wt, 'log', '-1', '--format=%s|%an')).stdout).toBe(`agent commit|swarmflow ${name}`);
  });

  it("codex's workspace-write sandbox mounts the worktree's git dir read-only even when the common dir is writable; danger-full-access commits", async () => {
    const { repo, home, wt } = await worktree('codex');
    server.script([{ tool: { command: COMMIT } }, { text: 'done' }]);
    const writable = ['-c', `sandbox_workspace_write.writable_roots=${JSON.stringify([join(repo, '.git')])}`];
    const sandboxed = await run('codex', { cwd: wt, home, prompt: 'Commit', args: writable });
    expect(sandboxed.exitCode).toBe(0);
    expect(scripted()[1]?.toolOutputs[0]).toMatch(/worktrees\/wt\/index\.lock': Read-only file system/);
    expect((await git(wt, 'log', '-1', '--format=%s')).stdout).toBe('initial commit');

    server.script([{ tool: { command: COMMIT } }, { text: 'done' }]);
    const unsandboxed = await run('codex', { cwd: wt, home, prompt: 'Commit', args: ['-s', 'danger-full-access'] });
    expect(unsandboxed.exitCode).toBe(0);
    expect((await git(wt, 'log', '-1', '--format=%s|%an')).stdout).toBe('agent commit|swarmflow codex');
  });
});
