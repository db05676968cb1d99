// What task ids have on this host, whoever put it there: for the reaper, which removes what
// belongs to closed task workflows (a task terminated in the Web UI runs no cleanup of its own).
// Only names are read: git runs in the repositories the records name and in our mirrors, never in
// an agent's clone, and nothing in a clone is opened.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskLeftovers } from '../../workflows/reaper/types.ts';
import { SafeAbsolutePath, Slug, taskBranch, taskSession } from '../../workflows/task/spec.ts';
import { git, isRepository } from '../git.ts';
import type { AgentPaths } from './paths.ts';
import type { Tmux } from './tmux.ts';
import { readWorkspaceRecord } from './workspace.ts';

const isSlug = (name: string) => Slug.safeParse(name).success;
/** The task id in a name made by `named` (taskSession, taskBranch), or undefined for any other name. */
const ownerOf = (named: (taskId: string) => string, name: string) => {
  const taskId = name.slice(named('').length);
  return isSlug(taskId) && named(taskId) === name ? taskId : undefined;
};
const defined = <T>(v: T | undefined): v is T => v !== undefined;
const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

/** `<id>`, `<id>.json`, `<id>.bundle` and their `.partial`s under `<state>/worktrees`: the task ids. */
const worktreeOwner = (name: string) => /^([^.]+)(?:\.json|\.bundle|\.bundle\.partial|\.partial)?$/.exec(name)?.[1];

/** Task ids of the sessions on our tmux server (none when it is not running). */
async function sessionOwners(tmux: Tmux): Promise<string[]> {
  const res = await tmux.run(['list-sessions', '-F', '#{session_name}']);
  if (res.absent) return [];
  return res.stdout
    .split('\n')
    .map((name) => ownerOf(taskSession, name))
    .filter(defined);
}

/** The repository each task's workspace record names (a record that cannot be read names none). */
function recordedCheckouts(paths: AgentPaths, taskIds: string[]): Map<string, string> {
  const checkouts = new Map<string, string>();
  for (const taskId of taskIds) {
    if (!existsSync(paths.workspaceRecord(taskId))) continue;
    try {
      checkouts.set(taskId, SafeAbsolutePath.parse(readWorkspaceRecord(paths.workspaceRecord(taskId)).checkout));
    } catch {
      continue; // its clone and files are still listed; only its branch cannot be found
    }
  }
  return checkouts;
}

/** Our bare mirrors of GitHub repositories: `<state>/repos/<owner>/<name>.git`. */
function mirrors(paths: AgentPaths): string[] {
  return entries(paths.mirrors).flatMap((owner) =>
    entries(join(paths.mirrors, owner))
      .filter((name) => name.endsWith('.git'))
      .map((name) => join(paths.mirrors, owner, name)),
  );
}

/** Task ids whose branch `swarm/<id>` the repository has. */
async function branchOwners(repository: string): Promise<string[]> {
  if (!(await isRepository(repository))) return [];
  const { stdout } = await git(repository, ['for-each-ref', '--format=%(refname:lstrip=2)', '--end-of-options', `refs/heads/${taskBranch('')}`]);
  return stdout
    .split('\n')
    .map((name) => ownerOf(taskBranch, name))
    .filter(defined);
}

/** Every task id with a clone, workspace files, a session, a task folder or a branch of record on this host, sorted. */
export async function listTaskLeftovers(paths: AgentPaths, tmux: Tmux): Promise<TaskLeftovers[]> {
  const found = new Map<string, TaskLeftovers>();
  const of = (taskId: string): TaskLeftovers => {
    if (!found.has(taskId)) found.set(taskId, { taskId, worktree: false, session: false, taskFiles: false, repositories: [] });
    return found.get(taskId)!;
  };
  for (const name of entries(paths.worktrees)) {
    const taskId = worktreeOwner(name);
    if (taskId && isSlug(taskId)) of(taskId).worktree = true;
  }
  for (const taskId of await sessionOwners(tmux)) of(taskId).session = true;
  for (const taskId of entries(paths.tasks).filter(isSlug)) of(taskId).taskFiles = true;
  const checkouts = recordedCheckouts(paths, [...found.keys()]);
  for (const [taskId, checkout] of checkouts) of(taskId).repositories.push(checkout);
  for (const repository of new Set([...checkouts.values(), ...mirrors(paths)])) {
    for (const taskId of await branchOwners(repository)) {
      const { repositories } = of(taskId);
      if (!repositories.includes(repository)) repositories.push(repository);
    }
  }
  return [...found.values()].sort((a, b) => a.taskId.localeCompare(b.taskId));
}
