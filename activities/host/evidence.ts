// The evidence activities as the workflow calls them: reviewers and screenshots run in clean
// checkouts made here from the orchestrator's repository (the local repository, or the GitHub
// mirror), never in the agent's clone, and removed when they are done.
import { join } from 'node:path';
import { FailureType, nonRetryable } from '../errors.ts';
import { withCleanCheckout } from '../forge/clean-checkout.ts';
import { revParse } from '../git.ts';
import { createScreenshotActivities, type CaptureScreenshotsInput } from '../gates/screenshots/index.ts';
import type { ReviewActivities, RunReviewersInput } from '../review/index.ts';
import type { HeavySlots } from './capacity.ts';

/** What the task workflow passes to review: `checkout` is the orchestrator's repository holding the head; `cwd` is what tasks before it passed. */
export type ReviewAtHeadInput = Omit<RunReviewersInput, 'cwd'> & ({ cwd: string; checkout?: undefined } | { checkout: string; cwd?: undefined });

export type UiEvidenceInput = Omit<CaptureScreenshotsInput, 'base' | 'head' | 'baseSha'> & {
  /** The orchestrator's repository holding the base branch and the head. */
  checkout: string;
  /** The base branch: its tip is the "before". */
  base: string;
};

export function createEvidenceActivities({ stateDir, heavy, review }: { stateDir: string; heavy: HeavySlots; review: ReviewActivities }) {
  const screenshots = createScreenshotActivities({ stateDir });
  const checkoutDir = (taskId: string, sha: string, purpose: string) => join(stateDir, 'checkouts', taskId, `${sha}-${purpose}`);
  return {
    runReviewers: (input: ReviewAtHeadInput) => {
      if (input.checkout === undefined) return review.runReviewers(input);
      const { checkout, ...rest } = input;
      return withCleanCheckout({ repository: checkout, dir: checkoutDir(input.taskId, input.headSha, 'review'), sha: input.headSha }, (cwd) => review.runReviewers({ ...rest, cwd }));
    },
    // Two preview servers and a browser: heavy like a CI run, so it takes one of the same slots.
    captureScreenshots: async ({ checkout, base, ...input }: UiEvidenceInput) => {
      const baseSha = await revParse(checkout, `refs/heads/${base}`);
      if (!baseSha) throw nonRetryable(FailureType.InvalidInput, `base branch "${base}" does not exist in ${checkout}`);
      const release = await heavy.acquire();
      try {
        return await withCleanCheckout({ repository: checkout, dir: checkoutDir(input.taskId, baseSha, 'ui-base'), sha: baseSha }, (baseDir) =>
          withCleanCheckout({ repository: checkout, dir: checkoutDir(input.taskId, input.headSha, 'ui-head'), sha: input.headSha }, (headDir) =>
            screenshots.captureScreenshots({ ...input, baseSha, base: { cwd: baseDir }, head: { cwd: headDir } }),
          ),
        );
      } finally {
        release();
      }
    },
  };
}
