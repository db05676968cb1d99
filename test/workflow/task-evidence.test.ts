// The evidence plane in the task workflow, on the time-skipping test server with the real
// activities: the policy gate stops a head that weakens the gates before it is pushed (back to the
// agent once, then to a human), and the UI gate passes on screenshots the orchestrator takes itself
// in real Chromium, or fails with the preview's own output.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SwarmClient } from '../../client/swarm-client.ts';
import type { TaskSpecInput } from '../../workflows/task/spec.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { recordHistory } from '../harness/histories.ts';
import { timeSkippingEnv } from '../harness/temporal.ts';
import { createTestbed, eventually, git, policyFile, sampleRepo, type RepoOptions, type ScenarioStep } from '../harness/task-testbed.ts';
import { SITE_ABOUT, SITE_HOME, SITE_SERVER, sitePage } from '../harness/ui-site.ts';

const CI = [{ name: 'tests', command: 'node -e "process.exit(0)"' }];

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
  title: 'Change the home page',
  description: 'Say hello on the home page.',
  acceptanceCriteria: ['the home page greets the visitor'],
  shape: 'backend',
  agent: 'scripted',
});

async function withTask(id: string, repo: Omit<RepoOptions, 'ci'>, body: (run: { client: SwarmClient; repo: string; until: (done: (s: TaskState) => boolean) => Promise<TaskState> }) => Promise<void>): Promise<void> {
  const path = sampleRepo({ ...repo, ci: CI });
  const bed = await createTestbed(env);
  const client = SwarmClient.fromClient(env.client, bed.config);
  try {
    await bed.run(async () => {
      await client.startTask(spec(id, path));
      await body({ client, repo: path, until: (done) => eventually(() => client.getTask(id), done, 120_000) });
      await recordHistory(env.client, `task-${id}`, `time-skipping-${id}`);
    });
  } finally {
    await bed.teardown();
  }
}

const awaitingApproval = (s: TaskState) => s.status === 'awaiting_approval';

