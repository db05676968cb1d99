// The pure mapping from a GitHub delivery to task workflows and their signal, on small payloads
// that carry only the fields it reads (the real example payloads go over HTTP in
// test/integration/webhooks.test.ts).
import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import { routeGithubEvent, taskIdForBranch, type WebhookRoute } from '../../workers/webhooks/events.ts';
import { verifySignature } from '../../workers/webhooks/server.ts';

const REPO = { id: 1296269, full_name: 'octo/calc' };
const FORK = { id: 999 };
const SHA = 'a'.repeat(40);
const OTHER_SHA = 'b'.repeat(40);
const pr = (ref: string, number = 7, repo: { id: number } | null = REPO) => ({ number, head: { ref, sha: SHA, repo } });
const minimalPr = (ref: string, number = 7, repo: { id: number } = REPO) => ({ number, head: { ref, sha: SHA, repo: { ...repo, url: 'x', name: 'calc' } } });

const targetsOf = (route: WebhookRoute) => {
  if (route.outcome !== 'signal') throw new Error(`expected signal, got ${JSON.stringify(route)}`);
  return route.targets.map((t) => [t.workflowId, t.event]);
};

describe('taskIdForBranch', () => {
  it.each([
    ['swarm/add-multiply', 'add-multiply'],
    ['refs/heads/swarm/fix-1', 'fix-1'],
    ['swarm/a', 'a'],
  ])('%s → %s', (branch, id) => expect(taskIdForBranch(branch)).toBe(id));

  it.each([['main'], ['swarm/'], ['swarm/Upper'], ['swarm/a/b'], ['swarm/-x'], ['swarm/x-'], ['swarm/../x'], [`swarm/${'a'.repeat(49)}`], ['xswarm/a'], ['feature/swarm/a']])(
    '%s → no task',
    (branch) => expect(taskIdForBranch(branch)).toBeUndefined(),
  );

  it('null or missing → no task', () => {
    expect(taskIdForBranch(null)).toBeUndefined();
    expect(taskIdForBranch(undefined)).toBeUndefined();
  });
});

