// A clean checkout of one commit: a repository of its own holding exactly that commit (and the
// others asked for), made from the orchestrator's repository. Nothing of the agent's clone leaks
// in (its hooks, its config, its untracked files), and code run there finds no path to the
// repository's git directory (a worktree's would be one). CI, reviewers and screenshots use it.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { git } from '../git.ts';

export interface CleanCheckout {
  /** The orchestrator's repository the commits are fetched from. */
  repository: string;
  /** The folder made for it (removed first if a dead attempt left one). */
  dir: string;
  /** The commit checked out (detached). */
  sha: string;
  /** More commits fetched beside it (e.g. the base, to compare with). */
  alsoFetch?: string[];
}

export async function makeCleanCheckout({ repository, dir, sha, alsoFetch = [] }: CleanCheckout): Promise<void> {
  mkdirSync(dirname(dir), { recursive: true });
  await removeCleanCheckout(repository, dir);
  await git(dirname(dir), ['init', '--quiet', '--template=', dir]);
  await git(dir, ['fetch', '--quiet', '--no-tags', '--', repository, sha, ...alsoFetch]);
  await git(dir, ['checkout', '--quiet', '--detach', sha]);
}

/** Removes a checkout (also one left by an attempt that died), touching nothing else. */
export async function removeCleanCheckout(repository: string, dir: string): Promise<void> {
  // An earlier release made CI checkouts as worktrees of the repository: its registration goes too.
  await git(repository, ['worktree', 'remove', '--force', dir], { allowFailure: true });
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `use` in a clean checkout, removed afterwards whatever happens. */
export async function withCleanCheckout<T>(checkout: CleanCheckout, use: (dir: string) => Promise<T>): Promise<T> {
  await makeCleanCheckout(checkout);
  try {
    return await use(checkout.dir);
  } finally {
    await removeCleanCheckout(checkout.repository, checkout.dir);
  }
}
