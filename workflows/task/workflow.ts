// The `task` workflow: one coding task from request to merge, in the 8 steps of DESIGN.md. Each
// step is a module under steps/, a function over the task context (context.ts); this file is
// their table of contents: the order they run in, and what happens between them. Deterministic
// code only; every side effect is an activity.
import { ApplicationFailure, CancellationScope, ContinueAsNew, allHandlersFinished, condition, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { classifyFailure } from '../policy/classify.ts';
import { agentFault } from './agent-faults.ts';
import { causeMessage, failureType, hostUnanswered } from './activity-failure.ts';
import { TaskContext } from './context.ts';
import { failAttempt, goOnAfter } from './escalation.ts';
import { finish, stopped } from './finish.ts';
import { conceptHandoff } from './handoff.ts';
import { ciFault, consultMemory, rememberRetry, resumeCorrection, settleRetry, triedSoFar, withPlaybook } from './playbook.ts';
import { registerHandlers } from './handlers.ts';
import { TASK_ENDED_FAILURE, type TaskInput, type TaskResult } from './messages.ts';
import { AGENT_FAULTS_PATCH, AGENT_MISCONFIGURED_PATCH, CLOSE_STATUS_PATCH, CONCEPT_HANDOFF_PATCH, EVIDENCE_PLAYBOOK_PATCH, HOST_GONE_PATCH, HOST_UNANSWERED_PATCH, RUN_KEY_PATCH, SIGNED_EVIDENCE_PATCH, STOP_CANCELS_PATCH, TASK_BUDGET_PATCH } from './patches.ts';
import { budgetBreach } from './budget.ts';
import { isLocalRepository, parseTaskSpec, taskBranch } from './spec.ts';
import { initialState, type TaskState } from './state.ts';
import { intakeAndScope } from './steps/intake.ts';
import { promptSynthesis } from './steps/prompt.ts';
import { selectContext } from './steps/context.ts';
import { spawn } from './steps/spawn.ts';
import { monitor } from './steps/monitor.ts';
import { syncedPr } from './steps/pr.ts';
import { review } from './steps/review.ts';
import { gates } from './steps/gates.ts';
import { humanGate } from './steps/human-gate.ts';
import { merge } from './steps/merge.ts';
import type { AgentExit, ClassifiedFailure, NeedsHuman } from './types.ts';

export async function task(input: TaskInput): Promise<TaskResult> {
  const state: TaskState = input.carried ?? initialState(validSpec(input), new Date().toISOString());
  if (!input.carried && patched(RUN_KEY_PATCH)) state.runKey = workflowInfo().firstExecutionRunId;
  if (!input.carried && patched(SIGNED_EVIDENCE_PATCH)) state.evidence = { seq: 0 };
  const ctx = new TaskContext(state);
  registerHandlers(ctx);
  try {
    return await run(ctx);
  } finally {
    // A decision's update answers once the task has ended: let it, before the workflow closes.
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  }
}

/**
 * One pass over the steps, resuming where the state says: 'again' to go round once more, 'stopped'
 * when an operator stopped the task, or the result once it merged. Read from the state alone, so a
 * continued-as-new run picks up mid-step.
 */
async function pass(ctx: TaskContext): Promise<'again' | 'stopped' | TaskResult> {
  const { state } = ctx;
  // 1. Intake and scope.
  if (!state.setup) await intakeAndScope(ctx);
  if (ctx.stop) return 'stopped';
  if (state.attempt > state.attemptLimit) {
    const lastFailure = state.attempts.at(-1)?.failure;
    const last = lastFailure?.evidence.summary ?? 'no attempts left';
    if (!patched(EVIDENCE_PLAYBOOK_PATCH)) return goOnAfter(ctx, `${state.attemptLimit} attempt(s) used; last failure: ${last}`, { respawn: true });
    // The exact blocker and what each retry was told.
    await settleRetry(ctx, 'escalated');
    const blocker = lastFailure?.playbook ? `${lastFailure.playbook.kind}: ${lastFailure.playbook.rule} (${last})` : last;
    return goOnAfter(ctx, `${state.attemptLimit} attempt(s) used; blocked by ${blocker}; ${triedSoFar(ctx)}`, { respawn: true });
  }
  // 2-3. Prompt synthesis and spawn (or, on a handoff route, the concept agent first). Still in
  // the handoff while the concept runs, and until the implementer's run has started.
  const conceptRun = state.conceptRun ?? 1;
  const conceptPending = !!state.setup!.concept && state.attempt === 1 && (!state.concept || state.session?.run === conceptRun);
  if (!ctx.current() || (conceptPending && state.session?.run === conceptRun)) {
    const handoff = conceptPending && patched(CONCEPT_HANDOFF_PATCH);
    // A retry's prompt (or correction) is offered what fixed the same failure elsewhere.
    const retry = !handoff && state.attempt > 1 && state.attempts.some((a) => a.failure?.playbook) && patched(EVIDENCE_PLAYBOOK_PATCH);
    if (retry) await consultMemory(ctx);
    try {
      await selectContext(ctx);
      if (!(await (handoff ? conceptHandoff(ctx) : spawn(ctx, promptSynthesis(ctx), retry ? resumeCorrection(ctx) : undefined)))) return 'stopped';
    } catch (err) {
      // The operator fixes the host (sets the key, installs the CLI) and says `retry`: the task keeps its state.
      if (failureType(err) !== 'AgentMisconfigured' || !patched(AGENT_MISCONFIGURED_PATCH)) throw err;
      return goOnAfter(ctx, `the agent cannot start: ${causeMessage(err) ?? 'misconfigured'}`, { respawn: false });
    }
  }
  // 4. The monitor loop, until the agent exits. Rate limits and provider faults spend no attempt.
  const record = ctx.current()!;
  const exit = record.exit ?? (await monitor(ctx));
  if (!exit) return 'stopped';
  // Another run would spend more: the breach goes to a human, and a retry grants one more run.
  const overBudget = record.outcome !== 'verified' && patched(TASK_BUDGET_PATCH) ? budgetBreach(ctx) : undefined;
  if (overBudget) {
    Object.assign(record, { endedAt: record.endedAt ?? ctx.now(), outcome: 'failed' });
    return goOnAfter(ctx, overBudget, { respawn: true });
  }
  const fault = exit.outcome?.failure;
  if (record.outcome !== 'verified' && (fault === 'rate_limited' || fault === 'server_error' || fault === 'auth') && patched(AGENT_FAULTS_PATCH)) {
    return (await agentFault(ctx, { ...exit.outcome!, failure: fault })) ? 'again' : 'stopped';
  }
  // 5-7. PR synced with the base, review, gates: a failure goes back to the agent as a new attempt.
  if (record.outcome !== 'verified') {
    const outcome = await stoppable(ctx, () => verify(ctx, exit));
    if (ctx.stop) return 'stopped';
    if (outcome && 'needsHuman' in outcome) {
      if (outcome.respawn) Object.assign(record, { endedAt: ctx.now(), outcome: 'failed' });
      return goOnAfter(ctx, outcome.needsHuman, { respawn: outcome.respawn ?? false });
    }
    if (outcome) {
      const playbook = patched(EVIDENCE_PLAYBOOK_PATCH);
      const failure = playbook ? await withPlaybook(ctx, outcome) : outcome;
      if (failure.playbook?.kind === 'infrastructure' && failure.evidence.source === 'ci') return ciFault(ctx, failure);
      if (playbook) await rememberRetry(ctx, failure);
      await failAttempt(ctx, failure);
      return 'again';
    }
    Object.assign(record, { endedAt: record.endedAt ?? ctx.now(), outcome: 'verified' });
    if (patched(EVIDENCE_PLAYBOOK_PATCH)) await settleRetry(ctx, 'fixed');
  }
  // 8. The human gate, then the merge (cleanup follows in finish).
  const decided = await humanGate(ctx);
  const gate = decided === 'approved' ? await merge(ctx) : decided;
  if (gate === 'merged') return finish(ctx, 'merged', `merged PR #${state.checks.pr!.number} as ${state.merge!.sha}`);
  if (gate === 'reverify') {
    record.outcome = undefined;
    return 'again';
  }
  return 'stopped';
}

/** Steps 5-7 on the branch head: the failure to hand back to the agent, if any. */
async function verify(ctx: TaskContext, exit?: AgentExit): Promise<ClassifiedFailure | NeedsHuman | undefined> {
  if (exit && exit.commits === 0) {
    return classifyFailure({ source: 'agent_exit', summary: `the agent exited (code ${exit.exitCode ?? 'none'}) without committing anything`, details: [exit.logTail], files: [] });
  }
  const synced = await syncedPr(ctx);
  if ('failure' in synced) return synced.failure;
  if ('needsHuman' in synced) return synced;
  return (await review(ctx, synced.pr)) ?? (await gates(ctx, synced.pr));
}

/** Runs a verification a stop cancels (its reviewers and CI are killed); undefined once stopped. */
async function stoppable<T>(ctx: TaskContext, run: () => Promise<T>): Promise<T | undefined> {
  if (!patched(STOP_CANCELS_PATCH)) return run();
  const scope = new CancellationScope();
  ctx.verification = scope;
  try {
    return await scope.run(run);
  } catch (err) {
    if (ctx.stop && isCancellation(err)) return undefined;
    throw err;
  } finally {
    ctx.verification = undefined;
  }
}

/** A pass whose host never picked up a step goes to a human, who says retry once the host is back. */
async function untilHostAnswers(ctx: TaskContext): Promise<'again' | 'stopped' | TaskResult> {
  try {
    return await pass(ctx);
  } catch (err) {
    if (!hostUnanswered(err) || !patched(HOST_UNANSWERED_PATCH)) throw err;
    const { queue, timeout } = ctx.unanswered!;
    const activity = (err as { activityType?: string }).activityType;
    const gone = patched(HOST_GONE_PATCH) ? await hostGone(ctx, queue, `${activity} waited ${timeout} for it`) : undefined;
    const blocker = gone ?? `no worker of ${queue} picked up ${activity} within ${timeout}: start the host's worker (or fix its SWARM_HOST_ID)`;
    return goOnAfter(ctx, blocker, { respawn: false });
  }
}

/** What the host registry says of a host that stopped answering: undefined unless it is gone or stopped. */
async function hostGone(ctx: TaskContext, queue: string, waited: string): Promise<string | undefined> {
  const hostId = queue.replace(/^swarm-host-/, '');
  const host = await ctx.orchestration.hostRecord({ hostId });
  if (!host || host.state === 'alive') return undefined;
  const what = host.state === 'stopped' ? `stopped at ${host.stoppedAt}` : `gone: no heartbeat since ${host.lastSeen}`;
  const pushed = !isLocalRepository(ctx.spec.repository) && ctx.state.checks.pr;
  const work = pushed ? `its branch ${taskBranch(ctx.spec.id)} is on GitHub, what was not pushed is on ${hostId} only` : `its worktree is on ${hostId} only`;
  return `host ${hostId} is ${what} (${waited}); ${work}: start its worker again (SWARM_HOST_ID=${hostId}), then retry`;
}

/** The whole task: the result once merged; a rejected or aborted task throws its ending (see CLOSE_STATUS_PATCH). */
async function run(ctx: TaskContext): Promise<TaskResult> {
  const { spec } = ctx;
  try {
    for (;;) {
      const next = await untilHostAnswers(ctx);
      if (next === 'stopped') break;
      if (next !== 'again') return next;
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => finish(ctx, 'aborted', 'cancelled'));
      throw err;
    }
    // The step it failed at: finishing moves the task on to cleanup and done.
    const at = ctx.state.step;
    const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    const result = await CancellationScope.nonCancellable(() => finish(ctx, 'failed', `failed at ${at}: ${message}`));
    throw ApplicationFailure.create({ type: TASK_ENDED_FAILURE.failed, message: `task ${spec.id} ${result.note}`, nonRetryable: true, details: [result], cause: err instanceof Error ? err : undefined });
  }
  const result = await finish(ctx, stopped(ctx).kind, stopped(ctx).summary);
  if (!patched(CLOSE_STATUS_PATCH)) return result;
  throw ApplicationFailure.create({ type: TASK_ENDED_FAILURE[stopped(ctx).kind], message: `task ${spec.id} ${result.note}`, nonRetryable: true, details: [result] });
}

function validSpec(input: TaskInput): TaskState['spec'] {
  try {
    return parseTaskSpec(input.spec);
  } catch (err) {
    // A plain error would fail the workflow task forever; an invalid spec fails the task once.
    throw ApplicationFailure.create({ type: 'InvalidTaskSpec', message: (err as Error).message, nonRetryable: true });
  }
}
