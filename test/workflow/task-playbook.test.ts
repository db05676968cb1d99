// The playbook on the time-skipping server with the real activities (issue #13): each class's
// retry prompt carries its injection, read from the real evidence (CI logs, the agent's output,
// the diff against the hinted scope), every retry is remembered in Postgres with its outcome, a
// hint that fixed one task is offered to the next, and a CI machine's fault spends no attempt.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listArtifacts } from '../../activities/store/artifacts.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import type { TaskSpecInput } from '../../workflows/task/spec.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { recordHistory } from '../harness/histories.ts';
import { tempDir } from '../harness/paths.ts';
import { createTestbed, eventually, sampleRepo, type RepoOptions, type ScenarioStep, type Testbed, type TestbedOverrides } from '../harness/task-testbed.ts';
import { timeSkippingEnv } from '../harness/temporal.ts';

const ADD = 'export const add = (a, b) => a + b;\n';
const FILES = {
  'src/calc.mjs': ADD,
  'test/calc.test.mjs': [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "import * as calc from '../src/calc.mjs';",
    '',
    "test('multiply multiplies', () => {",
    '  assert.equal(calc.multiply(4, 5), 20);',
    '});',
    '',
  ].join('\n'),
};
const TESTS = [{ name: 'tests', command: 'node --test test/' }];
const GOOD: ScenarioStep = { files: { 'src/calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply' };
const BROKEN: ScenarioStep = { files: { 'src/calc.mjs': `${ADD}export const multiply = (a, b) => a + b;\n` }, commit: 'Add multiply (wrong)' };
const HINTS = { files: ['src/calc.mjs'], interfaces: ['export const multiply: (a: number, b: number) => number'], expectedTests: ['test/calc.test.mjs'] };

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const spec = (id: string, repository: string): TaskSpecInput => ({
  id,
  repository,
  title: 'Add multiply() to the calculator',
  description: 'Add multiply(a, b) next to add() in src/calc.mjs.',
  acceptanceCriteria: ['calc.multiply(4, 5) returns 20'],
  shape: 'backend',
  agent: 'scripted',
  hints: HINTS,
});

interface Run {
  bed: Testbed;
  client: SwarmClient;
  repo: string;
  until: (id: string, done: (s: TaskState) => boolean) => Promise<TaskState>;
  /** The prompt each spawn wrote to its prompt file, by spawn key ('1', '2', …). */
  prompts: (id: string) => Promise<Record<string, string>>;
  retries: (id: string) => Promise<Array<{ attempt: number; kind: string; title: string; outcome: string | null; paths: string[]; digest: string }>>;
}

async function withRepo(repoOptions: Omit<RepoOptions, 'files'> & { files?: Record<string, string> }, body: (run: Run) => Promise<string[]>, overrides: TestbedOverrides = {}): Promise<void> {
  const repo = sampleRepo({ ci: TESTS, ...repoOptions, files: { ...FILES, ...repoOptions.files } });
  const bed = await createTestbed(env, overrides);
  const client = SwarmClient.fromClient(env.client, bed.config);
  const run: Run = {
    bed,
    client,
    repo,
    until: (id, done) => eventually(() => client.getTask(id), done),
    prompts: async (id) =>
      Object.fromEntries((await listArtifacts(bed.database.db, id)).filter((a) => a.key.startsWith('receipt:spawn:')).map((a) => [a.key.slice('receipt:spawn:'.length), String(a.payload.prompt)])),
    retries: async (id) =>
      (await bed.database.db.query('SELECT attempt, kind, title, outcome, paths, digest FROM retry_memory WHERE task_id = $1 ORDER BY attempt', [id])).rows as Awaited<ReturnType<Run['retries']>>,
  };
  try {
    await bed.run(async () => {
      const ids = await body(run);
      for (const id of ids) await recordHistory(env.client, `task-${id}`, `time-skipping-${id}`);
    });
  } finally {
    await bed.teardown();
  }
}

const awaitingApproval = (s: TaskState) => s.status === 'awaiting_approval';

describe('the playbook per class', () => {
  it('test_regression from a failing node:test check: the retry gets the failing test, its assertion and source; a second task is offered the hint that fixed it', async () => {
    await withRepo({ scenario: [BROKEN, GOOD] }, async (run) => {
      await run.client.startTask(spec('pb-test', run.repo));
      const first = await run.until('pb-test', awaitingApproval);
      expect(first.attempts[0]!.failure).toMatchObject({ kind: 'test_regression', evidence: { source: 'ci' }, playbook: { kind: 'test_regression', tests: ['multiply multiplies'], files: ['test/calc.test.mjs'], title: 'Failing tests' } });
      const prompt = (await run.prompts('pb-test'))['2']!;
      expect(prompt).toContain('## Failing tests');
      expect(prompt).toContain('`multiply multiplies` at `test/calc.test.mjs:5`');
      expect(prompt).toContain('9 !== 20');
      // The source excerpt read from the head, the failing test marked.
      expect(prompt).toContain("> 5 | test('multiply multiplies', () => {\n  6 |   assert.equal(calc.multiply(4, 5), 20);");
      // The playbook replaced the old remedy text and its log excerpts.
      expect(prompt).not.toContain('The previous attempt left checks failing');
      expect(prompt).not.toContain('Evidence (excerpts):');
      expect(await run.retries('pb-test')).toEqual([expect.objectContaining({ attempt: 1, kind: 'test_regression', title: 'Failing tests', outcome: 'fixed', paths: ['test/calc.test.mjs'], digest: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
      await run.client.abort('pb-test', { by: 'test' });

      // The same failure in another task of the repository: its retry is offered what fixed the first.
      await run.client.startTask(spec('pb-learn', run.repo));
      const second = await run.until('pb-learn', awaitingApproval);
      expect(second.learned).toMatchObject({ attempt: 2, hints: [{ taskId: 'pb-test', kind: 'test_regression', paths: ['test/calc.test.mjs'] }] });
      const learned = (await run.prompts('pb-learn'))['2']!;
      expect(learned).toContain('## Learned from task pb-test');
      expect(learned).toContain('### Failing tests');
      expect((await run.prompts('pb-learn'))['1']).not.toContain('Learned from task');
      // Two retries with the same normalized evidence share their digest.
      expect((await run.retries('pb-learn'))[0]!.digest).toBe((await run.retries('pb-test'))[0]!.digest);
      await run.client.abort('pb-learn', { by: 'test' });
      return ['pb-test', 'pb-learn'];
    });
  });

  it('missing_constraint from type checker output: the retry gets the violated rule where it was broken', async () => {
    const checkTypes = [
      "import { readFileSync } from 'node:fs';",
      "const lines = readFileSync('src/calc.mjs', 'utf8').split('\\n');",
      "const at = lines.findIndex((l) => l.includes('String('));",
      'if (at >= 0) {',
      "  console.log(`src/calc.mjs(${at + 1},40): error TS2322: Type 'string' is not assignable to type 'number'.`);",
      '  process.exit(2);',
      '}',
      '',
    ].join('\n');
    const STRINGLY: ScenarioStep = { files: { 'src/calc.mjs': `${ADD}export const multiply = (a, b) => String(a * b);\n` }, commit: 'Add multiply' };
    await withRepo({ scenario: [STRINGLY, GOOD], files: { 'check-types.mjs': checkTypes }, ci: [{ name: 'types', command: 'node check-types.mjs' }] }, async (run) => {
      await run.client.startTask(spec('pb-types', run.repo));
      const done = await run.until('pb-types', awaitingApproval);
      expect(done.attempts[0]!.failure).toMatchObject({ kind: 'missing_constraint', playbook: { kind: 'missing_constraint', files: ['src/calc.mjs'], title: 'Violated rules' } });
      const prompt = (await run.prompts('pb-types'))['2']!;
      expect(prompt).toContain('## Violated rules');
      expect(prompt).toContain("- `TS2322` at `src/calc.mjs:2` (tsc): Type 'string' is not assignable to type 'number'.");
      expect(await run.retries('pb-types')).toEqual([expect.objectContaining({ attempt: 1, kind: 'missing_constraint', outcome: 'fixed' })]);
      await run.client.abort('pb-types', { by: 'test' });
      return ['pb-types'];
    });
  });

  it('context_gap from the agent\'s own words: an exit without commits after "No such file" gets what it could not find and where to start', async () => {
    const LOST: ScenarioStep = { print: ["cat: src/multiply.mjs: No such file or directory", 'I could not find the module to change.'], exitCode: 1 };
    await withRepo({ scenario: [LOST, GOOD] }, async (run) => {
      await run.client.startTask(spec('pb-lost', run.repo));
      const done = await run.until('pb-lost', awaitingApproval);
      expect(done.attempts[0]!.failure).toMatchObject({ kind: 'context_gap', evidence: { source: 'agent_exit' }, playbook: { kind: 'context_gap', title: 'Missing context' } });
      const prompt = (await run.prompts('pb-lost'))['2']!;
      expect(prompt).toContain('## Missing context');
      expect(prompt).toContain('cat: src/multiply.mjs: No such file or directory');
      expect(prompt).toContain('What exists to start from:\n- `src/calc.mjs`');
      expect(await run.retries('pb-lost')).toEqual([expect.objectContaining({ attempt: 1, kind: 'context_gap', outcome: 'fixed' })]);
      await run.client.abort('pb-lost', { by: 'test' });
      return ['pb-lost'];
    });
  });

  it('wrong_direction from edits far outside the hinted scope: the retry names the files to revert and restates the scope', async () => {
    const ASTRAY: ScenarioStep = { files: { 'docs/guide/multiply.md': '# multiply\n', 'tools/gen/multiply.mjs': 'export {};\n', 'src/calc.mjs': `${ADD}export const multiply = (a, b) => a + b;\n` }, commit: 'Rework the docs and tools' };
    await withRepo({ scenario: [ASTRAY, GOOD] }, async (run) => {
      await run.client.startTask(spec('pb-astray', run.repo));
      const done = await run.until('pb-astray', awaitingApproval);
      expect(done.attempts[0]!.failure).toMatchObject({ kind: 'wrong_direction', playbook: { kind: 'wrong_direction', files: ['docs/guide/multiply.md', 'tools/gen/multiply.mjs'], title: 'Back to the scope' } });
      const prompt = (await run.prompts('pb-astray'))['2']!;
      expect(prompt).toContain('Revert them:\n- `docs/guide/multiply.md`\n- `tools/gen/multiply.mjs`');
      expect(prompt).toContain('The scope, restated: change these and only these.');
      expect(prompt).toContain('Tests expected to pass:\n- test/calc.test.mjs');
      expect(await run.retries('pb-astray')).toEqual([expect.objectContaining({ attempt: 1, kind: 'wrong_direction', outcome: 'fixed' })]);
      await run.client.abort('pb-astray', { by: 'test' });
      return ['pb-astray'];
    });
  });

  it('a CI machine fault (the registry unreachable) spends no attempt: CI runs again after a durable wait and passes', async () => {
    const marker = join(tempDir('ci-fault'), 'faulted-once');
    const flaky = `if [ ! -f ${marker} ]; then touch ${marker}; echo 'npm error code ECONNRESET'; echo 'npm error network aborted'; exit 1; fi; node --test test/`;
    await withRepo({ scenario: [GOOD], ci: [{ name: 'tests', command: flaky }] }, async (run) => {
      await run.client.startTask(spec('pb-infra', run.repo));
      const waiting = await eventually(() => run.client.getTask('pb-infra'), (s) => (s.attempts[0]?.ciFaults?.length ?? 0) > 0 || s.attempts.length > 1 || s.status !== 'running', 30_000);
      expect(waiting.attempts[0]!.ciFaults).toEqual([expect.objectContaining({ rule: 'the CI machine or its network failed, not the code', waitedMs: 30_000 })]);
      await env.sleep('1 minute');
      const done = await eventually(() => run.client.getTask('pb-infra'), awaitingApproval, 30_000);
      expect(done.attempt).toBe(1);
      expect(done.attempts).toHaveLength(1);
      expect(done.attempts[0]).toMatchObject({ outcome: 'verified' });
      expect(done.attempts[0]!.failure).toBeUndefined();
      expect(done.checks.ci?.status).toBe('passed');
      expect(await run.retries('pb-infra')).toEqual([]);
      await run.client.abort('pb-infra', { by: 'test' });
      return ['pb-infra'];
      // Unsandboxed on purpose: its CI keeps the marker of its one fault outside its checkout, which the sandbox hides.
    }, { host: { sandbox: 'off' } });
  }, 120_000);
});
