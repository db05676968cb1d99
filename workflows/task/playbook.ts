// The playbook in the workflow (EVIDENCE_PLAYBOOK_PATCH): a failure is classified from its real
// evidence by the host's activity (only the small verdict enters the history); a CI machine's
// fault reruns CI after a durable wait, spending no attempt; every retry is remembered in Postgres
// and settled when the next attempt ends; a retry's prompt is offered what fixed the same class
// on the same paths in other tasks; a headless CLI's retry resumes the failed attempt's session.
import { condition } from '@temporalio/workflow';
import type { TaskContext } from './context.ts';
import { goOnAfter } from './escalation.ts';
import type { AgentKind, ClassifiedFailure } from './types.ts';

/** CI machine faults in one attempt before a human is asked. */
export const CI_FAULT_LIMIT = 3;
/** The wait before running CI again after its machine failed: doubling, capped. */
const ciFaultBackoffMs = (fault: number) => Math.min(30_000 * 2 ** (fault - 1), 10 * 60_000);
const RESUMABLE: readonly (AgentKind | undefined)[] = ['codex', 'claude', 'gemini'];

/** The failure with its evidence classification and the next prompt's injection. */
export async function withPlaybook(ctx: TaskContext, failure: ClassifiedFailure): Promise<ClassifiedFailure> {
  const { state, spec } = ctx;
  const record = ctx.current();
  const ci = failure.evidence.source === 'ci' ? state.checks.ci : undefined;
  const headSha = ci?.headSha ?? state.checks.pr?.headSha ?? record?.exit?.headSha;
  const verdict = await ctx.host().quick.readFailureEvidence.executeWithOptions(ctx.host().options(`classify the ${failure.evidence.source} failure of attempt ${state.attempt}`), [
    {
      taskId: spec.id,
      keptLogs: state.session?.keptLogs,
      attempt: state.attempt,
      run: state.session?.run,
      evidence: failure.evidence,
      agentFailure: record?.exit?.outcome?.failure,
      checks: ci?.checks.filter((c) => c.status !== 'passed').map(({ name, outputFile, outputTail }) => ({ name, outputFile, outputTail })),
      checkout: state.checkout!,
      base: spec.baseBranch,
      headSha,
      scope: spec.hints,
    },
  ]);
  return { kind: verdict.kind === 'infrastructure' ? failure.kind : verdict.kind, evidence: failure.evidence, playbook: verdict };
}

/** The CI machine or its network failed: CI runs again after a durable wait, spending no attempt; then a human. */
export async function ciFault(ctx: TaskContext, failure: ClassifiedFailure): Promise<'again' | 'stopped'> {
  const { state } = ctx;
  const record = ctx.current()!;
  const faults = (record.ciFaults ??= []);
  const rule = failure.playbook?.rule ?? failure.evidence.summary;
  state.checks.ciRerun = true;
  if (faults.length >= CI_FAULT_LIMIT) {
    // The human's retry starts a fresh count: they said the CI host is fixed.
    record.ciFaults = [];
    return goOnAfter(ctx, `CI failed ${faults.length + 1} times in attempt ${state.attempt} because of the CI machine or its network, not the code (${rule}; ${failure.evidence.summary}): fix the CI host, then retry`, { respawn: false });
  }
  const waitedMs = ciFaultBackoffMs(faults.length + 1);
  faults.push({ rule, waitedMs, at: ctx.now() });
  ctx.note(`attempt ${state.attempt}: ${rule}; running CI again in ${Math.round(waitedMs / 1000)} s, no attempt spent`);
  ctx.publish();
  await condition(() => !!ctx.stop, waitedMs, { summary: 'CI machine fault: waiting before running CI again' });
  return ctx.stop ? 'stopped' : 'again';
}

/** Remembers the retry the failed attempt starts (and settles the one before it: it failed again). */
export async function rememberRetry(ctx: TaskContext, failure: ClassifiedFailure): Promise<void> {
  const { state, spec } = ctx;
  await settleRetry(ctx, 'failed_again');
  const p = failure.playbook;
  if (!p) return;
  const paths = [...new Set([...p.files, ...failure.evidence.files])].sort();
  await ctx.orchestration.rememberRetry({ taskId: spec.id, ...ctx.runKeyed, repository: spec.repository, attempt: state.attempt, kind: p.kind, digest: p.digest, paths, title: p.title, injection: p.injection });
}

/** The outcome of the retry the attempt under way was (the previous attempt's), once it ended. */
export async function settleRetry(ctx: TaskContext, outcome: 'fixed' | 'failed_again' | 'escalated', attempt = ctx.state.attempt - 1): Promise<void> {
  const before = ctx.state.attempts.find((a) => a.attempt === attempt);
  if (!before?.failure?.playbook) return;
  await ctx.orchestration.settleRetry({ taskId: ctx.spec.id, ...ctx.runKeyed, attempt, outcome });
}

/** Before a retry's prompt: what fixed the same class on the same paths in other tasks, kept in the state. */
export async function consultMemory(ctx: TaskContext): Promise<void> {
  const { state, spec } = ctx;
  const last = state.attempts.find((a) => a.attempt === state.attempt - 1)?.failure;
  if (!last?.playbook || state.learned?.attempt === state.attempt) return;
  const paths = [...new Set([...last.playbook.files, ...last.evidence.files])];
  const hints = await ctx.orchestration.learnedHints({ taskId: spec.id, repository: spec.repository, kind: last.playbook.kind, paths });
  state.learned = { attempt: state.attempt, hints };
  if (hints.length > 0) ctx.note(`attempt ${state.attempt}: the retry memory offers ${hints.map((h) => `a hint learned from task ${h.taskId}`).join(', ')}`);
}

/**
 * A focused correction instead of a fresh start: a headless CLI whose failed attempt left a session
 * gets the injection as the message that resumes it (the prompt file keeps the whole narrowed prompt).
 */
export function resumeCorrection(ctx: TaskContext): { run: number; resumeWith: string; resumeAttempt: number } | undefined {
  const { state } = ctx;
  const agent = state.setup!.agent;
  const before = state.attempts.find((a) => a.attempt === state.attempt - 1);
  const injection = before?.failure?.playbook?.injection;
  if (!injection || !before?.exit?.outcome?.sessionId || !RESUMABLE.includes(agent.kind) || agent.mode === 'interactive') return undefined;
  const learned = (state.learned?.hints ?? []).map((h) => `Learned from task ${h.taskId}, which fixed the same kind of failure on ${h.paths.join(', ')}:\n\n${h.injection}`);
  const resumeWith = [`Your previous attempt (attempt ${before.attempt}) failed: ${before.failure!.evidence.summary}. Correct it in this session.`, injection, ...learned].join('\n\n');
  return { run: 1, resumeWith, resumeAttempt: before.attempt };
}

/** What each attempt was told after its failure, for the escalation: its class and the injection's title. */
export function triedSoFar(ctx: TaskContext): string {
  const tried = ctx.state.attempts.filter((a) => a.failure).map((a) => `attempt ${a.attempt}: ${a.failure!.kind}${a.failure!.playbook?.title ? ` ("${a.failure!.playbook.title}")` : ''}`);
  return tried.length > 0 ? `tried: ${tried.join('; ')}` : 'nothing tried';
}
