// Failure handling: an attempt's failure is recorded (the next attempt gets a narrowed prompt);
// what the task cannot get past alone goes to a human with the exact blocker, and waits.
import { condition, patched } from '@temporalio/workflow';
import type { TaskContext } from './context.ts';
import { ESCALATE_RETRY_PATCH } from './patches.ts';
import type { ClassifiedFailure } from './types.ts';

export async function failAttempt(ctx: TaskContext, failure: ClassifiedFailure): Promise<void> {
  const { state } = ctx;
  const record = ctx.current();
  if (record) Object.assign(record, { endedAt: ctx.now(), outcome: 'failed', failure });
  ctx.note(`attempt ${state.attempt} failed (${failure.kind}): ${failure.evidence.summary}`);
  await ctx.artifact({ key: `verification:attempt:${state.attempt}`, kind: 'verification', step: state.step, payload: { ...failure } });
  // The agent's session ends with its process: the next attempt respawns with a narrowed prompt.
  state.attempt += 1;
}

/** Waits for `retry` or `abort`; with `respawn`, a retry grants one more attempt. False when stopped. */
export async function escalate(ctx: TaskContext, blocker: string, { respawn }: { respawn: boolean }): Promise<boolean> {
  const { state, spec } = ctx;
  // A retry can arrive as soon as the task shows needs_human, while the notification is sent:
  // clear the flag before, not after (before this patch such a retry was lost).
  const keepEarlyRetry = patched(ESCALATE_RETRY_PATCH);
  if (keepEarlyRetry) ctx.retried = false;
  state.attempt = Math.min(state.attempt, state.attemptLimit);
  state.blocker = blocker;
  ctx.enter(state.step, 'needs_human');
  ctx.note(`needs a human: ${blocker}`);
  await ctx.notify({ event: 'escalated', title: `Needs a human: ${spec.title}`, message: `${blocker}. Continue with: swarmflow retry ${spec.id} "<guidance>", or swarmflow abort ${spec.id}`, link: state.checks.pr?.url });
  if (!keepEarlyRetry) ctx.retried = false;
  await condition(() => ctx.retried || !!ctx.stop);
  if (ctx.stop) return false;
  if (respawn) {
    state.attemptLimit += 1;
    state.attempt = state.attemptLimit;
  }
  ctx.enter(state.step, 'running');
  return true;
}

/** Waits for a human (see `escalate`): 'again' once they said retry, 'stopped' if they stopped the task. */
export async function goOnAfter(ctx: TaskContext, blocker: string, opts: { respawn: boolean }): Promise<'again' | 'stopped'> {
  return (await escalate(ctx, blocker, opts)) ? 'again' : 'stopped';
}
