// The GitHub forge with the real octokit against the local GitHub stand-in (every request and
// response checked against GitHub's OpenAPI description): PR lookup, push, mergeability, sync,
// CI verdicts, guarded merges, and how HTTP failures become Temporal failures.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../../activities/git.ts';
import { EMPTY_POLICY } from '../../activities/forge/policy.ts';
import { createGitHubForge, type GitHubForge } from '../../activities/forge/github/github-forge.ts';
import { createForge } from '../../activities/forge/index.ts';
import type { LocalForge } from '../../activities/forge/local-forge.ts';
import { tempDir } from '../harness/paths.ts';
import { cloneFrom, commitOn, pull, push } from '../harness/github/fixture.ts';
import { startStandin, type GitHubStandin } from '../harness/github/standin.ts';
import { Octokit } from 'octokit';
import { splitRepository as split } from '../../activities/forge/github/inputs.ts';

const TOKEN = 'ghs_standinSecretToken123';
let standin: GitHubStandin;
let forge: GitHubForge;
let repoCount = 0;

const makeForge = (token = TOKEN) =>
  createGitHubForge({
    stateDir: tempDir('gh-forge-state'),
    github: { baseUrl: standin.url, token, gitBaseUrl: standin.url },
    polling: { mergeableAttempts: 4, mergeableDelayMs: 5, updateBranchAttempts: 20, updateBranchDelayMs: 10, maxDelayMs: 40 },
  });

beforeAll(async () => {
  standin = await startStandin({ root: tempDir('gh-standin'), tokens: [TOKEN] });
  forge = makeForge();
});
afterAll(async () => {
  await standin?.stop();
});
afterEach(() => {
  // The stand-in never answered outside GitHub's schema, and swarmflow never sent an invalid request.
  expect(standin.takeViolations()).toEqual([]);
});

/** A fresh repository, a clone, and the agent's branch with one commit (not pushed yet). */
async function setup(files: Record<string, string> = { 'README.md': 'hello\n', 'calc.mjs': 'export const add = (a, b) => a + b;\n' }) {
  const repository = `acme/repo${++repoCount}`;
  const [owner, name] = repository.split('/') as [string, string];
  await standin.createRepo(owner, name, files);
  const clone = await cloneFrom(standin, repository, TOKEN);
  const branch = `swarm/task-${repoCount}`;
  const sha = await commitOn(clone, branch, { 'feature.txt': 'feature\n' }, 'agent work');
  return { repository, clone, branch, sha };
}

async function openPr(files?: Record<string, string>) {
  const s = await setup(files);
  await forge.pushBranch({ repository: s.repository, worktree: s.clone, branch: s.branch });
  const pr = await forge.ensurePr({ taskId: `task-${repoCount}`, repository: s.repository, base: 'main', branch: s.branch, title: 'Add feature', body: 'body' });
  return { ...s, pr };
}

