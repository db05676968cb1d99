// Step 6: multi-model review. Every configured reviewer reads the same diff, in parallel; each
// result is validated on its own, so one broken reviewer never hides the others' findings.
import { asyncLocalStorage } from '@temporalio/activity';
import type { ReviewVerdict } from '../../workflows/task/types.ts';
import { runReviewer, type ReviewerCommand } from './run-reviewer.ts';

export interface RunReviewersInput {
  taskId: string;
  /** The PR head the diff was taken at: the verdict counts for this head only. */
  headSha: string;
  diff: string;
  reviewers: ReviewerCommand[];
  /** Where reviewers run (read-only use of a checkout). */
  cwd: string;
}

export function createReviewActivities() {
  return {
    runReviewers: async ({ headSha, diff, reviewers, cwd }: RunReviewersInput): Promise<ReviewVerdict> => {
      // Cancelled when the task is stopped (the keep-alive heartbeat delivers it): the reviewers are killed.
      const cancellation = asyncLocalStorage.getStore()?.cancellationSignal;
      const results = await Promise.all(reviewers.map((r) => runReviewer(r, diff, cwd, cancellation)));
      cancellation?.throwIfAborted();
      return { headSha, results };
    },
  };
}

export type ReviewActivities = ReturnType<typeof createReviewActivities>;
