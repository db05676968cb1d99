// The task's message handlers: decisions, redirects, retries, aborts, forge events and the state
// query. Each refuses what cannot take effect (synchronously, in an update's validator, so the
// caller hears why and history keeps no trace), and tells the steps through the task context.
import { condition, patched, setHandler } from '@temporalio/workflow';
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
  const approvalProblem = (by: string): string | undefined => {
    if (ctx.merging) return MERGE_UNDER_WAY;
    if (state.status !== 'awaiting_approval' || !state.dod?.readyForApproval) return 'the Definition of Done is not met yet';
    if (!state.setup?.approvers.some((a) => (typeof a === 'string' ? a : a.name) === by)) return `${by} is not on the approvers list`;
    return undefined;
  };
  const rejectionProblem = (by: string): string | undefined => {
    if (ctx.merging) return MERGE_UNDER_WAY;
    if (!state.setup?.approvers.some((a) => (typeof a === 'string' ? a : a.name) === by)) return `${by} is not on the approvers list`;
    return undefined;
  };
  /** A message whose text the task cannot carry is refused (see OPERATOR_TEXT_PATCH). */
  const badText = (problem: string | undefined) => (problem && patched(OPERATOR_TEXT_PATCH) ? problem : undefined);

  const decide = (d: DecideInput) => {
    state.decision = { decision: d.decision, by: d.by, comment: d.decision === 'approve' ? d.comment : d.reason, at: ctx.now() };
    if (d.decision === 'reject') ctx.requestStop({ kind: 'rejected', by: d.by, reason: d.reason });
    ctx.note(`${d.decision === 'approve' ? 'approved' : 'rejected'} by ${d.by}${state.decision.comment ? `: ${state.decision.comment}` : ''}`);
    ctx.publish();
  };
  setHandler(approveSignal, (a) => {
    const problem = badText(decideInputProblem({ decision: 'approve', ...a })) ?? approvalProblem(a.by);
    if (problem) ctx.note(`approval by ${a.by} refused: ${problem}`);
    else decide({ decision: 'approve', ...a });
  });
  setHandler(rejectSignal, (r) => {
    const problem = badText(decideInputProblem({ decision: 'reject', ...r })) ?? rejectionProblem(r.by);
    if (problem) ctx.note(`rejection by ${r.by} refused: ${problem}`);
    else decide({ decision: 'reject', ...r });
  });
  setHandler(
    decideUpdate,
    async (d) => {
      decide(d);
      // Answer with what the decision did: merged (or rejected and cleaned up), or an approval the
      // task had to set aside (the head or base moved, the forge refused): then the decision is cleared.
      const decided = state.decision;
      if (patched(DECIDE_ANSWERS_PATCH)) await condition(() => state.step === 'done' || state.decision !== decided);
      return state;
    },
    {
      // Synchronous, so that a refusal reaches the caller and leaves no trace in history.
      validator: (d: DecideInput) => {
        const text = decideInputProblem(d);
        if (text) throw new Error(`${d.decision === 'approve' ? 'approval' : 'rejection'} refused: ${text}`);
        if (d.decision === 'approve') {
          const problem = approvalProblem(d.by);
          if (problem) throw new Error(`approval refused: ${problem}`);
        } else {
          const problem = rejectionProblem(d.by);
          if (problem) throw new Error(`rejection refused: ${problem}`);
        }
      },
      description: 'Approve or reject the merge; refused while the Definition of Done is unmet or from a non-approver.',
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
