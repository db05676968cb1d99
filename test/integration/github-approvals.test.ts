// Approvals on GitHub (issue #12): an APPROVED review at the PR's head by an approver's GitHub
// login is the decision (GitHub authenticated them); one at an older head, or by a login that is
// not an approver's, is not. No webhook is delivered here: the gate's own look at the PR finds it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SwarmClient } from '../../client/swarm-client.ts';
import { playActions } from '../harness/github/actions.ts';
import { startStandin, type GitHubStandin } from '../harness/github/standin.ts';
import { approverKey } from '../harness/approvers.ts';
import { recordHistory } from '../harness/histories.ts';
import { tempDir } from '../harness/paths.ts';
import { devServerEnv } from '../harness/temporal.ts';
import { createTestbed, eventually } from '../harness/task-testbed.ts';

const REPO = 'octo/approved';
const ADD = 'export const add = (a, b) => a + b;\n';
const FILES = {
  'calc.mjs': ADD,
  'test.mjs': "import * as calc from './calc.mjs';\nif (calc.multiply && calc.multiply(4, 5) !== 20) process.exit(1);\n",
  'swarmflow.repo.json': JSON.stringify({ ci: [{ name: 'tests', command: 'node test.mjs' }] }),
  'swarm-scenario.json': JSON.stringify({ steps: [{ files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply' }] }),
};

let env: TestWorkflowEnvironment;
let standin: GitHubStandin;
let bare: string;
beforeAll(async () => {
  env = await devServerEnv();
  standin = await startStandin({ root: tempDir('github') });
  bare = (await standin.createRepo('octo', 'approved', FILES)).dir;
});
afterAll(async () => {
  await standin?.stop();
  await env?.teardown();
});

describe('a GitHub review approves', () => {
  it('by an approver\'s login at the head: merged; at an older head or by an unlisted login: not', async () => {
    const bed = await createTestbed(env, {
      github: { token: 'standin-token', apiUrl: standin.url, gitUrl: standin.url },
      approvers: [{ name: 'alice', publicKey: approverKey('alice').publicKey, github: 'alice-gh' }],
    });
    const client = SwarmClient.fromClient(env.client, bed.config);
    const ci = playActions(standin, REPO, () => bare);
    try {
      await bed.run(async () => {
        await client.startTask({ id: 'gh-approved', repository: REPO, title: 'Add multiply()', description: 'multiply(a, b)', acceptanceCriteria: ['multiply(4, 5) is 20'], shape: 'backend', agent: 'scripted', limits: { monitorInterval: '1s' } });
        const state = () => client.getTask('gh-approved');
        const waiting = await eventually(state, (s) => s.status === 'awaiting_approval', 90_000);
        const head = waiting.checks.pr!.headSha;
        const base = execFileSync('git', ['--git-dir', bare, 'rev-parse', 'main'], { encoding: 'utf8' }).trim();
        standin.setPrAuthor(REPO, 1, 'swarm-bot');

        // Not an approver's login, and an approver's review of an older commit: neither approves.
        standin.addReview(REPO, 1, { login: 'carol', state: 'APPROVED' });
        standin.addReview(REPO, 1, { login: 'alice-gh', state: 'APPROVED', commitId: base });
        const looked = await eventually(state, (s) => s.notes.some((n) => n.includes('GitHub approval by carol refused')), 30_000);
        expect(looked.notes.filter((n) => n.includes('GitHub approval by carol refused: GitHub user carol is not an approver\'s login in the configuration'))).toHaveLength(1);
        // A few more looks at the PR: still waiting, nothing merged.
        const later = await eventually(state, (s) => (s.checks.humanReviews?.reviews.length ?? 0) === 2, 30_000);
        await new Promise((r) => setTimeout(r, 3_000));
        expect((await state()).status).toBe('awaiting_approval');
        expect(later.decision).toBeUndefined();
        expect(standin.prState(REPO, 1).merged).toBe(false);
        expect((await state()).notes.filter((n) => n.includes('GitHub approval by carol refused'))).toHaveLength(1);

        // alice approves the head on GitHub: no webhook, the gate's next look finds it and merges.
        const review = standin.addReview(REPO, 1, { login: 'alice-gh', state: 'APPROVED', commitId: head });
        const result = await client.result('gh-approved');
        expect(result.status).toBe('merged');
        const merged = await state();
        expect(merged.decision).toMatchObject({ decision: 'approve', by: 'alice', channel: 'github', headSha: head, review: { login: 'alice-gh', id: review } });
        expect(merged.notes).toEqual(expect.arrayContaining([expect.stringContaining(`approved by alice: GitHub review by alice-gh at ${head.slice(0, 12)}`)]));
        expect(merged.dod?.items.find((i) => i.key === 'human_approved')).toMatchObject({ ok: true, detail: 'approved by alice (GitHub review by alice-gh)' });
        expect(standin.prState(REPO, 1)).toMatchObject({ merged: true, headSha: head });
        expect(standin.violations).toEqual([]);
        await recordHistory(env.client, 'task-gh-approved', 'dev-server-github-approval');
      });
    } finally {
      ci.stop();
      await bed.teardown();
    }
  }, 180_000);
});
