// The GitHub stand-in itself: its behaviours are GitHub's documented ones, and its contract check
// (GitHub's OpenAPI description) catches a malformed response or request.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { Octokit } from 'octokit';
import { join } from 'node:path';
import { tempDir } from '../harness/paths.ts';
import { cloneFrom, commitOn, gitAuthEnv, pull, push } from '../harness/github/fixture.ts';
import { githubContract, startStandin, type GitHubStandin } from '../harness/github/standin.ts';

const TOKEN = 'standin-token';
let standin: GitHubStandin;
let gh: Octokit;
let n = 0;

beforeAll(async () => {
  standin = await startStandin({ root: tempDir('gh-standin-self'), tokens: [TOKEN] });
  gh = new Octokit({ baseUrl: standin.url, auth: TOKEN, throttle: { enabled: false }, retry: { enabled: false }, log: { debug() {}, info() {}, warn() {}, error() {} } });
});
afterAll(async () => {
  await standin?.stop();
});

async function repoWithPr() {
  const name = `r${++n}`;
  await standin.createRepo('acme', name, { 'a.txt': 'a\n' });
  const clone = await cloneFrom(standin, `acme/${name}`);
  const sha = await commitOn(clone, 'feat', { 'b.txt': 'b\n' });
  await push(clone, 'feat');
  const { data: pr } = await gh.rest.pulls.create({ owner: 'acme', repo: name, head: 'feat', base: 'main', title: 'Feat' });
  return { owner: 'acme', repo: name, clone, sha, number: pr.number };
}

async function status(p: Promise<unknown>): Promise<{ status: number; message: string; headers: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    const e = err as { status: number; message: string; response?: { headers: Record<string, unknown> } };
    return { status: e.status, message: e.message, headers: e.response?.headers ?? {} };
  }
  throw new Error('expected an HTTP error');
}

describe('OpenAPI contract', () => {
  it('a malformed response is answered with a 500 and recorded as a violation', async () => {
    const { owner, repo, number } = await repoWithPr();
    standin.corruptNextResponse('pulls/get', { mergeable: 'true', mergeable_state: 7 });
    const res = await status(gh.rest.pulls.get({ owner, repo, pull_number: number }));
    expect(res.status).toBe(500);
    expect(res.message).toMatch(/STAND-IN RESPONSE VIOLATES OPENAPI \(pulls\/get 200\)/);
    expect(standin.violations).toEqual([
      expect.objectContaining({ direction: 'response', operationId: 'pulls/get', status: 200, errors: expect.arrayContaining([expect.stringContaining('/mergeable must be boolean,null')]) }),
    ]);
    standin.clearViolations();
  });

  it('the contract knows OpenAPI 3.0 nullable and rejects wrong enums and missing fields', () => {
    const c = githubContract();
    const run = c.example('check-run', { name: 'x', status: 'completed', conclusion: 'success' });
    expect(c.validateResponse('checks/list-for-ref', 200, { total_count: 1, check_runs: [run] })).toEqual([]);
    expect(c.validateResponse('checks/list-for-ref', 200, { total_count: 1, check_runs: [{ ...run, conclusion: null, status: 'queued' }] })).toEqual([]);
    expect(c.validateResponse('checks/list-for-ref', 200, { total_count: 1, check_runs: [{ ...run, conclusion: 'green' }] })[0]).toMatch(/conclusion must be equal to one of the allowed values/);
    expect(c.validateResponse('pulls/merge', 200, { merged: true, message: 'ok' })[0]).toMatch(/must have required property 'sha'/);
    expect(c.validateResponse('git/delete-ref', 204, { unexpected: 'body' })).not.toEqual([]);
  });

  it('an invalid request is refused with 422 and recorded', async () => {
    const { owner, repo, number, sha } = await repoWithPr();
    const res = await fetch(`${standin.url}/repos/${owner}/${repo}/pulls/${number}/merge`, {
      method: 'PUT',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sha, merge_method: 'fast-forward' }),
    });
    expect(res.status).toBe(422);
    expect(standin.violations).toEqual([expect.objectContaining({ direction: 'request', operationId: 'pulls/merge' })]);
    standin.clearViolations();
  });
});