/** Another person's commit on main, pushed. */
async function advanceMain(clone: string, files: Record<string, string>): Promise<string> {
  const cur = (await git(clone, ['rev-parse', '--abbrev-ref', 'HEAD'])).stdout.trim();
  await pull(clone, 'main', TOKEN);
  const sha = await commitOn(clone, 'main', files, 'upstream change');
  await push(clone, 'main', TOKEN);
  await git(clone, ['checkout', '-q', cur]);
  return sha;
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure | Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

function expectNonRetryable(err: Error, type: string): ApplicationFailure {
  expect(err).toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  expect(f.type).toBe(type);
  expect(f.nonRetryable).toBe(true);
  expect(f.message).not.toContain(TOKEN);
  return f;
}

describe('push and PRs', () => {
  it('pushes the agent commits over HTTP with the token kept out of argv, URL and config', async () => {
    const s = await setup();
    const out = await forge.pushBranch({ repository: s.repository, worktree: s.clone, branch: s.branch });
    expect(out.headSha).toBe(s.sha);
    expect(await standin.branchSha(s.repository, s.branch)).toBe(s.sha);
    const config = (await git(s.clone, ['config', '--list', '--show-origin'])).stdout;
    expect(config).not.toContain(TOKEN);
    expect(config).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'));
  });

  it('refuses a push with a bad token without printing it', async () => {
    const s = await setup();
    const bad = makeForge('ghs_wrongToken999');
    const err = await failureOf(bad.pushBranch({ repository: s.repository, worktree: s.clone, branch: s.branch }));
    const f = expectNonRetryable(err, 'ForgeUnauthorized');
    expect(f.message).not.toContain('ghs_wrongToken999');
    expect(await standin.branchSha(s.repository, s.branch)).toBeUndefined();
  });

  it("someone else's commit on the branch is kept: the agent's work is merged onto it; work that conflicts with it is BranchDiverged", async () => {
    const { repository, clone, branch } = await openPr();
    const theirs = await standin.pushAs(repository, branch, { 'suggested.txt': 'from a reviewer\n' }, 'carol');
    // Nothing new from the agent: the branch of record becomes theirs, GitHub keeps it.
    expect(await forge.pushBranch({ repository, worktree: clone, branch })).toEqual({ headSha: theirs });
    expect(await standin.branchSha(repository, branch)).toBe(theirs);
    // The agent's next commit, made on the older head, is merged onto theirs: a fast-forward for GitHub.
    const mine = await commitOn(clone, branch, { 'more.txt': 'more\n' });
    const { headSha: merged } = await forge.pushBranch({ repository, worktree: clone, branch });
    expect(await standin.branchSha(repository, branch)).toBe(merged);
    const bare = `${standin.gitRoot}/${repository}.git`;
    for (const c of [theirs, mine]) expect((await git(bare, ['merge-base', '--is-ancestor', c, merged], { allowFailure: true })).exitCode).toBe(0);

    // Their change and the agent's to the same line: GitHub keeps theirs, the agent is asked to merge.
    const other = await openPr();
    const conflicting = await standin.pushAs(other.repository, other.branch, { 'feature.txt': 'theirs\n' }, 'carol');
    await commitOn(other.clone, other.branch, { 'feature.txt': 'ours\n' });
    const err = await failureOf(forge.pushBranch({ repository: other.repository, worktree: other.clone, branch: other.branch }));
    expect(expectNonRetryable(err, 'BranchDiverged').message).toContain(`conflict with the agent's in feature.txt: fetch origin and merge origin/${other.branch}`);
    expect(await standin.branchSha(other.repository, other.branch)).toBe(conflicting);
  });

  it('an agent that rewrote its pushed history gets it merged onto the pushed head, which GitHub takes as a fast-forward', async () => {
    const { repository, clone, branch, sha } = await openPr();
    await git(clone, ['reset', '-q', '--hard', 'HEAD~1']);
    const rewritten = await commitOn(clone, branch, { 'other.txt': 'x\n' });
    const { headSha } = await forge.pushBranch({ repository, worktree: clone, branch });
    expect(await standin.branchSha(repository, branch)).toBe(headSha);
    const bare = `${standin.gitRoot}/${repository}.git`;
    expect((await git(bare, ['rev-list', '--parents', '-n', '1', headSha])).stdout.split(' ').slice(1)).toEqual([rewritten, sha]);
  });

  it('creates the PR, then recovers the same number by head=<owner>:<branch> and leaves its title and body as a human edited them', async () => {
    const { repository, branch, pr, sha } = await openPr();
    expect(pr).toMatchObject({ number: 1, branch, base: 'main', headSha: sha, state: 'open', title: 'Add feature' });
    const octokit = new Octokit({ baseUrl: standin.url, auth: TOKEN });
    await octokit.rest.pulls.update({ ...split(repository), pull_number: pr.number, title: 'Add feature (edited)', body: 'a human wrote this' });
    const updates = standin.log.filter((l) => l.operationId === 'pulls/update').length;
    const again = await forge.ensurePr({ taskId: 'x', repository, base: 'main', branch, title: 'Add feature', body: 'body' });
    expect(again).toMatchObject({ number: pr.number, title: 'Add feature (edited)', body: 'a human wrote this' });
    expect(standin.log.filter((l) => l.operationId === 'pulls/update').length).toBe(updates);
    const list = standin.log.filter((l) => l.operationId === 'pulls/list');
    expect(decodeURIComponent(list.at(-1)!.url)).toContain(`head=acme:${branch}`);
  });

  it('refuses an ambiguous answer for the branch', async () => {
    const { repository, branch } = await openPr();
    await standin.addDuplicatePr(repository, branch);
    const err = await failureOf(forge.ensurePr({ taskId: 'x', repository, base: 'main', branch, title: 'T', body: '' }));
    expect(expectNonRetryable(err, 'AmbiguousPullRequest').message).toMatch(/2 open PRs .*#1, #2/);
  });

  it('reads the PR, its files and its diff; closes it', async () => {
    const { repository, pr, sha } = await openPr();
    expect(await forge.getPr({ repository, number: pr.number })).toMatchObject({ headSha: sha, state: 'open' });
    expect(await forge.changedFiles({ repository, number: pr.number })).toEqual({ headSha: sha, files: [{ path: 'feature.txt', status: 'added' }] });
    const diff = await forge.diff({ repository, number: pr.number });
    expect(diff.diff).toContain('+feature');
    expect(diff.truncated).toBe(false);
    expect((await forge.closePr({ repository, number: pr.number })).state).toBe('closed');
  });

  it('closing the PR deletes its branch on GitHub (as a merge does), also when an earlier attempt closed it', async () => {
    const { repository, pr, branch } = await openPr();
    expect((await forge.closePr({ repository, number: pr.number })).state).toBe('closed');
    expect(await standin.branchSha(repository, branch)).toBeUndefined();
    const other = await openPr();
    const octokit = new Octokit({ baseUrl: standin.url, auth: TOKEN });
    await octokit.rest.pulls.update({ ...split(other.repository), pull_number: other.pr.number, state: 'closed' });
    expect((await forge.closePr({ repository: other.repository, number: other.pr.number })).state).toBe('closed');
    expect(await standin.branchSha(other.repository, other.branch)).toBeUndefined();
  });

  it('loads the policy file from the base branch, or the empty policy, and names a missing base', async () => {
    const policy = JSON.stringify({ ci: [{ name: 'test', command: 'npm test' }], uiPaths: ['web/'] });
    const { repository } = await setup({ 'swarmflow.repo.json': policy });
    expect(await forge.loadRepoPolicy({ repository, base: 'main' })).toMatchObject({ ci: [{ name: 'test', command: 'npm test', timeoutMs: 600_000 }], uiPaths: ['web/'] });
    const plain = await setup();
    expect(await forge.loadRepoPolicy({ repository: plain.repository, base: 'main' })).toEqual(EMPTY_POLICY);
    const err = await failureOf(forge.loadRepoPolicy({ repository: plain.repository, base: 'nope' }));
    expect(expectNonRetryable(err, 'ForgeNotFound').message).toMatch(/base branch "nope" of acme\/repo\d+ was not found/);
  });
});

describe('mergeability', () => {
  it('re-polls mergeable: null until GitHub settles it', async () => {
    const { repository, pr } = await openPr();
    standin.mergeableNull(repository, pr.number, 2);
    const before = standin.log.filter((l) => l.operationId === 'pulls/get').length;
    expect(await forge.checkMergeable({ repository, number: pr.number })).toMatchObject({ mergeable: true, behindBy: 0, conflicts: [], state: 'clean' });
    expect(standin.log.filter((l) => l.operationId === 'pulls/get').length - before).toBe(3);
  });

  it('gives the attempt back to Temporal (retryable) when it never settles within the bound', async () => {
    const { repository, pr } = await openPr();
    standin.mergeableNull(repository, pr.number, 10);
    const err = await failureOf(forge.checkMergeable({ repository, number: pr.number }));
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect(err.message).toMatch(/still computing the mergeability .* after 4 reads/);
  });

  it('maps behind, dirty and unstable from real git and statuses', async () => {
    const behind = await openPr();
    await advanceMain(behind.clone, { 'upstream.txt': 'u\n' });
    expect(await forge.checkMergeable({ repository: behind.repository, number: behind.pr.number })).toMatchObject({ mergeable: true, behindBy: 1, state: 'behind' });

    const dirty = await openPr();
    await commitOn(dirty.clone, dirty.branch, { 'calc.mjs': 'agent version\n' });
    await forge.pushBranch({ repository: dirty.repository, worktree: dirty.clone, branch: dirty.branch });
    await advanceMain(dirty.clone, { 'calc.mjs': 'upstream version\n' });
    const m = await forge.checkMergeable({ repository: dirty.repository, number: dirty.pr.number });
    expect(m).toMatchObject({ mergeable: false, state: 'dirty' });
    expect(m.conflicts[0]).toMatch(/does not list the conflicted files/);

    const unstable = await openPr();
    standin.addStatus(unstable.repository, unstable.sha, { context: 'lint', state: 'failure' });
    expect(await forge.checkMergeable({ repository: unstable.repository, number: unstable.pr.number })).toMatchObject({ mergeable: true, state: 'unstable' });
  });

  it.each(['clean', 'has_hooks', 'blocked', 'draft'])('reports mergeable_state %s', async (state) => {
    const { repository, pr } = await openPr();
    standin.forceMergeableState(repository, pr.number, state);
    const m = await forge.checkMergeable({ repository, number: pr.number });
    expect(m.state).toBe(state);
    expect(m.detail.length).toBeGreaterThan(0);
  });

  it('polls again on "unknown" and reports an unrecognised state instead of guessing', async () => {
    const { repository, pr } = await openPr();
    standin.forceMergeableState(repository, pr.number, 'unknown');
    expect((await failureOf(forge.checkMergeable({ repository, number: pr.number }))).message).toMatch(/still computing/);
    standin.forceMergeableState(repository, pr.number, 'quantum');
    const err = await failureOf(forge.checkMergeable({ repository, number: pr.number }));
    expect(expectNonRetryable(err, 'UnrecognisedForgeState').message).toContain('"quantum"');
  });
});

describe('syncWithBase (pulls.updateBranch)', () => {
  it('is up to date when there is nothing new on the base (422 told apart)', async () => {
    const { repository, clone, pr, sha } = await openPr();
    expect(await forge.syncWithBase({ repository, number: pr.number, worktree: clone })).toEqual({ status: 'up_to_date', headSha: sha, conflicts: [] });
  });

  it("asks GitHub to update the branch only when it is behind; a head pushed from elsewhere becomes the mirror's branch of record", async () => {
    const { repository, clone, branch, pr, sha } = await openPr();
    const theirs = await standin.pushAs(repository, branch, { 'suggested.txt': 'x\n' }, 'carol');
    const updates = standin.log.filter((l) => l.operationId === 'pulls/update-branch').length;
    expect(await forge.syncWithBase({ repository, number: pr.number, worktree: clone })).toEqual({ status: 'up_to_date', headSha: theirs, conflicts: [] });
    expect(standin.log.filter((l) => l.operationId === 'pulls/update-branch').length).toBe(updates);
    // The agent's next run fetches it from its origin (made from the mirror); its clone is not touched.
    const { path } = await forge.localCheckout({ repository });
    expect((await git(path, ['rev-parse', `refs/heads/${branch}`])).stdout.trim()).toBe(theirs);
    expect((await git(clone, ['rev-parse', 'HEAD'])).stdout.trim()).toBe(sha);
  });

  it('updates a branch that is behind (202), waiting for the new head that contains the base', async () => {
    const { repository, clone, pr, sha } = await openPr();
    const upstream = await advanceMain(clone, { 'upstream.txt': 'u\n' });
    standin.setUpdateBranchDelay(100);
    const res = await forge.syncWithBase({ repository, number: pr.number, worktree: clone });
    standin.setUpdateBranchDelay(50);
    expect(res.status).toBe('synced');
    expect(res.headSha).not.toBe(sha);
    expect(await standin.branchSha(repository, pr.branch)).toBe(res.headSha);
    // The agent's clone is not touched: git runs only in the mirror, whose branch followed GitHub's.
    expect((await git(clone, ['rev-parse', 'HEAD'])).stdout.trim()).toBe(sha);
    const bare = `${standin.gitRoot}/${repository}.git`;
    expect((await git(bare, ['merge-base', '--is-ancestor', upstream, res.headSha], { allowFailure: true })).exitCode).toBe(0);
    expect((await git(bare, ['merge-base', '--is-ancestor', sha, res.headSha], { allowFailure: true })).exitCode).toBe(0);
  });

  it('reports a conflict the agent must resolve (422 told apart)', async () => {
    const { repository, clone, branch, pr } = await openPr();
    await commitOn(clone, branch, { 'calc.mjs': 'agent version\n' });
    await forge.pushBranch({ repository, worktree: clone, branch });
    await advanceMain(clone, { 'calc.mjs': 'upstream version\n' });
    const res = await forge.syncWithBase({ repository, number: pr.number, worktree: clone });
    expect(res.status).toBe('conflict');
    expect(res.conflicts).toHaveLength(1);
  });

  it('a stale expected head SHA (someone pushed in between) is retryable (422 told apart)', async () => {
    const { repository, clone, branch, pr } = await openPr();
    await advanceMain(clone, { 'upstream.txt': 'u\n' });
    standin.onceBefore('pulls/update-branch', async () => {
      await commitOn(clone, branch, { 'late.txt': 'late\n' });
      await push(clone, branch, TOKEN);
    });
    const err = await failureOf(forge.syncWithBase({ repository, number: pr.number, worktree: clone }));
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect(err.message).toMatch(/moved from .* during the update/);
  });
});

describe('syncPr: step 5 in one call', () => {
  // Only GitHub repositories here: the local forge is never reached.
  const port = () => createForge({ local: undefined as unknown as LocalForge, github: forge });
  const input = (s: { repository: string; clone: string; branch: string }, openPr?: number) => ({
    taskId: `task-${repoCount}`, repository: s.repository, worktree: s.clone, base: 'main', branch: s.branch, title: 'Add feature', body: 'body', ...(openPr === undefined ? {} : { openPr }),
  });

  it('pushes, opens the PR, syncs it and reads its mergeability; called again with the PR, reads it instead of opening another', async () => {
    const s = await setup();
    await advanceMain(s.clone, { 'upstream.txt': 'u\n' });
    const first = await port().syncPr(input(s));
    if (first.status !== 'synced') throw new Error(`expected synced, got ${JSON.stringify(first)}`);
    expect(first.pr).toMatchObject({ branch: s.branch, base: 'main', state: 'open' });
    // Behind the base before: the PR's head now contains it, and GitHub says it merges.
    expect(first.pr.headSha).toBe(await standin.branchSha(s.repository, s.branch));
    expect(first.pr.headSha).not.toBe(s.sha);
    expect(first.mergeability).toMatchObject({ mergeable: true, behindBy: 0, conflicts: [] });
    const again = await port().syncPr(input(s, first.pr.number));
    expect(again).toMatchObject({ status: 'synced', pr: { number: first.pr.number, headSha: first.pr.headSha } });
    const octokit = new Octokit({ baseUrl: standin.url, auth: TOKEN });
    const { data: pulls } = await octokit.rest.pulls.list({ ...split(s.repository), state: 'all' });
    expect(pulls.map((p) => p.number)).toEqual([first.pr.number]);
  });

  it('says diverged when commits pushed from elsewhere conflict with the agent\'s, and conflict (with the PR) when the base does', async () => {
    const other = await setup();
    await port().syncPr(input(other));
    await standin.pushAs(other.repository, other.branch, { 'feature.txt': 'theirs\n' }, 'carol');
    await commitOn(other.clone, other.branch, { 'feature.txt': 'ours\n' });
    const diverged = await port().syncPr(input(other));
    expect(diverged.status).toBe('diverged');
    expect(diverged.status === 'diverged' && diverged.detail).toContain("conflict with the agent's in feature.txt");

    const s = await setup();
    await commitOn(s.clone, s.branch, { 'calc.mjs': 'agent version\n' });
    await advanceMain(s.clone, { 'calc.mjs': 'upstream version\n' });
    const conflict = await port().syncPr(input(s));
    // GitHub does not list the conflicted files; the one entry says how to see them.
    expect(conflict).toMatchObject({ status: 'conflict', pr: { branch: s.branch, state: 'open' }, conflicts: [expect.stringContaining(`merge main into ${s.branch}`)] });
  });
});

describe('localCheckout (the bare mirror task clones are made from)', () => {
  const stateDir = () => tempDir('gh-mirror-state');
  const forgeAt = (dir: string) =>
    createGitHubForge({ stateDir: dir, github: { baseUrl: standin.url, token: TOKEN, gitBaseUrl: standin.url }, polling: { updateBranchAttempts: 20, updateBranchDelayMs: 10, maxDelayMs: 40 } });
  const headOf = async (dir: string, ref = 'HEAD') => (await git(dir, ['rev-parse', ref])).stdout.trim();
  /** As prepareWorkspace makes it: the task branch in the mirror, and a clone of it of the agent's own. */
  const taskClone = async (mirror: string, branch: string) => {
    const wt = join(tempDir('gh-mirror-wt'), 'task');
    await git(mirror, ['branch', branch, 'main']);
    await git(mirror, ['clone', '-q', '--no-local', '--branch', branch, mirror, wt]);
    return wt;
  };

  it('clones once, then fetches new base commits so a new worktree starts from the current remote main', async () => {
    const { repository, clone } = await setup();
    const dir = stateDir();
    const f = forgeAt(dir);
    const { path } = await f.localCheckout({ repository });
    expect(path).toBe(join(dir, 'repos', `${repository}.git`));
    expect((await git(path, ['rev-parse', '--is-bare-repository'])).stdout.trim()).toBe('true');
    await git(path, ['config', 'swarmflow.test-marker', 'kept']);

    const upstream = await advanceMain(clone, { 'upstream.txt': 'u\n' });
    expect((await f.localCheckout({ repository })).path).toBe(path);
    // Not cloned again: what was written into the first clone is still there.
    expect((await git(path, ['config', 'swarmflow.test-marker'])).stdout.trim()).toBe('kept');
    expect(await headOf(path, 'refs/heads/main')).toBe(upstream);
    const wt = join(tempDir('gh-mirror-wt'), 'task');
    await git(path, ['worktree', 'add', '-q', '-b', 'swarm/mirror-task', wt, 'main']);
    expect(await headOf(wt)).toBe(upstream);
    expect(existsSync(join(wt, 'upstream.txt'))).toBe(true);
  });

  it('keeps the token out of the mirror, sets origin, and a clone of the mirror can pushBranch', async () => {
    const { repository } = await setup();
    const f = forgeAt(stateDir());
    const { path } = await f.localCheckout({ repository });
    const config = (await git(path, ['config', '--list', '--show-origin'])).stdout;
    expect(config).not.toContain(TOKEN);
    expect(config).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'));
    expect((await git(path, ['config', 'remote.origin.url'])).stdout.trim()).toBe(`${standin.url}/${repository}.git`);

    const wt = await taskClone(path, 'swarm/pushed');
    await git(wt, ['config', 'user.name', 'test']);
    await git(wt, ['config', 'user.email', 'test@localhost']);
    const sha = await commitOn(wt, 'swarm/pushed', { 'agent.txt': 'agent\n' }, 'agent work');
    expect(await f.pushBranch({ repository, worktree: wt, branch: 'swarm/pushed' })).toEqual({ headSha: sha });
    expect(await standin.branchSha(repository, 'swarm/pushed')).toBe(sha);
    expect(standin.log.some((l) => l.url.includes(TOKEN))).toBe(false);
  });

  it('never moves a task branch checked out in a worktree, even when the remote copy moved', async () => {
    const { repository, clone } = await setup();
    const f = forgeAt(stateDir());
    const { path } = await f.localCheckout({ repository });
    const wt = join(tempDir('gh-mirror-wt'), 'task');
    await git(path, ['worktree', 'add', '-q', '-b', 'swarm/mine', wt, 'main']);
    const local = await commitOn(wt, 'swarm/mine', { 'local.txt': 'local\n' }, 'not pushed yet');
    // Someone else's commit on the same branch name, and on main.
    const remote = await commitOn(clone, 'swarm/mine', { 'remote.txt': 'remote\n' });
    await push(clone, 'swarm/mine', TOKEN);
    const upstream = await advanceMain(clone, { 'upstream.txt': 'u\n' });
    await f.localCheckout({ repository });
    expect(await headOf(path, 'refs/heads/swarm/mine')).toBe(local);
    expect(await headOf(wt)).toBe(local);
    expect(await headOf(path, 'refs/remotes/origin/swarm/mine')).toBe(remote);
    expect(await headOf(path, 'refs/heads/main')).toBe(upstream);
  });

  it('recovers from a crash mid-clone: a half-made folder is removed and cloned again', async () => {
    const { repository } = await setup();
    const dir = stateDir();
    const [owner, name] = repository.split('/') as [string, string];
    const path = join(dir, 'repos', owner, `${name}.git`);
    // A folder that is not a repository at the mirror's path, and a dead process's partial clone.
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'junk'), 'x');
    const partial = `${path}.partial-4194305`;
    mkdirSync(join(partial, 'objects'), { recursive: true });
    const f = forgeAt(dir);
    expect((await f.localCheckout({ repository })).path).toBe(path);
    expect(existsSync(join(path, 'junk'))).toBe(false);
    expect(existsSync(partial)).toBe(false);
    expect(await headOf(path, 'refs/heads/main')).toBe(await standin.branchSha(repository, 'main'));
    // And again, concurrently: one mirror, no errors.
    const again = await Promise.all([f.localCheckout({ repository }), f.localCheckout({ repository })]);
    expect(again.map((r) => r.path)).toEqual([path, path]);
  });

  it('refuses a repository that is not owner/name, and names a missing one', async () => {
    const f = forgeAt(stateDir());
    expectNonRetryable(await failureOf(f.localCheckout({ repository: '/local/path' })), 'InvalidInput');
    expectNonRetryable(await failureOf(f.localCheckout({ repository: 'acme/no-such-repo' })), 'ForgeNotFound');
  });

  it('syncWithBase brings the mirror branch to the PR head update-branch made; the next push is a merge onto it, a fast-forward', async () => {
    const { repository, clone } = await setup();
    const f = forgeAt(stateDir());
    const { path } = await f.localCheckout({ repository });
    const branch = 'swarm/synced';
    const wt = await taskClone(path, branch);
    const first = await commitOn(wt, branch, { 'feature.txt': 'feature\n' }, 'agent work');
    await f.pushBranch({ repository, worktree: wt, branch });
    const pr = await f.ensurePr({ taskId: 'mirror-sync', repository, base: 'main', branch, title: 'Feature', body: '' });
    const upstream = await advanceMain(clone, { 'upstream.txt': 'u\n' });

    const res = await f.syncWithBase({ repository, number: pr.number, worktree: wt });
    expect(res.status).toBe('synced');
    expect(res.headSha).not.toBe(first);
    expect(await headOf(path, `refs/heads/${branch}`)).toBe(res.headSha);
    expect((await f.getPr({ repository, number: pr.number })).headSha).toBe(res.headSha);
    expect((await git(path, ['merge-base', '--is-ancestor', upstream, res.headSha], { allowFailure: true })).exitCode).toBe(0);
    // The agent's clone is left as it was.
    expect(await headOf(wt)).toBe(first);
    expect(existsSync(join(wt, 'upstream.txt'))).toBe(false);

    const next = await commitOn(wt, branch, { 'more.txt': 'more\n' }, 'next attempt');
    const pushed = await f.pushBranch({ repository, worktree: wt, branch });
    expect((await git(path, ['rev-list', '--parents', '-n', '1', pushed.headSha])).stdout.split(' ').slice(1)).toEqual([next, res.headSha]);
    expect(await standin.branchSha(repository, branch)).toBe(pushed.headSha);
    // Re-running the sync (as a retry would) is up to date.
    expect(await f.syncWithBase({ repository, number: pr.number, worktree: wt })).toEqual({ status: 'up_to_date', headSha: pushed.headSha, conflicts: [] });
  });
});

