// What an agent leaves running after its session is gone: a dev server it started, a CLI's
// background daemon (Codex's app-server detaches into its own session). Every process an agent
// starts inherits SWARM_TASK_ID from the allow-listed environment, so the task's processes are
// found by that variable, wherever they re-parented.
import { readFileSync, readdirSync } from 'node:fs';

/** /proc/<pid>/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses. Throws once the process is gone. */
function statOf(pid: number): { comm: string; state: string; ppid: number; pgrp: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const [state = '', ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), state, ppid: Number(ppid), pgrp: Number(pgrp) };
}

/** Its process group, or undefined for a zombie (its environment is gone; nothing to kill). */
function processGroup(pid: number): number | undefined {
  const { state, pgrp } = statOf(pid);
  return state === 'Z' ? undefined : pgrp;
}

/**
 * The process groups a session's kill must reach: each pane's (its process leads one), and the
 * group each sandbox below them leads (bwrap --new-session: a bwrap process of its own session).
 * Read before the kill, while the tree still stands. A group an agent made itself (a daemon that
 * called setsid) is not among them: that is what the agent left running.
 */
export function sessionGroups(panes: number[]): number[] {
  const children = new Map<number, number[]>();
  const sandboxLeaders = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const pid = Number(entry);
      const { comm, ppid, pgrp } = statOf(pid);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      if (comm === 'bwrap' && pgrp === pid) sandboxLeaders.add(pid);
    } catch {
      continue; // exited meanwhile
    }
  }
  const groups = new Set<number>(panes);
  const queue = [...panes];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    if (sandboxLeaders.has(pid)) groups.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...groups];
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
