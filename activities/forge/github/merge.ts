// Checking and merging a PR. mergePr merges with the `sha` guard, its 405/409/422 told apart (a 405
// after settling mergeability: conflict, behind, or what is still required), and deletes the
// branch afterwards.
import { FailureType, nonRetryable } from '../../errors.ts';
import { isHttpError, redact } from './errors.ts';
import { PrRef, Sha, parseInput, splitRepository as split } from './inputs.ts';
import { mergeabilityOf, settledPr, type GitHubMergeability, type ReviewReader } from './mergeability.ts';
import { deleteBranch, prCtx, readPr } from './pulls.ts';
import type { GitHubContext } from './context.ts';

export function mergeActivities(gh: GitHubContext, reviews: ReviewReader) {
  return {
    async checkMergeable(input: { repository: string; number: number }): Promise<GitHubMergeability> {
      const { repository, number } = parseInput(PrRef, input, 'checkMergeable');
      const pr = await settledPr(gh, repository, number);
      if (pr.state !== 'open') throw nonRetryable(FailureType.InvalidInput, `PR #${number} of ${repository} is ${pr.merged ? 'merged' : 'closed'}: no mergeability to check`);
      return mergeabilityOf(gh, reviews, repository, pr);
    },

    async mergePr(input: { repository: string; number: number; expectedHeadSha: string }): Promise<{ mergeSha: string; alreadyMerged: boolean }> {
      const { repository, number, expectedHeadSha } = parseInput(PrRef.extend({ expectedHeadSha: Sha }), input, 'mergePr');
      const { owner, repo } = split(repository);
      const pr = await readPr(gh, repository, number);
      if (pr.merged || pr.merged_at) {
        await deleteBranch(gh, repository, pr.head.ref);
        return { mergeSha: pr.merge_commit_sha!, alreadyMerged: true };
      }
      if (pr.state !== 'open') throw nonRetryable(FailureType.InvalidInput, `PR #${number} of ${repository} is closed`);
      if (pr.head.sha !== expectedHeadSha) {
        throw nonRetryable(FailureType.HeadMoved, `PR #${number} head is ${pr.head.sha}, not the verified ${expectedHeadSha}: merging now would merge unverified code`, {
          expectedHeadSha,
          headSha: pr.head.sha,
        });
      }
      let mergeSha: string;
      try {
        const { data } = await gh.octokit.rest.pulls.merge({ owner, repo, pull_number: number, sha: expectedHeadSha, merge_method: 'merge' });
        mergeSha = data.sha;
      } catch (err) {
        if (!isHttpError(err)) throw gh.failure(err, prCtx(repository, number, 'merging', 'Contents: write'));
        const said = redact(((err.response?.data as { message?: string } | undefined)?.message ?? err.message).slice(0, 300), gh.secrets);
        if (err.status === 409) {
          throw nonRetryable(FailureType.HeadMoved, `PR #${number} of ${repository}: GitHub refused the merge because the head is no longer ${expectedHeadSha} (409: ${said})`, {
            expectedHeadSha,
          });
        }
        if (err.status === 405) {
          // Why, from the PR once its mergeability is computed (`null` for the first reads is normal).
          const now = await settledPr(gh, repository, number);
          if (now.merged) return { mergeSha: now.merge_commit_sha!, alreadyMerged: true };
          if (now.mergeable === false || now.mergeable_state === 'dirty') {
            throw nonRetryable(FailureType.MergeConflict, `PR #${number} of ${repository} no longer merges cleanly into ${now.base.ref} (405: ${said})`, { conflicts: [] });
          }
          if (now.mergeable_state === 'behind') {
            throw nonRetryable(FailureType.BehindBase, `PR #${number} of ${repository} is behind ${now.base.ref}, and GitHub requires it up to date (405: ${said})`, { mergeableState: 'behind' });
          }
          const m = await mergeabilityOf(gh, reviews, repository, now);
          const still = m.blockedBy?.length ? `: GitHub still requires ${m.blockedBy.join('; ')}` : '';
          throw nonRetryable(FailureType.NotMergeable, `GitHub will not merge PR #${number} of ${repository} (405: ${said}; mergeable_state "${now.mergeable_state ?? 'unknown'}")${still}`, {
            mergeableState: now.mergeable_state,
            blockedBy: m.blockedBy ?? [],
          });
        }
        if (err.status === 422) throw nonRetryable(FailureType.NotMergeable, `GitHub refused the merge of PR #${number} of ${repository} as invalid (422: ${said})`);
        throw gh.failure(err, prCtx(repository, number, 'merging', 'Contents: write'));
      }
      await deleteBranch(gh, repository, pr.head.ref);
      return { mergeSha, alreadyMerged: false };
    },
  };
}
