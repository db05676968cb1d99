// The task workflow with real agent CLIs and the host's resource ceiling, on the time-skipping
// test server: Claude Code (the pinned CLI) runs for real against the scripted model server; the
// spawn hold and a second host use the scripted agent.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { InvalidMessageError, SwarmClient } from '../../client/swarm-client.ts';
import type { Config } from '../../lib/config.ts';
import { redirectSignal, redirectUpdate } from '../../workflows/task/messages.ts';
import { taskWorkflowId, type TaskSpecInput } from '../../workflows/task/spec.ts';
import { renderDetails, type TaskState } from '../../workflows/task/state.ts';
import { correctionFor, STUCK_DEFAULTS } from '../../workflows/policy/evidence/stuck.ts';
import { recordHistory } from '../harness/histories.ts';
import { startModelServer, type ModelServer, type RecordedRequest } from '../harness/model-server/index.ts';
import { processEnv } from '../harness/process-env.ts';
import { pathWithoutBwrap } from '../harness/agents.ts';
import { tempDir } from '../harness/paths.ts';
import { timeSkippingEnv } from '../harness/temporal.ts';
import { createTestbed, eventually, git, sampleRepo, tmuxSessionExists, type ScenarioStep, type Testbed, type TestbedOverrides } from '../harness/task-testbed.ts';