describe('CI verdict at the head SHA', () => {
  const ci = (repository: string, number: number, headSha: string, requiredChecks?: string[]) =>
    forge.runCi({ taskId: 'ci', repository, number, headSha, checks: [], requiredChecks });

  it('no checks yet is a wait, never green', async () => {
    const { repository, pr, sha } = await openPr();
    const v = await ci(repository, pr.number, sha);
    expect(v).toMatchObject({ headSha: sha, status: 'pending', checks: [] });
    expect(v.summary).toMatch(/no checks reported yet/);
  });

  it('passes only on success, neutral and skipped over both check runs and statuses', async () => {
    const { repository, pr, sha } = await openPr();
    standin.addCheckRun(repository, sha, { name: 'build', conclusion: 'success' });
    standin.addCheckRun(repository, sha, { name: 'docs', conclusion: 'neutral' });
    standin.addCheckRun(repository, sha, { name: 'deploy', conclusion: 'skipped' });
    standin.addStatus(repository, sha, { context: 'legacy-ci', state: 'pending' });
    expect((await ci(repository, pr.number, sha)).status).toBe('pending');
    standin.addStatus(repository, sha, { context: 'legacy-ci', state: 'success' });
    const v = await ci(repository, pr.number, sha);
    expect(v.status).toBe('passed');
    expect(v.checks.map((c) => `${c.kind}:${c.name}:${c.status}`).sort()).toEqual(
      ['check_run:build:passed', 'check_run:deploy:passed', 'check_run:docs:passed', 'status:legacy-ci:passed'].sort(),
    );
  });

  it('names failing checks with conclusions and details URLs; judges the latest run per name', async () => {
    const { repository, pr, sha } = await openPr();
    standin.addCheckRun(repository, sha, { name: 'test', conclusion: 'failure', details_url: 'https://ci.example/run/1', summary: '2 tests failed' });
    standin.addCheckRun(repository, sha, { name: 'lint', conclusion: 'timed_out', details_url: 'https://ci.example/run/2' });
    standin.addStatus(repository, sha, { context: 'coverage', state: 'error', target_url: 'https://cov.example/3', description: 'coverage dropped' });
    standin.addCheckRun(repository, sha, { name: 'queued-one', status: 'in_progress' });
    const v = await ci(repository, pr.number, sha);
    expect(v.status).toBe('failed');
    expect(v.summary).toContain('test (failure, https://ci.example/run/1)');
    expect(v.summary).toContain('lint (timed_out, https://ci.example/run/2)');
    expect(v.summary).toContain('coverage (error, https://cov.example/3)');
    expect(v.checks.find((c) => c.name === 'test')).toMatchObject({ status: 'failed', conclusion: 'failure', detailsUrl: 'https://ci.example/run/1', outputTail: expect.stringContaining('2 tests failed') });
    expect(v.checks.find((c) => c.name === 'lint')?.status).toBe('timed_out');
    // A re-run of each that passes: the latest run per name is what counts (red, then green).
    standin.addCheckRun(repository, sha, { name: 'test', conclusion: 'success' });
    standin.addCheckRun(repository, sha, { name: 'lint', conclusion: 'success' });
    standin.addCheckRun(repository, sha, { name: 'queued-one', conclusion: 'success' });
    standin.addStatus(repository, sha, { context: 'coverage', state: 'success' });
    expect((await ci(repository, pr.number, sha)).status).toBe('passed');
  });

  it('reads every page of check runs', async () => {
    const { repository, pr, sha } = await openPr();
    for (let i = 0; i < 104; i++) standin.addCheckRun(repository, sha, { name: `shard-${i}`, conclusion: 'success' });
    standin.addCheckRun(repository, sha, { name: 'last-page-fails', conclusion: 'failure' });
    const before = standin.log.filter((l) => l.operationId === 'checks/list-for-ref').length;
    const v = await ci(repository, pr.number, sha);
    expect(standin.log.filter((l) => l.operationId === 'checks/list-for-ref').length - before).toBe(2);
    expect(v.checks).toHaveLength(105);
    expect(v.status).toBe('failed');
    expect(v.summary).toContain('last-page-fails');
  });

  it('a required check nobody reported keeps the verdict pending; policy checks count as required', async () => {
    const { repository, pr, sha } = await openPr();
    standin.addCheckRun(repository, sha, { name: 'build', conclusion: 'success' });
    const v = await ci(repository, pr.number, sha, ['e2e']);
    expect(v.status).toBe('pending');
    expect(v.checks.find((c) => c.name === 'e2e')).toMatchObject({ kind: 'required', status: 'pending', conclusion: 'missing' });
    const viaPolicy = await forge.runCi({ taskId: 'ci', repository, number: pr.number, headSha: sha, checks: [{ name: 'unit', command: 'x', timeoutMs: 1 }] });
    expect(viaPolicy.status).toBe('pending');
  });
});

