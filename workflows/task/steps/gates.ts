// Step 7, CI and policy gates: the repository's CI at the PR head (a forge's CI is waited for on
// the monitor's timer), then the policy gates, then the Definition of Done.
import { condition } from '@temporalio/workflow';
import { classifyFailure } from '../../policy/classify.ts';
import { definitionOfDone } from '../../policy/definition-of-done.ts';
import { uiEvidenceGate } from '../../policy/gates.ts';
import type { TaskContext } from '../context.ts';
import type { CiCheck, ClassifiedFailure, PullRequest } from '../types.ts';

/** The failure to hand back to the agent, if any; undefined also when stopped while CI ran. */
export async function gates(ctx: TaskContext, pr: PullRequest): Promise<ClassifiedFailure | undefined> {
  const { state, spec } = ctx;
  const h = ctx.host();
  ctx.enter('gates');
  const runCi = () =>
    h.long.runCi.executeWithOptions(h.options(`CI on ${pr.headSha.slice(0, 12)}`, true), [
      { taskId: spec.id, repository: spec.repository, number: pr.number, headSha: pr.headSha, checks: state.setup!.policy.ci },
    ]);
  let ci = await runCi();
  // A forge's CI runs elsewhere: wait for it on the monitor's timer, sooner on a webhook.
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
  if (ci.status === 'failed') {
    const failed = ci.checks.filter((c) => c.status !== 'passed');
    const detail = (c: CiCheck) => `${c.name}${c.conclusion ? ` (${c.conclusion})` : ''}${c.detailsUrl ? ` ${c.detailsUrl}` : ''}:\n${c.outputTail}`;
    return classifyFailure({ source: 'ci', summary: `CI failed: ${failed.map((c) => `${c.name} ${c.status}`).join(', ')}`, details: failed.map(detail), files: [] });
  }
  const changed = await h.quick.changedFiles({ repository: spec.repository, number: pr.number });
  state.checks.uiEvidence = uiEvidenceGate({ changedFiles: changed, uiPaths: state.setup!.policy.uiPaths, prBody: pr.body });
  if (state.checks.uiEvidence.required && !state.checks.uiEvidence.satisfied) {
    return classifyFailure({ source: 'gates', summary: state.checks.uiEvidence.detail, details: [], files: changed.files.map((f) => f.path) });
  }
  computeDod(ctx);
  return undefined;
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
  });
}
