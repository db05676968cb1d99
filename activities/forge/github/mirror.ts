// The host's bare mirror of a GitHub repository, under `<stateDir>/repos/<owner>/<name>.git`: task
// clones are made from it and task branches are kept in it. It is cloned on first use and fetched
// on every use; the fetch never moves a task branch (the agents' work, collected from their clones).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { beat } from '../../activity-context.ts';
import { git, isRepository, revParse } from '../../git.ts';
import { agentPaths } from '../../agents/paths.ts';
import { isAlive } from '../../../lib/process.ts';
import { splitRepository as split } from './inputs.ts';
import { remoteGit } from './remote-git.ts';
import type { GitHubContext } from './context.ts';

/** The mirror's remote-tracking refspec: a fetch never writes `refs/heads/*` (task branches live there). */
const MIRROR_FETCH_REFSPEC = '+refs/heads/*:refs/remotes/origin/*';
/** Branches the host owns in the mirror (the agents' work, collected from their clones): a fetch never moves them. */
const TASK_BRANCH_PREFIX = 'swarm/';

/** One localCheckout at a time per mirror in this process (clone, fetch and ref updates are not interleaved). */
const mirrorLocks = new Map<string, Promise<unknown>>();
function withMirrorLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const run = (mirrorLocks.get(path) ?? Promise.resolve()).then(fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  mirrorLocks.set(path, settled);
  void settled.then(() => {
    if (mirrorLocks.get(path) === settled) mirrorLocks.delete(path);
  });
  return run;
}

/** `git clone --bare` into a private folder, then one rename: the mirror's path only ever holds a whole clone. */
async function cloneMirror(gh: GitHubContext, repository: string, path: string): Promise<void> {
  const parent = dirname(path);
  mkdirSync(parent, { recursive: true });
  const prefix = `${basename(path)}.partial-`;
  // Half-made clones of attempts that died (this process's, or a process that is gone).
  for (const entry of readdirSync(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (pid === process.pid || !Number.isInteger(pid) || !isAlive(pid)) rmSync(join(parent, entry), { recursive: true, force: true });
  }
  const partial = `${path}.partial-${process.pid}`;
  beat({ cloning: repository });
  await remoteGit(gh, parent, ['clone', '--bare', '--quiet', '--', gh.repoUrl(repository), partial], repository, `cloning ${repository}`, 'Contents: read');
  try {
    renameSync(partial, path);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    // Another process finished its clone first: that one is as good.
    if (!existsSync(path)) throw err;
  }
}

/** Every non-task branch of the mirror set to origin's, except one checked out in a worktree (as an earlier release made). */
async function alignBaseBranches(path: string): Promise<void> {
  const { stdout: worktrees } = await git(path, ['worktree', 'list', '--porcelain', '-z']);
  const checkedOut = new Set(worktrees.split('\0').filter((f) => f.startsWith('branch ')).map((f) => f.slice('branch '.length)));
  const { stdout } = await git(path, ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/remotes/origin/']);
  const updates: string[] = [];
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [sha, remoteRef] = line.split(' ') as [string, string];
    const branch = remoteRef.slice('refs/remotes/origin/'.length);
    const local = `refs/heads/${branch}`;
    if (branch === 'HEAD' || branch.startsWith(TASK_BRANCH_PREFIX) || checkedOut.has(local)) continue;
    updates.push(`update ${local} ${sha}\n`);
  }
  if (updates.length > 0) await git(path, ['update-ref', '--stdin'], { input: updates.join('') });
}

/**
 * The mirror of `repository`, cloned if missing, then fetched. The fetch writes only
 * `refs/remotes/origin/*`; then every non-task branch (not `swarm/*`) is set to origin's, so a task
 * branch made from `main` starts from the current remote main. Task branches are never moved by it:
 * they hold the agents' work collected from their clones.
 */
export async function ensureMirror(gh: GitHubContext, repository: string): Promise<{ path: string }> {
  const { owner, repo } = split(repository);
  const path = join(agentPaths(gh.stateDir).mirrors, owner, `${repo}.git`);
  return withMirrorLock(path, async () => {
    // Anything at the path that is not a repository (a clone interrupted some other way) goes first.
    if (existsSync(path) && !(await isRepository(path))) rmSync(path, { recursive: true, force: true });
    if (!existsSync(path)) await cloneMirror(gh, repository, path);
    // The URL holds no token: every call that talks to GitHub sends it in its own environment.
    await git(path, ['config', 'remote.origin.url', gh.repoUrl(repository)]);
    await git(path, ['config', '--replace-all', 'remote.origin.fetch', MIRROR_FETCH_REFSPEC]);
    beat({ fetching: repository });
    await remoteGit(gh, path, ['fetch', '--quiet', '--prune', '--no-tags', 'origin', MIRROR_FETCH_REFSPEC], repository, `fetching ${repository}`, 'Contents: read');
    await alignBaseBranches(path);
    return { path };
  });
}

/** The mirror's copy of the PR branch set to GitHub's (after update-branch made a new head there). */
export async function followPrHead(gh: GitHubContext, repository: string, branch: string, headSha: string): Promise<void> {
  const { path } = await ensureMirror(gh, repository);
  if ((await revParse(path, `refs/heads/${branch}`)) === headSha) return;
  await remoteGit(gh, path, ['fetch', '--quiet', '--no-tags', '--', gh.repoUrl(repository), `+refs/heads/${branch}:refs/heads/${branch}`], repository, `fetching ${branch} of ${repository}`, 'Contents: read');
  if ((await revParse(path, `refs/heads/${branch}`)) !== headSha) throw new Error(`${headSha} (the head of ${branch}) is not on ${repository} any more: trying again`);
}
