// Redirects: an operator's message to the agent, delivered into its live session, queued for its
// CLI's next turn, or carried into the next run's prompt; the state records which (RedirectRecord).
import { patched } from '@temporalio/workflow';
import type { TaskContext } from './context.ts';
import type { RedirectInput, RedirectResult } from './messages.ts';
import { REDIRECT_TRUTH_PATCH } from './patches.ts';
import type { RedirectRecord } from './state.ts';
import type { AgentExit } from './types.ts';

/** Delivers the redirects sent as signals since the last look. */
export async function deliverRedirects(ctx: TaskContext): Promise<void> {
  while (ctx.pendingRedirects.length > 0) await deliver(ctx, ctx.pendingRedirects.shift()!);
}

/**
 * Sends one redirect to the agent's session and records what became of it (see RedirectRecord).
 * `interrupt`: a headless CLI's turn in flight is interrupted for it (the stuck watch's correction).
 */
export async function deliver(ctx: TaskContext, redirect: RedirectInput, { interrupt = false } = {}): Promise<RedirectResult> {
  const { state } = ctx;
  const record: RedirectRecord = { ...redirect, at: ctx.now(), delivered: false };
  (state.redirects ??= []).push(record);
  // Before any run there is no session to send it to (before the patch it was sent regardless).
  const sent = state.session || !patched(REDIRECT_TRUTH_PATCH) ? await ctx.host().quick.sendToSession({ taskId: ctx.spec.id, message: redirect.message, ...(interrupt ? { interrupt } : {}) }) : undefined;
  if (sent?.channel) record.channel = sent.channel;
  let result: RedirectResult;
  if (sent?.delivered) {
    record.delivered = true;
    result = { status: 'delivered', detail: sent.channel === 'tmux' ? 'delivered to the agent (typed into its tmux session)' : 'delivered to the agent' };
  } else if (sent?.inbox) {
    Object.assign(record, { waiting: 'inbox', inbox: sent.inbox });
    result = { status: 'queued', detail: interrupt ? "queued: the agent's headless turn is interrupted and its session resumes with it now" : "queued: the agent's headless session resumes with it after its current turn" };
  } else {
    record.waiting = 'next_run';
    result = { status: 'queued', detail: 'not delivered yet: no live agent session; the next run or attempt gets it in its prompt' };
  }
  ctx.note(`redirect${redirect.by ? ` from ${redirect.by}` : ''} ${result.detail}`);
  return result;
}

/** At a run's exit: the redirects queued in its inbox are delivered, or wait for the next run. */
export function settleInbox(ctx: TaskContext, exit: AgentExit): void {
  for (const r of ctx.state.redirects ?? []) {
    if (r.waiting !== 'inbox') continue;
    if (exit.redirects?.find((d) => d.id === r.inbox)?.delivered) {
      r.delivered = true;
      delete r.waiting;
      ctx.note("redirect delivered: the agent's session resumed with it");
    } else {
      r.waiting = 'next_run';
      ctx.note('redirect not delivered: the run ended before its session resumed with it; the next run or attempt gets it in its prompt');
    }
  }
}

