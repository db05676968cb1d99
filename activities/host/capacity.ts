// This host's ceiling: whether one more agent may start (agent count, free memory), and the slots
// that keep CPU-bound validation (CI runs, bootstrap installs) from running all at once.
import { readFileSync } from 'node:fs';
import { asyncLocalStorage } from '@temporalio/activity';
import { taskSession } from '../../workflows/task/spec.ts';
import { beat } from '../activity-context.ts';
import type { Tmux } from '../agents/tmux.ts';

/** Every agent session is `taskSession(id)`: this prefix is what they share. */
const AGENT_SESSION_PREFIX = taskSession('');

/** The agent sessions on our tmux server (none when the server is not running). */
export async function liveAgentSessions(tmux: Tmux): Promise<string[]> {
  const res = await tmux.run(['list-sessions', '-F', '#{session_name}']);
  if (res.absent) return [];
  return res.stdout.split('\n').filter((name) => name.startsWith(AGENT_SESSION_PREFIX));
}

/** MemAvailable: what the kernel estimates can be allocated without swapping (page cache counts as free). */
export function memAvailableMb(meminfo = readFileSync('/proc/meminfo', 'utf8')): number {
  const match = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo);
  if (!match) throw new Error('/proc/meminfo has no MemAvailable line (Linux 3.14 or newer is needed)');
  return Math.floor(Number(match[1]) / 1024);
}

export interface SpawnGateOptions {
  tmux: Tmux;
  maxAgents: number;
  minFreeMemoryMb: number;
  /** How long a passing check holds its slot for a spawn that has not shown its session yet. */
  reservationMs?: number;
  readMemAvailableMb?: () => number;
}

export type SpawnCapacity =
  | { ok: true; liveAgents: number; freeMemoryMb: number }
  | { ok: false; reason: 'agent_cap' | 'low_memory'; detail: string; liveAgents: number; freeMemoryMb: number };

/**
 * Whether one more agent may start on this host; when not, why (the caller holds the spawn and
 * asks again). Checks run one at a time in this worker, and a passing check reserves its slot until
 * the task's session is up: checks that ran together would otherwise all count the same sessions
 * and all pass (a burst of 8 tasks ran 8 agents under a cap of 3 before this). A reservation whose
 * spawn never came lapses after `reservationMs`.
 */
export function spawnGate({ tmux, maxAgents, minFreeMemoryMb, reservationMs = 120_000, readMemAvailableMb = memAvailableMb }: SpawnGateOptions) {
  const reservations = new Map<string, number>();
  let previous: Promise<unknown> = Promise.resolve();

  async function check(session: string): Promise<SpawnCapacity> {
    const live = await liveAgentSessions(tmux);
    const now = Date.now();
    // A session that showed up now counts as live; one that lapsed never spawned.
    for (const [reserved, until] of reservations) if (until <= now || live.includes(reserved)) reservations.delete(reserved);
    // The task's own session (a respawn replaces it) and its own reservation take no slot.
    const others = new Set([...live, ...reservations.keys()]);
    others.delete(session);
    const liveAgents = others.size;
    const freeMemoryMb = readMemAvailableMb();
    if (liveAgents >= maxAgents) {
      return { ok: false, reason: 'agent_cap', detail: `${liveAgents} agent(s) already run or are starting on this host (maxAgents ${maxAgents})`, liveAgents, freeMemoryMb };
    }
    if (freeMemoryMb < minFreeMemoryMb) {
      return { ok: false, reason: 'low_memory', detail: `${freeMemoryMb} MB of memory available, below minFreeMemoryMb ${minFreeMemoryMb}`, liveAgents, freeMemoryMb };
    }
    reservations.set(session, now + reservationMs);
    return { ok: true, liveAgents, freeMemoryMb };
  }

  return {
    /** The verdict for the task whose agent session is `session`. */
    check(session: string): Promise<SpawnCapacity> {
      const verdict = previous.then(() => check(session));
      previous = verdict.catch(() => undefined);
      return verdict;
    },
  };
}

export type Release = () => void;

export interface HeavySlots {
  /**
   * Takes a slot, waiting for one if all are taken. Inside an activity the wait heartbeats and
   * rejects with the activity's CancelledFailure when it is cancelled. Call the release once done.
   */
  acquire(): Promise<Release>;
}

/** A counting semaphore with `n` slots, handed out first come, first served. */
export function heavySlots(n: number, heartbeatMs = 10_000): HeavySlots {
  let free = n;
  const waiting: Array<() => void> = [];

  const releaser = (): Release => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot goes straight to the next waiter, so a newcomer cannot overtake the queue.
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    };
  };

  return {
    async acquire() {
      // Absent when called outside an activity (tests, scripts).
      const cancellation = asyncLocalStorage.getStore()?.cancellationSignal;
      cancellation?.throwIfAborted();
      if (free > 0) {
        free -= 1;
        return releaser();
      }
      await new Promise<void>((resolve, reject) => {
        // A long queue must not look like a dead worker to the heartbeat timeout.
        const heartbeat = setInterval(() => beat({ waitingFor: 'a heavy validation slot' }), heartbeatMs);
        const done = () => {
          clearInterval(heartbeat);
          cancellation?.removeEventListener('abort', onAbort);
        };
        const grant = () => {
          done();
          resolve();
        };
        const onAbort = () => {
          waiting.splice(waiting.indexOf(grant), 1);
          done();
          // The activity's CancelledFailure: Temporal aborts the signal with it.
          reject(cancellation!.reason as Error);
        };
        waiting.push(grant);
        cancellation?.addEventListener('abort', onAbort);
        beat({ waitingFor: 'a heavy validation slot' });
      });
      return releaser();
    },
  };
}
