// The whole pipeline once on the evidence plane, every part real: a UI change by the scripted
// agent, the policy gate, CI under the base's gates, the three real reviewer CLIs (Codex, Claude
// Code, Gemini CLI) against the scripted model server in a clean checkout of the head, the
// orchestrator's screenshots in Chromium, the runbook's Definition of Done with its evidence, a
// human's approval, the merge. Then a second task whose reviewers keep finding the same critical
// problem goes to a human after two rounds, with the open finding listed.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SwarmClient } from '../../client/swarm-client.ts';
import { ConfigSchema } from '../../lib/config.ts';
import { contractChecks } from '../../workflows/policy/definition-of-done.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { MODELS, type CliName } from '../harness/model-server/clis.ts';
import { startModelServer, type ModelServer } from '../harness/model-server/index.ts';
import { recordHistory } from '../harness/histories.ts';
import { timeSkippingEnv } from '../harness/temporal.ts';
import { createTestbed, eventually, git, sampleRepo, type ScenarioStep } from '../harness/task-testbed.ts';
import { SITE_ABOUT, SITE_HOME, SITE_SERVER, sitePage } from '../harness/ui-site.ts';

const KEY_ENV = 'SWARM_TEST_REVIEWER_KEY';
const CLIS: CliName[] = ['codex', 'claude', 'gemini'];
const FOCUS: Record<CliName, string> = { codex: 'edge-cases', claude: 'security-scalability', gemini: 'correctness' };
const SITE = { 'server.mjs': SITE_SERVER, 'site/index.html': SITE_HOME, 'site/about.html': SITE_ABOUT };
const PREVIEW = { command: 'exec node server.mjs', readyPath: '/health', routes: ['/', '/about.html'], timeout: '20s', viewport: { width: 800, height: 600 } };
const CI = [
  { name: 'lint', command: 'node --check server.mjs' },
  { name: 'tests', command: 'grep -q "<h1" site/index.html && echo "ok 1 - AC1: the home page has a heading"' },
];
const GREETING: ScenarioStep = { files: { 'site/index.html': sitePage('Home', '<h1 style="color:#a22">Hello, visitor</h1>') }, commit: 'Greet the visitor' };

let env: TestWorkflowEnvironment;
let server: ModelServer;
beforeAll(async () => {
  process.env[KEY_ENV] = 'test-key-not-a-secret';
  env = await timeSkippingEnv();
});
afterAll(async () => {
  delete process.env[KEY_ENV];
  await env?.teardown();
});
beforeEach(async () => {
  server = await startModelServer();
});
afterEach(() => server.close());

const reviewers = () =>
  ConfigSchema.parse({
    reviewers: CLIS.map((kind) => ({ name: kind, kind, focus: FOCUS[kind], model: MODELS[kind], apiKeyEnv: KEY_ENV, baseUrl: kind === 'codex' ? `${server.url}/v1` : server.url, retries: 0 })),
  }).reviewers;

async function withTask(id: string, scenario: ScenarioStep[], body: (run: { client: SwarmClient; repo: string; until: (done: (s: TaskState) => boolean) => Promise<TaskState> }) => Promise<void>): Promise<void> {
  const repo = sampleRepo({ files: SITE, ci: CI, uiPaths: ['site/'], policy: { preview: PREVIEW }, scenario });
  // Three reviewer slots: the three CLIs review at once, as on a host that allows it.
  const bed = await createTestbed(env, { reviewers: reviewers(), host: { maxHeavyValidations: 3 } });
  const client = SwarmClient.fromClient(env.client, bed.config);
  try {
    await bed.run(async () => {
      await client.startTask({ id, repository: repo, title: 'Greet the visitor', description: 'The home page says hello.', acceptanceCriteria: ['the home page has a heading that greets the visitor'], shape: 'ui', agent: 'scripted' });
      await body({ client, repo, until: (done) => eventually(() => client.getTask(id), done, 240_000) });
      await recordHistory(env.client, `task-${id}`, `time-skipping-${id}`);
    });
  } finally {
    await bed.teardown();
  }
}

