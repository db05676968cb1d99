// CLI reviewers on the three real CLIs (Codex, Claude Code, Gemini CLI) against the scripted model
// stand-in, each in a clean detached worktree of a PR head: the structured reply parsed into
// findings, what each CLI really sent (the diff, the criteria, the focus, the reply schema, the
// read-only mode and no write or shell tools), a malformed reply as a failed result, usage and
// cost counted, and rate limits waited out or, once the tries run out, reported.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { heavySlots } from '../../activities/host/capacity.ts';
import { sandboxSettings } from '../../activities/agents/sandboxed.ts';
import { createReviewActivities } from '../../activities/review/index.ts';
import type { SandboxSettings } from '../../activities/agents/sandboxed.ts';
import { FINDINGS_JSON_SCHEMA } from '../../activities/review/prompt.ts';
import { ConfigSchema } from '../../lib/config.ts';
import type { CliReviewer, ReviewerResult } from '../../workflows/task/types.ts';
import { MODELS, type CliName } from '../harness/model-server/clis.ts';
import { startModelServer, type ModelServer, type RecordedRequest, type ScriptStep } from '../harness/model-server/index.ts';
import { tempDir } from '../harness/paths.ts';

const KEY_ENV = 'SWARM_TEST_REVIEWER_KEY';
const HEAD_FILE = 'src/users.ts';
const CRITERION = 'GET /users/:id answers 404 for an unknown id';
const FOCUS = 'security-scalability';
const FINDING = { severity: 'critical', file: HEAD_FILE, line: 2, message: 'SQL built by string concatenation: use a bound parameter' } as const;
const PRICES = ConfigSchema.parse({}).prices;
// Short waits: a test cannot sit out a production backoff.
const RATE_LIMIT = { tries: 3, firstWaitMs: 300, maxWaitMs: 5_000 };

let server: ModelServer;
let checkout: string;
/** The host's sandbox, as production gives it: a CLI reviewer must run in it, read-only. */
let sandbox: SandboxSettings;
let diff: string;

const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', ...args], { cwd });

beforeAll(async () => {
  process.env[KEY_ENV] = 'test-key-not-a-secret';
  const root = tempDir('reviewer-clis');
  const repo = join(root, 'repo');
  await execa('git', ['init', '--quiet', '--initial-branch=main', repo]);
  writeFileSync(join(repo, 'README.md'), '# users service\n');
  await git(repo, 'add', '.');
  await git(repo, 'commit', '--quiet', '-m', 'initial commit');
  await execa('mkdir', ['-p', join(repo, 'src')]);
  writeFileSync(join(repo, HEAD_FILE), 'export function findUser(db, id) {\n  return db.query("SELECT * FROM users WHERE id = " + id);\n}\n');
  await git(repo, 'add', '.');
  await git(repo, 'commit', '--quiet', '-m', 'find users by id');
  diff = (await git(repo, 'diff', 'HEAD~1', 'HEAD')).stdout;
  // The clean checkout of the PR head reviewers run in (never an agent's worktree).
  checkout = join(root, 'head');
  await git(repo, 'worktree', 'add', '--quiet', '--detach', checkout, 'HEAD');
  sandbox = sandboxSettings(join(root, 'state'), ConfigSchema.shape.host.parse(undefined));
});
afterAll(() => {
  delete process.env[KEY_ENV];
});
beforeEach(async () => {
  server = await startModelServer();
});
afterEach(() => server.close());

function reviewer(kind: CliName): CliReviewer {
  return { name: kind, kind, focus: FOCUS, model: MODELS[kind], binary: kind, apiKeyEnv: KEY_ENV, baseUrl: kind === 'codex' ? `${server.url}/v1` : server.url, retries: 0, timeoutMs: 90_000 };
}

const input = (reviewers: CliReviewer[]) => ({
  taskId: 'reviewer-clis',
  headSha: 'c'.repeat(40),
  diff,
  reviewers,
  cwd: checkout,
  acceptanceCriteria: [CRITERION],
  ci: [{ name: 'unit', status: 'failed', outputTail: 'users.test.ts: expected 404, got 500' }],
});

async function review(kind: CliName, steps: ScriptStep[], settings: Partial<CliReviewer> = {}): Promise<ReviewerResult> {
  server.script(steps);
  const { runReviewers } = createReviewActivities({ heavySlots: heavySlots(3), prices: PRICES, rateLimit: RATE_LIMIT, sandbox });
  const verdict = await runReviewers(input([{ ...reviewer(kind), ...settings }]));
  return verdict.results[0]!;
}

