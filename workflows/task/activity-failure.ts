// What a failed activity says, read the same way by every step.
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

/** The `type` of the ApplicationFailure behind an activity failure, if any. */
export function failureType(err: unknown): string | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.type ?? undefined : undefined;
}

/** The message of the failure behind an activity failure, if any. */
export function causeMessage(err: unknown): string | undefined {
  return (err as ActivityFailure).cause?.message;
}

/** The host's worker never picked the step up (see HOST_UNANSWERED_TIMEOUT). */
export const hostUnanswered = (err: unknown) => err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
