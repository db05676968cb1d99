// What an agent leaves running after its session is gone: a dev server it started, a CLI's
// background daemon (Codex's app-server detaches into its own session). Every process an agent
// starts inherits SWARM_TASK_ID from the allow-listed environment, so the task's processes are
// found by that variable, wherever they re-parented.
import { readFileSync, readdirSync } from 'node:fs';

/** Its process group, or undefined for a zombie (its environment is gone; nothing to kill). */
function processGroup(pid: number): number | undefined {
  // /proc/<pid>/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return state === 'Z' ? undefined : Number(pgrp);
}

/**
 * The process groups of `roots` and of everything below them (a sandboxed agent leads a session
 * and group of its own, under its pane's): read before a kill, while the tree still stands.
 */
export function groupsBelow(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  const groups = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), Number(entry)]);
      groups.set(Number(entry), Number(pgrp));
    } catch {
      continue; // exited meanwhile
    }
  }
  const found = new Set<number>(roots);
  const queue = [...roots];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    const group = groups.get(pid);
    if (group !== undefined) found.add(group);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...found];
}

/** Live processes whose environment carries exactly SWARM_TASK_ID=<taskId> (processes we may read). */
export function taskProcesses(taskId: string): number[] {
  return taskProcessGroups(taskId).map(({ pid }) => pid);
}

function taskProcessGroups(taskId: string): Array<{ pid: number; group: number }> {
  const marker = `SWARM_TASK_ID=${taskId}`;
  const found: Array<{ pid: number; group: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(marker)) continue;
      const group = processGroup(Number(entry));
      if (group !== undefined) found.push({ pid: Number(entry), group });
    } catch {
      continue; // exited meanwhile, or another user's
    }
  }
  return found;
}

/**
 * SIGKILLs every process of the task; returns how many had left the session's process groups
 * (`sessionGroups`, already killed and maybe still dying): what the agent left running.
 */
export function reapTaskProcesses(taskId: string, sessionGroups: number[] = []): number {
  let leftovers = 0;
  for (const { pid, group } of taskProcessGroups(taskId)) {
    if (!sessionGroups.includes(group)) leftovers++;
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return leftovers;
}