describe("the base's rules: branch protection and rulesets", () => {
  it('a PR blocked by required approvals says so, and merges once a human approved on GitHub', async () => {
    const { repository, pr, sha } = await openPr();
    standin.protectBranch(repository, 'main', { requiredApprovingReviewCount: 1 });
    const blocked = await forge.checkMergeable({ repository, number: pr.number });
    expect(blocked).toMatchObject({ state: 'blocked', mergeable: true, blockedBy: ['1 approving GitHub review(s), 0 given (branch protection)'] });
    const refused = expectNonRetryable(await failureOf(forge.mergePr({ repository, number: pr.number, expectedHeadSha: sha })), 'NotMergeable');
    expect(refused.message).toContain('At least 1 approving review is required by reviewers with write access.');
    expect(refused.message).toContain('GitHub still requires 1 approving GitHub review(s), 0 given');
    standin.addReview(repository, pr.number, { login: 'carol', state: 'APPROVED' });
    const clean = await forge.checkMergeable({ repository, number: pr.number });
    expect(clean.state).toBe('clean');
    expect(clean.blockedBy).toBeUndefined();
    expect((await forge.mergePr({ repository, number: pr.number, expectedHeadSha: sha })).alreadyMerged).toBe(false);
  });

  it("a ruleset's required checks and approvals are named; a protection the token cannot read (404) is said, not a failure", async () => {
    const { repository, pr, sha } = await openPr();
    standin.addRuleset(repository, 'main', 'main rules', [
      { type: 'pull_request', parameters: { required_approving_review_count: 2, dismiss_stale_reviews_on_push: false, require_code_owner_review: false, require_last_push_approval: false, required_review_thread_resolution: false } },
      { type: 'required_status_checks', parameters: { required_status_checks: [{ context: 'tests' }], strict_required_status_checks_policy: false } },
      { type: 'deletion' },
    ]);
    standin.protectBranch(repository, 'main', { contexts: ['lint'] });
    standin.addCheckRun(repository, sha, { name: 'lint', conclusion: 'success' });
    standin.inject({ operationId: 'repos/get-branch-protection', status: 404, message: 'Not Found' });
    const m = await forge.checkMergeable({ repository, number: pr.number });
    expect(m.state).toBe('blocked');
    expect(m.blockedBy).toEqual([
      `2 approving GitHub review(s), 0 given (ruleset "${repository}")`,
      `required check(s) passing at ${sha.slice(0, 12)}: tests (missing, ruleset "${repository}")`,
      'the branch protection of main could not be read (404: Not Found; it needs "Administration: read")',
    ]);
    const refused = expectNonRetryable(await failureOf(forge.mergePr({ repository, number: pr.number, expectedHeadSha: sha })), 'NotMergeable');
    expect(refused.message).toContain('405: At least 2 approving reviews are required by reviewers with write access.');
  });

  it('405 behind under "require branches to be up to date", read while GitHub still computes (mergeable null twice) → BehindBase', async () => {
    const { repository, clone, pr, sha } = await openPr();
    standin.protectBranch(repository, 'main', { strict: true });
    await advanceMain(clone, { 'upstream.txt': 'u\n' });
    // GitHub starts computing again just as it refuses: the two reads after the 405 say null.
    standin.onceBefore('pulls/merge', () => standin.onceBefore('pulls/get', () => standin.mergeableNull(repository, pr.number, 2)));
    const f = expectNonRetryable(await failureOf(forge.mergePr({ repository, number: pr.number, expectedHeadSha: sha })), 'BehindBase');
    expect(f.message).toContain('405: Head branch is out of date');
    // Updated, the same PR merges.
    const synced = await forge.syncWithBase({ repository, number: pr.number, worktree: clone });
    expect(synced.status).toBe('synced');
    expect((await forge.mergePr({ repository, number: pr.number, expectedHeadSha: synced.headSha })).alreadyMerged).toBe(false);
  });
});

