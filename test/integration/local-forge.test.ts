// The local forge on real git repositories and real Postgres: PRs as rows, mergeability by a real
// merge-tree, sync by a merge commit in the repository, CI in clean checkouts, and guarded merges.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLocalForge, type LocalForge } from '../../activities/forge/local-forge.ts';
import { git, GitError, revParse } from '../../activities/git.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';

let database: TestDatabase;
let forge: LocalForge;
let stateDir: string;
beforeAll(async () => {
  database = await freshDatabase();
  stateDir = tempDir('forge-state');
  forge = createLocalForge({ db: database.db, stateDir });
});
afterAll(async () => {
  await database?.drop();
});

// ---- small real repositories ----

/** Writes (or, for null, deletes) files and commits them on whatever is checked out in cwd. */
async function commit(cwd: string, files: Record<string, string | null>, message = 'change'): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    const file = join(cwd, path);
    if (content === null) rmSync(file);
    else {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
  }
  await git(cwd, ['add', '-A']);
  await git(cwd, ['commit', '-q', '-m', message]);
  const head = (await revParse(cwd, 'HEAD'))!;
  // In an agent's clone: collected into the repository, as pushBranch does after every attempt.
  const clone = clones.get(cwd);
  if (clone) await forge.collectBranch({ repository: clone.repo, worktree: cwd, branch: clone.branch });
  return head;
}

/** The agents' clones of this file's tests: their repository and branch. */
const clones = new Map<string, { repo: string; branch: string }>();

/** A repository with `main` checked out in its main working tree. */
async function makeRepo(files: Record<string, string> = { 'README.md': 'hello\n' }): Promise<string> {
  const repo = tempDir('forge-repo');
  await git(repo, ['init', '-q', '-b', 'main']);
  await commit(repo, files, 'initial');
  return repo;
}

/** The agent's side, as prepareWorkspace makes it: swarm/<taskId> from main, and a clone of it of the agent's own. */
async function agentWorktree(repo: string, taskId: string): Promise<string> {
  const clone = join(tempDir('forge-wt'), taskId);
  const branch = `swarm/${taskId}`;
  await git(repo, ['branch', branch, 'main']);
  await git(repo, ['clone', '-q', '--no-local', '--branch', branch, repo, clone]);
  clones.set(clone, { repo, branch });
  return clone;
}

async function openPr(repo: string, taskId: string, title = `Task ${taskId}`) {
  return forge.ensurePr({ taskId, repository: repo, base: 'main', branch: `swarm/${taskId}`, title, body: 'body' });
}

const tip = async (repo: string, branch: string) => (await revParse(repo, `refs/heads/${branch}`))!;
const status = async (cwd: string) => (await git(cwd, ['status', '--porcelain'])).stdout;
const failure = (type: string, message: RegExp) => expect.objectContaining({ type, nonRetryable: true, message: expect.stringMatching(message) });

