// The whole pipeline on a GitHub repository (`owner/name`), against the GitHub stand-in: real
// octokit, real git over HTTP into a bare repository, a CI that really runs the repository's tests
// at each head and reports check runs, a red-then-green CI and a behind-then-updated branch.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Octokit } from 'octokit';
import { SwarmClient } from '../../client/swarm-client.ts';
import { playActions } from '../harness/github/actions.ts';
import { cloneFrom, commitOn, push } from '../harness/github/fixture.ts';
import { startStandin, type GitHubStandin } from '../harness/github/standin.ts';
import { recordHistory } from '../harness/histories.ts';
import { tempDir } from '../harness/paths.ts';
import { devServerEnv } from '../harness/temporal.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { createWebhookServer, temporalSignal, temporalTasksOf, type WebhookServer } from '../../workers/webhooks/index.ts';
import { SCRIPTED_REVIEWER, createTestbed, eventually } from '../harness/task-testbed.ts';

const REPO = 'octo/calc';
const ADD = 'export const add = (a, b) => a + b;\n';
const FILES = {
  'calc.mjs': ADD,
  'test.mjs': "import assert from 'node:assert';\nimport * as calc from './calc.mjs';\nif (calc.multiply) assert.equal(calc.multiply(4, 5), 20, 'multiply(4, 5) must be 20');\n",
  // On GitHub the policy's check names are the checks required at the head; Actions runs them.
  'swarmflow.repo.json': JSON.stringify({ ci: [{ name: 'tests', command: 'node test.mjs' }] }),
  'swarm-scenario.json': JSON.stringify({
    steps: [
      { files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a + b;\n` }, commit: 'Add multiply (wrong)' },
      { files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Fix multiply' },
      { files: { 'calc.mjs': `${ADD}/** multiply(a, b) = a × b */\nexport const multiply = (a, b) => a * b;\n` }, commit: 'Document multiply' },
    ],
  }),
};

let env: TestWorkflowEnvironment;
let standin: GitHubStandin;
let bare: string;
let webhooks: WebhookServer;
const WEBHOOK_SECRET = 'pipeline-webhook-secret';
beforeAll(async () => {
  env = await devServerEnv();
  // GitHub's push events reach the real receiver, which signals the task workflows.
  webhooks = await createWebhookServer({ secret: WEBHOOK_SECRET, port: 0, logger: new SwarmLogger({ level: 'ERROR' }), signal: temporalSignal(env.client), tasksOf: temporalTasksOf(env.client, true) });
  standin = await startStandin({ root: tempDir('github'), webhooks: { url: webhooks.url, secret: WEBHOOK_SECRET } });
  bare = (await standin.createRepo('octo', 'calc', FILES)).dir;
});
afterAll(async () => {
  await standin?.stop();
  await webhooks?.close();
  await env?.teardown();
});

/** GitHub Actions on the stand-in, for this file's repositories. */
const actions = (repository = REPO, gitDir = (): string => bare) => playActions(standin, repository, gitDir);

describe('a task on a GitHub repository', () => {
  it('goes from spawn to merge: red CI back to the agent, then green; review posted; changes requested by a human; behind the base, updated, verified again', async () => {
    const findings = join(tempDir('findings'), 'findings.json');
    writeFileSync(findings, JSON.stringify({ findings: [{ severity: 'minor', file: 'calc.mjs', line: 2, message: 'name the parameters' }] }));
    const bed = await createTestbed(env, {
      github: { token: 'standin-token', apiUrl: standin.url, gitUrl: standin.url },
      reviewers: [{ name: 'strict', command: ['node', SCRIPTED_REVIEWER, findings], timeout: '1m' }],
    });
    const client = SwarmClient.fromClient(env.client, bed.config);
    const ci = actions();
    try {
      await bed.run(async () => {
        await client.startTask({ id: 'gh-multiply', repository: REPO, title: 'Add multiply()', description: 'multiply(a, b)', acceptanceCriteria: ['multiply(4, 5) is 20'], shape: 'backend', agent: 'scripted', limits: { monitorInterval: '1s' } });
        const state = () => client.getTask('gh-multiply');
        const first = await eventually(state, (s) => s.status === 'awaiting_approval', 90_000);
        expect(first.attempts.map((a) => a.outcome)).toEqual(['failed', 'verified']);
        expect(first.checks.humanReviews).toEqual({ reviews: [], changesRequested: false });
        expect(first.attempts[0]!.failure).toMatchObject({ kind: 'test_regression', evidence: { source: 'ci' } });
        // The failing check's name, conclusion and link reach the agent's evidence.
        expect(first.attempts[0]!.failure!.evidence.details[0]).toMatch(/^tests \(failure\) https:\/\/ci\.example\/runs\/1:/);
        expect(first.checks.ci).toMatchObject({ status: 'passed', headSha: first.checks.pr!.headSha });
        // The reviewers' verdict is on the PR as one review by the bot, marked with its head.
        const octokit = new Octokit({ baseUrl: standin.url, auth: 'standin-token' });
        const posted = await octokit.rest.pulls.listReviews({ owner: 'octo', repo: 'calc', pull_number: 1 });
        expect(posted.data.map((r) => r.body.startsWith(`<!-- swarmflow-review:${first.checks.pr!.headSha} -->`))).toContain(true);

        // A human requests changes on GitHub: back to the agent, whose next attempt addresses it.
        standin.setPrAuthor(REPO, 1, 'swarm-bot');
        standin.addReview(REPO, 1, { login: 'carol', state: 'CHANGES_REQUESTED', body: 'Please document multiply.' });
        await client.forgeEvent('gh-multiply', { kind: 'review', repository: REPO, deliveryId: 'd-0' });
        const reviewed = await eventually(state, (s) => s.status === 'awaiting_approval' && s.attempts.length === 3, 90_000);
        expect(reviewed.attempts[1]!.failure).toMatchObject({ evidence: { source: 'review', summary: 'changes requested by carol', details: ['carol: Please document multiply.'] } });
        const receipts = await bed.database.db.query<{ payload: { prompt: string } }>("SELECT payload FROM artifacts WHERE task_id = 'gh-multiply' AND key = 'receipt:spawn:3'");
        expect(receipts.rows[0]!.payload.prompt).toContain('Please document multiply.');

        // main moves on GitHub; the webhook (here: its signal) wakes the waiting task.
        const clone = await cloneFrom(standin, REPO);
        await commitOn(clone, 'main', { 'README.md': 'calculator\n' }, 'Add a readme');
        await push(clone, 'main');
        await client.forgeEvent('gh-multiply', { kind: 'status', repository: REPO, deliveryId: 'd-1' });
        const again = await eventually(state, (s) => s.status === 'awaiting_approval' && s.checks.pr!.headSha !== reviewed.checks.pr!.headSha, 90_000);
        expect(again.checks.ci).toMatchObject({ status: 'passed', headSha: again.checks.pr!.headSha });
        expect(ci.ran).toContain(again.checks.pr!.headSha);
        // The evidence is on the PR's conversation: one comment, edited in place at each verified head.
        const comments = (await octokit.rest.issues.listComments({ owner: 'octo', repo: 'calc', issue_number: 1 })).data.filter((c) => c.body?.startsWith('<!-- swarmflow-evidence -->'));
        expect(comments).toHaveLength(1);
        expect(comments[0]!.body).toContain(`the evidence for task \`gh-multiply\` at ${again.checks.pr!.headSha.slice(0, 12)}`);
        expect(comments[0]!.body).toContain('✅ PR exists and branch is pushed');
        expect(comments[0]!.body).toContain('✅ Policy and verifiability checks are green (anti-gaming, secrets)');

        await client.decide('gh-multiply', { decision: 'approve', by: 'alice' });
        expect((await client.result('gh-multiply')).status).toBe('merged');
        const pr = standin.prState(REPO, 1);
        expect(pr).toMatchObject({ merged: true, headSha: again.checks.pr!.headSha });
        expect(execFileSync('git', ['--git-dir', bare, 'show', 'main:calc.mjs'], { encoding: 'utf8' })).toContain('a * b');
        expect(execFileSync('git', ['--git-dir', bare, 'show', 'main:README.md'], { encoding: 'utf8' })).toBe('calculator\n');
        expect(await standin.branchSha(REPO, 'swarm/gh-multiply')).toBeUndefined();
        expect(standin.violations).toEqual([]);
        await recordHistory(env.client, 'task-gh-multiply', 'dev-server-github-pipeline');
      });
    } finally {
      ci.stop();
      await bed.teardown();
    }
  }, 180_000);
  it("never throws approved work away: the base moves mid-verification, protection wants an approving review and an up-to-date branch, a reviewer pushes a suggestion; merged, and an aborted task's branch is deleted", async () => {
    const repository = 'octo/rules';
    const right = { files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply' };
    const rulesBare = (await standin.createRepo('octo', 'rules', { ...FILES, 'swarm-scenario.json': JSON.stringify({ steps: [right] }) })).dir;
    standin.protectBranch(repository, 'main', { strict: true, requiredApprovingReviewCount: 1 });
    const bed = await createTestbed(env, { github: { token: 'standin-token', apiUrl: standin.url, gitUrl: standin.url } });
    const client = SwarmClient.fromClient(env.client, bed.config);
    const ci = actions(repository, () => rulesBare);
    const mainMoves = async () => {
      const clone = await cloneFrom(standin, repository);
      await commitOn(clone, 'main', { 'README.md': `moved ${Date.now()}\n` }, 'Someone else lands on main');
      await push(clone, 'main');
    };
    try {
      await bed.run(async () => {
        // The first verification: main moves after the sync read the PR (pulls/get #1), before the
        // workflow reads it again and checks mergeability (#2, #3). Opening the PR arms it.
        standin.onceBefore('pulls/create', () => standin.onceBefore('pulls/get', () => standin.onceBefore('pulls/get', mainMoves)));
        const spec = { repository, title: 'Add multiply()', description: 'multiply(a, b)', acceptanceCriteria: ['multiply(4, 5) is 20'], shape: 'backend' as const, agent: 'scripted', limits: { monitorInterval: '1s' } };
        await client.startTask({ id: 'gh-rules', ...spec });
        const state = () => client.getTask('gh-rules');

        // Never asked with an unmet DoD: the moved base is verified again at once; then GitHub's rule
        // (an approving review) is what is missing, and a human is told exactly that.
        const held = await eventually(state, (s) => s.status === 'needs_human', 90_000);
        expect(held.notes).toEqual(expect.arrayContaining([expect.stringContaining('the Definition of Done is not met (Branch is synchronized with the latest base: behind the base by 1 commit(s)): verifying again')]));
        expect(held.notes.at(-1)).toContain('needs a human: PR #1 is not mergeable yet: the forge still requires: 1 approving GitHub review(s), 0 given (branch protection)');
        expect(held.dod?.items.find((i) => i.key === 'forge_rules')).toMatchObject({ ok: false });
        expect(bed.notifier.events('gh-rules')).toEqual(['escalated']);
        // One update: for the moved base, none for the verifications where it was not behind.
        expect(standin.log.filter((l) => l.operationId === 'pulls/update-branch' && l.url.startsWith('/repos/octo/rules/'))).toHaveLength(1);

        // A human edits the PR: no later verification writes over it.
        const octokit = new Octokit({ baseUrl: standin.url, auth: 'standin-token' });
        await octokit.rest.pulls.update({ owner: 'octo', repo: 'rules', pull_number: 1, title: 'Add multiply() (edited)', body: 'Written by a human.' });

        // A human approves on GitHub: the task sees it at its next look and asks for the swarm approval.
        standin.addReview(repository, 1, { login: 'carol', state: 'APPROVED' });
        const ready = await eventually(state, (s) => s.status === 'awaiting_approval', 90_000);
        expect(ready.dod?.readyForApproval).toBe(true);
        expect(bed.notifier.events('gh-rules')).toEqual(['escalated', 'ready_for_approval']);

        // A reviewer pushes a suggested commit to the task branch: the push event wakes the task, the
        // new head becomes the branch of record in the host's mirror (the agent's next run fetches it
        // from its origin) and is verified; the old head is no longer ready.
        const theirs = await standin.pushAs(repository, 'swarm/gh-rules', { 'NOTES.md': 'suggested by carol\n' }, 'carol');
        const again = await eventually(state, (s) => s.status === 'awaiting_approval' && s.checks.pr?.headSha === theirs && s.checks.ci?.headSha === theirs, 90_000);
        expect(again.notes).toEqual(expect.arrayContaining([expect.stringContaining(`the PR head moved to ${theirs.slice(0, 12)} (pushed from elsewhere): verifying it`)]));
        expect(execFileSync('git', ['--git-dir', again.checkout!, 'rev-parse', 'refs/heads/swarm/gh-rules'], { encoding: 'utf8' }).trim()).toBe(theirs);
        expect(standin.webhookDeliveries.filter((d) => d.ref === 'refs/heads/swarm/gh-rules').at(-1)?.status).toBe(200);

        // The base moves while it waits: the push event (no pull_request event on GitHub) wakes it,
        // the branch is updated and verified; then the approval merges.
        await mainMoves();
        const synced = await eventually(state, (s) => s.status === 'awaiting_approval' && s.checks.pr!.headSha !== theirs && s.checks.ci?.headSha === s.checks.pr!.headSha, 90_000);
        expect(standin.webhookDeliveries.filter((d) => d.ref === 'refs/heads/main').every((d) => d.status === 200)).toBe(true);
        await client.decide('gh-rules', { decision: 'approve', by: 'alice' });
        expect((await client.result('gh-rules')).status).toBe('merged');
        expect(standin.prState(repository, 1)).toMatchObject({ merged: true, headSha: synced.checks.pr!.headSha });
        expect(execFileSync('git', ['--git-dir', rulesBare, 'show', 'main:NOTES.md'], { encoding: 'utf8' })).toBe('suggested by carol\n');
        expect(standin.prState(repository, 1)).toMatchObject({ title: 'Add multiply() (edited)', body: 'Written by a human.' });
        await recordHistory(env.client, 'task-gh-rules', 'dev-server-github-rules');

        // Aborted: the PR is closed and its branch is gone from GitHub too.
        await client.startTask({ id: 'gh-abort', ...spec, repository: 'octo/calc' });
        await eventually(() => client.getTask('gh-abort'), (s) => !!s.checks.pr, 90_000);
        await client.abort('gh-abort', { by: 'alice', reason: 'not needed' });
        expect((await client.result('gh-abort')).status).toBe('aborted');
        expect(await standin.branchSha('octo/calc', 'swarm/gh-abort')).toBeUndefined();
        expect(standin.violations).toEqual([]);
      });
    } finally {
      ci.stop();
      await bed.teardown();
    }
  }, 300_000);
});
