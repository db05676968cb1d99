// The task's message handlers: decisions, redirects, retries, aborts, forge events and the state
// query. Each refuses what cannot take effect (synchronously, in an update's validator, so the
// caller hears why and history keeps no trace), and tells the steps through the task context.
import { ApplicationFailure, condition, patched, setHandler } from '@temporalio/workflow';
import { approverIdentities } from '../policy/approval.ts';
import { proofProblem } from './authority.ts';
import type { TaskContext } from './context.ts';
import {
  abortInputProblem,
  abortSignal,
  abortUpdate,
  approveSignal,
  decideInputProblem,
  decideUpdate,
  forgeEventSignal,
  redirectProblem,
  redirectSignal,
  redirectUpdate,
  rejectSignal,
  retryInputProblem,
  retrySignal,
  retryUpdate,
  senderProblem,
  stateQuery,
  type AbortInput,
  type CommandResult,
  type DecideInput,
  type RedirectInput,
  type RetryInput,
} from './messages.ts';
import { DECIDE_ANSWERS_PATCH, OPERATOR_TEXT_PATCH, REDIRECT_TRUTH_PATCH } from './patches.ts';
import { deliver } from './redirects.ts';
import { taskBranch } from './spec.ts';

const MERGE_UNDER_WAY = 'the merge is already under way';

