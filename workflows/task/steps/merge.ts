// Step 8b, the merge: approved, the PR is merged with a head-SHA guard. A head or base that moved
// since the approval sends it back through verification; a forge's rule or a base checkout in the
// way waits for a human. The final verification record closes the evidence chain.
import { patched } from '@temporalio/workflow';
import { causeMessage, failureType } from '../activity-failure.ts';
import type { TaskContext } from '../context.ts';
import { escalate } from '../escalation.ts';
import { BASE_IN_THE_WAY_PATCH, GATE_WATCH_PATCH, MERGE_REFUSES_PATCH } from '../patches.ts';
import { computeDod } from './gates.ts';
import { awaitForge } from './human-gate.ts';

export async function merge(ctx: TaskContext): Promise<'merged' | 'stopped' | 'reverify'> {
  const { state, spec } = ctx;
  const watch = patched(GATE_WATCH_PATCH);
  const pr = state.checks.pr!;
  // A proven decision names the head it approved: any other head needs a new one.
  if (state.setup?.decisions && state.decision?.headSha !== pr.headSha) {
    ctx.note(`the approval was for ${state.decision?.headSha?.slice(0, 12) ?? 'another head'}, the PR's head is ${pr.headSha.slice(0, 12)}: verifying again; approval needed again`);
    setAside(ctx);
    return 'reverify';
  }
  computeDod(ctx);
  const h = ctx.host();
  ctx.merging = patched(MERGE_REFUSES_PATCH);
  try {
    const merged = await h.quick.mergePr.executeWithOptions(h.options(`merge PR #${pr.number} at ${pr.headSha.slice(0, 12)}`), [{ repository: spec.repository, number: pr.number, expectedHeadSha: pr.headSha }]);
    state.merge = { sha: merged.mergeSha, at: ctx.now() };
  } catch (err) {
    // The head or the base moved since the approval: verify again, and ask again.
    const type = failureType(err);
    if (type === 'HeadMoved' || type === 'MergeConflict' || (watch && type === 'BehindBase')) {
      setAside(ctx);
      const why = type === 'HeadMoved' ? 'the PR head moved' : type === 'MergeConflict' ? `${spec.baseBranch} moved and now conflicts` : `${spec.baseBranch} moved and the forge requires the branch up to date`;
      ctx.note(`${why} after approval: verifying again; approval needed again`);
      return 'reverify';
    }
    if (watch && type === 'NotMergeable') {
      // Rules only a human can satisfy (a required GitHub review, a ruleset): ask, keep the PR.
      setAside(ctx);
      return awaitForge(ctx, `the forge refused the approved merge: ${causeMessage(err) ?? 'not mergeable'}; approval needed again once it is met`);
    }
    if (type === 'BaseNotUpdatable' && patched(BASE_IN_THE_WAY_PATCH)) {
      // The operator's own checkout of the base is in the way: theirs to clear; then verify and ask again.
      setAside(ctx);
      const cleared = await escalate(ctx, `the approved merge could not update the base: ${causeMessage(err) ?? 'its checkout is in the way'}; approval needed again after a retry`, { respawn: false });
      return cleared ? 'reverify' : 'stopped';
    }
    throw err;
  }
  state.checks.pr = { ...pr, state: 'merged' };
  ctx.note(`merged PR #${pr.number} as ${state.merge.sha.slice(0, 12)}`);
  await ctx.artifact({ key: 'verification:final', kind: 'verification', step: 'human_gate', payload: { dod: state.dod, decision: state.decision, merge: state.merge, headSha: pr.headSha } });
  return 'merged';
}

/** The approval no longer holds: the merge is off and a new decision is needed. */
function setAside(ctx: TaskContext): void {
  ctx.merging = false;
  ctx.state.decision = undefined;
}
