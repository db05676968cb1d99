// How a task ends, whatever ended it (merge, reject, abort, cancel, failure): cleanup, the
// outcome, the notification, the result. Idempotent, so a retried end does no harm.
import { contractChecks } from '../policy/definition-of-done.ts';
import type { TaskContext } from './context.ts';
import type { TaskResult } from './messages.ts';
import type { TaskStatus } from './types.ts';

/** Step 8c, cleanup: the PR closed if still open, the worktree, session and branch removed. */
async function cleanup(ctx: TaskContext): Promise<void> {
  const { state, spec } = ctx;
  if (!state.setup) return;
  ctx.enter('cleanup');
  const h = ctx.host();
  if (state.checks.pr && state.checks.pr.state === 'open') await h.quick.closePr({ repository: spec.repository, number: state.checks.pr.number });
  // Nothing was created on this host before the checkout.
  if (state.checkout) await h.quick.cleanupTask({ taskId: spec.id, repository: state.checkout, deleteBranch: true });
}

export async function finish(ctx: TaskContext, status: TaskStatus, summary: string): Promise<TaskResult> {
  const { state, spec } = ctx;
  // Where it ended, before cleanup moves the step on: the details mark that step with why.
  state.outcome = { status, step: state.step, summary };
  state.blocker = undefined;
  await cleanup(ctx);
  state.completedAt = ctx.now();
  ctx.enter('done', status);
  ctx.note(summary);
  const event = status === 'merged' || status === 'rejected' || status === 'aborted' ? status : 'failed';
  if (spec.notifyOnComplete || status !== 'merged') await ctx.notify({ event, title: `${status}: ${spec.title}`, message: summary, link: state.checks.pr?.url });
  const checks = state.evidencePlane && state.dod ? { checks: contractChecks(state.dod) } : {};
  return { taskId: spec.id, status, pr: state.checks.pr?.number, mergeSha: state.merge?.sha, note: summary, ...checks };
}

/** Why the task stopped short of a merge (reject or abort; abort when nothing says otherwise). */
export function stopped(ctx: TaskContext): { kind: 'rejected' | 'aborted'; summary: string } {
  const s = ctx.stop ?? { kind: 'aborted' as const };
  return { kind: s.kind, summary: `${s.kind}${s.by ? ` by ${s.by}` : ''}${s.reason ? `: ${s.reason}` : ''}` };
}