describe("GitHub's behaviours", () => {
  it('requires the token for the API and for git', async () => {
    const { repo } = await repoWithPr();
    const anon = new Octokit({ baseUrl: standin.url, throttle: { enabled: false }, retry: { enabled: false }, log: { debug() {}, info() {}, warn() {}, error() {} } });
    expect((await status(anon.rest.pulls.list({ owner: 'acme', repo }))).status).toBe(401);
    const dir = join(tempDir('gh-anon'), 'c');
    const clone = await execa('git', ['clone', '-q', `${standin.url}/acme/${repo}.git`, dir], { env: { GIT_TERMINAL_PROMPT: '0' }, reject: false });
    expect(clone.exitCode).not.toBe(0);
    const wrong = await execa('git', ['clone', '-q', `${standin.url}/acme/${repo}.git`, dir], { env: gitAuthEnv('nope'), reject: false });
    expect(wrong.exitCode).not.toBe(0);
  });

  it('mergeable is null before it settles, and null for good once merged', async () => {
    const { owner, repo, number, sha } = await repoWithPr();
    standin.mergeableNull(`${owner}/${repo}`, number, 1);
    const first = (await gh.rest.pulls.get({ owner, repo, pull_number: number })).data;
    expect([first.mergeable, first.mergeable_state]).toEqual([null, 'unknown']);
    const second = (await gh.rest.pulls.get({ owner, repo, pull_number: number })).data;
    expect([second.mergeable, second.mergeable_state]).toEqual([true, 'clean']);
    expect((await status(gh.rest.pulls.merge({ owner, repo, pull_number: number, sha: 'f'.repeat(40) }))).status).toBe(409);
    expect((await gh.rest.pulls.merge({ owner, repo, pull_number: number, sha })).data.merged).toBe(true);
    const merged = (await gh.rest.pulls.get({ owner, repo, pull_number: number })).data;
    expect([merged.merged, merged.state, merged.mergeable]).toEqual([true, 'closed', null]);
    expect((await status(gh.rest.pulls.merge({ owner, repo, pull_number: number, sha }))).status).toBe(405);
  });

  it('pulls.list honours head=<owner>:<branch> and ignores a bare branch name', async () => {
    const { owner, repo } = await repoWithPr();
    const clone = await cloneFrom(standin, `${owner}/${repo}`);
    await commitOn(clone, 'other', { 'c.txt': 'c\n' });
    await push(clone, 'other');
    await gh.rest.pulls.create({ owner, repo, head: 'other', base: 'main', title: 'Other' });
    expect((await gh.rest.pulls.list({ owner, repo, head: `${owner}:feat` })).data.map((p) => p.head.ref)).toEqual(['feat']);
    expect((await gh.rest.pulls.list({ owner, repo, head: 'feat' })).data).toHaveLength(2);
    const dup = await status(gh.rest.pulls.create({ owner, repo, head: 'feat', base: 'main', title: 'again' }));
    expect(dup.status).toBe(422);
  });

  it('update-branch: 422 when up to date, 202 then a new head, 422 on a stale expected SHA and on a conflict', async () => {
    const { owner, repo, number, sha, clone } = await repoWithPr();
    const upToDate = await status(gh.rest.pulls.updateBranch({ owner, repo, pull_number: number, expected_head_sha: sha }));
    expect([upToDate.status, upToDate.message]).toEqual([422, expect.stringContaining('no new commits')]);
    await pull(clone, 'main');
    await commitOn(clone, 'main', { 'up.txt': 'u\n' });
    await push(clone, 'main');
    const stale = await status(gh.rest.pulls.updateBranch({ owner, repo, pull_number: number, expected_head_sha: 'e'.repeat(40) }));
    expect([stale.status, stale.message]).toEqual([422, expect.stringContaining('expected_head_sha')]);
    const accepted = await gh.rest.pulls.updateBranch({ owner, repo, pull_number: number, expected_head_sha: sha });
    expect(accepted.status).toBe(202);
    await new Promise((r) => setTimeout(r, 200));
    expect(await standin.branchSha(`${owner}/${repo}`, 'feat')).not.toBe(sha);

    await pull(clone, 'feat');
    await commitOn(clone, 'feat', { 'a.txt': 'feat side\n' });
    await push(clone, 'feat');
    await commitOn(clone, 'main', { 'a.txt': 'main side\n' });
    await push(clone, 'main');
    const conflict = await status(gh.rest.pulls.updateBranch({ owner, repo, pull_number: number }));
    expect([conflict.status, conflict.message]).toEqual([422, expect.stringContaining('merge conflict')]);
    expect((await gh.rest.pulls.get({ owner, repo, pull_number: number })).data.mergeable_state).toBe('dirty');
  });

  it('combined status is pending with no statuses; check runs and statuses set through controls and the API', async () => {
    const { owner, repo, sha } = await repoWithPr();
    const empty = (await gh.rest.repos.getCombinedStatusForRef({ owner, repo, ref: sha })).data;
    expect([empty.state, empty.total_count]).toEqual(['pending', 0]);
    await fetch(`${standin.url}/_standin/repos/${owner}/${repo}/commits/${sha}/statuses`, { method: 'POST', body: JSON.stringify({ context: 'ci/a', state: 'failure' }) });
    await gh.rest.repos.createCommitStatus({ owner, repo, sha, state: 'success', context: 'ci/b' });
    expect((await gh.rest.repos.getCombinedStatusForRef({ owner, repo, ref: sha })).data.state).toBe('failure');
    await fetch(`${standin.url}/_standin/repos/${owner}/${repo}/commits/${sha}/check-runs`, { method: 'POST', body: JSON.stringify({ name: 'build', conclusion: 'failure' }) });
    await gh.rest.checks.create({ owner, repo, name: 'build', head_sha: sha, status: 'completed', conclusion: 'success' });
    const latest = (await gh.rest.checks.listForRef({ owner, repo, ref: sha })).data;
    expect(latest.check_runs.map((r) => `${r.name}:${r.conclusion}`)).toEqual(['build:success']);
    expect((await gh.rest.checks.listForRef({ owner, repo, ref: sha, filter: 'all' })).data.total_count).toBe(2);
  });

  it('injects a secondary rate limit (403 + Retry-After) and a 5xx through its control path', async () => {
    const { owner, repo, number } = await repoWithPr();
    await fetch(`${standin.url}/_standin/secondary-rate-limit`, { method: 'POST', body: JSON.stringify({ retryAfter: 9 }) });
    const limited = await status(gh.rest.pulls.get({ owner, repo, pull_number: number }));
    expect([limited.status, limited.headers['retry-after']]).toEqual([403, '9']);
    expect(limited.message).toMatch(/secondary rate limit/);
    await fetch(`${standin.url}/_standin/inject`, { method: 'POST', body: JSON.stringify({ status: 503, message: 'Service Unavailable', times: 2 }) });
    expect((await status(gh.rest.pulls.get({ owner, repo, pull_number: number }))).status).toBe(503);
    expect((await status(gh.rest.pulls.get({ owner, repo, pull_number: number }))).status).toBe(503);
    expect((await gh.rest.pulls.get({ owner, repo, pull_number: number })).status).toBe(200);
  });

  it('reviews: posted as one review with comments, an own approval refused, human reviews read back', async () => {
    const { owner, repo, number, sha } = await repoWithPr();
    const posted = await gh.rest.pulls.createReview({ owner, repo, pull_number: number, commit_id: sha, event: 'COMMENT', body: 'findings', comments: [{ path: 'b.txt', line: 1, body: 'nit' }] });
    expect(posted.data.state).toBe('COMMENTED');
    expect((await status(gh.rest.pulls.createReview({ owner, repo, pull_number: number, event: 'APPROVE' }))).status).toBe(422);
    standin.addReview(`${owner}/${repo}`, number, { login: 'alice', state: 'CHANGES_REQUESTED', body: 'please fix' });
    const reviews = (await gh.rest.pulls.listReviews({ owner, repo, pull_number: number })).data;
    expect(reviews.map((r) => `${r.user?.login}:${r.state}`)).toEqual(['swarm-bot:COMMENTED', 'alice:CHANGES_REQUESTED']);
  });

  it('answered everything inside the contract', () => {
    expect(standin.violations).toEqual([]);
  });
});
