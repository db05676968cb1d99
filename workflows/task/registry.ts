// The runbook's task registry view (`active-tasks.json`), computed from a task's state: active
// tasks in the registry shape, finished ones with the terminal contract. Pure: the workflow keeps
// each task's entry in its memo, so `swarm tasks` lists the registry from visibility alone.
import type { TaskState } from './state.ts';
import { TERMINAL_STATUSES } from './types.ts';

export interface ActiveTaskEntry {
  id: string;
  tmuxSession: string | null;
  agent: string | null;
  description: string;
  repo: string;
  worktree: string | null;
  branch: string | null;
  startedAt: number;
  status: TaskState['status'];
  step: TaskState['step'];
  notifyOnComplete: boolean;
  attempts: number;
}

export interface FinishedTaskEntry {
  id: string;
  /** `terminated`, `timed_out`: Temporal ended the workflow and no task code ran (the reaper cleans up after it). */
  status: 'done' | 'rejected' | 'aborted' | 'failed' | 'terminated' | 'timed_out';
  pr: number | null;
  completedAt: number | null;
  checks: Record<string, boolean>;
  note: string;
}

const reviewKey = (name: string) => `${name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())}ReviewPassed`;

export type RegistryEntry = ActiveTaskEntry | FinishedTaskEntry;

/** Every status a registry entry can have: an active task's, or a finished one's terminal contract. */
export const REGISTRY_STATUSES = ['running', 'awaiting_approval', 'needs_human', 'done', 'rejected', 'aborted', 'failed', 'terminated', 'timed_out'] as const;
export type RegistryStatus = (typeof REGISTRY_STATUSES)[number];

export function registryEntry(state: TaskState): RegistryEntry {
  if (!TERMINAL_STATUSES.includes(state.status)) {
    return {
      id: state.spec.id,
      tmuxSession: state.session?.session ?? null,
      agent: state.setup?.agent.name ?? null,
      description: state.spec.title,
      repo: state.spec.repository,
      worktree: state.workspace?.worktree ?? null,
      branch: state.workspace?.branch ?? null,
      startedAt: Date.parse(state.startedAt),
      status: state.status,
      step: state.step,
      notifyOnComplete: state.spec.notifyOnComplete,
      attempts: state.attempts.length,
    };
  }
  const { pr, ci, review } = state.checks;
  const checks: Record<string, boolean> = { prCreated: !!pr, ciPassed: ci?.status === 'passed' || (ci?.status === 'no_checks' && state.setup?.policy.ci.length === 0) };
  for (const r of review?.results ?? []) checks[reviewKey(r.reviewer)] = r.status === 'ok' && !r.findings.some((f) => f.severity === 'critical');
  return {
    id: state.spec.id,
    status: state.status === 'merged' ? 'done' : state.status === 'rejected' || state.status === 'aborted' ? state.status : 'failed',
    pr: pr?.number ?? null,
    completedAt: state.completedAt ? Date.parse(state.completedAt) : null,
    checks,
    note: state.outcome?.summary ?? state.notes.at(-1)?.replace(/^\S+ /, '') ?? '',
  };
}