describe('the policy gate, before anything is pushed', () => {
  const FILES = { 'app.mjs': 'export const hello = () => "hi";\n' };
  const GOOD = { 'app.mjs': 'export const hello = () => "hello";\n' };

  it('hands a head that edits the gates back to the agent as missing_constraint, with the file; the fixed head is pushed and merged', async () => {
    const weakened: ScenarioStep = { files: { ...GOOD, 'swarmflow.repo.json': policyFile({ ci: [] }) }, commit: 'Say hello (and drop CI)' };
    // The second attempt puts the policy back as the base has it.
    const fixed: ScenarioStep = { files: { 'swarmflow.repo.json': policyFile({ ci: CI }) }, commit: 'Keep the gates' };
    await withTask('gate-edit', { files: FILES, scenario: [weakened, fixed] }, async ({ client, repo, until }) => {
      const ready = await until(awaitingApproval);
      const first = ready.attempts[0]!;
      expect(first.outcome).toBe('failed');
      expect(first.failure).toMatchObject({ kind: 'missing_constraint' });
      expect(first.failure!.evidence.details.join('\n')).toMatch(/gate definitions edited[\s\S]*swarmflow\.repo\.json/);
      expect(ready.attempt).toBe(2);
      expect(ready.checks.policyGate).toMatchObject({ status: 'passed', hits: [] });
      expect(ready.checks.policyGateFailures).toBe(1);
      // The weakened head never became a PR head: the PR's first head is the fixed one.
      expect(ready.checks.pr!.headSha).toBe(ready.checks.policyGate!.headSha);
      await client.decide('gate-edit', { decision: 'approve', by: 'alice' });
      await until((s) => s.status === 'merged');
      expect(git(repo, 'show', 'main:swarmflow.repo.json')).toBe(policyFile({ ci: CI }));
    });
  }, 180_000);

  it('goes to a human when the next head fails the gate too, with the hits, and opens no PR', async () => {
    const skipped: ScenarioStep = { files: { ...GOOD, 'app.test.mjs': "import { it } from 'node:test';\nit.skip('greets', () => {});\n" }, commit: 'Say hello, skip its test' };
    await withTask('gate-twice', { files: { ...FILES, 'app.test.mjs': "import { it } from 'node:test';\nit('greets', () => {});\n" }, scenario: [skipped] }, async ({ client, until }) => {
      const blocked = await until((s) => s.status === 'needs_human');
      expect(blocked.blocker).toMatch(/^the policy gate failed again at [0-9a-f]{12} \(test_disabled app\.test\.mjs:2\); nothing was pushed/);
      expect(blocked.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed']);
      expect(blocked.checks.pr).toBeUndefined();
      await client.abort('gate-twice', { by: 'test' });
      await until((s) => s.status === 'aborted');
    });
  }, 180_000);
});

describe("the UI gate, on the orchestrator's own screenshots", () => {
  const SITE = { 'server.mjs': SITE_SERVER, 'site/index.html': SITE_HOME, 'site/about.html': SITE_ABOUT };
  const PREVIEW = { command: 'exec node server.mjs', readyPath: '/health', routes: ['/', '/about.html'], timeout: '20s', viewport: { width: 800, height: 600 } };
  const HELLO = { 'site/index.html': sitePage('Home', '<h1 style="color:#a22">Hello, visitor</h1>') };

  it('captures base and head in Chromium for a change under uiPaths: the changed page differs, the other does not, and the DoD cites the capture', async () => {
    await withTask('ui-change', { files: SITE, uiPaths: ['site/'], policy: { preview: PREVIEW }, scenario: [{ files: HELLO, commit: 'Greet the visitor' }] }, async ({ client, until }) => {
      const ready = await until(awaitingApproval);
      const capture = ready.checks.uiCapture!;
      expect(capture).toMatchObject({ status: 'captured', headSha: ready.checks.pr!.headSha });
      if (capture.status !== 'captured') throw new Error('unreachable');
      const byRoute = Object.fromEntries(capture.routes.map((r) => [r.route, r]));
      expect(byRoute['/']!.diffPixels).toBeGreaterThan(0);
      expect(byRoute['/about.html']!.diffPixels).toBe(0);
      for (const r of capture.routes) for (const png of [r.before, r.after, r.diff]) expect(existsSync(png)).toBe(true);
      expect(ready.checks.uiEvidence).toMatchObject({ required: true, satisfied: true });
      expect(ready.dod!.items.find((i) => i.key === 'ui_evidence')).toMatchObject({ ok: true });
      await client.decide('ui-change', { decision: 'approve', by: 'alice' });
      await until((s) => s.status === 'merged');
    });
  }, 180_000);

  it('takes no screenshots for a change outside uiPaths', async () => {
    await withTask('ui-none', { files: SITE, uiPaths: ['site/'], policy: { preview: PREVIEW }, scenario: [{ files: { 'NOTES.md': 'notes\n' }, commit: 'Add notes' }] }, async ({ client, until }) => {
      const ready = await until(awaitingApproval);
      expect(ready.checks.uiCapture).toBeUndefined();
      expect(ready.checks.uiEvidence).toMatchObject({ required: false, satisfied: true });
      await client.abort('ui-none', { by: 'test' });
      await until((s) => s.status === 'aborted');
    });
  }, 180_000);

  it("fails the gate with the preview's own output when the head's preview does not start, and passes once it does", async () => {
    const broken: ScenarioStep = { files: { ...HELLO, 'server.mjs': "console.error('preview: cannot find module ./routes.mjs'); process.exit(1);\n" }, commit: 'Greet, break the server' };
    const repaired: ScenarioStep = { files: { 'server.mjs': SITE_SERVER }, commit: 'Repair the server' };
    await withTask('ui-broken', { files: SITE, uiPaths: ['site/'], policy: { preview: PREVIEW }, scenario: [broken, repaired] }, async ({ client, until }) => {
      const ready = await until(awaitingApproval);
      const first = ready.attempts[0]!.failure!;
      expect(first.evidence.summary).toMatch(/the preview failed on the head/);
      expect(first.evidence.details.join('\n')).toContain('preview: cannot find module ./routes.mjs');
      expect(ready.checks.uiCapture).toMatchObject({ status: 'captured' });
      await client.abort('ui-broken', { by: 'test' });
      await until((s) => s.status === 'aborted');
    });
  }, 240_000);
});
