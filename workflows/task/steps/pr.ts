// Step 5, the PR: the branch is pushed, its PR opened once (then read, never opened again), and
// kept in sync with the base. Runs again whenever the head is verified again.
import { patched } from '@temporalio/workflow';
import { classifyFailure } from '../../policy/classify.ts';
import { causeMessage, failureType } from '../activity-failure.ts';
import type { TaskContext } from '../context.ts';
import { GATE_WATCH_PATCH } from '../patches.ts';
import { taskBranch } from '../spec.ts';
import type { ClassifiedFailure, PullRequest } from '../types.ts';

/** The PR at its synced head, or the failure to hand back to the agent. */
export async function syncedPr(ctx: TaskContext): Promise<{ pr: PullRequest } | { failure: ClassifiedFailure }> {
  const { state, spec } = ctx;
  const h = ctx.host();
  ctx.enter('pr', 'running');
  try {
    await h.quick.pushBranch({ repository: spec.repository, worktree: state.workspace!.worktree, branch: taskBranch(spec.id) });
  } catch (err) {
    // Someone else pushed to the branch and the agent's commits do not build on theirs: the agent merges them.
    if (failureType(err) !== 'BranchDiverged' || !patched(GATE_WATCH_PATCH)) throw err;
    const said = causeMessage(err) ?? 'the branch diverged';
    return { failure: classifyFailure({ source: 'conflict', summary: `the task branch on the forge has commits from elsewhere: merge them`, details: [said], files: [] }) };
  }
  // A PR already opened is read, not opened again (its title and body may be a human's by now).
  const known = state.checks.pr?.state === 'open' && patched(GATE_WATCH_PATCH) ? await h.quick.getPr({ repository: spec.repository, number: state.checks.pr.number }) : undefined;
  let pr = known?.state === 'open' ? known : await h.quick.ensurePr({ taskId: spec.id, repository: spec.repository, base: spec.baseBranch, branch: taskBranch(spec.id), title: spec.title, body: prBody(ctx) });
  state.checks.pr = pr;
  await ctx.artifact({ key: `receipt:pr:${pr.number}`, kind: 'receipt', step: 'pr', payload: { number: pr.number, url: pr.url } });
  const sync = await h.quick.syncWithBase.executeWithOptions(h.options(`sync PR #${pr.number} with ${spec.baseBranch}`), [{ repository: spec.repository, number: pr.number, worktree: state.workspace!.worktree }]);
  if (sync.status === 'conflict') {
    return { failure: classifyFailure({ source: 'conflict', summary: `merging ${spec.baseBranch} into the branch conflicts`, details: sync.conflicts.map((f) => `conflict in ${f}`), files: sync.conflicts }) };
  }
  pr = await h.quick.getPr({ repository: spec.repository, number: pr.number });
  state.checks.pr = pr;
  state.checks.mergeability = await h.quick.checkMergeable({ repository: spec.repository, number: pr.number });
  ctx.publish();
  return { pr };
}

function prBody({ spec }: TaskContext): string {
  return [`Task \`${spec.id}\` (${spec.shape}), opened by swarmflow.`, '', spec.description, '', '## Acceptance criteria', ...spec.acceptanceCriteria.map((c) => `- ${c}`)].join('\n');
}