describe('the evidence plane, end to end on the real reviewer CLIs and Chromium', () => {
  it('reviews, captures and proves a UI change, then merges it on approval with the runbook checks all true', async () => {
    // Every reviewer answers through its CLI's structured channel: no findings.
    server.script(CLIS.map(() => ({ structured: { findings: [] } })));
    await withTask('evidence-merge', [GREETING], async ({ client, repo, until }) => {
      const ready = await until((s) => s.status === 'awaiting_approval');
      const head = ready.checks.pr!.headSha;
      // Three real reviewers, each with usage counted, all at this head.
      expect(ready.checks.review!.headSha).toBe(head);
      expect(ready.checks.review!.results.map((r) => [r.reviewer, r.status])).toEqual(CLIS.map((c) => [c, 'ok']));
      for (const r of ready.checks.review!.results) expect(r.usage!.inputTokens).toBeGreaterThan(0);
      // What each CLI was sent: the diff, the criterion by id, the CI results, its focus.
      const bodies = server.requests.map((r) => JSON.stringify(r.body));
      for (const kind of CLIS) expect(bodies.some((b) => b.includes(`review:${FOCUS[kind]}`))).toBe(true);
      expect(bodies.some((b) => b.includes('AC1: the home page has a heading') && b.includes('Hello, visitor') && b.includes('lint: passed'))).toBe(true);
      // The orchestrator's own screenshots: the home page changed, the about page did not.
      expect(ready.checks.uiCapture).toMatchObject({ status: 'captured', headSha: head });
      expect(ready.dod!.items.find((i) => i.check === 'screenshotsIncluded')!.evidence!.length).toBe(4);
      expect(ready.checks.policyGate).toMatchObject({ status: 'passed' });
      expect(ready.dod!.criteria).toEqual([expect.objectContaining({ id: 'AC1', covered: true, evidence: [{ kind: 'test', ref: 'tests: ok 1 - AC1: the home page has a heading' }] })]);
      expect(contractChecks(ready.dod!)).toEqual({
        prCreated: true, branchSynced: true, ciPassed: true, lintPassed: true, codexReviewPassed: true, claudeReviewPassed: true, geminiReviewPassed: true, screenshotsIncluded: true, policyChecksPassed: true, humanApproved: false,
      });
      await client.decide('evidence-merge', { decision: 'approve', by: 'alice' });
      const result = await client.result('evidence-merge');
      expect(result).toMatchObject({ status: 'merged', checks: { humanApproved: true, codexReviewPassed: true, geminiReviewPassed: true } });
      expect(git(repo, 'show', 'main:site/index.html')).toContain('Hello, visitor');
    });
  }, 420_000);

  it('escalates after two review rounds with the same critical finding, listing it with every reviewer that found it', async () => {
    const finding = { severity: 'critical', file: 'site/index.html', line: 1, message: 'the greeting is injected without escaping' };
    // Both rounds: codex and claude report it, gemini has nothing.
    const round = () => CLIS.map((kind) => ({ structured: { findings: kind === 'gemini' ? [] : [finding] } }));
    server.script([...round(), ...round()]);
    const fixAttempt: ScenarioStep = { files: { 'site/about.html': sitePage('About', '<h1>About us</h1><p>Still the same greeting.</p>') }, commit: 'Touch the about page' };
    await withTask('evidence-rounds', [GREETING, fixAttempt], async ({ client, until }) => {
      const blocked = await until((s) => s.status === 'needs_human');
      expect(blocked.attempts[0]!.failure).toMatchObject({ kind: expect.any(String), evidence: { summary: '1 blocking review finding(s)' } });
      expect(blocked.reviewRounds).toMatchObject({ blockingRounds: 2, new: [] });
      expect(blocked.blocker).toMatch(/^2 review round\(s\) with critical findings \(limit 2\); open at [0-9a-f]{12}: site\/index\.html:1 critical \(\w+, \w+\): the greeting is injected without escaping$/);
      await client.abort('evidence-rounds', { by: 'test' });
      await until((s) => s.status === 'aborted');
    });
  }, 420_000);
});
