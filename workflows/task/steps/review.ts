// Step 6, review by other models: every configured reviewer reads the PR's diff; the verdict is
// recorded and posted to the PR. A critical finding, or a human's request for changes at this
// head, goes back to the agent; a reviewer that failed goes to a human.
import { patched } from '@temporalio/workflow';
import { classifyFailure } from '../../policy/classify.ts';
import { blockingFindings, nextRound, roundsExhausted } from '../../policy/review-rounds.ts';
import type { TaskContext } from '../context.ts';
import { OBJECTIVE_EVIDENCE_PATCH } from '../patches.ts';
import type { ClassifiedFailure, HumanReviews, NeedsHuman, PullRequest, ReviewVerdict } from '../types.ts';
import { awaitCi, ciFailure } from './gates.ts';

/** Human reviews on the forge that ask for changes at the PR's current head. */
export const changesRequestedAtHead = (h: HumanReviews) => h.reviews.filter((r) => r.state === 'CHANGES_REQUESTED' && r.atHead);

/** The failure to hand back to the agent, what a human must look at, or nothing; undefined also when stopped while CI ran. */
export async function review(ctx: TaskContext, pr: PullRequest): Promise<ClassifiedFailure | NeedsHuman | undefined> {
  const { state, spec } = ctx;
  const h = ctx.host();
  ctx.enter('review');
  const evidence = patched(OBJECTIVE_EVIDENCE_PATCH);
  let verdict: ReviewVerdict;
  if (evidence) {
    // The reviewers read CI's results: a red CI goes back to the agent without spending them.
    const ci = await awaitCi(ctx, pr);
    if (!ci) return undefined;
    if (ci.status === 'failed') return ciFailure(ci);
    const { diff } = await h.quick.diff({ repository: spec.repository, number: pr.number });
    verdict = await h.long.runReviewers.executeWithOptions(h.options(`review PR #${pr.number} at ${pr.headSha.slice(0, 12)}`, true), [
      {
        taskId: spec.id,
        headSha: pr.headSha,
        diff,
        reviewers: state.setup!.reviewers,
        checkout: state.checkout!,
        acceptanceCriteria: spec.acceptanceCriteria,
        ci: ci.checks.map((c) => ({ name: c.name, status: c.status, outputTail: c.outputTail })),
      },
    ]);
  } else {
    const { diff } = await h.quick.diff({ repository: spec.repository, number: pr.number });
    verdict = await h.long.runReviewers.executeWithOptions(h.options(`review PR #${pr.number}`, true), [
      { taskId: spec.id, headSha: pr.headSha, diff, reviewers: state.setup!.reviewers, cwd: state.workspace!.worktree },
    ]);
  }
  state.checks.review = verdict;
  await ctx.artifact({ key: `verification:review:${pr.headSha}`, kind: 'verification', step: 'review', payload: { ...verdict } });
  await h.quick.postReview({ repository: spec.repository, number: pr.number, headSha: pr.headSha, verdict });
  // Humans review on the forge too: a request for changes at this head goes back to the agent
  // like a finding (one on an older head was answered by the commits since).
  state.checks.humanReviews = await h.quick.humanReviews({ repository: spec.repository, number: pr.number, headSha: pr.headSha });
  const requested = changesRequestedAtHead(state.checks.humanReviews);
  if (requested.length > 0) {
    return classifyFailure({ source: 'review', summary: `changes requested by ${requested.map((r) => r.author).join(', ')}`, details: requested.map((r) => `${r.author}: ${r.body}`), files: [] });
  }
  if (evidence) {
    // Bounded rounds: only findings new or still present at this head count, and after
    // maxReviewRounds rounds with blocking findings a human decides.
    const block = state.setup!.policy.review?.block ?? ['critical'];
    state.reviewRounds = nextRound(state.reviewRounds, verdict, block);
    const blocking = blockingFindings(state.reviewRounds, block);
    if (blocking.length === 0) return failedReviewers(verdict);
    const limit = spec.limits.maxReviewRounds ?? 2;
    if (state.reviewRounds.blockingRounds >= limit) return { needsHuman: roundsExhausted(state.reviewRounds, block, limit), respawn: true };
    const details = blocking.map((f) => `${f.file}:${f.line} ${f.severity} (${f.reviewers.join(', ')}): ${f.message}`);
    return classifyFailure({ source: 'review', summary: `${blocking.length} blocking review finding(s)`, details, files: [...new Set(blocking.map((f) => f.file))] });
  }
  const critical = verdict.results.flatMap((r) => r.findings.filter((f) => f.severity === 'critical'));
  if (critical.length > 0) {
    return classifyFailure({ source: 'review', summary: `${critical.length} critical review finding(s)`, details: critical.map((f) => `${f.file}:${f.line} ${f.message}`), files: critical.map((f) => f.file) });
  }
  return failedReviewers(verdict);
}

/** A reviewer that failed (no reply, a malformed one, rate limits that never ended) is a human's to look at. */
function failedReviewers(verdict: ReviewVerdict): NeedsHuman | undefined {
  const failed = verdict.results.filter((r) => r.status === 'failed');
  return failed.length > 0 ? { needsHuman: `reviewer(s) failed: ${failed.map((r) => `${r.reviewer}: ${r.error}`).join('; ')}` } : undefined;
}
