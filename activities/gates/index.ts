// The policy gate, a host activity: the task branch's diff against its merge-base with the base,
// judged by the anti-gaming rules and the secret scanner. It runs in the orchestrator's repository
// (the user's for the local forge, our mirror for GitHub) after the agent's branch was collected
// into it and before anything is pushed: git never runs in the agent's clone, whose config and
// hooks are the agent's (task-branch.ts), and a secret is stopped before it leaves the host.
import { z } from 'zod';
import { BranchName, SafeAbsolutePath } from '../../workflows/task/spec.ts';
import type { PolicyGateResult, PolicyHit } from '../../workflows/task/types.ts';
import { FailureType, nonRetryable, parseInput } from '../errors.ts';
import { PathGlob } from '../forge/policy.ts';
import { Sha } from '../forge/github/inputs.ts';
import { fileAt, git, isRepository, mergeBaseOf, revParse } from '../git.ts';
import { coverageHits, gateHits, testHits, type ManifestVersions } from './anti-gaming.ts';
import { manifestOf } from './gate-files.ts';
import { secretHits } from './secrets.ts';
import { parseUnifiedDiff, type DiffFile } from './unified-diff.ts';

/** Hits kept in the result (it goes into the workflow's history); the rest are counted. */
const MAX_HITS = 100;
const DETAIL_MAX = 300;

export const PolicyGateInput = z.object({
  /** The orchestrator's repository holding the base and the collected task branch (localCheckout's path). */
  checkout: SafeAbsolutePath,
  base: BranchName,
  /** The task branch's head as collected (collectBranch's headSha). */
  headSha: Sha,
  /** From the base's policy file; absent in a policy recorded before these fields existed. */
  policy: z.object({ protectedPaths: z.array(PathGlob).max(200).default([]), allowPaths: z.array(PathGlob).max(200).default([]) }),
});
export type PolicyGateInput = z.input<typeof PolicyGateInput>;

async function manifestVersions(checkout: string, files: DiffFile[], mergeBaseSha: string, headSha: string): Promise<ManifestVersions[]> {
  const changed = files.filter((f) => manifestOf(f.path) !== undefined);
  return Promise.all(
    changed.map(async (f) => ({
      path: f.path,
      before: f.status === 'added' ? undefined : await fileAt(checkout, mergeBaseSha, f.oldPath ?? f.path),
      after: f.status === 'deleted' ? undefined : await fileAt(checkout, headSha, f.path),
    })),
  );
}

export async function policyGate(input: PolicyGateInput): Promise<PolicyGateResult> {
  const { checkout, base, headSha, policy } = parseInput(PolicyGateInput, input, 'policyGate');
  if (!(await isRepository(checkout))) throw nonRetryable(FailureType.InvalidInput, `${checkout} is not a git repository (or not its top-level directory)`);
  const baseSha = await revParse(checkout, `refs/heads/${base}`);
  if (!baseSha) throw nonRetryable(FailureType.InvalidInput, `base branch "${base}" does not exist in ${checkout}`);
  if (!(await revParse(checkout, headSha))) throw nonRetryable(FailureType.InvalidInput, `commit ${headSha} does not exist in ${checkout}`);
  const mergeBaseSha = await mergeBaseOf(checkout, baseSha, headSha);
  if (!mergeBaseSha) throw nonRetryable(FailureType.InvalidInput, `${headSha} has no history in common with ${base} in ${checkout}`);

  // -U0: only changed lines, numbered. Explicit prefixes and rename detection: the repository's
  // config (diff.noprefix, diff.renames) must not change what is read.
  const { stdout } = await git(checkout, [
    'diff', '-M', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/', mergeBaseSha, headSha,
  ]);
  const files = parseUnifiedDiff(stdout);
  const manifests = await manifestVersions(checkout, files, mergeBaseSha, headSha);
  const hits: PolicyHit[] = [...testHits(files), ...coverageHits(files), ...gateHits(files, manifests, policy), ...secretHits(files)].map((h) => ({
    ...h,
    detail: h.detail.length > DETAIL_MAX ? `${h.detail.slice(0, DETAIL_MAX)}…` : h.detail,
  }));
  return {
    status: hits.length === 0 ? 'passed' : 'failed',
    mergeBaseSha,
    headSha,
    hits: hits.slice(0, MAX_HITS),
    omittedHits: Math.max(0, hits.length - MAX_HITS),
  };
}
