// Whether a PR merges, as GitHub says it (shared reference §1):
// - `mergeable: null` (and `mergeable_state: unknown`) is "still computing": re-polled with a bounded
//   backoff, then a retryable failure; every known mergeable_state is mapped, any other one reported;
// - a `blocked` PR says what the base's protection and rulesets still require (`blockedBy`).
import type { Mergeability } from '../../../workflows/task/types.ts';
import { beat, pause } from '../../activity-context.ts';
import { FailureType, nonRetryable } from '../../errors.ts';
import { isHttpError, redact } from './errors.ts';
import { splitRepository as split } from './inputs.ts';
import { checksAt } from './checks.ts';
import { readPr, type PullData } from './pulls.ts';
import type { GitHubReviews } from './reviews.ts';
import type { GitHubContext } from './context.ts';

/** GitHub's mergeable_state values (GraphQL MergeStateStatus, lower-cased) swarmflow knows. */
export const MERGE_STATES = ['clean', 'has_hooks', 'unstable', 'behind', 'blocked', 'dirty', 'draft'] as const;
export type MergeState = (typeof MERGE_STATES)[number];

export interface GitHubMergeability extends Mergeability {
  state: MergeState;
  /** What the state means for the task, in words. */
  detail: string;
}

/** What a blocked PR's rules are checked against: the humans' standing reviews. */
export type ReviewReader = Pick<GitHubReviews, 'humanReviews'>;

/** Ruleset rules about pushes and refs, which never block merging a PR. */
const PUSH_ONLY_RULES = new Set(['creation', 'deletion', 'non_fast_forward']);

/** The PR once GitHub has computed its mergeability (bounded re-polls of `mergeable: null` / `unknown`). */
export async function settledPr(gh: GitHubContext, repository: string, number: number): Promise<PullData> {
  let delay = gh.poll.mergeableDelayMs;
  for (let attempt = 1; ; attempt++) {
    const pr = await readPr(gh, repository, number);
    const computing = pr.mergeable === null || pr.mergeable === undefined || pr.mergeable_state === 'unknown';
    if (!computing || pr.state !== 'open') return pr;
    if (attempt >= gh.poll.mergeableAttempts) {
      // Retryable: Temporal tries again later; the mergeability is never guessed.
      throw new Error(`GitHub is still computing the mergeability of PR #${number} of ${repository} after ${attempt} reads`);
    }
    beat({ waiting: 'mergeability', attempt });
    await pause(delay);
    delay = Math.min(delay * 2, gh.poll.maxDelayMs);
  }
}

export function mapState(repository: string, pr: PullData): GitHubMergeability {
  const state = pr.mergeable_state ?? '';
  const known = (MERGE_STATES as readonly string[]).includes(state);
  if (!known) {
    throw nonRetryable(
      FailureType.UnrecognisedForgeState,
      `PR #${pr.number} of ${repository} has mergeable_state "${state}", which swarmflow does not know: not guessing what it means`,
      { mergeableState: state, mergeable: pr.mergeable },
    );
  }
  const s = state as MergeState;
  const detail: Record<MergeState, string> = {
    clean: 'mergeable, checks passing',
    has_hooks: 'mergeable, checks passing, pre-receive hooks will run',
    unstable: 'mergeable, but some (non-required) checks are not passing',
    behind: `the branch is behind ${pr.base.ref}: update it, then wait for CI again`,
    blocked: 'the merge is blocked (required reviews, checks or rules)',
    dirty: `the branch conflicts with ${pr.base.ref}: the agent must merge ${pr.base.ref} and resolve the conflicts`,
    draft: 'the PR is a draft',
  };
  return {
    mergeable: pr.mergeable === true && s !== 'dirty',
    // GitHub reports "behind" but not by how much: 1 stands for "at least one commit".
    behindBy: s === 'behind' ? 1 : 0,
    // GitHub does not list conflicted paths; the agent finds them when it merges the base.
    conflicts: s === 'dirty' ? [`(GitHub does not list the conflicted files: merge ${pr.base.ref} into ${pr.head.ref} to see them)`] : [],
    headSha: pr.head.sha,
    state: s,
    detail: detail[s],
  };
}