export function registerHandlers(ctx: TaskContext): void {
  const { state, spec } = ctx;
  const listed = (by: string) => approverIdentities(state.setup?.approvers ?? []).some((a) => a.name === by);
  const approvalStateProblem = (): string | undefined => {
    if (ctx.merging) return MERGE_UNDER_WAY;
    if (state.status !== 'awaiting_approval' || !state.dod?.readyForApproval) return 'the Definition of Done is not met yet';
    return undefined;
  };
  const approvalProblem = (by: string): string | undefined => approvalStateProblem() ?? (listed(by) ? undefined : `${by} is not on the approvers list`);
  const rejectionProblem = (by: string): string | undefined => (ctx.merging ? MERGE_UNDER_WAY : listed(by) ? undefined : `${by} is not on the approvers list`);
  /** Decisions must be proven (a task set up under SIGNED_DECISIONS_PATCH). */
  const proven = () => !!state.setup?.decisions;
  /** What refuses a decision of a proven-decisions task: the task's state, then the proof. */
  const provenProblem = (d: DecideInput) => (d.decision === 'approve' ? approvalStateProblem() : ctx.merging ? MERGE_UNDER_WAY : undefined) ?? proofProblem(ctx, d);
  const label = (d: DecideInput) => (d.decision === 'approve' ? 'approval' : 'rejection');
  /** A refusal is part of the record: who tried to decide, and why it did not count. */
  const refuse = (d: DecideInput, problem: string) => {
    ctx.note(`${label(d)} by ${d.by} refused: ${problem}`);
    ctx.publish();
  };
  /** A message whose text the task cannot carry is refused (see OPERATOR_TEXT_PATCH). */
  const badText = (problem: string | undefined) => (problem && patched(OPERATOR_TEXT_PATCH) ? problem : undefined);

  const decide = (d: DecideInput) => {
    const proof = d.signed ? { channel: d.signed.channel, headSha: d.signed.headSha, signed: d.signed } : {};
    state.decision = { decision: d.decision, by: d.by, comment: d.decision === 'approve' ? d.comment : d.reason, at: ctx.now(), ...proof };
    if (d.decision === 'reject') ctx.requestStop({ kind: 'rejected', by: d.by, reason: d.reason });
    const via = d.signed ? ` (${d.signed.channel === 'key' ? 'signed with their key' : `Telegram user ${d.signed.telegramUserId}`})` : '';
    ctx.note(`${d.decision === 'approve' ? 'approved' : 'rejected'} by ${d.by}${via}${state.decision.comment ? `: ${state.decision.comment}` : ''}`);
    ctx.publish();
  };
  const onDecisionSignal = (d: DecideInput) => {
    const problem = badText(decideInputProblem(d)) ?? (proven() ? provenProblem(d) : d.decision === 'approve' ? approvalProblem(d.by) : rejectionProblem(d.by));
    if (problem) refuse(d, problem);
    else decide(d);
  };
  setHandler(approveSignal, (a) => onDecisionSignal({ decision: 'approve', ...a }));
  setHandler(rejectSignal, (r) => onDecisionSignal({ decision: 'reject', ...r }));
  setHandler(
    decideUpdate,
    async (d) => {
      // Proven decisions are checked here rather than in the validator, so that a refusal (a forged
      // name, a bad signature, an old head) is in the task's history for whoever audits it.
      const problem = proven() ? provenProblem(d) : undefined;
      if (problem) {
        refuse(d, problem);
        throw ApplicationFailure.nonRetryable(`${label(d)} refused: ${problem}`, 'DecisionRefused');
      }
      decide(d);
      // Answer with what the decision did: merged (or rejected and cleaned up), or an approval the
      // task had to set aside (the head or base moved, the forge refused): then the decision is cleared.
      const decided = state.decision;
      if (patched(DECIDE_ANSWERS_PATCH)) await condition(() => state.step === 'done' || state.decision !== decided);
      return state;
    },
    {
      // Synchronous, so that text the task cannot carry is refused without a trace in history.
      validator: (d: DecideInput) => {
        const text = decideInputProblem(d);
        if (text) throw new Error(`${label(d)} refused: ${text}`);
        if (proven()) return;
        const problem = d.decision === 'approve' ? approvalProblem(d.by) : rejectionProblem(d.by);
        if (problem) throw new Error(`${label(d)} refused: ${problem}`);
      },
      description: 'Approve or reject the merge, signed by an approver for this task and head; refused (and recorded) while the Definition of Done is unmet, from a non-approver or without a valid proof.',
    },
  );

  setHandler(redirectSignal, (r) => {
    const problem = redirectProblem(r.message) ?? badText(senderProblem(r.by));
    if (problem && patched(REDIRECT_TRUTH_PATCH)) {
      ctx.note(`redirect${r.by ? ` from ${r.by}` : ''} refused: ${problem}`);
      return;
    }
    ctx.pendingRedirects.push(r);
    ctx.note(`redirect${r.by ? ` from ${r.by}` : ''} queued`);
  });
  setHandler(redirectUpdate, (r) => deliver(ctx, r), {
    // Synchronous: a refusal reaches the caller and leaves no trace in history.
    validator: (r: RedirectInput) => {
      const problem = redirectProblem(r.message) ?? senderProblem(r.by) ?? (ctx.ending() ? 'the task has ended or is stopping' : undefined);
      if (problem) throw new Error(`redirect refused: ${problem}`);
    },
    description: "Steer the agent; answers whether it has the message or it is queued (for its CLI's next turn, or the next run's prompt).",
  });

  const retryProblem = () => (state.status !== 'needs_human' ? 'the task is not waiting for a human' : undefined);
  const grantRetry = (r: RetryInput): CommandResult => {
    state.guidance = r.guidance;
    ctx.retried = true;
    ctx.note(`retry granted${r.by ? ` by ${r.by}` : ''} with guidance`);
    return { detail: `retry granted: the task goes on from ${state.step} with your guidance` };
  };
  setHandler(retrySignal, (r) => {
    const text = badText(retryInputProblem(r));
    if (text) ctx.note(`retry refused: ${text}`);
    else if (retryProblem()) ctx.note('retry ignored: the task is not waiting for a human');
    else grantRetry(r);
  });
  setHandler(retryUpdate, grantRetry, {
    validator: (r: RetryInput) => {
      const problem = retryInputProblem(r) ?? retryProblem();
      if (problem) throw new Error(`retry refused: ${problem}`);
    },
    description: 'One more attempt (or one more try at the blocked step) for a task that needs a human, with guidance.',
  });

  const abortTask = (a: AbortInput): CommandResult => {
    ctx.requestStop({ kind: 'aborted', by: a.by, reason: a.reason });
    ctx.note(`abort requested${a.by ? ` by ${a.by}` : ''}${a.reason ? `: ${a.reason}` : ''}`);
    return { detail: 'abort accepted: the task stops what runs and cleans up (PR closed, worktree, session and branch removed)' };
  };
  setHandler(abortSignal, (a) => {
    const problem = badText(abortInputProblem(a)) ?? (ctx.merging ? MERGE_UNDER_WAY : undefined);
    if (problem) ctx.note(`abort${a.by && !senderProblem(a.by) ? ` by ${a.by}` : ''} refused: ${problem}`);
    else abortTask(a);
  });
  setHandler(abortUpdate, abortTask, {
    validator: (a: AbortInput) => {
      const problem = abortInputProblem(a) ?? (ctx.merging ? MERGE_UNDER_WAY : ctx.ending() ? 'the task has ended or is stopping' : undefined);
      if (problem) throw new Error(`abort refused: ${problem}`);
    },
    description: 'Stop the task and clean up; refused once the merge is under way or the task has ended.',
  });

  setHandler(stateQuery, () => state, { description: 'The full typed state of the task.' });
  // A webhook saw the PR, its checks or its reviews change: look now instead of at the next tick.
  setHandler(
    forgeEventSignal,
    (e) => {
      // Only a wake-up: the loops re-read the PR and checks. Another repository's event is not ours,
      // nor a push to a branch that is neither the base nor the task's (a push reaches every task of its repository).
      if (e.repository !== spec.repository) return;
      if (e.kind === 'push' && e.ref !== spec.baseBranch && e.ref !== taskBranch(spec.id)) return;
      ctx.forgeEvents += 1;
    },
    { description: 'A forge webhook event for this task.' },
  );
}
