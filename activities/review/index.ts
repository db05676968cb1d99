// Step 6: multi-model review. Every configured reviewer reads the same diff, in parallel; each
// result is validated on its own, so one broken reviewer never hides the others' findings. Each
// reviewer holds one of the host's heavy-work slots while it runs (a CLI reviewer is a model
// session plus the CLI's own process tree).
import { asyncLocalStorage } from '@temporalio/activity';
import type { ReviewerResult, ReviewerSpec, ReviewVerdict } from '../../workflows/task/types.ts';
import type { PriceTable } from '../agents/adapters/cost.ts';
import type { HeavySlots } from '../host/capacity.ts';
import { RATE_LIMIT_POLICY, runCliReviewer, type RateLimitPolicy } from './cli-reviewer.ts';
import type { CiResultForReview } from './prompt.ts';
import { runReviewer } from './run-reviewer.ts';
import type { SandboxSettings } from '../agents/sandboxed.ts';

export interface RunReviewersInput {
  taskId: string;
  /** The PR head the diff was taken at: the verdict counts for this head only. */
  headSha: string;
  diff: string;
  reviewers: ReviewerSpec[];
  /** Where reviewers run: a clean checkout of the PR head (CLI reviewers read it, never write it). */
  cwd: string;
  /** The task's acceptance criteria, for CLI reviewers (none when absent). */
  acceptanceCriteria?: string[];
  /** The CI results at this head, for CLI reviewers. */
  ci?: CiResultForReview[];
}

export interface ReviewActivityDeps {
  /** The host's heavy-work slots (activities/host): one per running reviewer. */
  heavySlots: HeavySlots;
  /** USD per million tokens, for CLIs that report no cost. */
  prices?: PriceTable;
  rateLimit?: RateLimitPolicy;
  /** Reviewers run in the agents' sandbox, read-only (sandbox.ts). */
  sandbox: SandboxSettings;
}

export function createReviewActivities({ heavySlots, prices = {}, rateLimit = RATE_LIMIT_POLICY, sandbox }: ReviewActivityDeps) {
  return {
    runReviewers: async ({ headSha, diff, reviewers, cwd, acceptanceCriteria = [], ci = [] }: RunReviewersInput): Promise<ReviewVerdict> => {
      // Cancelled when the task is stopped (the keep-alive heartbeat delivers it): the reviewers are killed.
      const cancelSignal = asyncLocalStorage.getStore()?.cancellationSignal;
      const review = (r: ReviewerSpec): Promise<ReviewerResult> =>
        'command' in r ? runReviewer(r, diff, cwd, sandbox, cancelSignal) : runCliReviewer(r, { diff, acceptanceCriteria, ci }, { cwd, prices, rateLimit, sandbox, cancelSignal });
      const results = await Promise.all(
        reviewers.map(async (r) => {
          const release = await heavySlots.acquire();
          try {
            return await review(r);
          } finally {
            release();
          }
        }),
      );
      cancelSignal?.throwIfAborted();
      return { headSha, results };
    },
  };
}

export type ReviewActivities = ReturnType<typeof createReviewActivities>;