const scripted = () => server.requests.filter((r) => r.scripted);
const body = (r: RecordedRequest) => r.body as Record<string, unknown> & { tools?: Array<Record<string, unknown>> };

/** What each CLI declares in its model request: the reply's schema, and tools that cannot write or run anything. */
const declares: Record<CliName, (r: RecordedRequest) => void> = {
  codex(r) {
    expect(body(r).text).toEqual({ format: { type: 'json_schema', strict: true, name: 'codex_output_schema', schema: FINDINGS_JSON_SCHEMA } });
    const turn = JSON.parse(String(r.headers['x-codex-turn-metadata'])) as { sandbox_mode: string };
    expect(turn.sandbox_mode).toBe('read-only');
    expect(JSON.stringify(body(r).input)).toContain('`sandbox_mode` is `read-only`');
  },
  claude(r) {
    const tools = body(r).tools!;
    expect(tools.map((t) => t.name).sort()).toEqual(['Glob', 'Grep', 'Read', 'StructuredOutput']);
    expect(tools.find((t) => t.name === 'StructuredOutput')!.input_schema).toEqual(FINDINGS_JSON_SCHEMA);
  },
  gemini(r) {
    const names = (body(r).tools as Array<{ functionDeclarations: Array<{ name: string }> }>).flatMap((t) => t.functionDeclarations.map((f) => f.name));
    expect(names).toEqual(expect.arrayContaining(['read_file', 'grep_search', 'glob']));
    for (const writer of ['run_shell_command', 'write_file', 'replace']) expect(names).not.toContain(writer);
    expect(JSON.stringify(body(r).systemInstruction)).toContain('Active Approval Mode: Plan');
    // No schema flag in Gemini CLI 0.61: the prompt carries the schema.
    expect(r.userTexts.join('\n')).toContain(JSON.stringify(FINDINGS_JSON_SCHEMA));
  },
};

describe.each<CliName>(['codex', 'claude', 'gemini'])('%s reviewer', (kind) => {
  it('returns the structured findings, having sent the diff, criteria, CI and focus in read-only mode', async () => {
    const result = await review(kind, [{ structured: { findings: [FINDING] } }]);
    expect(result).toMatchObject({ reviewer: kind, status: 'ok', findings: [FINDING] });
    // In its sandbox: its model endpoint the one destination let through its egress proxy.
    expect(result.egress?.destinations.filter((d) => d.allowed).map((d) => d.destination)).toEqual([new URL(server.url).host]);
    // Which holds its key: the model got it, the CLI only a placeholder.
    const key = process.env[KEY_ENV]!;
    for (const r of scripted()) expect(JSON.stringify(r.headers)).toContain(key);
    const first = scripted()[0]!;
    const prompt = first.userTexts.join('\n');
    expect(prompt).toContain('+  return db.query("SELECT * FROM users WHERE id = " + id);');
    expect(prompt).toContain(CRITERION);
    expect(prompt).toContain('unit: failed');
    expect(prompt).toContain('expected 404, got 500');
    expect(prompt).toContain(`review:${FOCUS}`);
    declares[kind](first);
    // Usage: at least the scripted turns the stand-in reported; cost from the CLI or the price table.
    expect(result.usage!.inputTokens).toBeGreaterThanOrEqual(server.reported.inputTokens);
    expect(result.usage!.outputTokens).toBeGreaterThanOrEqual(server.reported.outputTokens);
    expect(result.costUsd).toBeGreaterThan(0);
    // Read-only: the checkout is as it was.
    expect((await git(checkout, 'status', '--porcelain')).stdout).toBe('');
  });

  it('fails with the reason when the structured reply does not match the schema', async () => {
    const bad = { findings: [{ severity: 'blocker', file: HEAD_FILE, line: 2, message: 'x' }] };
    const result = await review(kind, [{ structured: bad }, { structured: bad }, { structured: bad }]);
    expect(result.status).toBe('failed');
    expect(result.findings).toEqual([]);
    if (kind === 'claude') {
      // Claude Code checks the StructuredOutput call against the schema itself and tells the model;
      // a model that never complies leaves the run without a structured reply.
      expect(scripted()[1]!.toolOutputs.join('\n')).toContain('Output does not match required schema: /findings/0/severity');
      expect(result.error).toMatch(/^claude gave no structured reply/);
    } else {
      expect(result.error).toBe('malformed reply: findings[0].severity: Invalid option: expected one of "critical"|"major"|"minor"');
    }
  });

  it('runs the CLI again after a rate limit it gave up on, and returns the findings', async () => {
    // The CLI itself does not retry (retries: 0) and does not pass the Retry-After on: each 429 ends its run.
    const result = await review(kind, [{ error: { status: 429, retryAfterSeconds: 1 } }, { error: { status: 429 } }, { structured: { findings: [FINDING] } }]);
    expect(result).toMatchObject({ status: 'ok', findings: [FINDING] });
    const [first, second, third] = scripted().map((r) => r.at);
    // The waits between the runs: the first backoff, then twice it.
    expect(second! - first!).toBeGreaterThanOrEqual(RATE_LIMIT.firstWaitMs);
    expect(third! - second!).toBeGreaterThanOrEqual(2 * RATE_LIMIT.firstWaitMs);
  });

  it("honours a Retry-After through the CLI's own retries (reviewers[].retries)", async () => {
    const result = await review(kind, [{ error: { status: 429, retryAfterSeconds: 2 } }, { structured: { findings: [FINDING] } }], { retries: 1 });
    expect(result).toMatchObject({ status: 'ok', findings: [FINDING] });
    const [first, second] = scripted().map((r) => r.at);
    expect(second! - first!).toBeGreaterThanOrEqual(2_000);
  });

  it('reports "rate limited" once the tries run out', async () => {
    const limited = { error: { status: 429 } };
    const result = await review(kind, [limited, limited, limited, limited]);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^rate limited: still refused after 3 tries/);
  });
});

