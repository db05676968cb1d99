// The merge authority of one task: who may decide, by which proof, for which head (see
// workflows/policy/approval.ts). Decisions are checked here by the message handlers and the
// human gate (GitHub reviews), and every refusal goes into the task's notes, its history.
import { approverIdentities, decisionProblem, githubApprovals, type DecisionAuthority, type DecisionClaimed } from '../policy/approval.ts';
import type { TaskContext } from './context.ts';
import type { HumanReviews } from './types.ts';

/** The task's authority now; undefined for a task set up before decisions were proven (names only). */
export function decisionAuthority({ state, spec }: TaskContext): DecisionAuthority | undefined {
  const rules = state.setup?.decisions;
  if (!rules) return undefined;
  return {
    taskId: spec.id,
    headSha: state.checks.pr?.headSha ?? '',
    approvers: approverIdentities(state.setup!.approvers),
    orchestratorPublicKey: rules.orchestratorPublicKey,
    requestedBy: spec.requestedBy,
    requesterMayApprove: rules.requesterMayApprove,
    nowMs: Date.now(),
    maxClockSkewMs: rules.maxClockSkewMs,
  };
}

/** Why a decision message does not prove its sender, or undefined (always undefined for a names-only task). */
export function proofProblem(ctx: TaskContext, d: DecisionClaimed): string | undefined {
  const authority = decisionAuthority(ctx);
  return authority ? decisionProblem(d, authority) : undefined;
}

/**
 * An approval GitHub authenticated, taken as the task's decision: the first APPROVED review at the
 * head by an approver's login. Refused ones (not listed, the requester alone) are noted once each.
 */
export function takeGitHubApproval(ctx: TaskContext, reviews: HumanReviews): boolean {
  const { state } = ctx;
  const authority = decisionAuthority(ctx);
  if (!authority || state.decision) return false;
  const { approvals, refused } = githubApprovals(reviews, authority);
  for (const r of refused) {
    const key = `${r.login}@${authority.headSha}`;
    if (state.refusedReviews?.includes(key)) continue;
    (state.refusedReviews ??= []).push(key);
    ctx.note(`GitHub approval by ${r.login} refused: ${r.reason}`);
  }
  const approval = approvals[0];
  if (!approval) return false;
  state.decision = { decision: 'approve', by: approval.approver.name, at: ctx.now(), channel: 'github', headSha: authority.headSha, review: { login: approval.login, id: approval.reviewId } };
  ctx.note(`approved by ${approval.approver.name}: GitHub review by ${approval.login} at ${authority.headSha.slice(0, 12)}`);
  ctx.publish();
  return true;
}
