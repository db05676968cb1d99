// Intake from GitHub issues (issue #13), end to end on the GitHub stand-in: the `issues.labeled`
// delivery, signed as GitHub signs it, reaches the real webhook receiver, whose intake workflow
// reads the issue, starts its task and comments the progress link; the task's PR closes the issue
// when it is merged; a second label starts nothing; an issue without a checklist is told why; the
// CLI's `--from-issue` runs the same intake.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Octokit } from 'octokit';
import { SwarmClient } from '../../client/swarm-client.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { issueIntakeWorkflowId, type IssueIntakeResult } from '../../workflows/intake/types.ts';
import { createWebhookServer, temporalIntake, temporalSignal, temporalTasksOf, type IntakeFn, type WebhookServer } from '../../workers/webhooks/index.ts';
import { playActions } from '../harness/github/actions.ts';
import { startStandin, type GitHubStandin } from '../harness/github/standin.ts';
import { recordHistory } from '../harness/histories.ts';
import { tempDir } from '../harness/paths.ts';
import { createTestbed, eventually, type Testbed } from '../harness/task-testbed.ts';
import { devServerEnv } from '../harness/temporal.ts';

const REPO = 'octo/shop';
const ADD = 'export const add = (a, b) => a + b;\n';
const FILES = {
  'calc.mjs': ADD,
  'test.mjs': "import assert from 'node:assert';\nimport * as calc from './calc.mjs';\nif (calc.multiply) assert.equal(calc.multiply(4, 5), 20);\n",
  'swarmflow.repo.json': JSON.stringify({ ci: [{ name: 'tests', command: 'node test.mjs' }] }),
  'swarm-scenario.json': JSON.stringify({ steps: [{ files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply' }] }),
};
const ISSUE_BODY = ['Add multiply(a, b) next to add() in `calc.mjs`.', '', '## Acceptance criteria', '- [ ] multiply(4, 5) returns 20', '- [ ] add() is unchanged', ''].join('\n');
const SECRET = 'intake-webhook-secret';
const MARKER = '<!-- swarmflow-intake -->';

let env: TestWorkflowEnvironment;
let standin: GitHubStandin;
let webhooks: WebhookServer;
let bare: string;
/** The testbed's intake (its orchestration queue is the testbed's own), set once it exists. */
let intake: IntakeFn | undefined;
beforeAll(async () => {
  env = await devServerEnv();
  webhooks = await createWebhookServer({
    secret: SECRET,
    port: 0,
    logger: new SwarmLogger({ level: 'ERROR' }),
    signal: temporalSignal(env.client),
    tasksOf: temporalTasksOf(env.client, true),
    intake: (issue) => intake!(issue),
  });
  standin = await startStandin({ root: tempDir('github'), webhooks: { url: webhooks.url, secret: SECRET } });
  bare = (await standin.createRepo('octo', 'shop', FILES)).dir;
});
afterAll(async () => {
  await standin?.stop();
  await webhooks?.close();
  await env?.teardown();
});

const octokit = () => new Octokit({ baseUrl: standin.url, auth: 'standin-token' });
const comments = async (number: number) => (await octokit().rest.issues.listComments({ owner: 'octo', repo: 'shop', issue_number: number })).data;
const intakeResult = (number: number) => env.client.workflow.getHandle(issueIntakeWorkflowId(REPO, number)).result() as Promise<IssueIntakeResult>;

async function withBed(fn: (bed: Testbed, client: SwarmClient) => Promise<void>): Promise<void> {
  // An issue names no agent: its shape routes it, here to the scripted agent.
  const bed = await createTestbed(env, { github: { token: 'standin-token', apiUrl: standin.url, gitUrl: standin.url }, routing: { backend: 'scripted', bug: 'scripted' } });
  intake = temporalIntake(env.client, bed.config.workers.orchestrationQueue);
  try {
    await bed.run(() => fn(bed, SwarmClient.fromClient(env.client, bed.config)));
  } finally {
    intake = undefined;
    await bed.teardown();
  }
}

describe('intake from GitHub issues', () => {
  it('a labelled issue becomes a task with a progress comment; a second label starts nothing; the merged PR closes the issue', async () => {
    const number = standin.createIssue(REPO, { title: 'Add multiply() to the calculator', body: ISSUE_BODY, labels: ['backend', 'priority:high'], author: 'carol' });
    await withBed(async (_bed, client) => {
      // Another label is not the intake label: acknowledged, nothing starts.
      expect(await standin.labelIssue(REPO, number, 'good first issue')).toBe(202);
      expect(await standin.labelIssue(REPO, number, 'swarm')).toBe(200);
      const started = await intakeResult(number);
      expect(started).toMatchObject({ outcome: 'started', taskId: 'octo-shop-issue-1', workflowId: 'task-octo-shop-issue-1' });
      // The task has its own priority (the label's level, its repository as the fairness key), not the intake's, which a child would inherit.
      expect((await env.client.workflow.getHandle('task-octo-shop-issue-1').describe()).priority).toMatchObject({ priorityKey: 2, fairnessKey: REPO });
      expect((await env.client.workflow.getHandle(issueIntakeWorkflowId(REPO, number)).describe()).priority).toMatchObject({ priorityKey: 0, fairnessKey: REPO });

      // The issue links to the task: one comment, marked, with the Web UI page and the CLI command.
      const posted = await comments(number);
      expect(posted).toHaveLength(1);
      expect(posted[0]!.body).toContain(MARKER);
      expect(posted[0]!.body).toContain('task `octo-shop-issue-1`');
      expect(posted[0]!.body).toMatch(/\]\(http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/task-octo-shop-issue-1\)/);
      expect(posted[0]!.body).toContain('swarm task status octo-shop-issue-1');
      expect(started.outcome === 'started' && started.comment).toBe(posted[0]!.html_url);

      // The issue is the spec: title, description, the checklist as criteria, shape from the label, the requester.
      const ci = playActions(standin, REPO, () => bare, 2);
      try {
        const waiting = await eventually(() => client.getTask('octo-shop-issue-1'), (s) => s.status === 'awaiting_approval', 120_000);
        expect(waiting.spec).toMatchObject({
          repository: REPO,
          title: 'Add multiply() to the calculator',
          description: 'Add multiply(a, b) next to add() in `calc.mjs`.',
          acceptanceCriteria: ['multiply(4, 5) returns 20', 'add() is unchanged'],
          shape: 'backend',
          priority: 'high',
          requestedBy: 'carol',
          hints: { files: ['calc.mjs'] },
          issue: { repository: REPO, number, url: `${standin.url}/octo/shop/issues/${number}` },
        });
        const prNumber = waiting.checks.pr!.number;
        expect(prNumber).toBe(2); // issues and PRs share GitHub's numbers
        expect(standin.prState(REPO, prNumber).body).toContain(`Closes #${number}`);

        // A second label event (removed and added again), and the CLI: the task is known, nothing new starts.
        expect(await standin.labelIssue(REPO, number, 'swarm')).toBe(200);
        expect(await intakeResult(number)).toEqual({ outcome: 'known', taskId: 'octo-shop-issue-1', workflowId: 'task-octo-shop-issue-1' });
        expect(await client.intakeIssue(REPO, number)).toEqual({ outcome: 'known', taskId: 'octo-shop-issue-1', workflowId: 'task-octo-shop-issue-1' });
        expect(await comments(number)).toHaveLength(1);
        const runs: string[] = [];
        for await (const w of env.client.workflow.list({ query: `WorkflowId = 'task-octo-shop-issue-1'` })) runs.push(w.runId);
        expect(runs).toHaveLength(1);

        await client.decide('octo-shop-issue-1', { decision: 'approve', by: 'alice' });
        expect((await client.result('octo-shop-issue-1')).status).toBe('merged');
        expect(standin.issueState(REPO, number)).toMatchObject({ state: 'closed', stateReason: 'completed', closedByPr: prNumber });
        // A PR's number is no issue to take in; the PR's conversation is left alone.
        expect(await client.intakeIssue(REPO, prNumber)).toEqual({ outcome: 'refused', commented: false, reason: `#${prNumber} is a pull request; label an issue instead` });
      } finally {
        ci.stop();
      }
      await recordHistory(env.client, issueIntakeWorkflowId(REPO, number), 'dev-server-issue-intake');
    });
    expect(standin.takeViolations()).toEqual([]);
  }, 240_000);

  it('refuses, on the issue, one without a checklist and a closed one, and says so of a missing one; a label removed and added again after the fix starts the task', async () => {
    const vague = standin.createIssue(REPO, { title: 'Make it faster', body: 'Everything is slow.' });
    await withBed(async (_bed, client) => {
      expect(await standin.labelIssue(REPO, vague, 'Swarm')).toBe(200); // labels compare without case
      const refused = await intakeResult(vague);
      expect(refused).toMatchObject({ outcome: 'refused', commented: true, reason: expect.stringContaining('the issue has no acceptance criteria') });
      const told = await comments(vague);
      expect(told).toHaveLength(1);
      expect(told[0]!.body).toContain('swarm did not start a task: the issue has no acceptance criteria. Add a checklist');

      // Its author adds a checklist and labels it again: now it is a task, and the same comment says so.
      standin.editIssue(REPO, vague, { body: 'Everything is slow.\n\n- [ ] the home page renders in under 1 s\n' });
      expect(await standin.labelIssue(REPO, vague, 'swarm')).toBe(200);
      expect(await intakeResult(vague)).toMatchObject({ outcome: 'started', taskId: `octo-shop-issue-${vague}` });
      const updated = await comments(vague);
      expect(updated).toHaveLength(1);
      expect(updated[0]!.body).toContain(`swarm took this issue as task \`octo-shop-issue-${vague}\``);
      await client.abort(`octo-shop-issue-${vague}`, { by: 'alice', reason: 'test over' });

      // The CLI's --from-issue on a closed issue, on a number that is no issue.
      const closed = standin.createIssue(REPO, { title: 'Old', body: '- [ ] something' });
      standin.editIssue(REPO, closed, { state: 'closed' });
      expect(await client.intakeIssue(REPO, closed)).toMatchObject({ outcome: 'refused', commented: true, reason: `issue #${closed} is closed; reopen it, then label it again` });
      expect(await client.intakeIssue(REPO, 999)).toEqual({ outcome: 'refused', commented: false, reason: `${REPO} has no issue #999 that these GitHub credentials can see` });
    });
    expect(standin.takeViolations()).toEqual([]);
  }, 180_000);
});
