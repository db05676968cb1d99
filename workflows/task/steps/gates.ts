// Step 7, CI and policy gates: the repository's CI at the PR head (a forge's CI is waited for on
// the monitor's timer), then the policy gates, then the Definition of Done.
import { condition, patched } from '@temporalio/workflow';
import { classifyFailure } from '../../policy/classify.ts';
import { definitionOfDone } from '../../policy/definition-of-done.ts';
import { uiEvidenceGate } from '../../policy/gates.ts';
import type { TaskContext } from '../context.ts';
import { evidenceComment, type Decision } from '../state.ts';
import { OBJECTIVE_EVIDENCE_PATCH } from '../patches.ts';
import type { CiCheck, CiVerdict, ClassifiedFailure, PullRequest } from '../types.ts';

/** The failure to hand back to the agent, if any; undefined also when stopped while CI ran. */
export async function gates(ctx: TaskContext, pr: PullRequest): Promise<ClassifiedFailure | undefined> {
  const { state, spec } = ctx;
  const h = ctx.host();
  ctx.enter('gates');
  const evidence = patched(OBJECTIVE_EVIDENCE_PATCH);
  // With the evidence plane, CI ran before the reviewers (they read its results).
  if (!evidence || state.checks.ci?.headSha !== pr.headSha) {
    const ci = await awaitCi(ctx, pr);
    if (!ci) return undefined;
    if (ci.status === 'failed') return ciFailure(ci);
  }
  const changed = await h.quick.changedFiles({ repository: spec.repository, number: pr.number });
  const { uiPaths, preview } = state.setup!.policy;
  if (evidence && preview && uiEvidenceGate({ changedFiles: changed, uiPaths, preview }).required) {
    state.checks.uiCapture = await h.long.captureScreenshots.executeWithOptions(h.options(`screenshots of ${preview.routes.length} route(s), base and ${pr.headSha.slice(0, 12)}`, true), [
      { taskId: spec.id, ...ctx.runKeyed, headSha: pr.headSha, checkout: state.checkout!, base: spec.baseBranch, preview },
    ]);
    await ctx.artifact({ key: `verification:screenshots:${pr.headSha}`, kind: 'verification', step: 'gates', payload: { ...state.checks.uiCapture } });
  }
  state.checks.uiEvidence = uiEvidenceGate({ changedFiles: changed, uiPaths, preview, capture: state.checks.uiCapture, prBody: pr.body });
  if (state.checks.uiEvidence.required && !state.checks.uiEvidence.satisfied) {
    const capture = state.checks.uiCapture;
    const output = capture?.status === 'failed' && capture.headSha === pr.headSha ? [capture.failure.outputTail] : [];
    return classifyFailure({ source: 'gates', summary: state.checks.uiEvidence.detail, details: output, files: changed.files.map((f) => f.path) });
  }
  computeDod(ctx);
  // The human reads the evidence where they review: on GitHub, one comment on the PR kept current.
  if (evidence) await h.quick.postEvidence({ repository: spec.repository, number: pr.number, headSha: pr.headSha, body: evidenceComment(state) });
  return undefined;
}

/** CI at the PR head, recorded; a forge's CI runs elsewhere and is waited for on the monitor's timer, sooner on a webhook. Undefined when stopped. */
export async function awaitCi(ctx: TaskContext, pr: PullRequest): Promise<CiVerdict | undefined> {
  const { state, spec } = ctx;
  const h = ctx.host();
  // Once after a CI machine's fault (see playbook.ts): its failed verdict at this head is run again.
  const rerun = state.checks.ciRerun ? { rerunFailed: true } : {};
  state.checks.ciRerun = undefined;
  const runCi = () =>
    h.long.runCi.executeWithOptions(h.options(`CI on ${pr.headSha.slice(0, 12)}`, true), [
      { taskId: spec.id, repository: spec.repository, number: pr.number, headSha: pr.headSha, checks: state.setup!.policy.ci, ...rerun },
    ]);
  let ci = await runCi();
  while (ci.status === 'pending' && !ctx.stop) {
    state.checks.ci = ci;
    ctx.publish();
    const seen = ctx.forgeEvents;
    await condition(() => !!ctx.stop || ctx.forgeEvents !== seen, spec.limits.monitorInterval, { summary: 'waiting for CI' });
    ci = await runCi();
  }
  if (ctx.stop) return undefined;
  state.checks.ci = ci;
  await ctx.artifact({ key: `verification:ci:${pr.headSha}`, kind: 'verification', step: 'gates', payload: { ...ci } });
  return ci;
}

/** A failed CI as the failure to hand back to the agent, with each failed check's output. */
export function ciFailure(ci: CiVerdict): ClassifiedFailure {
  const failed = ci.checks.filter((c) => c.status !== 'passed');
  const detail = (c: CiCheck) => `${c.name}${c.conclusion ? ` (${c.conclusion})` : ''}${c.detailsUrl ? ` ${c.detailsUrl}` : ''}:\n${c.outputTail}`;
  return classifyFailure({ source: 'ci', summary: `CI failed: ${failed.map((c) => `${c.name} ${c.status}`).join(', ')}`, details: failed.map(detail), files: [] });
}

/** The Definition of Done from what the checks say now. */
export function computeDod({ state }: TaskContext): void {
  const c = state.checks;
  state.dod = definitionOfDone({
    pr: c.pr,
    mergeability: c.mergeability,
    ci: c.ci,
    ciConfigured: state.setup!.policy.ci.length > 0,
    review: c.review,
    uiEvidence: c.uiEvidence,
    approved: state.decision?.decision === 'approve',
    evidence: state.evidencePlane
      ? {
          acceptanceCriteria: state.spec.acceptanceCriteria,
          policyGate: c.policyGate,
          uiCapture: c.uiCapture,
          reviewRounds: state.reviewRounds,
          block: state.setup!.policy.review?.block ?? ['critical'],
          approvedBy: state.decision?.decision === 'approve' ? approver(state.decision) : undefined,
        }
      : undefined,
  });
}

/** Who approved, and how they proved it. */
function approver(d: Decision): string {
  if (d.channel === 'github') return `${d.by} (GitHub review by ${d.review?.login ?? '?'})`;
  if (d.channel === 'telegram') return `${d.by} (Telegram user ${d.signed?.telegramUserId ?? '?'})`;
  return d.channel === 'key' ? `${d.by} (signed with their key)` : d.by;
}