const FILES = { 'calc.mjs': 'export const add = (a, b) => a + b;\n', 'test.mjs': "import assert from 'node:assert';\nimport * as calc from './calc.mjs';\nassert.equal(calc.multiply(4, 5), 20);\n" };
const CI = [{ name: 'tests', command: 'node test.mjs' }];
const MULTIPLY = "printf 'export const add = (a, b) => a + b;\\nexport const multiply = (a, b) => a * b;\\n' > calc.mjs && git add -A && git commit -q -m 'Add multiply'";
const GOOD: ScenarioStep = { files: { 'calc.mjs': `${FILES['calc.mjs']}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply' };
// A key only the agent may see, under the CLI's own name.
const KEY = 'sk-ant-test-key-for-the-agent';
const GEMINI_KEY = 'gemini-test-key-for-the-agent';

let env: TestWorkflowEnvironment;
let model: ModelServer;
// The orchestrator's own secrets, present in the workers' environment for the whole file.
const WORKER_SECRETS = { GITHUB_TOKEN: 'ghp_marker_token_0451', TELEGRAM_BOT_TOKEN: '123:marker-telegram-0451', AWS_SECRET_ACCESS_KEY: 'marker-aws-secret-0451' };
const vars = processEnv();
beforeAll(async () => {
  env = await timeSkippingEnv();
  model = await startModelServer();
  for (const [name, value] of Object.entries({ ANTHROPIC_API_KEY: KEY, GEMINI_API_KEY: GEMINI_KEY, ...WORKER_SECRETS })) vars.set(name, value);
});
afterAll(async () => {
  vars.restore();
  await model?.close();
  await env?.teardown();
});

const claude = (): Config['agents'] => ({ claude: { kind: 'claude', model: 'claude-sonnet-4-5', mode: 'headless', baseUrl: model.url, retries: 0, args: [], passEnv: [] } });
const codex = (): Config['agents'] => ({ codex: { kind: 'codex', model: 'gpt-5-codex', mode: 'headless', baseUrl: `${model.url}/v1`, retries: 0, args: [], passEnv: [] } });
const gemini = (): Config['agents'] => ({ gemini: { kind: 'gemini', model: 'gemini-2.5-pro', mode: 'headless', baseUrl: model.url, retries: 0, args: [], passEnv: [] } });

function spec(id: string, repository: string, extra: Partial<TaskSpecInput> = {}): TaskSpecInput {
  return { id, repository, title: 'Add multiply()', description: 'Add multiply(a, b) next to add().', acceptanceCriteria: ['calc.multiply(4, 5) returns 20'], shape: 'backend', ...extra };
}

interface Run {
  client: SwarmClient;
  repo: string;
  state: () => Promise<TaskState>;
  until: (done: (s: TaskState) => boolean) => Promise<TaskState>;
}

async function withTask(id: string, overrides: TestbedOverrides, taskSpec: Partial<TaskSpecInput>, body: (run: Run, bed: Testbed) => Promise<void>, scenario: ScenarioStep[] = [GOOD]): Promise<void> {
  const repo = sampleRepo({ files: FILES, ci: CI, scenario });
  const bed = await createTestbed(env, overrides);
  const client = SwarmClient.fromClient(env.client, bed.config);
  try {
    await bed.run(async () => {
      await client.startTask(spec(id, repo, taskSpec));
      const state = () => client.getTask(id);
      await body({ client, repo, state, until: (done) => eventually(state, done, 120_000) }, bed);
      await recordHistory(env.client, `task-${id}`, `time-skipping-${id}`);
    });
  } finally {
    await bed.teardown();
  }
}

async function approveAndMerge({ client, repo, until }: Run, id: string): Promise<TaskState> {
  await until((s) => s.status === 'awaiting_approval');
  await client.approve(id, { by: 'alice' });
  const done = await until((s) => s.status === 'merged');
  expect(git(repo, 'show', 'main:calc.mjs')).toContain('multiply');
  // Every run to the merge was sandboxed; a CLI's network only its model endpoint, through the proxy that holds its key; the scripted agent's none.
  const spawns = done.notes.filter((n) => n.includes(' started in tmux session '));
  expect(spawns.length).toBeGreaterThan(0);
  for (const note of spawns) {
    expect(note).toContain('; sandbox: bubblewrap, ');
    expect(note).toContain(note.includes(': scripted started') ? '; no network' : `; network only to ${new URL(model.url).host}, through a recording proxy that holds its API key`);
  }
  return done;
}

describe('a real agent CLI as the agent', () => {
  it('routes a UI task to Claude Code, which edits and commits; a redirect mid-turn reaches its next request; usage is counted', async () => {
    const before = model.requests.length;
    const reported = { ...model.reported };
    // The first request stalls, so the redirect arrives while the turn is in flight.
    model.script([{ stall: true, then: { tool: { command: MULTIPLY } } }, { text: 'Added multiply.' }, { text: 'Noted: the comment is in.' }]);
    await withTask('cli-claude', { agents: claude() }, { shape: 'ui' }, async (run) => {
      const first = await model.waitFor((r) => r.scripted && r.userTexts.some((t) => t.includes('Add multiply(a, b) next to add().')), 60_000);
      expect(first.headers['x-api-key']).toBe(KEY);
      // Queued, not yet delivered: Claude's session resumes with it once the turn in flight ends.
      expect(await run.client.redirect('cli-claude', 'Also keep add() untouched.', 'bob')).toEqual({ status: 'queued', detail: "queued: the agent's headless session resumes with it after its current turn" });
      expect((await run.state()).redirects![0]).toMatchObject({ message: 'Also keep add() untouched.', by: 'bob', delivered: false, channel: 'inbox', waiting: 'inbox' });
      model.release();
      const next = await model.waitFor((r) => r.at > first.at && r.userTexts.some((t) => t.includes('Also keep add() untouched.')), 60_000);
      expect(next.scripted).toBe(true);
      const delivered = await run.until((s) => s.redirects![0]!.delivered);
      expect(delivered.redirects![0]).toMatchObject({ channel: 'inbox', inbox: expect.stringMatching(/\.msg$/) });
      expect(delivered.redirects![0]!.waiting).toBeUndefined();

      const done = await approveAndMerge(run, 'cli-claude');
      expect(done.setup!.agent).toMatchObject({ name: 'claude', kind: 'claude' });
      expect(done.setup!.routingReason).toContain('the routing table sends ui tasks to "claude"');
      const outcome = done.attempts[0]!.exit!.outcome!;
      expect(outcome).toMatchObject({ status: 'finished', sessionId: expect.any(String), cost: { source: 'cli' } });
      // Claude's events report exactly what the model server counted over the task's requests.
      const scripted = model.requests.slice(before).filter((r) => r.scripted).length;
      expect(scripted).toBe(3);
      expect(done.usage).toMatchObject({ inputTokens: model.reported.inputTokens - reported.inputTokens, outputTokens: model.reported.outputTokens - reported.outputTokens, runs: 1 });
      // No secret in the task's state, its history (activity inputs and results, details, search
      // attribute updates) or any prompt the model received.
      // Payloads come base64-encoded: decode them (the spec's description proves they are readable).
      const encoded = JSON.stringify(await env.client.workflow.getHandle('task-cli-claude').fetchHistory());
      const history = encoded.replace(/"data":"([A-Za-z0-9+/=]*)"/g, (_match, base64: string) => Buffer.from(base64, 'base64').toString('utf8'));
      expect(history).toContain('Add multiply(a, b) next to add().');
      const prompts = JSON.stringify(model.requests.slice(before).map((r) => r.body));
      for (const secret of [KEY, ...Object.values(WORKER_SECRETS)]) {
        expect(JSON.stringify(done)).not.toContain(secret);
        expect(history).not.toContain(secret);
        if (secret !== KEY) expect(prompts).not.toContain(secret);
      }
      expect(renderDetails(done)).toContain(`- agent usage: ${done.usage!.inputTokens} input / ${done.usage!.outputTokens} output tokens, $${done.usage!.costUsd.toFixed(4)}`);
    });
  });

  it('waits out a rate limit on a durable timer and resumes the same attempt, spending no attempt', async () => {
    model.script([{ error: { status: 429, message: 'rate limit exceeded' } }, { tool: { command: MULTIPLY } }, { text: 'Added multiply.' }]);
    await withTask('cli-rate-limit', { agents: claude() }, { agent: 'claude' }, async (run) => {
      const limited = await run.until((s) => (s.attempts[0]?.interruptions ?? []).length === 1);
      expect(limited.attempts[0]!.interruptions![0]).toMatchObject({ run: 1, failure: 'rate_limited' });
      expect(limited.status).toBe('running');
      // The respawn waits on a durable timer: nothing happens until time moves.
      const waitedMs = limited.attempts[0]!.interruptions![0]!.waitedMs;
      await env.sleep(waitedMs + 1_000);
      const resumed = await model.waitFor((r) => r.scripted && r.userTexts.some((t) => t.includes('Your previous run was interrupted (rate limit)')), 60_000);
      expect(resumed.userTexts.some((t) => t.includes('Add multiply(a, b) next to add().'))).toBe(true);

      const done = await approveAndMerge(run, 'cli-rate-limit');
      expect(done.attempt).toBe(1);
      expect(done.attempts).toHaveLength(1);
      expect(done.session).toMatchObject({ attempt: 1, run: 2 });
      expect(done.usage!.runs).toBe(2);
    });
  });

  it('waits out a dropped connection like a provider fault: no attempt spent, no failure diagnosed in any prompt', async () => {
    const before = model.requests.length;
    model.script([{ drop: 'reset' }, { tool: { command: MULTIPLY } }, { text: 'Added multiply.' }]);
    await withTask('cli-dropped', { agents: claude() }, { agent: 'claude' }, async (run) => {
      const dropped = await run.until((s) => (s.attempts[0]?.interruptions ?? []).length === 1);
      expect(dropped.attempts[0]!.interruptions![0]).toMatchObject({ run: 1, failure: 'server_error', message: expect.stringContaining('ECONNRESET') });
      expect(dropped.attempts[0]!.failure).toBeUndefined();
      await env.sleep(dropped.attempts[0]!.interruptions![0]!.waitedMs + 1_000);
      await model.waitFor((r) => r.scripted && r.userTexts.some((t) => t.includes('Your previous run was interrupted (provider fault)')), 60_000);

      const done = await approveAndMerge(run, 'cli-dropped');
      expect(done).toMatchObject({ attempt: 1, session: { attempt: 1, run: 2 } });
      expect(done.attempts).toHaveLength(1);
      expect(done.attempts[0]!.failure).toBeUndefined();
      const prompts = model.requests.slice(before).filter((r) => r.scripted).flatMap((r) => r.userTexts).join('\n');
      expect(prompts).not.toContain('What went wrong in the previous attempt');
    });
  });

  it("carries a redirect that Gemini's failed first request never received into the next run's prompt, and says so", async () => {
    const before = model.requests.length;
    const REDIRECT = 'Keep add() exactly as it is.';
    model.script([{ stall: true, headers: false, then: { error: { status: 429, message: 'rate limit exceeded' } } }, { tool: { command: MULTIPLY } }, { text: 'Added multiply.' }]);
    await withTask('cli-redirect-carried', { agents: gemini() }, { agent: 'gemini' }, async (run) => {
      await model.waitFor((r) => r.at > 0 && r.scripted && r.protocol === 'gemini' && model.requests.indexOf(r) >= before, 60_000);
      expect(await run.client.redirect('cli-redirect-carried', REDIRECT, 'bob')).toMatchObject({ status: 'queued' });
      model.release();
      // The run failed before its session could resume with it (Gemini keeps no session whose first request failed).
      const limited = await run.until((s) => (s.attempts[0]?.interruptions ?? []).length === 1 && s.redirects?.[0]?.waiting === 'next_run');
      expect(limited.redirects![0]).toMatchObject({ message: REDIRECT, delivered: false });
      expect(limited.notes.join('\n')).toContain('redirect not delivered: the run ended before its session resumed with it');
      await env.sleep(limited.attempts[0]!.interruptions![0]!.waitedMs + 1_000);
      const carried = await model.waitFor((r) => r.scripted && r.userTexts.some((t) => t.includes(REDIRECT)), 60_000);
      expect(carried.userTexts.join('\n')).toContain('Add multiply(a, b) next to add().');

      const done = await approveAndMerge(run, 'cli-redirect-carried');
      expect(done.redirects).toEqual([expect.objectContaining({ message: REDIRECT, delivered: true, channel: 'prompt', carriedTo: { attempt: 1, run: 2 } })]);
      expect(done.attempt).toBe(1);
    });
  });

  it('refuses a redirect it cannot deliver (blank, control characters only, 60 kB) at the gate instead of failing the task', async () => {
    await withTask('redirect-refused', {}, { agent: 'scripted' }, async (run) => {
      await run.until((s) => s.status === 'awaiting_approval');
      const handle = env.client.workflow.getHandle(taskWorkflowId('redirect-refused'));
      const bad = [' \n\t  ', '\u001b\u0003\u0007\u007f', 'x'.repeat(60_000)];
      // Signals from older clients: refused in the handler, noted.
      for (const message of bad) await handle.signal(redirectSignal, { message });
      // The update is refused by its validator, with the reason.
      for (const message of bad) await expect(handle.executeUpdate(redirectUpdate, { args: [{ message }] })).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(handle.executeUpdate(redirectUpdate, { args: [{ message: bad[0]! }] })).rejects.toMatchObject({ cause: { message: 'redirect refused: the message has no printable text (only whitespace or control characters)' } });
      await expect(run.client.redirect('redirect-refused', bad[2]!)).rejects.toThrow(InvalidMessageError);
      const refusals = (s: TaskState) => s.notes.filter((n) => n.includes('redirect refused')).map((n) => n.slice(n.indexOf(' ') + 1));
      const refused = await run.until((s) => refusals(s).length >= 3);
      expect(refusals(refused)).toEqual([
        'redirect refused: the message has no printable text (only whitespace or control characters)',
        'redirect refused: the message has no printable text (only whitespace or control characters)',
        'redirect refused: the message is 60000 characters long, more than 10000',
      ]);
      expect(refused).toMatchObject({ status: 'awaiting_approval', step: 'human_gate' });
      expect(refused.redirects).toBeUndefined();

      // A good one at the gate: no agent runs now, so it waits for a next run, and the operator is told.
      expect(await run.client.redirect('redirect-refused', 'Also document multiply().')).toEqual({ status: 'queued', detail: 'not delivered yet: no live agent session; the next run or attempt gets it in its prompt' });
      const done = await approveAndMerge(run, 'redirect-refused');
      expect(done.redirects).toEqual([expect.objectContaining({ message: 'Also document multiply().', delivered: false, waiting: 'next_run' })]);
    });
  });

  it('hands a spec over: Gemini CLI commits the concept, then Claude Code implements it in the same attempt', async () => {
    const before = model.requests.length;
    const CONCEPT = "mkdir -p docs/concepts && printf '# multiply\\nmultiply(a, b) returns a * b\\n' > docs/concepts/handoff.md && git add -A && git commit -q -m 'Concept for multiply'";
    model.script([{ tool: { command: CONCEPT } }, { text: 'Concept written.' }, { tool: { command: MULTIPLY } }, { text: 'Implemented the concept.' }]);
    await withTask('handoff', { agents: { ...claude(), ...gemini() } }, { shape: 'spec' }, async (run) => {
      const done = await approveAndMerge(run, 'handoff');
      expect(done.setup!.concept).toMatchObject({ agent: { name: 'gemini' }, file: 'docs/concepts/handoff.md' });
      expect(done.concept).toMatchObject({ agent: 'gemini', commits: 1, outcome: { status: 'finished' } });
      expect(done.attempts).toHaveLength(1);
      expect(done.session).toMatchObject({ attempt: 1, run: 2 });
      const requests = model.requests.slice(before).filter((r) => r.scripted);
      expect(requests.map((r) => r.protocol)).toEqual(['gemini', 'gemini', 'anthropic', 'anthropic']);
      expect(requests[0]!.userTexts.join('\n')).toContain('Write the concept as Markdown in `docs/concepts/handoff.md`');
      expect(requests[2]!.userTexts.join('\n')).toContain('written by gemini, is committed at `docs/concepts/handoff.md`');
      expect(git(run.repo, 'show', 'main:docs/concepts/handoff.md')).toContain('multiply(a, b) returns a * b');
    });
  });

  it("waits out the concept agent's rate limit and runs it again, then the implementer builds on the concept", async () => {
    const before = model.requests.length;
    const CONCEPT = "mkdir -p docs/concepts && printf '# multiply\\nmultiply(a, b) returns a * b\\n' > docs/concepts/handoff-limited.md && git add -A && git commit -q -m 'Concept for multiply'";
    model.script([{ error: { status: 429, message: 'rate limit exceeded' } }, { tool: { command: CONCEPT } }, { text: 'Concept written.' }, { tool: { command: MULTIPLY } }, { text: 'Implemented the concept.' }]);
    await withTask('handoff-limited', { agents: { ...claude(), ...gemini() } }, { shape: 'spec' }, async (run) => {
      const limited = await run.until((s) => (s.attempts[0]?.interruptions ?? []).length === 1);
      expect(limited.attempts[0]!.interruptions![0]).toMatchObject({ run: 1, failure: 'rate_limited' });
      expect(limited.concept).toBeUndefined();
      // The implementer waits for the concept: no Claude request while the timer runs.
      expect(model.requests.slice(before).filter((r) => r.protocol === 'anthropic')).toEqual([]);
      await env.sleep(limited.attempts[0]!.interruptions![0]!.waitedMs + 1_000);
      const done = await approveAndMerge(run, 'handoff-limited');
      expect(done.concept).toMatchObject({ agent: 'gemini', commits: 1, outcome: { status: 'finished' } });
      expect(done).toMatchObject({ conceptRun: 2, attempt: 1, session: { attempt: 1, run: 3 } });
      expect(done.attempts).toHaveLength(1);
      const requests = model.requests.slice(before).filter((r) => r.scripted);
      expect(requests.map((r) => r.protocol)).toEqual(['gemini', 'gemini', 'gemini', 'anthropic', 'anthropic']);
      // The limit hit Gemini's first request, which leaves no session to resume: it starts over on the concept prompt.
      expect(requests[1]!.userTexts.join('\n')).toContain('Write the concept as Markdown in `docs/concepts/handoff-limited.md`');
      expect(requests[3]!.userTexts.join('\n')).toContain('written by gemini, is committed at `docs/concepts/handoff-limited.md`');
      expect(git(run.repo, 'show', 'main:docs/concepts/handoff-limited.md')).toContain('multiply(a, b) returns a * b');
    });
  });

  it("sends the concept agent to a human once its faults run out; after retry the implementer works from the task alone", async () => {
    const before = model.requests.length;
    model.script([{ error: { status: 429, message: 'rate limit exceeded' } }, { tool: { command: MULTIPLY } }, { text: 'Implemented from the task.' }]);
    await withTask('handoff-exhausted', { agents: { ...claude(), ...gemini() } }, { shape: 'spec', limits: { maxAgentFaults: 0 } }, async (run) => {
      const stuck = await run.until((s) => s.status === 'needs_human');
      expect(stuck.notes.join('\n')).toContain('gemini hit 1 rate limits or provider faults in attempt 1');
      await run.client.retry('handoff-exhausted', 'go on without the concept', 'alice');
      const done = await approveAndMerge(run, 'handoff-exhausted');
      expect(done.concept).toBeUndefined();
      // A retry grants one attempt past the limit (3): the implementer's is attempt 4, its first run.
      expect(done).toMatchObject({ attempt: 4, session: { attempt: 4, run: 1 } });
      const requests = model.requests.slice(before).filter((r) => r.scripted);
      expect(requests.map((r) => r.protocol)).toEqual(['gemini', 'anthropic', 'anthropic']);
      expect(requests[1]!.userTexts.join('\n')).toContain('go on without the concept');
    });
  });

  it('waits for a human when the agent cannot start on its host (no API key), and carries on after retry', async () => {
    vars.unset('OPENAI_API_KEY');
    model.script([{ tool: { command: MULTIPLY } }, { text: 'Added multiply.' }]);
    await withTask('cli-no-key', { agents: codex() }, { agent: 'codex' }, async (run) => {
      const stuck = await run.until((s) => s.status === 'needs_human');
      expect(stuck.notes.join('\n')).toContain('the agent cannot start: agent "codex" (codex) needs an API key: set OPENAI_API_KEY in the environment of the host worker');
      expect(stuck.attempts).toHaveLength(0);
      expect(stuck.attempt).toBe(1);
      // The operator sets the key on the host and says retry: the same task carries on, no attempt spent.
      vars.set('OPENAI_API_KEY', 'sk-test-codex-key');
      await run.client.retry('cli-no-key', 'the key is set now', 'alice');
      const done = await approveAndMerge(run, 'cli-no-key');
      expect(done.attempts).toHaveLength(1);
      expect(done.attempts[0]!.exit!.outcome).toMatchObject({ status: 'finished', cost: { source: 'price_table' } });
    });
  });

  it('waits for a human when its CLI must run sandboxed and the host has no bubblewrap: no agent starts unsandboxed; once it has, retry runs it sandboxed', async () => {
    model.script([{ tool: { command: MULTIPLY } }, { text: 'Added multiply.' }]);
    const before = model.requests.length;
    await withTask('cli-no-sandbox', { agents: claude() }, { agent: 'claude' }, async (run, bed) => {
      const path = process.env.PATH;
      vars.set('PATH', pathWithoutBwrap(tempDir('no-bwrap')));
      let stuck: TaskState;
      try {
        stuck = await run.until((s) => s.status === 'needs_human');
      } finally {
        vars.set('PATH', path!);
      }
      expect(stuck.blocker).toContain('agent "claude" must run sandboxed (host.sandbox "required", the default for a CLI agent) and this host cannot: bubblewrap (bwrap) is not installed. Fix: apt-get install --no-install-recommends bubblewrap');
      expect(stuck.attempts).toHaveLength(0);
      // Nothing ran: no session, no request to the model.
      expect(tmuxSessionExists(bed.config, 'swarm-cli-no-sandbox')).toBe(false);
      expect(model.requests.length).toBe(before);
      await run.client.retry('cli-no-sandbox', 'bubblewrap is installed now', 'alice');
      const done = await approveAndMerge(run, 'cli-no-sandbox');
      expect(done.attempts).toHaveLength(1);
    });
  });

  it('stops at a run whose usage breaches the token budget and asks a human with the figures; retry grants one more run', async () => {
    model.script([{ tool: { command: MULTIPLY } }, { text: 'Added multiply.' }, { text: 'Nothing more to do.' }]);
    await withTask('cli-budget', { agents: claude() }, { agent: 'claude', limits: { maxTokens: 10 } }, async ({ client, until }) => {
      const over = await until((s) => s.status === 'needs_human');
      const spent = over.usage!.inputTokens + over.usage!.outputTokens;
      expect(spent).toBeGreaterThan(10);
      expect(over.blocker).toBe(`The task's budget is spent: ${spent} tokens of 10. The agent was stopped after 1 run(s); raise limits.maxTokens/maxUsd in the spec, or say retry for one more run`);
      expect(over.notes.join('\n')).toContain(`needs a human: The task's budget is spent: ${spent} tokens of 10.`);
      // The agent's session is gone and no verification ran: no PR, the attempt failed, none other spent.
      expect(over.checks.sessionAlive).toBe(false);
      expect(over.checks.pr).toBeUndefined();
      expect(over.attempts).toHaveLength(1);
      expect(over.attempts[0]).toMatchObject({ outcome: 'failed' });
      // Retry is the operator's word for one more run, checked against the same budget at its exit.
      await client.retry('cli-budget', 'finish within one more run', 'alice');
      const again = await until((s) => s.status === 'needs_human' && s.usage!.runs === 2);
      expect(again.attempts).toHaveLength(2);
      expect(again.blocker).toContain('The agent was stopped after 2 run(s)');
      await client.abort('cli-budget', { by: 'alice', reason: 'over budget' });
      await until((s) => s.status === 'aborted');
    });
  });

  it.each([
    { budget: 'token', limits: { maxTokens: 10 }, id: 'cli-budget-mid-run' },
    { budget: 'dollar', limits: { maxUsd: 0.000001 }, id: 'cli-usd-mid-run' },
  ])('stops Claude Code mid-run once its streamed usage passes the $budget budget, and asks a human', async ({ limits, id }) => {
    // The second request never answers: only the budget's stop can end this run.
    model.script([{ tool: { command: MULTIPLY } }, { stall: true, then: { text: 'Added multiply.' } }]);
    await withTask(id, { agents: claude() }, { agent: 'claude', limits }, async ({ client, until }, bed) => {
      const over = await until((s) => s.status === 'needs_human');
      expect(tmuxSessionExists(bed.config, `swarm-${id}`)).toBe(false);
      const exit = over.attempts[0]!.exit!;
      expect(exit.exitCode).toBeNull();
      expect(exit.outcome).toMatchObject({ status: 'failed', message: 'claude exited with no exit code before its result' });
      const spent = over.usage!.inputTokens + over.usage!.outputTokens;
      if ('maxTokens' in limits) {
        expect(spent).toBeGreaterThan(10);
        expect(over.blocker).toContain(`The task's budget is spent: ${spent} tokens of 10.`);
      } else {
        // At the price table's rates: the stream carries no dollars.
        expect(exit.outcome).toMatchObject({ cost: { source: 'price_table' } });
        expect(over.usage!.costUsd).toBeGreaterThan(0.000001);
        expect(over.blocker).toContain(`The task's budget is spent: $${over.usage!.costUsd.toPrecision(2)} of $0.0000010.`);
      }
      expect(over.attempts).toHaveLength(1);
      await client.abort(id, { by: 'alice', reason: 'over budget' });
      await until((s) => s.status === 'aborted');
    });
  });

  it('corrects Claude Code looping on the same failing command before the monitor interval: the turn is interrupted, the model gets the correction, the loop stops', async () => {
    const before = model.requests.length;
    const LOOP = 'node test.mjs';
    const correction = correctionFor({ stuck: true, reason: 'repeated_failing_command', what: LOOP, times: STUCK_DEFAULTS.repeats });
    const corrected = (r: RecordedRequest) => r.userTexts.some((t) => t.includes(correction));
    // The model reruns the failing test until a request carries the correction; then it fixes the code.
    model.script([{ repeat: { tool: { command: LOOP } }, until: corrected }, { tool: { command: MULTIPLY } }, { text: 'Added multiply.' }]);
    // A monitor interval far past the test: only the stuck watch can wake the monitor.
    await withTask('cli-stuck', { agents: claude() }, { agent: 'claude', limits: { monitorInterval: '30m' } }, async (run) => {
      const reached = await model.waitFor((r) => r.scripted && corrected(r) && model.requests.indexOf(r) >= before, 120_000);
      // Before it, the agent really looped: at least the limit's worth of failing runs went back to the model.
      const looped = model.requests.slice(before, model.requests.indexOf(reached)).filter((r) => r.scripted && r.toolOutputs.some((o) => o.includes('calc.multiply is not a function')));
      expect(looped.length).toBeGreaterThanOrEqual(STUCK_DEFAULTS.repeats);

      const done = await approveAndMerge(run, 'cli-stuck');
      const [intervention, ...more] = done.attempts[0]!.interventions ?? [];
      // One correction: the re-armed watch saw no loop after it, and the run finished.
      expect(more).toEqual([]);
      expect(intervention).toMatchObject({ run: 1, reason: 'repeated_failing_command', what: LOOP, times: STUCK_DEFAULTS.repeats, message: correction, channel: 'inbox', delivered: true });
      // Corrected before the monitor's first tick was due.
      expect(Date.parse(intervention!.at)).toBeLessThan(Date.parse(done.attempts[0]!.startedAt) + 30 * 60_000);
      expect(done.attempts[0]!.exit!.outcome).toMatchObject({ status: 'finished' });
      expect(done.attempts).toHaveLength(1);
      expect(done.redirects).toEqual([expect.objectContaining({ message: correction, by: 'swarmflow', delivered: true, channel: 'inbox' })]);
      expect(done.notes.join('\n')).toContain(`the agent is stuck (it ran the failing command \`${LOOP}\` ${STUCK_DEFAULTS.repeats} times in a row); corrected ${intervention!.latencyMs} ms after its first repeat`);
      expect(renderDetails(done)).toContain(`- stuck agent corrected at ${intervention!.at} (run 1): it ran the failing command \`${LOOP}\` ${STUCK_DEFAULTS.repeats} times in a row; delivered (inbox), ${intervention!.latencyMs} ms after its first repeat`);
      // The closing note's number, end to end on the model server's clock: from the agent's first
      // repeat (the second loop call, answered to the second request) to the request carrying the correction.
      const loopRequests = model.requests.slice(before, model.requests.indexOf(reached)).filter((r) => r.scripted);
      const endToEnd = reached.at - loopRequests[1]!.at;
      console.log(`stuck agent: first repeat → correction in the model's request ${endToEnd} ms (${loopRequests.length} loop calls before it); the watch's own figure (first seen → delivered to the inbox) ${intervention!.latencyMs} ms`);
    });
  });

  it('corrects a stuck agent at most twice a run: a loop that goes on after both is left to the timer and the exit', async () => {
    const before = model.requests.length;
    const LOOP = 'node test.mjs';
    // A model that never takes the hint.
    model.script([{ repeat: { tool: { command: LOOP } }, until: () => false }]);
    await withTask('cli-stuck-twice', { agents: claude() }, { agent: 'claude', limits: { monitorInterval: '30m', stuck: { repeats: 3 } } }, async ({ client, until }) => {
      const twice = await until((s) => (s.attempts[0]?.interventions ?? []).length === 2);
      const correction = correctionFor({ stuck: true, reason: 'repeated_failing_command', what: LOOP, times: 3 });
      expect(twice.attempts[0]!.interventions).toEqual([
        expect.objectContaining({ run: 1, reason: 'repeated_failing_command', what: LOOP, times: 3, message: correction, channel: 'inbox' }),
        expect.objectContaining({ run: 1, reason: 'repeated_failing_command', what: LOOP, times: 3, message: correction, channel: 'inbox' }),
      ]);
      // The second watch read on from where the first one's verdict was, not the same loop again.
      const [first, second] = twice.attempts[0]!.interventions!;
      expect(second!.eventsOffset).toBeGreaterThan(first!.eventsOffset);
      expect(twice.notes.join('\n')).toContain('; no more corrections this run');
      // Each correction reached the model in a resumed turn.
      const reached = (n: number) => model.waitFor((r) => r.scripted && model.requests.indexOf(r) >= before && r.userTexts.filter((t) => t.includes(correction)).length >= n, 60_000);
      await reached(2);
      // The watch was armed twice (at the start, after the first correction), never after the second.
      const history = await env.client.workflow.getHandle(taskWorkflowId('cli-stuck-twice')).fetchHistory();
      const watches = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'watchForStuck');
      expect(watches).toHaveLength(2);
      expect(twice).toMatchObject({ status: 'running', step: 'monitor' });
      await client.abort('cli-stuck-twice', { by: 'alice', reason: 'the agent keeps looping' });
      await until((s) => s.status === 'aborted');
    });
  });

  it('sends a refused key to a human instead of retrying the prompt', async () => {
    model.script([{ error: { status: 401, message: 'invalid x-api-key' } }]);
    await withTask('cli-auth', { agents: claude() }, { agent: 'claude' }, async ({ client, until }) => {
      const stuck = await until((s) => s.status === 'needs_human');
      expect(stuck.notes.join('\n')).toContain('claude could not authenticate with its model provider');
      expect(stuck.attempts[0]!.exit!.outcome).toMatchObject({ status: 'failed', failure: 'auth' });
      await client.abort('cli-auth', { by: 'alice', reason: 'key rotated elsewhere' });
      await until((s) => s.status === 'aborted');
    });
  });
});

