// What the reaper finds on a host and what it reports. Shared by the workflow, the host
// activities and the client.
import type { CleanupResult } from '../../activities/agents/index.ts';
import type { TaskPr } from '../../activities/closed-task.ts';

export interface ReaperInput {
  /** The host whose disk and tmux server are reaped (its task queue). */
  hostQueue: string;
  /** A task closed less than this long ago is left alone: it may still be running its own cleanup. */
  graceMs: number;
}

/** What a task id has on this host. */
export interface TaskLeftovers {
  taskId: string;
  /** Its clone, or the clone's record, bundle or partial files, under `<state>/worktrees`. */
  worktree: boolean;
  /** Its tmux session `swarm-<id>` on our tmux server. */
  session: boolean;
  /** Its folder under `<state>/tasks` (agent home, prompts, logs). */
  taskFiles: boolean;
  /** The repositories that hold its branch `swarm/<id>`, or that its workspace record names. */
  repositories: string[];
}

/** What the reaper removed of one task. */
/** What the reaper removed of one task: its cleanup's result, and how its workflow had closed. */
export interface ReapedTask extends CleanupResult {
  taskId: string;
  /** How the task's workflow closed: TERMINATED, TIMED_OUT, CANCELLED, FAILED, COMPLETED. */
  workflowStatus: string;
  closedAt: string;
  /** The PR of a task terminated or timed out before its cleanup: closed, or why not. */
  pr?: { number: number; closed: true } | { number: number; closed: false; error: string };
}

/** A task whose leftovers stay, and why. */
export interface KeptTask {
  taskId: string;
  reason: string;
}

export type ReapOutcome = { removed: ReapedTask; openPr?: TaskPr } | { kept: KeptTask };

export interface ReapReport {
  hostQueue: string;
  /** When the reaper looked (workflow time). */
  at: string;
  removed: ReapedTask[];
  kept: KeptTask[];
}
