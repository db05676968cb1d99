// The task's branch lives in two repositories. The agent works in a clone of its own (its `.git`,
// config and hooks are the agent's to ruin); the branch of record is `swarm/<id>` in the
// orchestrator's repository (the user's repository for the local forge, our mirror for GitHub),
// where every merge, diff, push and CI checkout happens.
//
// The orchestrator never runs git in the clone (git would read the clone's config, and with it
// hooks, fsmonitor and drivers the agent planted). It only:
// - fetches from it: `git fetch <clone>` runs in the orchestrator's repository and starts
//   `git upload-pack` in the clone, which runs no hook and ignores the one program setting
//   (uploadpack.packObjectsHook) from a repository's own config: git documents upload-pack as safe
//   on untrusted repositories;
// - reads its files for what the agent left uncommitted, with the orchestrator's git dir and a
//   scratch index (`--git-dir=<ours> --work-tree=<clone>`), so only our config is read;
// - hands it updates as a bundle file, the clone's `origin`, which the agent fetches itself.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { git, GitError, isAncestor, mergeTree, revParse } from './git.ts';

/** Where the orchestrator keeps the clone's fetched branch: not a branch (never checked out, never listed). */
const fetchedRef = (branch: string) => `refs/swarmflow/clones/${branch}`;
/** The last commit of a CLI's leftovers, and the clone head it was built on (the clone itself never gets it). */
const leftoversRef = (branch: string) => `refs/swarmflow/leftovers/${branch}`;
const leftoversOnRef = (branch: string) => `refs/swarmflow/leftovers-on/${branch}`;

/** Drops what the orchestrator kept of a task's clone (cleanup). */
export async function forgetTaskClone(checkout: string, branch: string): Promise<void> {
  const refs = [fetchedRef(branch), leftoversRef(branch), leftoversOnRef(branch)];
  await git(checkout, ['update-ref', '--stdin'], { input: refs.map((r) => `delete ${r}\n`).join('') });
}

/**
 * A fresh clone of `branch` (and, as `origin/*`, the bundle's other branches) at `path`, made from
 * the bundle: no templates (no sample hooks), nothing of ours in its config but `origin` = the
 * bundle. Made in a private folder and renamed into place, so `path` only ever holds a whole clone.
 */
export async function createTaskClone(bundle: string, branch: string, path: string): Promise<void> {
  const partial = `${path}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(dirname(path), { recursive: true });
  await git(dirname(path), ['clone', '--quiet', '--template=', '--branch', branch, '--', bundle, partial]);
  renameSync(partial, path);
}

/**
 * The base and the task branch of `checkout` as a bundle at `file` (written aside, then renamed):
 * the clone's `origin`, so the agent can `git fetch origin` for the current base or our merges.
 */
export async function writeOriginBundle(checkout: string, base: string, branch: string, file: string): Promise<void> {
  const partial = `${file}.partial`;
  await git(checkout, ['bundle', 'create', '--quiet', partial, `refs/heads/${base}`, `refs/heads/${branch}`]);
  renameSync(partial, file);
}

export interface Leftovers {
  /** `Name <email>` of the commit's author: the agent whose edits these are. */
  author: { name: string; email: string };
  message: string;
  /** A scratch index of ours (never the clone's). */
  indexFile: string;
}

/**
 * Brings the clone's `branch` into `checkout`'s `refs/heads/<branch>` and returns that branch's head.
 * With `leftovers`, what the agent left uncommitted in the clone is committed on top first.
 * The branch of record moves only forward: the agent's head when it descends from it; nothing when
 * the agent's head is already in it; else a merge of the two (the agent built on an older head
 * while we synced), and when even that conflicts the agent's head, which the next sync merges again.
 * Idempotent: a second call finds the same head already in the branch.
 */
export async function collectTaskBranch(checkout: string, clone: string, branch: string, leftovers?: Leftovers): Promise<string | undefined> {
  const theirs = fetchedRef(branch);
  if (existsSync(clone)) {
    // fsck: objects from a hostile repository are checked before they enter ours.
    const args = ['-c', 'fetch.fsckObjects=true', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--', clone, `+refs/heads/${branch}:${theirs}`];
    const res = await git(checkout, args, { allowFailure: true });
    // The agent deleted its branch: there is nothing of it to take.
    if (res.exitCode !== 0 && !/couldn't find remote ref/i.test(res.stderr)) throw new GitError(args, res.exitCode, res.stderr);
  }
  const ours = `refs/heads/${branch}`;
  let got = await revParse(checkout, theirs);
  const current = await revParse(checkout, ours);
  if (got === undefined) return current;
  if (leftovers && existsSync(clone)) got = await commitLeftovers(checkout, clone, branch, got, leftovers);
  if (current === undefined) {
    await git(checkout, ['update-ref', ours, got, '']);
    return got;
  }
  if (got === current || (await isAncestor(checkout, got, current))) return current;
  let next = got;
  if (!(await isAncestor(checkout, current, got))) {
    const { tree, conflicts } = await mergeTree(checkout, got, current);
    if (conflicts.length === 0) {
      const message = `Merge ${branch} as swarmflow last had it into the agent's work\n`;
      next = (await git(checkout, ['commit-tree', tree, '-p', got, '-p', current, '-F', '-'], { input: message })).stdout.trim();
    }
  }
  // Compare-and-swap: a concurrent collect that moved the branch first makes this one fail and retry.
  await git(checkout, ['update-ref', ours, next, current]);
  return next;
}

const treeOf = async (repository: string, commit: string) => (await git(repository, ['rev-parse', '--verify', `${commit}^{tree}`])).stdout.trim();

/**
 * The clone's working tree as a commit, read through our git dir and a scratch index; `head` when
 * nothing is left. The clone keeps its edits uncommitted (nothing of ours is written into it), so
 * while its head stays the same, the next leftovers build on the last ones: one line of history,
 * not a merge per attempt.
 */
async function commitLeftovers(checkout: string, clone: string, branch: string, head: string, { author, message, indexFile }: Leftovers): Promise<string> {
  const last = (await revParse(checkout, leftoversOnRef(branch))) === head ? await revParse(checkout, leftoversRef(branch)) : undefined;
  const parent = last ?? head;
  const gitDir = (await git(checkout, ['rev-parse', '--absolute-git-dir'])).stdout.trim();
  const env = { GIT_INDEX_FILE: indexFile };
  rmSync(indexFile, { force: true });
  // cwd is the clone only so that `add` sees it as the work tree; --git-dir keeps its config unread.
  const inClone = (args: string[]) => git(clone, [`--git-dir=${gitDir}`, `--work-tree=${clone}`, ...args], { env });
  try {
    await inClone(['read-tree', head]);
    await inClone(['add', '--all']);
    const tree = (await inClone(['write-tree'])).stdout.trim();
    // Unchanged since the last time (a retried activity, or nothing new): that commit again.
    if (tree === (await treeOf(checkout, parent))) return parent;
    const { stdout } = await git(checkout, ['commit-tree', tree, '-p', parent, '-F', '-'], {
      input: `${message}\n`,
      env: { GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email },
    });
    const commit = stdout.trim();
    await git(checkout, ['update-ref', '--stdin'], { input: `update ${leftoversRef(branch)} ${commit}\nupdate ${leftoversOnRef(branch)} ${head}\n` });
    return commit;
  } finally {
    rmSync(indexFile, { force: true });
  }
}