describe('codex reviewer shell', () => {
  // Codex is the one CLI that still offers the model a shell (sandboxed): it can write nothing and has no key.
  it('cannot write the checkout, and its shell runs without the API key', async () => {
    const result = await review('codex', [{ tool: { command: 'touch written-by-reviewer' } }, { tool: { command: 'env' } }, { structured: { findings: [] } }]);
    expect(result).toMatchObject({ status: 'ok', findings: [] });
    expect(existsSync(join(checkout, 'written-by-reviewer'))).toBe(false);
    const [touched, env] = scripted().slice(1).map((r) => r.toolOutputs.at(-1) ?? '');
    expect(touched).toMatch(/Read-only file system|Permission denied|Operation not permitted/);
    expect(env).toContain('PATH=');
    expect(env).not.toContain(process.env[KEY_ENV]);
  });
});

describe('a review round', () => {
  const stalled: ScriptStep = { stall: true, then: { structured: { findings: [] } } };
  const twoCodex = () => [reviewer('codex'), { ...reviewer('codex'), name: 'codex-second' }];

  it('runs each reviewer in a heavy slot: with one slot the second waits for the first', async () => {
    server.script([stalled, { structured: { findings: [FINDING] } }]);
    const { runReviewers } = createReviewActivities({ heavySlots: heavySlots(1), prices: PRICES, rateLimit: RATE_LIMIT, sandbox });
    const round = runReviewers(input(twoCodex()));
    await server.waitFor((r) => r.scripted);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(scripted()).toHaveLength(1);
    server.release();
    const verdict = await round;
    expect(verdict.results.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(scripted()).toHaveLength(2);
  });

  it('runs them in parallel when the host has the slots', async () => {
    server.script([stalled, stalled]);
    const { runReviewers } = createReviewActivities({ heavySlots: heavySlots(2), prices: PRICES, rateLimit: RATE_LIMIT, sandbox });
    const round = runReviewers(input(twoCodex()));
    // Both are in flight at once: the first is still held when the second asks.
    await server.waitFor((r) => r.scripted && scripted().length === 2);
    server.release();
    expect((await round).results.map((r) => r.status)).toEqual(['ok', 'ok']);
  });

  it('a stopped task kills its CLI reviewers', async () => {
    server.script([stalled]);
    const { runReviewers } = createReviewActivities({ heavySlots: heavySlots(3), prices: PRICES, rateLimit: RATE_LIMIT, sandbox });
    const env = new MockActivityEnvironment();
    const round = env.run(runReviewers, input([reviewer('claude')]));
    await server.waitFor((r) => r.scripted);
    const cancelledAt = Date.now();
    env.cancel();
    await expect(round).rejects.toBeInstanceOf(CancelledFailure);
    // Killed, not waited for: the held model request would never have ended on its own.
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
  });
});
