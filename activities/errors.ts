// The one place that says which activity failures are worth retrying. Infrastructure faults
// (git or tmux failing, a server unreachable) are plain errors: Temporal retries them and they
// spend no task attempt. Failures no retry can fix are non-retryable ApplicationFailures whose
// `type` the workflow branches on.
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';

export const FailureType = {
  /** The input can never work (bad repository path, unknown agent, invalid policy file). */
  InvalidInput: 'InvalidInput',
  /** The agent cannot start on this host until an operator fixes it (its API key, its binary, its model). */
  AgentMisconfigured: 'AgentMisconfigured',
  /** A program a gate needs is not installed on this host (Chromium for screenshots): the message says how to install it. */
  HostToolMissing: 'HostToolMissing',
  /** The PR head moved since it was verified: merging now would merge unverified code. */
  HeadMoved: 'HeadMoved',
  /** The base branch cannot be advanced safely (e.g. checked out with local changes). */
  BaseNotUpdatable: 'BaseNotUpdatable',
  /** The PR no longer merges cleanly into the base (it moved since the last sync): sync, verify, approve again. */
  MergeConflict: 'MergeConflict',
  /** The base moved and the forge requires the branch to be up to date before a merge: update it, verify again, approve again. */
  BehindBase: 'BehindBase',
  /** The forge refuses the merge for a reason other than a conflict or a moved head (blocked by rules, a draft, a 422). */
  NotMergeable: 'NotMergeable',
  /** The forge reported a state swarmflow does not know (an unrecognised mergeable_state): reported, never guessed. */
  UnrecognisedForgeState: 'UnrecognisedForgeState',
  /** More than one open PR answers for the task's branch: swarmflow will not pick one. */
  AmbiguousPullRequest: 'AmbiguousPullRequest',
  /** The forge rejected the credentials (401). */
  ForgeUnauthorized: 'ForgeUnauthorized',
  /** The credentials lack a permission the call needs (403 that is not a rate limit). */
  ForgeForbidden: 'ForgeForbidden',
  /** The repository, PR or ref does not exist, or the credentials cannot see it (404). */
  ForgeNotFound: 'ForgeNotFound',
  /** The forge's task branch has commits from elsewhere and the worktree has commits the forge lacks: the agent merges them. */
  BranchDiverged: 'BranchDiverged',
  /** The remote refused the push (not a fast-forward, protected branch). */
  PushRejected: 'PushRejected',
  /** Retryable: the forge rate-limited us (429, or 403 secondary limit); retried after Retry-After. */
  ForgeRateLimited: 'ForgeRateLimited',
  /** Retryable: the forge failed (5xx) or could not be reached. */
  ForgeUnavailable: 'ForgeUnavailable',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export function nonRetryable(type: FailureType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details === undefined ? undefined : [details] });
}

/** An activity's input, validated: bad input can never work, so it is InvalidInput naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
  throw nonRetryable(FailureType.InvalidInput, `invalid ${what} input: ${problems.join('; ')}`, { problems });
}

// Errors that say the store cannot be reached (not that it refused what we sent): node's socket
// errors, Postgres's connection-exception class (08xxx) and its shutdown codes, and pg's own
// messages for a connection lost or never made.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03']);
const UNREACHABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i;

/** Whether `err` (or a cause, or one of an AggregateError's errors) says Postgres is unreachable. */
export function isStoreUnreachable(err: unknown, depth = 0): boolean {
  // Duck-typed, not instanceof: node's socket errors come from another realm than a sandbox's (Jest's VM modules).
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const { code, message, errors, cause } = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  if (typeof message === 'string' && UNREACHABLE_MESSAGES.test(message)) return true;
  if (Array.isArray(errors) && errors.some((e) => isStoreUnreachable(e, depth + 1))) return true;
  return isStoreUnreachable(cause, depth + 1);
}
