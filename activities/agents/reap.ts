// What an agent leaves running after its session is gone: a dev server it started, a CLI's
// background daemon (Codex's app-server detaches into its own session). Every process an agent
// starts inherits SWARM_TASK_ID from the allow-listed environment, so the task's processes are
// found by that variable, wherever they re-parented.
import { readFileSync, readdirSync } from 'node:fs';

/** Pids whose environment carries exactly SWARM_TASK_ID=<taskId> (processes we may read). */
export function taskProcesses(taskId: string): number[] {
  const marker = `SWARM_TASK_ID=${taskId}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue; // exited meanwhile, or another user's
    }
    if (environ.split('\0').includes(marker)) found.push(Number(entry));
  }
  return found;
}

/** SIGKILLs the task's leftover processes; returns how many there were. */
export function reapTaskProcesses(taskId: string): number {
  const pids = taskProcesses(taskId);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return pids.length;
}