describe('loadRepoPolicy', () => {
  it('reads the policy from the base branch, with timeouts in ms and a 10-minute default', async () => {
    const policy = {
      ci: [{ name: 'lint', command: 'npm run lint', timeout: '2m' }, { name: 'test', command: 'npm test' }],
      uiPaths: ['src/ui/'],
      review: { block: ['critical', 'major', 'critical'] },
      bootstrap: { envFiles: ['.env', 'config/local.json'], install: { command: 'npm ci', timeout: '5m' }, network: { allow: ['registry.npmjs.org:443'] } },
      protectedPaths: ['src/payments/**', 'migrations/'],
      allowPaths: ['.github/workflows/docs.yml'],
      network: { allow: ['Registry.npmjs.org:443', '*.pythonhosted.org:443'] },
    };
    const repo = await makeRepo({ 'swarmflow.repo.json': JSON.stringify(policy) });
    // A branch's own edit of the policy does not count: the base branch's file is the policy.
    const worktree = await agentWorktree(repo, 'policy');
    await commit(worktree, { 'swarmflow.repo.json': JSON.stringify({ ci: [] }) });

    await expect(forge.loadRepoPolicy({ repository: repo, base: 'main' })).resolves.toEqual({
      ci: [
        { name: 'lint', command: 'npm run lint', timeoutMs: 120_000 },
        { name: 'test', command: 'npm test', timeoutMs: 600_000 },
      ],
      uiPaths: ['src/ui/'],
      review: { block: ['critical', 'major'] },
      bootstrap: { envFiles: ['.env', 'config/local.json'], install: { command: 'npm ci', timeoutMs: 300_000 }, network: { allow: ['registry.npmjs.org:443'] } },
      protectedPaths: ['src/payments/**', 'migrations/'],
      allowPaths: ['.github/workflows/docs.yml'],
      network: { allow: ['registry.npmjs.org:443', '*.pythonhosted.org:443'] },
    });
  });

  it('is empty when the file is missing', async () => {
    const repo = await makeRepo();
    await expect(forge.loadRepoPolicy({ repository: repo, base: 'main' })).resolves.toEqual({ ci: [], uiPaths: [], review: { block: ['critical'] }, bootstrap: { envFiles: [] }, protectedPaths: [], allowPaths: [], network: { allow: [] } });
  });

  it('refuses an invalid file, naming every bad field', async () => {
    const bad = { ci: [{ name: 'lint', command: ' ', timeout: 'soon' }, { name: '../escape', command: 'x' }, { name: 'lint', command: 'y', timout: '1m' }], uiPaths: ['../etc'], bootstrap: { envFiles: ['/etc/passwd'] }, protectedPaths: ['src/{a,b}/**'], allowPaths: ['../x'], network: { allow: ['registry.npmjs.org', 'a.*.example:443'] }, extra: true };
    const repo = await makeRepo({ 'swarmflow.repo.json': JSON.stringify(bad) });
    const err = await forge.loadRepoPolicy({ repository: repo, base: 'main' }).catch((e: unknown) => e);
    expect(err).toEqual(failure('InvalidInput', /swarmflow\.repo\.json on main .* is invalid/));
    const message = (err as Error).message;
    for (const field of ['ci.0.command', 'ci.0.timeout', 'ci.1.name', 'ci.2', 'uiPaths.0', 'bootstrap.envFiles.0', 'protectedPaths.0', 'allowPaths.0', 'network.allow.0: host:port, such as "registry.npmjs.org:443"', 'network.allow.1', '(file): Unrecognized key: "extra"']) expect(message).toContain(field);
    expect(message).toMatch(/ci\.2[^\n]*timout/);

    const notJson = await makeRepo({ 'swarmflow.repo.json': '{ "ci": [' });
    await expect(forge.loadRepoPolicy({ repository: notJson, base: 'main' })).rejects.toEqual(failure('InvalidInput', /is not valid JSON/));
  });

  it('refuses a path that is not a git repository, a repository subdirectory, and a missing base', async () => {
    const plain = tempDir('forge-plain');
    await expect(forge.loadRepoPolicy({ repository: plain, base: 'main' })).rejects.toEqual(failure('InvalidInput', /is not a git repository/));
    await expect(forge.loadRepoPolicy({ repository: join(plain, 'missing'), base: 'main' })).rejects.toEqual(failure('InvalidInput', /does not exist/));
    const repo = await makeRepo({ 'sub/file.txt': 'x\n' });
    await expect(forge.loadRepoPolicy({ repository: join(repo, 'sub'), base: 'main' })).rejects.toEqual(failure('InvalidInput', /not its top-level directory/));
    await expect(forge.loadRepoPolicy({ repository: repo, base: 'develop' })).rejects.toEqual(failure('InvalidInput', /base branch "develop" does not exist/));
    await expect(forge.loadRepoPolicy({ repository: repo, base: '--upload-pack=evil' })).rejects.toEqual(failure('InvalidInput', /base:/));
  });
});

