// Step 5, the PR: the branch is pushed, its PR opened once (then read, never opened again), and
// kept in sync with the base. Runs again whenever the head is verified again.
import { patched } from '@temporalio/workflow';
import { policyGateEvidence } from '../../policy/anti-gaming.ts';
import { classifyFailure } from '../../policy/classify.ts';
import { closesIssue } from '../../policy/issue-spec.ts';
import { listOf } from '../../policy/text.ts';
import { causeMessage, failureType } from '../activity-failure.ts';
import type { TaskContext } from '../context.ts';
import { GATE_WATCH_PATCH, ISSUE_INTAKE_PATCH, OBJECTIVE_EVIDENCE_PATCH, PR_IN_ONE_CALL_PATCH } from '../patches.ts';
import { taskBranch } from '../spec.ts';
import type { ClassifiedFailure, NeedsHuman, PullRequest } from '../types.ts';

/** The PR at its synced head, the failure to hand back to the agent, or what only a human can decide. */
export async function syncedPr(ctx: TaskContext): Promise<{ pr: PullRequest } | { failure: ClassifiedFailure } | NeedsHuman> {
  const { state, spec } = ctx;
  const h = ctx.host();
  ctx.enter('pr', 'running');
  if (patched(OBJECTIVE_EVIDENCE_PATCH)) {
    state.evidencePlane = true;
    const blocked = await policyGate(ctx);
    if (blocked) return blocked;
  }
  if (patched(PR_IN_ONE_CALL_PATCH)) return syncedInOneCall(ctx);
  try {
    await h.quick.pushBranch({ repository: spec.repository, worktree: state.workspace!.worktree, branch: taskBranch(spec.id) });
  } catch (err) {
    // Someone else pushed to the branch and the agent's commits do not build on theirs: the agent merges them.
    if (failureType(err) !== 'BranchDiverged' || !patched(GATE_WATCH_PATCH)) throw err;
    return diverged(causeMessage(err) ?? 'the branch diverged');
  }
  // A PR already opened is read, not opened again (its title and body may be a human's by now).
  const known = state.checks.pr?.state === 'open' && patched(GATE_WATCH_PATCH) ? await h.quick.getPr({ repository: spec.repository, number: state.checks.pr.number }) : undefined;
  let pr = known?.state === 'open' ? known : await h.quick.ensurePr({ taskId: spec.id, repository: spec.repository, base: spec.baseBranch, branch: taskBranch(spec.id), title: spec.title, body: prBody(ctx) });
  state.checks.pr = pr;
  await prReceipt(ctx, pr);
  const sync = await h.quick.syncWithBase.executeWithOptions(h.options(`sync PR #${pr.number} with ${spec.baseBranch}`), [{ repository: spec.repository, number: pr.number, worktree: state.workspace!.worktree }]);
  if (sync.status === 'conflict') return baseConflicts(ctx, sync.conflicts);
  pr = await h.quick.getPr({ repository: spec.repository, number: pr.number });
  state.checks.pr = pr;
  state.checks.mergeability = await h.quick.checkMergeable({ repository: spec.repository, number: pr.number });
  ctx.publish();
  return { pr };
}

/** The same as the steps above, in one host activity (see PR_IN_ONE_CALL_PATCH). */
async function syncedInOneCall(ctx: TaskContext): Promise<{ pr: PullRequest } | { failure: ClassifiedFailure }> {
  const { state, spec } = ctx;
  const h = ctx.host();
  const openPr = state.checks.pr?.state === 'open' ? { openPr: state.checks.pr.number } : {};
  const input = { taskId: spec.id, repository: spec.repository, worktree: state.workspace!.worktree, base: spec.baseBranch, branch: taskBranch(spec.id), title: spec.title, body: prBody(ctx), ...openPr };
  const synced = await h.quick.syncPr.executeWithOptions(h.options(`push, open and sync the PR with ${spec.baseBranch}`), [input]);
  if (synced.status === 'diverged') return diverged(synced.detail);
  state.checks.pr = synced.pr;
  await prReceipt(ctx, synced.pr);
  if (synced.status === 'conflict') return baseConflicts(ctx, synced.conflicts);
  state.checks.mergeability = synced.mergeability;
  ctx.publish();
  return { pr: synced.pr };
}

const prReceipt = (ctx: TaskContext, pr: PullRequest) => ctx.artifact({ key: `receipt:pr:${pr.number}`, kind: 'receipt', step: 'pr', payload: { number: pr.number, url: pr.url } });

/** Someone else pushed to the branch and the agent's commits do not build on theirs: the agent merges them. */
const diverged = (said: string) => ({ failure: classifyFailure({ source: 'conflict', summary: `the task branch on the forge has commits from elsewhere: merge them`, details: [said], files: [] }) });

const baseConflicts = ({ spec }: TaskContext, conflicts: string[]) => ({
  failure: classifyFailure({ source: 'conflict', summary: `merging ${spec.baseBranch} into the branch conflicts`, details: conflicts.map((f) => `conflict in ${f}`), files: conflicts }),
});

/**
 * The anti-gaming and secret gate on the head collected from the agent's clone, before anything
 * leaves the host. A first failing head goes back to the agent (missing_constraint); a second
 * goes to a human with the hits.
 */
async function policyGate(ctx: TaskContext): Promise<{ failure: ClassifiedFailure } | NeedsHuman | undefined> {
  const { state, spec } = ctx;
  const h = ctx.host();
  const checkout = state.checkout ?? (await h.quick.localCheckout({ repository: spec.repository })).path;
  const { headSha } = await h.quick.collectBranch({ repository: spec.repository, worktree: state.workspace!.worktree, branch: taskBranch(spec.id) });
  const { protectedPaths = [], allowPaths = [] } = state.setup!.policy;
  const gate = await h.quick.policyGate({ checkout, base: spec.baseBranch, headSha, policy: { protectedPaths, allowPaths } });
  state.checks.policyGate = gate;
  await ctx.artifact({ key: `verification:policy:${headSha}`, kind: 'verification', step: 'pr', payload: { ...gate } });
  const evidence = policyGateEvidence(gate);
  if (!evidence) return undefined;
  state.checks.policyGateFailures = (state.checks.policyGateFailures ?? 0) + 1;
  if (state.checks.policyGateFailures > 1) {
    const hits = gate.hits.map((hit) => `${hit.rule} ${hit.file}${hit.line === undefined ? '' : `:${hit.line}`}`);
    return {
      needsHuman: `the policy gate failed again at ${headSha.slice(0, 12)} (${listOf(hits, 5)}); nothing was pushed. A retry starts a new attempt with your guidance`,
      respawn: true,
    };
  }
  return { failure: classifyFailure(evidence) };
}

function prBody({ spec }: TaskContext): string {
  const body = [`Task \`${spec.id}\` (${spec.shape}), opened by swarmflow.`, '', spec.description, '', '## Acceptance criteria', ...spec.acceptanceCriteria.map((c) => `- ${c}`)];
  // Only a task from an issue asks for the patch, so histories without one replay untouched.
  if (spec.issue && patched(ISSUE_INTAKE_PATCH)) body.push('', closesIssue(spec.repository, spec.issue));
  return body.join('\n');
}