describe('mergePr', () => {
  it('merges with the head guard, deletes the branch, and is idempotent', async () => {
    const { repository, pr, sha, branch } = await openPr();
    const res = await forge.mergePr({ repository, number: pr.number, expectedHeadSha: sha });
    expect(res.alreadyMerged).toBe(false);
    expect(await standin.branchSha(repository, 'main')).toBe(res.mergeSha);
    expect(await standin.branchSha(repository, branch)).toBeUndefined();
    const merge = standin.log.filter((l) => l.operationId === 'pulls/merge').at(-1)!;
    expect(merge.status).toBe(200);
    expect(await forge.mergePr({ repository, number: pr.number, expectedHeadSha: sha })).toEqual({ mergeSha: res.mergeSha, alreadyMerged: true });
    expect((await forge.getPr({ repository, number: pr.number })).state).toBe('merged');
  });

  it('409: the head moved between the check and the merge → HeadMoved', async () => {
    const { repository, clone, branch, pr, sha } = await openPr();
    standin.onceBefore('pulls/merge', async () => {
      await commitOn(clone, branch, { 'sneaky.txt': 'x\n' });
      await push(clone, branch, TOKEN);
    });
    const f = expectNonRetryable(await failureOf(forge.mergePr({ repository, number: pr.number, expectedHeadSha: sha })), 'HeadMoved');
    expect(f.message).toContain('409');
  });

  it('a head that already moved is refused before asking GitHub', async () => {
    const { repository, pr } = await openPr();
    expectNonRetryable(await failureOf(forge.mergePr({ repository, number: pr.number, expectedHeadSha: 'a'.repeat(40) })), 'HeadMoved');
  });

  it('405 with a conflict → MergeConflict; 405 otherwise (blocked) → NotMergeable; 422 → NotMergeable', async () => {
    const c = await openPr();
    await advanceMain(c.clone, { 'feature.txt': 'upstream\n' });
    expectNonRetryable(await failureOf(forge.mergePr({ repository: c.repository, number: c.pr.number, expectedHeadSha: c.sha })), 'MergeConflict');

    const b = await openPr();
    standin.forceMergeableState(b.repository, b.pr.number, 'blocked');
    const blocked = expectNonRetryable(await failureOf(forge.mergePr({ repository: b.repository, number: b.pr.number, expectedHeadSha: b.sha })), 'NotMergeable');
    expect(blocked.message).toMatch(/405.*"blocked"/);

    const v = await openPr();
    standin.inject({ operationId: 'pulls/merge', status: 422, message: 'Validation Failed' });
    expectNonRetryable(await failureOf(forge.mergePr({ repository: v.repository, number: v.pr.number, expectedHeadSha: v.sha })), 'NotMergeable');
    expect(await standin.branchSha(v.repository, v.branch)).toBe(v.sha);
  });
});

