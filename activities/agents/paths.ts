// Where the host keeps each task's files under the state folder. Task ids are slugs and attempts
// integers, so no part of these paths comes from free text.
import { join } from 'node:path';

export interface AttemptFiles {
  dir: string;
  promptFile: string;
  wrapper: string;
  logFile: string;
  exitFile: string;
}

export function agentPaths(stateDir: string) {
  const taskDir = (taskId: string) => join(stateDir, 'tasks', taskId);
  return {
    socket: join(stateDir, 'tmux.sock'),
    worktree: (taskId: string) => join(stateDir, 'worktrees', taskId),
    taskDir,
    /** HOME for the agent: shared by the task's attempts, never the worker's own. */
    home: (taskId: string) => join(taskDir(taskId), 'home'),
    attempt(taskId: string, attempt: number): AttemptFiles {
      const dir = join(taskDir(taskId), `attempt-${attempt}`);
      return {
        dir,
        promptFile: join(dir, 'prompt.md'),
        wrapper: join(dir, 'run.sh'),
        logFile: join(dir, 'agent.log'),
        exitFile: join(dir, 'exit-code'),
      };
    },
  };
}

export type AgentPaths = ReturnType<typeof agentPaths>;