describe('the host resource ceiling', () => {
  it('holds the spawn on a durable timer while the host is at its agent cap, then runs it', async () => {
    await withTask('held', { host: { maxAgents: 1 } }, { agent: 'scripted' }, async (run, bed) => {
      // Another agent already runs on this host, in its own swarm- session on the same tmux server.
      const socket = join(bed.config.stateDir, 'tmux.sock');
      const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, '-f', '/dev/null', ...args], { stdio: 'ignore' });
      tmux('new-session', '-d', '-s', 'swarm-other', 'sleep 600');
      try {
        const held = await run.until((s) => s.checks.spawnHold?.reason === 'agent_cap');
        expect(held.step).toBe('spawn');
        expect(held.attempts).toHaveLength(0);
        // What the Web UI's current details and `swarm task status` show.
        expect(renderDetails(held)).toContain(`- spawn held since ${held.checks.spawnHold!.since}: 1 agent(s) already run or are starting on this host (maxAgents 1)`);
      } finally {
        tmux('kill-session', '-t', '=swarm-other');
      }
      await env.sleep('31 seconds');
      const done = await approveAndMerge(run, 'held');
      expect(done.checks.spawnHold).toBeUndefined();
      expect(done.notes.join('\n')).toContain('spawn no longer held');
    });
  });

  it('runs every host-bound step on the host the spec names', async () => {
    await withTask('far-host', { extraHosts: ['far'] }, { agent: 'scripted', host: 'far' }, async (run, bed) => {
      const waiting = await run.until((s) => s.status === 'awaiting_approval');
      expect(waiting.setup!.hostQueue).toBe('swarm-host-far');
      const { worktree } = waiting.workspace!;
      expect(worktree.startsWith(`${bed.hostStateDirs.far}/`)).toBe(true);
      expect(readFileSync(join(worktree, 'calc.mjs'), 'utf8')).toContain('multiply');
      await approveAndMerge(run, 'far-host');
    });
  });
});