describe('HTTP failures become Temporal failures', () => {
  it('a secondary rate limit is retryable after Retry-After', async () => {
    const { repository, pr } = await openPr();
    standin.secondaryRateLimit(7, 'pulls/get');
    const err = await failureOf(forge.getPr({ repository, number: pr.number }));
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f).toMatchObject({ type: 'ForgeRateLimited', nonRetryable: false, nextRetryDelay: 7_000 });
    expect(f.message).toMatch(/secondary rate limit.*retrying in 7 s/);
  });

  it('429 with Retry-After, and a primary limit with x-ratelimit-reset, are retryable with that delay', async () => {
    const { repository, pr } = await openPr();
    standin.inject({ operationId: 'pulls/get', status: 429, message: 'Too Many Requests', headers: { 'retry-after': '3' } });
    expect(await failureOf(forge.getPr({ repository, number: pr.number }))).toMatchObject({ type: 'ForgeRateLimited', nonRetryable: false, nextRetryDelay: 3_000 });
    const reset = Math.floor(Date.now() / 1000) + 120;
    standin.inject({ operationId: 'pulls/get', status: 403, message: 'API rate limit exceeded', headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } });
    const f = (await failureOf(forge.getPr({ repository, number: pr.number }))) as ApplicationFailure;
    expect(f).toMatchObject({ type: 'ForgeRateLimited', nonRetryable: false });
    expect(Number(f.nextRetryDelay)).toBeGreaterThan(100_000);
  });

  it('5xx is retryable', async () => {
    const { repository, pr, sha } = await openPr();
    standin.inject({ operationId: 'checks/list-for-ref', status: 502, message: 'Server Error' });
    const err = await failureOf(forge.runCi({ taskId: 'x', repository, number: pr.number, headSha: sha, checks: [] }));
    expect(err).toMatchObject({ type: 'ForgeUnavailable', nonRetryable: false });
    expect((await forge.runCi({ taskId: 'x', repository, number: pr.number, headSha: sha, checks: [] })).status).toBe('pending');
  });

  it('401 is non-retryable and never shows the token', async () => {
    const { repository, pr } = await openPr();
    const bad = makeForge('ghp_leakyToken42');
    const f = expectNonRetryable(await failureOf(bad.getPr({ repository, number: pr.number })), 'ForgeUnauthorized');
    expect(f.message).toMatch(/rejected the token .*401/);
    expect(f.message).not.toContain('ghp_leakyToken42');
  });

  it('403 names the missing permission; 404 names the missing resource', async () => {
    const { repository, pr, sha } = await openPr();
    standin.inject({ operationId: 'pulls/merge', status: 403, message: 'Resource not accessible by integration' });
    const f = expectNonRetryable(await failureOf(forge.mergePr({ repository, number: pr.number, expectedHeadSha: sha })), 'ForgeForbidden');
    expect(f.message).toContain('"Contents: write"');
    standin.inject({ operationId: 'checks/list-for-ref', status: 403, message: 'Resource not accessible by integration' });
    expect(expectNonRetryable(await failureOf(forge.runCi({ taskId: 'x', repository, number: pr.number, headSha: sha, checks: [] })), 'ForgeForbidden').message).toContain('"Checks: read"');
    const nf = expectNonRetryable(await failureOf(forge.getPr({ repository, number: 999 })), 'ForgeNotFound');
    expect(nf.message).toContain(`PR #999 of ${repository} was not found`);
    expect(expectNonRetryable(await failureOf(forge.getPr({ repository: 'acme/nothing-here', number: 1 })), 'ForgeNotFound').message).toContain('acme/nothing-here');
  });

  it('refuses invalid input before calling GitHub', async () => {
    expectNonRetryable(await failureOf(forge.getPr({ repository: '/local/path', number: 1 })), 'InvalidInput');
    expectNonRetryable(await failureOf(forge.getPr({ repository: 'acme/x', number: -1 })), 'InvalidInput');
  });
});

it('the stand-in saw no request carrying the token in a URL', () => {
  expect(standin.log.some((l) => l.url.includes(TOKEN))).toBe(false);
});
