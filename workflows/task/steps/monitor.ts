// Step 4, the monitor loop on durable timers: the agent's exit is watched by a long activity while
// the loop ticks at the monitor interval (sooner on a forge event, a redirect or a stuck agent),
// checking its session, delivering redirects and correcting a stuck agent (stuck.ts). No model calls.
import { CancellationScope, condition, patched } from '@temporalio/workflow';
import { totalTokens } from '../../policy/evidence/budget.ts';
import { STUCK_INTERVENTION_PATCH, TASK_BUDGET_PATCH } from '../patches.ts';
import type { TaskContext } from '../context.ts';
import { deliverRedirects, settleInbox } from '../redirects.ts';
import { describeEgress, describeOutcome } from '../state.ts';
import { StuckWatch } from '../stuck.ts';
import type { AgentExit, AgentOutcome } from '../types.ts';

/** Waits for the agent to exit, checking its session on every tick; undefined when stopped. */
export async function monitor(ctx: TaskContext): Promise<AgentExit | undefined> {
  const { state, spec } = ctx;
  ctx.enter('monitor');
  const h = ctx.host();
  let exit: AgentExit | undefined;
  let watchError: Error | undefined;
  const watcher = new CancellationScope();
  void watcher
    .run(() =>
      h.long.awaitAgentExit.executeWithOptions(h.options(`watch agent, attempt ${state.attempt}`, true), [
        { taskId: spec.id, attempt: state.attempt, run: state.session?.run ?? 1, worktree: state.workspace!.worktree, baseBranch: spec.baseBranch, ...budgetLeft(ctx) },
      ]),
    )
    .then((e) => (exit = e), (err: Error) => (watchError = err)); // activity failures are Errors
  const stuck = patched(STUCK_INTERVENTION_PATCH) ? new StuckWatch(ctx) : undefined;
  stuck?.arm();
  while (!exit && !ctx.stop) {
    if (watchError) throw watchError;
    if (ctx.historyTooLong()) {
      watcher.cancel();
      await stuck?.stop();
      await ctx.carryOn();
    }
    const seen = ctx.forgeEvents;
    const woke = await condition(() => !!exit || !!ctx.stop || !!watchError || ctx.pendingRedirects.length > 0 || ctx.forgeEvents !== seen || !!stuck?.ready, spec.limits.monitorInterval, { summary: 'monitor tick' });
    await deliverRedirects(ctx);
    if (!exit && stuck?.ready) await stuck.intervene();
    if (!woke || ctx.forgeEvents !== seen) {
      state.checks.sessionAlive = (await h.quick.sessionAlive({ taskId: spec.id })).alive;
      state.checks.checkedAt = ctx.now();
      ctx.publish();
    }
  }
  if (ctx.stop) watcher.cancel();
  await stuck?.stop();
  if (exit) {
    const record = ctx.current();
    if (record) record.exit = exit;
    state.checks.sessionAlive = false;
    settleInbox(ctx, exit);
    stuck?.settle(exit);
    ctx.note(`attempt ${state.attempt}: agent exited with ${exit.exitCode ?? 'no exit code'}, ${exit.commits} commit(s)${exit.outcome ? `; ${describeOutcome(exit.outcome)}` : ''}${exit.egress ? `; ${describeEgress(exit.egress)}` : ''}`);
    if (exit.outcome) countUsage(ctx, exit.outcome);
    // The execution receipt of the run: what the agent did, with what, at what cost (signed chain only).
    if (state.evidence) await ctx.artifact({ key: `receipt:run:${state.attempt}.${state.session?.run ?? 1}`, kind: 'receipt', step: 'monitor', payload: runReceipt(ctx, exit) });
  }
  return exit;
}

/**
 * The tokens and dollars this run may spend before the watcher stops it (the exit's check then
 * escalates). None once that part of the budget is spent: the run a retry granted is checked at its exit only.
 */
function budgetLeft({ spec, state }: TaskContext): { tokensLeft?: number; usdLeft?: number } {
  const { maxTokens, maxUsd } = spec.limits;
  if ((maxTokens === undefined && maxUsd === undefined) || !patched(TASK_BUDGET_PATCH)) return {};
  const tokensLeft = maxTokens === undefined ? 0 : maxTokens - (state.usage ? totalTokens(state.usage) : 0);
  const usdLeft = maxUsd === undefined ? 0 : maxUsd - (state.usage?.costUsd ?? 0);
  return { ...(tokensLeft > 0 ? { tokensLeft } : {}), ...(usdLeft > 0 ? { usdLeft } : {}) };
}

function countUsage(ctx: TaskContext, { usage, cost }: AgentOutcome): void {
  const total = ctx.state.usage ?? { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0, runs: 0 };
  ctx.state.usage = {
    inputTokens: total.inputTokens + usage.inputTokens,
    cachedInputTokens: total.cachedInputTokens + usage.cachedInputTokens,
    outputTokens: total.outputTokens + usage.outputTokens,
    costUsd: total.costUsd + (cost?.usd ?? 0),
    runs: total.runs + 1,
  };
}

function runReceipt({ state }: TaskContext, exit: AgentExit): Record<string, unknown> {
  // A handoff's concept runs first, in attempt 1, until its concept is recorded.
  const concept = state.setup!.concept;
  const agent = concept && !state.concept && state.attempt === 1 ? concept.agent : state.setup!.agent;
  return { agent: agent.name, ...(agent.model ? { model: agent.model } : {}), attempt: state.attempt, run: state.session?.run ?? 1, exitCode: exit.exitCode, commits: exit.commits, headSha: exit.headSha, ...(exit.outcome ? { outcome: exit.outcome } : {}), ...(exit.egress ? { egress: exit.egress } : {}) };
}
