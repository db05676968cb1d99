// The one place that says which activity failures are worth retrying. Infrastructure faults
// (git or tmux failing, a server unreachable) are plain errors: Temporal retries them and they
// spend no task attempt. Failures no retry can fix are non-retryable ApplicationFailures whose
// `type` the workflow branches on.
import { ApplicationFailure } from '@temporalio/common';

export const FailureType = {
  /** The input can never work (bad repository path, unknown agent, invalid policy file). */
  InvalidInput: 'InvalidInput',
  /** The PR head moved since it was verified: merging now would merge unverified code. */
  HeadMoved: 'HeadMoved',
  /** The base branch cannot be advanced safely (e.g. checked out with local changes). */
  BaseNotUpdatable: 'BaseNotUpdatable',
  /** The PR no longer merges cleanly into the base (it moved since the last sync): sync, verify, approve again. */
  MergeConflict: 'MergeConflict',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export function nonRetryable(type: FailureType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details === undefined ? undefined : [details] });
}
