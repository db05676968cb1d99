// The task's workspace: a clone of its own at `<state>/worktrees/<id>` (the workflow's `worktree`)
// on `swarm/<id>` branched from the base, and that branch of record in the orchestrator's repository
// (the user's repository, or the GitHub mirror). The clone shares nothing with that repository:
// the agent can write its `.git` (hooks, config) and only ever harms its own copy, which the
// orchestrator reads as described in task-branch.ts. Found again on a re-run, removed at cleanup.
// Callers validate every value first; `--end-of-options` still keeps any of them from being read
// as an option.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Workspace } from '../../workflows/task/types.ts';
import { taskBranch } from '../../workflows/task/spec.ts';
import { FailureType, nonRetryable } from '../errors.ts';
import { git, isRepository, revParse, worktreeWithBranch } from '../git.ts';
import { createTaskClone, forgetTaskClone, writeOriginBundle } from '../task-branch.ts';
import { readRegularFile, writeFileAtomic } from './files.ts';

export interface PrepareInput {
  taskId: string;
  /** The task start's run key ('' for tasks started before run keys). */
  runKey: string;
  repository: string;
  baseBranch: string;
}

/** Where a task's files are: the clone, the record beside it and the clone's origin bundle. */
export interface WorkspacePaths {
  clone: string;
  record: string;
  bundle: string;
}

/** What the host activities that collect the agent's work need to know, kept beside the clone. */
const WorkspaceRecord = z.object({ checkout: z.string(), branch: z.string(), baseBranch: z.string(), runKey: z.string().default('') });
export type WorkspaceRecord = z.infer<typeof WorkspaceRecord>;

/**
 * The record of the task's workspace on this host when an earlier start of its id prepared it: a
 * run that ended without its cleanup (terminated in Temporal). A new start never runs on what it left.
 */
export function earlierStartsWorkspace(record: string, runKey: string): WorkspaceRecord | undefined {
  const found = existsSync(record) ? readWorkspaceRecord(record) : undefined;
  return found && found.runKey !== runKey ? found : undefined;
}

export function readWorkspaceRecord(record: string): WorkspaceRecord {
  // Beside the agent's clone, so read only as the regular file we wrote (see readRegularFile).
  const text = readRegularFile(record);
  if (text === undefined) throw nonRetryable(FailureType.InvalidInput, `no workspace record ${record}: the task's workspace was not prepared by this release (restart the task)`);
  return WorkspaceRecord.parse(JSON.parse(text));
}

export async function prepareWorkspace({ taskId, runKey, repository, baseBranch }: PrepareInput, { clone, record, bundle }: WorkspacePaths): Promise<Omit<Workspace, 'port' | 'bootstrap'>> {
  if (!(await isRepository(repository))) throw nonRetryable(FailureType.InvalidInput, `${repository} is not a git repository (or not its top-level directory)`);
  if ((await revParse(repository, baseBranch)) === undefined) {
    throw nonRetryable(FailureType.InvalidInput, `base branch "${baseBranch}" does not exist in ${repository}`);
  }
  const branch = taskBranch(taskId);
  if ((await revParse(repository, `refs/heads/${branch}`)) === undefined) await git(repository, ['branch', '--end-of-options', branch, baseBranch]);
  mkdirSync(dirname(record), { recursive: true });
  writeFileAtomic(record, JSON.stringify({ checkout: repository, branch, baseBranch, runKey } satisfies WorkspaceRecord));
  // The clone exists once renamed into place: a re-run (the agent may have started) never touches it.
  if (!existsSync(clone)) {
    await writeOriginBundle(repository, baseBranch, branch, bundle);
    await createTaskClone(bundle, branch, clone);
  }
  // The fork point, not the base's tip: the same answer on every re-run even if the base moved.
  const { stdout } = await git(repository, ['merge-base', '--end-of-options', baseBranch, branch]);
  return { worktree: clone, branch, baseSha: stdout.trim() };
}

export interface RemovedFromRepository {
  worktree: boolean;
  branch: boolean;
}

/**
 * Removes the task's clone and its files (and its branch in the repository when asked). A
 * repository that is gone, was never one or is not known (undefined) still gets our folder
 * removed: cleanup also runs after a task failed on bad input, and the reaper may find a clone
 * whose record is gone. The record goes last: while it is there, it names the repository that may
 * still hold the branch.
 */
export async function removeWorkspace(repository: string | undefined, taskId: string, { clone, record, bundle }: WorkspacePaths, deleteBranch: boolean): Promise<RemovedFromRepository> {
  const removed = { worktree: false, branch: false };
  const repo = repository !== undefined && (await isRepository(repository));
  const branch = taskBranch(taskId);
  if (repo) {
    // A task prepared by an earlier release has a worktree of the repository: unregistered here.
    await git(repository, ['worktree', 'prune']);
    const worktree = await worktreeWithBranch(repository, branch);
    if (worktree !== undefined) {
      await git(repository, ['worktree', 'remove', '--force', '--end-of-options', worktree]);
      removed.worktree = true;
    }
  }
  if (existsSync(clone)) {
    rmSync(clone, { recursive: true, force: true });
    removed.worktree = true;
  }
  for (const file of [bundle, `${bundle}.partial`, `${clone}.partial`]) rmSync(file, { recursive: true, force: true });
  if (repo) {
    await forgetTaskClone(repository, branch);
    if (deleteBranch && (await revParse(repository, `refs/heads/${branch}`)) !== undefined) {
      await git(repository, ['branch', '-D', '--end-of-options', branch]);
      removed.branch = true;
    }
  }
  rmSync(record, { force: true });
  return removed;
}