/** The mapped state, with what GitHub still requires of a blocked or draft PR. */
export async function mergeabilityOf(gh: GitHubContext, reviews: ReviewReader, repository: string, pr: PullData): Promise<GitHubMergeability> {
  const m = mapState(repository, pr);
  if (m.state === 'draft') return { ...m, blockedBy: ['the PR is a draft: mark it ready for review'] };
  if (m.state === 'blocked') return { ...m, blockedBy: await unmetRules(gh, reviews, repository, pr) };
  return m;
}

/**
 * What GitHub still requires before it merges a blocked PR, in words: the base branch's
 * protection (reading it needs admin rights: a 403/404 is said, not a failure) and the rulesets
 * that apply to it, against the PR's standing approvals and its checks at the head.
 */
async function unmetRules(gh: GitHubContext, reviews: ReviewReader, repository: string, pr: PullData): Promise<string[]> {
  const { octokit } = gh;
  const { owner, repo } = split(repository);
  const branch = pr.base.ref;
  const approvals: Array<{ count: number; by: string }> = [];
  const checks = new Map<string, string>();
  const needs: string[] = [];
  const unread: string[] = [];
  const unreadable = (err: unknown, what: string, permission: string) => {
    if (!isHttpError(err) || (err.status !== 403 && err.status !== 404)) {
      throw gh.failure(err, { action: `reading the ${what} of ${branch} in ${repository}`, resource: `branch ${branch} of ${repository}`, permission });
    }
    const said = redact((err.response?.data as { message?: string } | undefined)?.message ?? err.message, gh.secrets);
    if (/branch not protected/i.test(said)) return;
    unread.push(`the ${what} of ${branch} could not be read (${err.status}: ${said.slice(0, 100)}; it needs "${permission}")`);
  };
  try {
    const { data } = await octokit.rest.repos.getBranchProtection({ owner, repo, branch });
    if (data.required_pull_request_reviews) approvals.push({ count: data.required_pull_request_reviews.required_approving_review_count ?? 1, by: 'branch protection' });
    for (const c of data.required_status_checks?.checks ?? []) checks.set(c.context, 'branch protection');
    for (const c of data.required_status_checks?.contexts ?? []) checks.set(c, 'branch protection');
    if (data.required_signatures?.enabled) needs.push('signed commits (branch protection)');
    if (data.required_conversation_resolution?.enabled) needs.push('every review conversation resolved (branch protection)');
  } catch (err) {
    unreadable(err, 'branch protection', 'Administration: read');
  }
  try {
    const rules = await octokit.paginate(octokit.rest.repos.getBranchRules, { owner, repo, branch, per_page: 100 });
    for (const rule of rules) {
      const source = `ruleset ${'ruleset_source' in rule && rule.ruleset_source ? `"${rule.ruleset_source}"` : ''}`.trim();
      if (rule.type === 'pull_request') approvals.push({ count: rule.parameters?.required_approving_review_count ?? 0, by: source });
      else if (rule.type === 'required_status_checks') for (const c of rule.parameters?.required_status_checks ?? []) checks.set(c.context, source);
      else if (!PUSH_ONLY_RULES.has(rule.type)) needs.push(`the rule "${rule.type}" (${source})`);
    }
  } catch (err) {
    unreadable(err, 'rules', 'Metadata: read');
  }
  const required = approvals.reduce((a, b) => (b.count > a.count ? b : a), { count: 0, by: '' });
  if (required.count > 0) {
    const { reviews: standing } = await reviews.humanReviews({ repository, number: pr.number, headSha: pr.head.sha });
    const given = standing.filter((r) => r.state === 'APPROVED').length;
    if (given < required.count) needs.unshift(`${required.count} approving GitHub review(s), ${given} given (${required.by})`);
  }
  if (checks.size > 0) {
    const verdict = await checksAt(gh, repository, pr.head.sha, [...checks.keys()]);
    const notPassing = verdict.checks.filter((c) => checks.has(c.name) && c.status !== 'passed');
    if (notPassing.length > 0) needs.push(`required check(s) passing at ${pr.head.sha.slice(0, 12)}: ${notPassing.map((c) => `${c.name} (${c.conclusion}, ${checks.get(c.name)})`).join(', ')}`);
  }
  if (needs.length === 0) needs.push(`GitHub reports the merge as blocked by a rule swarmflow could not name`);
  return [...needs, ...unread];
}
