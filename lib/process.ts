// Child processes of the stack: tied to our life, and stopped with a polite signal, a grace
// period, then SIGKILL. Nothing is left running.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { findOnPath } from '../scripts/tools.mjs';

/**
 * Spawns a server that must not outlive us, even when we are SIGKILLed (an OOM kill): Node cannot
 * set PR_SET_PDEATHSIG, so util-linux's `setpriv --pdeathsig` sets it and execs the command (same
 * pid). The kernel keeps it across the exec and sends `deathSignal` when our process ends.
 * Without setpriv (not Linux), the child is spawned as is.
 */
export function spawnTied(command: string, args: string[], deathSignal: NodeJS.Signals, options: SpawnOptions): ChildProcess {
  const setpriv = findOnPath('setpriv');
  if (!setpriv) return spawn(command, args, options);
  return spawn(setpriv, [`--pdeathsig=${deathSignal.replace(/^SIG/, '')}`, '--', command, ...args], options);
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** Signals a whole process group (a child spawned `detached`): whatever it started goes too. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export type GroupStop = 'timeout' | 'cancelled';

/**
 * Stops a detached child's process group when `timeoutMs` passes or `signal` aborts: SIGTERM, then
 * SIGKILL after `graceMs`. Call `finish()` once the child exited: it clears the timers, kills
 * whatever the child left running in its group, and says why the group was stopped, if it was.
 */
export function stopGroupOnTimeoutOrAbort(pid: number | undefined, { timeoutMs, graceMs, signal }: { timeoutMs: number; graceMs: number; signal?: AbortSignal }): { finish(): GroupStop | undefined } {
  let stopped: GroupStop | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = (why: GroupStop) => {
    if (pid === undefined || stopped) return;
    stopped = why;
    killGroup(pid, 'SIGTERM');
    graceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
  };
  const timeoutTimer = setTimeout(() => stop('timeout'), timeoutMs);
  const onAbort = () => stop('cancelled');
  signal?.addEventListener('abort', onAbort);
  return {
    finish() {
      clearTimeout(timeoutTimer);
      clearTimeout(graceTimer);
      signal?.removeEventListener('abort', onAbort);
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
      return stopped;
    },
  };
}

/** Keeps the last lines a child wrote, for the error message when it dies at start. */
export function tail(lines = 20): { push(chunk: Buffer | string): void; text(): string } {
  const kept: string[] = [];
  return {
    push(chunk) {
      kept.push(...chunk.toString().split('\n').filter(Boolean));
      kept.splice(0, Math.max(0, kept.length - lines));
    },
    text: () => kept.join('\n'),
  };
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
