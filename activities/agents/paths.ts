// Where the host keeps each task's files under the state folder. Task ids are slugs and attempts
// integers, so no part of these paths comes from free text.
import { join } from 'node:path';

export interface AttemptFiles {
  dir: string;
  promptFile: string;
  wrapper: string;
  /** The agent's environment, its API key among it: removed by the wrapper as the agent starts. */
  envFile: string;
  logFile: string;
  exitFile: string;
  /** CLI agents: which adapter ran it (agent.json), the runner's plan, the CLI's JSON events, the redirect inbox. */
  agentFile: string;
  planFile: string;
  eventsFile: string;
  inbox: string;
}

/** What tells one run of an attempt from another: `3` for attempt 3's first run, `3.2` for its second. */
export const spawnKey = (attempt: number, run = 1) => (run === 1 ? String(attempt) : `${attempt}.${run}`);

/** Run 1 keeps the `attempt-<n>` folder; a respawn of the same attempt gets `attempt-<n>-run-<k>` (live and kept alike). */
export const attemptDirName = (attempt: number, run = 1) => (run === 1 ? `attempt-${attempt}` : `attempt-${attempt}-run-${run}`);

export function agentPaths(stateDir: string) {
  const worktrees = join(stateDir, 'worktrees');
  const tasks = join(stateDir, 'tasks');
  const taskDir = (taskId: string) => join(tasks, taskId);
  return {
    stateDir,
    socket: join(stateDir, 'tmux.sock'),
    /** The host's bare mirrors of GitHub repositories (`<owner>/<name>.git`), which hold their tasks' branches of record. */
    mirrors: join(stateDir, 'repos'),
    /** The task clones and, beside each, its record and origin bundle. */
    worktrees,
    /** The per-task folders. */
    tasks,
    /** The agent's clone (the workflow's `worktree`), the agent's to ruin. */
    worktree: (taskId: string) => join(worktrees, taskId),
    /** Beside the clone, never in it: which repository holds the task's branch of record. */
    workspaceRecord: (taskId: string) => join(worktrees, `${taskId}.json`),
    /** The clone's `origin`: a bundle of the base and the task branch, rewritten before every spawn. */
    originBundle: (taskId: string) => join(worktrees, `${taskId}.bundle`),
    taskDir,
    /** HOME for the agent: shared by the task's attempts, never the worker's own. */
    home: (taskId: string) => join(taskDir(taskId), 'home'),
    /** Each start's kept logs, `<runKey>/attempt-<n>/…gz`, which outlive the task until the retention ends. */
    keptLogs: (taskId: string) => join(stateDir, 'logs', taskId),
    attempt(taskId: string, attempt: number, run = 1): AttemptFiles {
      const dir = join(taskDir(taskId), attemptDirName(attempt, run));
      return {
        dir,
        promptFile: join(dir, 'prompt.md'),
        wrapper: join(dir, 'run.sh'),
        envFile: join(dir, 'agent.env'),
        logFile: join(dir, 'agent.log'),
        exitFile: join(dir, 'exit-code'),
        agentFile: join(dir, 'agent.json'),
        planFile: join(dir, 'plan.json'),
        eventsFile: join(dir, 'events.jsonl'),
        inbox: join(dir, 'inbox'),
      };
    },
  };
}

export type AgentPaths = ReturnType<typeof agentPaths>;
