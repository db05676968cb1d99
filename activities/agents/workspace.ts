// The task's git worktree: created on `swarm/<id>` from the base, found again by its branch (so a
// re-run after a crash returns the same one), removed at cleanup. Callers validate every value
// first; `--end-of-options` still keeps any of them from being read as an option.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Workspace } from '../../workflows/task/types.ts';
import { taskBranch } from '../../workflows/task/spec.ts';
import { FailureType, nonRetryable } from '../errors.ts';
import { git, isRepository, revParse, worktreeWithBranch } from '../git.ts';

/**
 * A git repository at exactly this path (its top level, or a bare repository). A folder inside
 * some other repository is not one: git would happily add our worktree to the enclosing repo.
 */
export interface PrepareInput {
  taskId: string;
  repository: string;
  baseBranch: string;
}

export async function prepareWorkspace({ taskId, repository, baseBranch }: PrepareInput, path: string): Promise<Omit<Workspace, 'port' | 'bootstrap'>> {
  if (!(await isRepository(repository))) throw nonRetryable(FailureType.InvalidInput, `${repository} is not a git repository (or not its top-level directory)`);
  if ((await revParse(repository, baseBranch)) === undefined) {
    throw nonRetryable(FailureType.InvalidInput, `base branch "${baseBranch}" does not exist in ${repository}`);
  }
  const branch = taskBranch(taskId);
  // A worktree whose folder was deleted stays registered until pruned, and would block the add.
  await git(repository, ['worktree', 'prune']);
  let worktree = await worktreeWithBranch(repository, branch);
  if (worktree === undefined) {
    mkdirSync(dirname(path), { recursive: true });
    // `worktree add -b` creates the branch before the worktree: a run interrupted in between
    // leaves the branch, which we check out rather than fail on.
    const branchExists = (await revParse(repository, `refs/heads/${branch}`)) !== undefined;
    await git(
      repository,
      branchExists ? ['worktree', 'add', '--end-of-options', path, branch] : ['worktree', 'add', '-b', branch, '--end-of-options', path, baseBranch],
    );
    worktree = path;
  }
  // The fork point, not the base's tip: the same answer on every re-run even if the base moved.
  const { stdout } = await git(repository, ['merge-base', '--end-of-options', baseBranch, branch]);
  return { worktree, branch, baseSha: stdout.trim() };
}

export interface RemovedFromRepository {
  worktree: boolean;
  branch: boolean;
}

/**
 * Removes the task's worktree (and its branch when asked). A repository that is gone or was never
 * one still gets our worktree folder removed: cleanup also runs after a task failed on bad input.
 */
export async function removeWorkspace(repository: string, taskId: string, path: string, deleteBranch: boolean): Promise<RemovedFromRepository> {
  const removed = { worktree: false, branch: false };
  const repo = await isRepository(repository);
  const branch = taskBranch(taskId);
  if (repo) {
    // A registered worktree whose folder is already gone cannot be `remove`d, only pruned.
    await git(repository, ['worktree', 'prune']);
    const worktree = await worktreeWithBranch(repository, branch);
    if (worktree !== undefined) {
      await git(repository, ['worktree', 'remove', '--force', '--end-of-options', worktree]);
      removed.worktree = true;
    }
  }
  // Ours even when git no longer knows it (the agent switched branches, or the repository is gone).
  if (existsSync(path)) {
    rmSync(path, { recursive: true, force: true });
    removed.worktree = true;
  }
  if (!repo) return removed;
  await git(repository, ['worktree', 'prune']);
  if (deleteBranch && (await revParse(repository, `refs/heads/${branch}`)) !== undefined) {
    await git(repository, ['branch', '-D', '--end-of-options', branch]);
    removed.branch = true;
  }
  return removed;
}
