// Step 3, spawn: once the host has room, a worktree on a fresh branch from the base (bootstrapped),
// then the agent in its own tmux session; the receipt records what was started with which prompt.
import { condition, patched } from '@temporalio/workflow';
import { carriedRedirects } from '../../policy/prompt.ts';
import type { TaskContext } from '../context.ts';
import { SPAWN_CAPACITY_PATCH } from '../patches.ts';
import type { AgentCommand } from '../types.ts';

/**
 * Starts the attempt's agent. A later run of the same attempt (run > 1) resumes its session with
 * `resumeWith`, or starts `agent` afresh (the handoff's implementer); a retry with `resumeAttempt`
 * resumes that failed attempt's session with the correction. False when stopped while held.
 */
export async function spawn(ctx: TaskContext, prompt: string, respawn?: { run: number; resumeWith?: string; agent?: AgentCommand; resumeAttempt?: number }): Promise<boolean> {
  const { state, spec } = ctx;
  ctx.enter('spawn');
  const h = ctx.host();
  if (patched(SPAWN_CAPACITY_PATCH) && !(await awaitCapacity(ctx))) return false;
  if (!state.workspace) {
    // The repository itself for the local forge; a fetched mirror on this host for GitHub.
    state.checkout = (await h.quick.localCheckout({ repository: spec.repository })).path;
    state.workspace = await h.quick.prepareWorkspace.executeWithOptions(h.options('worktree and bootstrap'), [
      { taskId: spec.id, ...ctx.runKeyed, repository: state.checkout, baseBranch: spec.baseBranch, bootstrap: state.setup!.policy.bootstrap },
    ]);
  }
  const run = respawn?.run ?? 1;
  const agent = respawn?.agent ?? state.setup!.agent;
  // Redirects no run received go with this one, in its prompt and in its resume message (whichever the CLI takes).
  const carried = (state.redirects ?? []).filter((r) => r.waiting);
  const withCarried = (text: string) => (carried.length > 0 ? `${text}\n${carriedRedirects(carried.map((r) => r.message))}\n` : text);
  const fullPrompt = withCarried(prompt);
  const resumeWith = respawn?.resumeWith === undefined ? undefined : withCarried(respawn.resumeWith);
  state.session = await h.quick.spawnAgent.executeWithOptions(h.options(`spawn ${agent.name}, attempt ${state.attempt}${run > 1 ? `, run ${run}` : ''}`), [
    { taskId: spec.id, ...ctx.runKeyed, attempt: state.attempt, run, resumeWith, ...(respawn?.resumeAttempt ? { resumeAttempt: respawn.resumeAttempt } : {}), worktree: state.workspace.worktree, agent, prompt: fullPrompt, port: state.workspace.port, ...networkOf(ctx) },
  ]);
  for (const r of carried) {
    Object.assign(r, { delivered: true, channel: 'prompt', carriedTo: { attempt: state.attempt, run } });
    delete r.waiting;
  }
  if (carried.length > 0) ctx.note(`${carried.length} redirect(s) delivered in the prompt of attempt ${state.attempt}${run > 1 ? `, run ${run}` : ''}`);
  if (run === 1) state.attempts.push({ attempt: state.attempt, startedAt: ctx.now() });
  state.guidance = undefined;
  ctx.note(`attempt ${state.attempt}${run > 1 ? ` (run ${run})` : ''}: ${agent.name} started in tmux session ${state.session.session}${state.session.isolation ? `; sandbox: ${state.session.isolation}` : ''}`);
  await ctx.artifact({ key: `receipt:spawn:${state.attempt}${run > 1 ? `.${run}` : ''}`, kind: 'receipt', step: 'spawn', payload: { ...state.session, agent: agent.name, prompt: fullPrompt, ...contextUsed(ctx) } });
  return true;
}

/** The repository's registries a sandboxed agent may reach (policies recorded before network have none). */
function networkOf({ state }: TaskContext): { network?: string[] } {
  const allow = state.setup!.policy.network?.allow;
  return allow && allow.length > 0 ? { network: allow } : {};
}

/** Which business context notes the prompt carries and why (never their text), for the receipt. */
function contextUsed({ state }: TaskContext): { context?: Record<string, unknown> } {
  const c = state.context;
  return c?.attempt === state.attempt ? { context: { tier: c.tier, budgetTokens: c.budgetTokens, usedTokens: c.usedTokens, notes: c.notes, withheld: c.withheld } } : {};
}

/** Holds the spawn on a durable timer while the host is at its agent cap or short of memory. False when stopped. */
async function awaitCapacity(ctx: TaskContext): Promise<boolean> {
  const { state, spec } = ctx;
  for (;;) {
    const capacity = await ctx.host().quick.spawnCapacity({ taskId: spec.id });
    if (capacity.ok) {
      if (state.checks.spawnHold) ctx.note(`spawn no longer held: ${capacity.liveAgents} agent(s) running, ${capacity.freeMemoryMb} MB free`);
      state.checks.spawnHold = undefined;
      return true;
    }
    if (state.checks.spawnHold?.reason !== capacity.reason) ctx.note(`spawn held: ${capacity.detail}; checking again every ${Math.round(capacity.retryInMs / 1000)} s`);
    state.checks.spawnHold = { reason: capacity.reason, detail: capacity.detail, since: state.checks.spawnHold?.since ?? ctx.now() };
    ctx.publish();
    if (ctx.historyTooLong()) await ctx.carryOn();
    await condition(() => !!ctx.stop, capacity.retryInMs, { summary: `spawn held: ${capacity.reason}` });
    if (ctx.stop) return false;
  }
}