describe('routeGithubEvent', () => {
  it('pull_request → the head branch task, with action, head SHA and PR number', () => {
    const route = routeGithubEvent('pull_request', { action: 'synchronize', pull_request: pr('swarm/add-multiply'), repository: REPO }, 'd1');
    expect(targetsOf(route)).toEqual([
      ['task-add-multiply', { kind: 'pull_request', action: 'synchronize', headSha: SHA, prNumber: 7, repository: 'octo/calc', deliveryId: 'd1' }],
    ]);
  });

  it('pull_request_review → kind review', () => {
    const route = routeGithubEvent('pull_request_review', { action: 'submitted', review: { state: 'changes_requested' }, pull_request: pr('swarm/x', 3), repository: REPO }, 'd2');
    expect(targetsOf(route)).toEqual([['task-x', { kind: 'review', action: 'submitted', headSha: SHA, prNumber: 3, repository: 'octo/calc', deliveryId: 'd2' }]]);
  });

  it("a fork's PR is never a task's, whatever its branch is called", () => {
    expect(routeGithubEvent('pull_request', { action: 'opened', pull_request: pr('swarm/x', 3, FORK), repository: REPO }, 'd').outcome).toBe('ignored');
    expect(routeGithubEvent('pull_request', { action: 'opened', pull_request: pr('swarm/x', 3, null), repository: REPO }, 'd').outcome).toBe('ignored');
  });

  it('check_run → pull_requests[].head.ref, with the PR number; one signal per task', () => {
    const payload = {
      action: 'completed',
      check_run: { head_sha: OTHER_SHA, pull_requests: [minimalPr('swarm/x', 4), minimalPr('swarm/x', 5), minimalPr('swarm/y', 6), minimalPr('swarm/z', 8, FORK)], check_suite: { head_branch: 'swarm/x' } },
      repository: REPO,
    };
    expect(targetsOf(routeGithubEvent('check_run', payload, 'd3'))).toEqual([
      ['task-x', { kind: 'check', action: 'completed', headSha: OTHER_SHA, prNumber: 4, repository: 'octo/calc', deliveryId: 'd3' }],
      ['task-y', { kind: 'check', action: 'completed', headSha: OTHER_SHA, prNumber: 6, repository: 'octo/calc', deliveryId: 'd3' }],
    ]);
  });

  it('check_run with no PR yet → check_suite.head_branch', () => {
    const payload = { action: 'created', check_run: { head_sha: SHA, pull_requests: [], check_suite: { head_branch: 'swarm/x' } }, repository: REPO };
    expect(targetsOf(routeGithubEvent('check_run', payload, 'd'))).toEqual([['task-x', { kind: 'check', action: 'created', headSha: SHA, repository: 'octo/calc', deliveryId: 'd' }]]);
    const forkPush = { action: 'created', check_run: { head_sha: SHA, pull_requests: [], check_suite: { head_branch: null } }, repository: REPO };
    expect(routeGithubEvent('check_run', forkPush, 'd').outcome).toBe('ignored');
  });

  it('check_suite → head_branch, and the PR number when a PR lists it', () => {
    const payload = { action: 'completed', check_suite: { head_sha: SHA, head_branch: 'swarm/x', pull_requests: [minimalPr('swarm/x', 9)] }, repository: REPO };
    expect(targetsOf(routeGithubEvent('check_suite', payload, 'd'))).toEqual([['task-x', { kind: 'check', action: 'completed', headSha: SHA, prNumber: 9, repository: 'octo/calc', deliveryId: 'd' }]]);
  });

  it('status → the branches whose head is the commit, no action', () => {
    const payload = {
      sha: SHA,
      state: 'success',
      branches: [
        { name: 'swarm/x', commit: { sha: SHA } },
        { name: 'main', commit: { sha: SHA } },
        // contains the commit but has moved on: not this task's head
        { name: 'swarm/older', commit: { sha: OTHER_SHA } },
      ],
      repository: REPO,
    };
    expect(targetsOf(routeGithubEvent('status', payload, 'd'))).toEqual([['task-x', { kind: 'status', headSha: SHA, repository: 'octo/calc', deliveryId: 'd' }]]);
  });

  it('non-swarm branches and invalid slugs → ignored', () => {
    for (const ref of ['main', 'feature/x', 'swarm/Bad_Slug', 'swarm/']) {
      const route = routeGithubEvent('pull_request', { action: 'opened', pull_request: pr(ref), repository: REPO }, 'd');
      expect(route.outcome).toBe('ignored');
    }
  });

  it("push to a task's branch (someone else's commit) → that task, with the branch and the new head", () => {
    const route = routeGithubEvent('push', { ref: 'refs/heads/swarm/x', before: OTHER_SHA, after: SHA, repository: REPO }, 'd-p');
    expect(targetsOf(route)).toEqual([['task-x', { kind: 'push', repository: 'octo/calc', deliveryId: 'd-p', ref: 'swarm/x', headSha: SHA }]]);
  });

  it('push to any other branch (a base) → every task of the repository, which tells its base apart; tags → ignored', () => {
    expect(routeGithubEvent('push', { ref: 'refs/heads/main', after: SHA, repository: REPO }, 'd-m')).toEqual({
      outcome: 'repository',
      repository: 'octo/calc',
      event: { kind: 'push', repository: 'octo/calc', deliveryId: 'd-m', ref: 'main', headSha: SHA },
    });
    expect(routeGithubEvent('push', { ref: 'refs/tags/v1', after: SHA, repository: REPO }, 'd').outcome).toBe('ignored');
    expect(routeGithubEvent('push', { ref: 'refs/heads/main', after: '0'.repeat(40), deleted: true, repository: REPO }, 'd').outcome).toBe('ignored');
  });

  it('ping → ping; events not used → ignored', () => {
    expect(routeGithubEvent('ping', { zen: 'Keep it logically awesome.' }, 'd')).toEqual({ outcome: 'ping' });
    for (const name of ['issues', 'issue_comment', 'workflow_run', 'pull_request_review_comment']) {
      expect(routeGithubEvent(name, {}, 'd')).toMatchObject({ outcome: 'ignored' });
    }
  });

  it('a payload without the fields of its event → invalid, naming the field', () => {
    const route = routeGithubEvent('pull_request', { action: 'opened', repository: REPO }, 'd');
    expect(route).toMatchObject({ outcome: 'invalid' });
    expect((route as { reason: string }).reason).toContain('pull_request');
    expect(routeGithubEvent('status', { sha: 'not-a-sha', branches: [], repository: REPO }, 'd').outcome).toBe('invalid');
    expect(routeGithubEvent('check_suite', null, 'd').outcome).toBe('invalid');
  });
});

describe('verifySignature', () => {
  const body = Buffer.from('{"zen":"Design for failure."}');

  it('accepts the signature GitHub (octokit) computes, in either hex case', async () => {
    const signature = await sign('s3cret', body.toString());
    expect(verifySignature('s3cret', body, signature)).toBe(true);
    expect(verifySignature('s3cret', body, signature.replace(/[a-f]/g, (c) => c.toUpperCase()).replace('SHA256', 'sha256'))).toBe(true);
  });

  it('is computed over the raw bytes, not a re-encoding', () => {
    const raw = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]); // invalid UTF-8 inside
    const good = `sha256=${createHmac('sha256', 'k').update(raw).digest('hex')}`;
    expect(verifySignature('k', raw, good)).toBe(true);
    expect(verifySignature('k', Buffer.from(raw.toString('utf8')), good)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['SHA-1', `sha1=${'0'.repeat(40)}`],
    ['truncated', `sha256=${'0'.repeat(63)}`],
    ['not hex', `sha256=${'z'.repeat(64)}`],
    ['wrong', `sha256=${'0'.repeat(64)}`],
  ])('refuses a signature that is %s', (_name, header) => {
    expect(verifySignature('s3cret', body, header)).toBe(false);
  });

  it('refuses a signature made with another secret', async () => {
    expect(verifySignature('s3cret', body, await sign('other', body.toString()))).toBe(false);
  });
});