describe('pull requests', () => {
  it('ensurePr is idempotent per open branch and numbers PRs per repository', async () => {
    const repo = await makeRepo();
    const a = await agentWorktree(repo, 'a');
    await agentWorktree(repo, 'b');
    const aSha = await commit(a, { 'a.txt': 'a\n' });

    const first = await openPr(repo, 'a');
    expect(first).toEqual({ number: 1, branch: 'swarm/a', base: 'main', headSha: aSha, state: 'open', title: 'Task a', body: 'body', url: `local://${repo}#1` });
    // A retried ensurePr finds the same PR and updates it.
    const again = await forge.ensurePr({ taskId: 'a', repository: repo, base: 'main', branch: 'swarm/a', title: 'Renamed', body: 'new body' });
    expect(again).toEqual({ ...first, title: 'Renamed', body: 'new body' });
    expect((await openPr(repo, 'b')).number).toBe(2);

    // headSha follows the branch.
    const aSha2 = await commit(a, { 'a.txt': 'a2\n' });
    expect((await forge.getPr({ repository: repo, number: 1 })).headSha).toBe(aSha2);

    // Another repository counts from 1; a closed PR's branch gets a new number.
    const other = await makeRepo();
    await agentWorktree(other, 'a');
    expect((await openPr(other, 'a')).number).toBe(1);
    expect((await forge.closePr({ repository: repo, number: 1 })).state).toBe('closed');
    expect((await forge.closePr({ repository: repo, number: 1 })).state).toBe('closed');
    expect((await openPr(repo, 'a')).number).toBe(3);
    const { rows } = await database.db.query<{ n: string }>('SELECT count(*) AS n FROM local_prs WHERE repository = $1', [repo]);
    expect(Number(rows[0]!.n)).toBe(3);
  });

  it('concurrent ensurePr calls on one repository draw distinct numbers, and the same branch yields one PR', async () => {
    const repo = await makeRepo();
    for (const id of ['c1', 'c2', 'c3']) await agentWorktree(repo, id);
    const prs = await Promise.all(['c1', 'c2', 'c3', 'c1', 'c2', 'c3'].map((id) => openPr(repo, id)));
    expect(new Set(prs.map((p) => p.number))).toEqual(new Set([1, 2, 3]));
    for (const id of ['c1', 'c2', 'c3']) expect(new Set(prs.filter((p) => p.branch === `swarm/${id}`).map((p) => p.number)).size).toBe(1);
  });

  it('refuses a PR for a branch that does not exist', async () => {
    const repo = await makeRepo();
    await expect(openPr(repo, 'ghost')).rejects.toEqual(failure('InvalidInput', /head branch "swarm\/ghost" does not exist/));
    await expect(forge.getPr({ repository: repo, number: 9 })).rejects.toEqual(failure('InvalidInput', /no local PR #9/));
  });

  it('changedFiles and diff compare against the merge-base, not the moved base', async () => {
    const repo = await makeRepo({ 'README.md': 'hello\n', 'old.txt': 'old\n', 'gone.txt': 'bye\n', 'moved.txt': 'a file that will be renamed\nwith enough content\n' });
    const wt = await agentWorktree(repo, 'files');
    await git(wt, ['mv', 'moved.txt', 'renamed.txt']);
    const head = await commit(wt, { 'README.md': 'hello\nagent line\n', 'new.txt': 'new\n', 'gone.txt': null });
    await commit(repo, { 'base-only.txt': 'base moved on\n' });
    const pr = await openPr(repo, 'files');

    const changed = await forge.changedFiles({ repository: repo, number: pr.number });
    expect(changed.headSha).toBe(head);
    expect([...changed.files].sort((x, y) => (x.path < y.path ? -1 : 1))).toEqual([
      { path: 'README.md', status: 'modified' },
      { path: 'gone.txt', status: 'deleted' },
      { path: 'new.txt', status: 'added' },
      { path: 'renamed.txt', status: 'renamed' },
    ]);

    const { diff, truncated, headSha } = await forge.diff({ repository: repo, number: pr.number });
    expect(headSha).toBe(head);
    expect(truncated).toBe(false);
    expect(diff).toContain('+agent line');
    expect(diff).toContain('rename to renamed.txt');
    expect(diff).not.toContain('base-only.txt');
  });

  it('diff is capped at about 1 MB and says so', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'big');
    await commit(wt, { 'big.txt': Array.from({ length: 30_000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n') });
    const pr = await openPr(repo, 'big');
    const { diff, truncated } = await forge.diff({ repository: repo, number: pr.number });
    expect(truncated).toBe(true);
    expect(Buffer.byteLength(diff)).toBeLessThan(1_001_000);
    expect(diff).toMatch(/\[swarmflow: diff truncated, showing \d+ of \d+ bytes\]\n$/);
  });
});

describe('mergeability and sync', () => {
  it('checkMergeable: clean with behindBy, and a real conflict with its paths', async () => {
    const repo = await makeRepo({ 'README.md': 'hello\n', 'shared.txt': 'one\n' });
    const wt = await agentWorktree(repo, 'merge');
    await commit(wt, { 'agent.txt': 'agent\n' });
    await commit(repo, { 'base1.txt': '1\n' });
    await commit(repo, { 'base2.txt': '2\n' });
    const pr = await openPr(repo, 'merge');
    await expect(forge.checkMergeable({ repository: repo, number: pr.number })).resolves.toEqual({ mergeable: true, behindBy: 2, conflicts: [], headSha: pr.headSha });

    await commit(wt, { 'shared.txt': 'agent says two\n' });
    await commit(repo, { 'shared.txt': 'base says three\n' });
    await expect(forge.checkMergeable({ repository: repo, number: pr.number })).resolves.toEqual({ mergeable: false, behindBy: 3, conflicts: ['shared.txt'], headSha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    // merge-tree touched neither the base nor the agent's worktree.
    expect(await status(repo)).toBe('');
    expect(await status(wt)).toBe('');
  });

  it('syncWithBase: up_to_date, then synced by a merge commit in the repository, leaving the agent\'s clone alone', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'sync');
    const head = await commit(wt, { 'agent.txt': 'agent\n' });
    const pr = await openPr(repo, 'sync');
    await expect(forge.syncWithBase({ repository: repo, number: pr.number, worktree: wt })).resolves.toEqual({ status: 'up_to_date', headSha: head, conflicts: [] });

    const baseSha = await commit(repo, { 'base.txt': 'base\n' });
    // Uncommitted work in the clone is the agent's business: it is not in the way of the merge.
    writeFileSync(join(wt, 'base.txt'), 'agent scratch\n');
    const synced = await forge.syncWithBase({ repository: repo, number: pr.number, worktree: wt });
    expect(synced.status).toBe('synced');
    expect(synced.headSha).toBe(await tip(repo, 'swarm/sync'));
    expect((await git(repo, ['rev-list', '--parents', '-n', '1', synced.headSha])).stdout.split(' ').slice(1)).toEqual([head, baseSha]);
    expect((await git(repo, ['show', `${synced.headSha}:base.txt`])).stdout).toBe('base');
    await expect(forge.checkMergeable({ repository: repo, number: pr.number })).resolves.toEqual({ mergeable: true, behindBy: 0, conflicts: [], headSha: synced.headSha });
    expect(await revParse(wt, 'HEAD')).toBe(head);
    expect(readFileSync(join(wt, 'base.txt'), 'utf8')).toBe('agent scratch\n');

    // The agent's next commit, made on the old head, is merged onto the synced one when collected.
    const next = await commit(wt, { 'base.txt': null, 'more.txt': 'more\n' });
    const collected = await tip(repo, 'swarm/sync');
    expect((await git(repo, ['rev-list', '--parents', '-n', '1', collected])).stdout.split(' ').slice(1)).toEqual([next, synced.headSha]);
    expect(await forge.collectBranch({ repository: repo, worktree: wt, branch: 'swarm/sync' })).toEqual({ headSha: collected });
  });

  it('syncWithBase: a conflict is reported and the branch is left as it was', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'clash');
    const head = await commit(wt, { 'README.md': 'agent version\n' });
    await commit(repo, { 'README.md': 'base version\n' });
    const pr = await openPr(repo, 'clash');

    await expect(forge.syncWithBase({ repository: repo, number: pr.number, worktree: wt })).resolves.toEqual({ status: 'conflict', headSha: head, conflicts: ['README.md'] });
    expect(await tip(repo, 'swarm/clash')).toBe(head);
    expect(await revParse(wt, 'HEAD')).toBe(head);
    expect(await status(wt)).toBe('');
  });

  it('syncWithBase refuses to move a branch checked out in a working tree (a task of an earlier release)', async () => {
    const repo = await makeRepo();
    const legacy = join(tempDir('forge-wt'), 'legacy');
    await git(repo, ['worktree', 'add', '-q', '-b', 'swarm/legacy', legacy, 'main']);
    await commit(legacy, { 'agent.txt': 'agent\n' });
    await commit(repo, { 'base.txt': 'base\n' });
    const pr = await openPr(repo, 'legacy');
    await expect(forge.syncWithBase({ repository: repo, number: pr.number, worktree: legacy })).rejects.toEqual(failure('InvalidInput', /swarm\/legacy is checked out in .*: swarmflow will not move a branch/));
  });
});

describe('runCi', () => {
  async function ciRepo(taskId: string) {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, taskId);
    const headSha = await commit(wt, { 'committed.txt': 'committed content\n' });
    const pr = await openPr(repo, taskId);
    return { repo, wt, headSha, number: pr.number };
  }
  const checkout = (taskId: string, headSha: string) => join(stateDir, 'ci', taskId, headSha, 'checkout');

  it('passes, and fails with the output tail and the full log kept; the checkout is removed', async () => {
    const { repo, headSha, number } = await ciRepo('ci-fail');
    const verdict = await forge.runCi({
      taskId: 'ci-fail',
      repository: repo,
      number,
      headSha,
      checks: [
        { name: 'build', command: 'echo building', timeoutMs: 10_000 },
        { name: 'test', command: 'for i in $(seq 1 100); do echo "line $i"; done; echo boom >&2; exit 3', timeoutMs: 10_000 },
      ],
    });
    expect(verdict.headSha).toBe(headSha);
    expect(verdict.status).toBe('failed');
    const [build, test] = verdict.checks;
    expect(build).toMatchObject({ name: 'build', status: 'passed', exitCode: 0, outputTail: 'building' });
    expect(test).toMatchObject({ name: 'test', status: 'failed', exitCode: 3 });
    const tailLines = test!.outputTail.split('\n');
    expect(tailLines).toHaveLength(40);
    expect(tailLines[0]).toBe('line 62');
    expect(tailLines.at(-1)).toBe('boom');
    expect(test!.outputFile).toBe(join(stateDir, 'ci', 'ci-fail', headSha, 'test.log'));
    expect(readFileSync(test!.outputFile, 'utf8')).toContain('line 1\n');
    expect(existsSync(checkout('ci-fail', headSha))).toBe(false);
    expect((await git(repo, ['worktree', 'list', '--porcelain'])).stdout).not.toContain('/ci/');
  });

  it('kills the whole process group on timeout', async () => {
    const { repo, headSha, number } = await ciRepo('ci-slow');
    const marker = join(tempDir('forge-marker'), 'survived');
    const started = Date.now();
    const verdict = await forge.runCi({
      taskId: 'ci-slow',
      repository: repo,
      number,
      headSha,
      // The background child would touch the marker if only `sh` were killed.
      checks: [{ name: 'hang', command: `(sleep 1; touch '${marker}') & echo started; sleep 30`, timeoutMs: 300 }],
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(verdict.status).toBe('failed');
    expect(verdict.checks[0]).toMatchObject({ status: 'timed_out', exitCode: null });
    expect(verdict.checks[0]!.outputTail).toMatch(/started\n\n?\[swarmflow\] timed out after 300 ms/);
    await sleep(1_500);
    expect(existsSync(marker)).toBe(false);
  });

  it('heartbeats per check, and a cancelled activity kills the running check and records no verdict', async () => {
    const { repo, headSha, number } = await ciRepo('ci-cancel');
    const marker = join(tempDir('forge-marker'), 'survived');
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const running = env.run((input: Parameters<LocalForge['runCi']>[0]) => forge.runCi(input), {
      taskId: 'ci-cancel',
      repository: repo,
      number,
      headSha,
      checks: [
        { name: 'quick', command: 'true', timeoutMs: 10_000 },
        { name: 'hang', command: `(sleep 1; touch '${marker}') & echo started; sleep 30`, timeoutMs: 60_000 },
      ],
    });
    const hangLog = join(stateDir, 'ci', 'ci-cancel', headSha, 'hang.log');
    while (!(existsSync(hangLog) && readFileSync(hangLog, 'utf8').includes('started'))) await sleep(20);
    env.cancel();

    await expect(running).rejects.toMatchObject({ name: 'CancelledFailure' });
    expect(beats).toEqual([{ check: 'quick' }, { check: 'hang' }]);
    expect(existsSync(checkout('ci-cancel', headSha))).toBe(false);
    const { rows } = await database.db.query('SELECT 1 FROM local_ci_verdicts WHERE repository = $1 AND head_sha = $2', [repo, headSha]);
    expect(rows).toEqual([]);
    await sleep(1_500);
    expect(existsSync(marker)).toBe(false);
  });

  it('no configured checks is no_checks', async () => {
    const { repo, headSha, number } = await ciRepo('ci-none');
    await expect(forge.runCi({ taskId: 'ci-none', repository: repo, number, headSha, checks: [] })).resolves.toEqual({ headSha, status: 'no_checks', checks: [] });
  });

  it('keeps the verdict per SHA: a retry for the same SHA does not run the commands again, a new SHA does', async () => {
    const { repo, wt, headSha, number } = await ciRepo('ci-cache');
    const counter = join(tempDir('forge-counter'), 'runs.txt');
    const checks = [{ name: 'count', command: `echo run >> '${counter}'`, timeoutMs: 10_000 }];
    const first = await forge.runCi({ taskId: 'ci-cache', repository: repo, number, headSha, checks });
    expect(first.status).toBe('passed');
    await expect(forge.runCi({ taskId: 'ci-cache', repository: repo, number, headSha, checks })).resolves.toEqual(first);
    expect(readFileSync(counter, 'utf8')).toBe('run\n');

    const next = await commit(wt, { 'committed.txt': 'v2\n' });
    expect((await forge.runCi({ taskId: 'ci-cache', repository: repo, number, headSha: next, checks })).headSha).toBe(next);
    expect(readFileSync(counter, 'utf8')).toBe('run\nrun\n');
  });

  it("runs in a clean checkout of exactly the head SHA, with a clean env that hides the worker's secrets", async () => {
    const { repo, wt, headSha, number } = await ciRepo('ci-clean');
    writeFileSync(join(wt, 'untracked.txt'), 'not committed\n');
    writeFileSync(join(wt, 'committed.txt'), 'edited but not committed\n');
    // The checkout an attempt that died left behind, with its junk, is replaced by a clean one.
    mkdirSync(dirname(checkout('ci-clean', headSha)), { recursive: true });
    await git(repo, ['worktree', 'add', '-q', '--detach', checkout('ci-clean', headSha), headSha]);
    writeFileSync(join(checkout('ci-clean', headSha), 'stale.txt'), 'junk\n');
    process.env.SWARM_TEST_SECRET = 'hunter2-secret';
    try {
      const verdict = await forge.runCi({
        taskId: 'ci-clean',
        repository: repo,
        number,
        headSha,
        checks: [
          { name: 'tree', command: 'test ! -e untracked.txt && test ! -e stale.txt && cat committed.txt && git rev-parse HEAD && test -z "$(git status --porcelain)"', timeoutMs: 10_000 },
          { name: 'env', command: 'echo "secret: ${SWARM_TEST_SECRET:-absent}, ci: $CI"; env', timeoutMs: 10_000 },
        ],
      });
      expect(verdict.status).toBe('passed');
      expect(verdict.checks[0]!.outputTail).toBe(`committed content\n${headSha}`);
      const envLog = readFileSync(verdict.checks[1]!.outputFile, 'utf8');
      expect(envLog).toContain('secret: absent, ci: true');
      expect(envLog).not.toContain('hunter2-secret');
      expect(existsSync(checkout('ci-clean', headSha))).toBe(false);
      // Exactly the allow-list, plus what the shell sets itself.
      const names = envLog.split('\n').flatMap((l) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1] ?? []);
      expect(names).toEqual(expect.arrayContaining(['CI', 'PATH']));
      expect(names.filter((n) => !['CI', 'PATH', 'HOME', 'LANG', 'PWD', 'SHLVL', 'OLDPWD', '_'].includes(n))).toEqual([]);
    } finally {
      delete process.env.SWARM_TEST_SECRET;
    }
  });

  it("runs the base's gate definitions, not the PR's: a test config that runs nothing and a test script made `true` still fail on a failing test", async () => {
    // A tiny test runner of the repository's own: it runs each file of vitest.config.json's include list.
    const runner = `import { readFileSync, readdirSync } from 'node:fs';
const { include } = JSON.parse(readFileSync('vitest.config.json', 'utf8'));
let failed = 0;
for (const dir of include) for (const f of readdirSync(dir)) {
  try { await import(\`./\${dir}/\${f}\`); console.log('PASS', f); } catch (e) { failed++; console.log('FAIL', f, e.message); }
}
process.exit(failed ? 1 : 0);
`;
    const pkg = (scripts: object, extra: object = {}) => `${JSON.stringify({ name: 'app', type: 'module', scripts, ...extra }, null, 2)}\n`;
    const repo = await makeRepo({
      'package.json': pkg({ test: 'node run-tests.mjs' }),
      'run-tests.mjs': runner,
      'vitest.config.json': '{ "include": ["tests"] }\n',
      'swarmflow.repo.json': '{ "ci": [{ "name": "test", "command": "npm test" }], "uiPaths": ["base-policy/"] }\n',
      'src/add.mjs': 'export const add = (a, b) => a + b;\n',
      'tests/add.mjs': "import { add } from '../src/add.mjs';\nif (add(1, 2) !== 3) throw new Error('add(1, 2) is ' + add(1, 2));\n",
    });
    const wt = await agentWorktree(repo, 'ci-gates');
    // The agent breaks add, and every gate that would notice.
    const headSha = await commit(wt, {
      'src/add.mjs': 'export const add = (a, b) => a - b;\n',
      'package.json': pkg({ test: 'true' }, { dependencies: { lodash: '^4.17.21' } }),
      'vitest.config.json': '{ "include": [] }\n',
      'swarmflow.repo.json': '{ "ci": [{ "name": "test", "command": "true" }] }\n',
      'pytest.ini': '[pytest]\naddopts = -k nothing\n',
    });
    const { number } = await openPr(repo, 'ci-gates');
    const verdict = await forge.runCi({
      taskId: 'ci-gates',
      repository: repo,
      number,
      headSha,
      checks: [
        { name: 'test', command: 'npm test --silent', timeoutMs: 60_000 },
        // The rest of the head stays the head's: its code, its new dependency; a gate file the base lacks is gone.
        {
          name: 'tree',
          command: `grep -q 'a - b' src/add.mjs && node -e "process.exit(JSON.parse(require('fs').readFileSync('package.json')).dependencies.lodash ? 0 : 1)" && test ! -e pytest.ini && grep -q base-policy swarmflow.repo.json`,
          timeoutMs: 10_000,
        },
      ],
    });
    expect(verdict.checks.map((c) => [c.name, c.status])).toEqual([
      ['test', 'failed'],
      ['tree', 'passed'],
    ]);
    expect(verdict.checks[0]!.outputTail).toContain('FAIL add.mjs add(1, 2) is -1');
    expect(verdict.status).toBe('failed');
    const log = readFileSync(verdict.checks[0]!.outputFile, 'utf8');
    expect(log.split('\n')[0]).toBe('[swarmflow] gate files as the base main has them: package.json, pytest.ini, swarmflow.repo.json, vitest.config.json');
    // The agent's clone and the branch are untouched: only the CI checkout had the base's files.
    expect(readFileSync(join(wt, 'vitest.config.json'), 'utf8')).toBe('{ "include": [] }\n');
    expect((await git(repo, ['show', `${headSha}:package.json`])).stdout).toContain('"test": "true"');
  });
});

describe('mergePr', () => {
  it('fast-forwards the base, updates its clean checked-out working tree, and is idempotent', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'ff');
    const head = await commit(wt, { 'feature.txt': 'feature\n' });
    const pr = await openPr(repo, 'ff');

    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).resolves.toEqual({ mergeSha: head, alreadyMerged: false });
    expect(await tip(repo, 'main')).toBe(head);
    // The repository's main working tree has main checked out: its files follow the ref.
    expect(readFileSync(join(repo, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(await status(repo)).toBe('');
    expect((await forge.getPr({ repository: repo, number: pr.number })).state).toBe('merged');
    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).resolves.toEqual({ mergeSha: head, alreadyMerged: true });
  });

  it('creates a merge commit when the base moved, and updates the working tree', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'mc');
    const head = await commit(wt, { 'feature.txt': 'feature\n' });
    const base = await commit(repo, { 'other.txt': 'other\n' });
    const pr = await openPr(repo, 'mc', 'Add the feature');

    const { mergeSha, alreadyMerged } = await forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head });
    expect(alreadyMerged).toBe(false);
    expect(await tip(repo, 'main')).toBe(mergeSha);
    expect((await git(repo, ['rev-list', '--parents', '-n', '1', mergeSha])).stdout.split(' ').slice(1)).toEqual([base, head]);
    expect((await git(repo, ['log', '-1', '--format=%s', mergeSha])).stdout).toBe(`Merge swarm PR #${pr.number}: Add the feature`);
    expect(readFileSync(join(repo, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(readFileSync(join(repo, 'other.txt'), 'utf8')).toBe('other\n');
    expect(await status(repo)).toBe('');
  });

  it('advances the base with a ref update when it is not checked out anywhere', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'detached');
    const head = await commit(wt, { 'feature.txt': 'feature\n' });
    await git(repo, ['checkout', '-q', '--detach', 'main']);
    const before = await revParse(repo, 'HEAD');
    const pr = await openPr(repo, 'detached');

    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).resolves.toEqual({ mergeSha: head, alreadyMerged: false });
    expect(await tip(repo, 'main')).toBe(head);
    expect(await revParse(repo, 'HEAD')).toBe(before);
  });

  it('refuses when the head moved since it was verified', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'moved');
    const verified = await commit(wt, { 'feature.txt': 'v1\n' });
    const pr = await openPr(repo, 'moved');
    const base = await tip(repo, 'main');
    const moved = await commit(wt, { 'feature.txt': 'v2, unverified\n' });

    const err = await forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: verified }).catch((e: unknown) => e);
    expect(err).toEqual(failure('HeadMoved', new RegExp(`head is ${moved}, not the verified ${verified}`)));
    expect(await tip(repo, 'main')).toBe(base);
    expect((await forge.getPr({ repository: repo, number: pr.number })).state).toBe('open');
  });

  it('refuses a checked-out base with local changes, leaving them alone; merges once they are gone', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'dirty');
    const head = await commit(wt, { 'feature.txt': 'feature\n' });
    const base = await tip(repo, 'main');
    writeFileSync(join(repo, 'README.md'), 'hello\nwork in progress\n');
    const pr = await openPr(repo, 'dirty');

    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).rejects.toEqual(
      failure('BaseNotUpdatable', /"main" is checked out in .* with uncommitted changes.*commit or stash them/),
    );
    expect(await tip(repo, 'main')).toBe(base);
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('hello\nwork in progress\n');
    expect((await forge.getPr({ repository: repo, number: pr.number })).state).toBe('open');

    await git(repo, ['stash', '-q']);
    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).resolves.toEqual({ mergeSha: head, alreadyMerged: false });
    expect(readFileSync(join(repo, 'feature.txt'), 'utf8')).toBe('feature\n');
  });

  it('refuses when an untracked file in the checked-out base is in the way, without moving the base', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'blocked');
    const head = await commit(wt, { 'feature.txt': 'feature\n' });
    const base = await tip(repo, 'main');
    writeFileSync(join(repo, 'feature.txt'), 'a local scratch file\n');
    const pr = await openPr(repo, 'blocked');

    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).rejects.toEqual(
      failure('BaseNotUpdatable', /git could not update that working tree .*feature\.txt/s),
    );
    expect(await tip(repo, 'main')).toBe(base);
    expect(readFileSync(join(repo, 'feature.txt'), 'utf8')).toBe('a local scratch file\n');

    rmSync(join(repo, 'feature.txt'));
    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).resolves.toEqual({ mergeSha: head, alreadyMerged: false });
  });

  it('takes a lock another git process holds on the checked-out base as passing: a retryable error, then the merge', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'locked');
    const head = await commit(wt, { 'feature.txt': 'feature\n' });
    const base = await tip(repo, 'main');
    const pr = await openPr(repo, 'locked');
    const lock = join(repo, '.git', 'refs', 'heads', 'main.lock');
    writeFileSync(lock, '');
    const err: unknown = await forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head }).catch((e: unknown) => e);
    // Not the nonRetryable BaseNotUpdatable: the activity's retry policy tries again.
    expect(err).toBeInstanceOf(GitError);
    expect((err as GitError).message).toMatch(/Another git process seems to be running/);
    expect(await tip(repo, 'main')).toBe(base);
    // git had updated the files before it failed on the ref: they are put back, the checkout is as it was.
    expect(await git(repo, ['status', '--porcelain']).then((r) => r.stdout)).toBe('');
    rmSync(lock);
    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).resolves.toEqual({ mergeSha: head, alreadyMerged: false });
  });

  it('refuses a PR that no longer merges cleanly, leaving the base untouched', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'conflict');
    const head = await commit(wt, { 'README.md': 'agent\n' });
    const base = await commit(repo, { 'README.md': 'base\n' });
    const pr = await openPr(repo, 'conflict');
    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).rejects.toEqual(failure('MergeConflict', /conflicts in README\.md/));
    expect(await tip(repo, 'main')).toBe(base);
    expect(await status(repo)).toBe('');
  });

  it('a retry whose base update landed before the row was marked completes as already merged', async () => {
    const repo = await makeRepo();
    const wt = await agentWorktree(repo, 'landed');
    const head = await commit(wt, { 'feature.txt': 'feature\n' });
    const pr = await openPr(repo, 'landed');
    // What a crash right after moving the base leaves behind: the base has the head, the row is still open.
    await git(repo, ['merge', '-q', '--ff-only', head]);

    await expect(forge.mergePr({ repository: repo, number: pr.number, expectedHeadSha: head })).resolves.toEqual({ mergeSha: head, alreadyMerged: true });
    expect((await forge.getPr({ repository: repo, number: pr.number })).state).toBe('merged');
  });
});

