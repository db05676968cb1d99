// CI on GitHub runs elsewhere: the verdict at a head SHA reads both check runs (latest per name,
// all pages) and the combined commit statuses; only success/neutral/skipped pass; no checks at all
// is "pending", never green, and so is a required check nothing has reported yet.
import { z } from 'zod';
import { Slug } from '../../../workflows/task/spec.ts';
import type { CiCheck, CiVerdict, RepoPolicy } from '../../../workflows/task/types.ts';
import { CiCheckConfigSchema } from '../policy.ts';
import type { CallContext } from './errors.ts';
import { PrRef, Sha, parseInput, splitRepository as split } from './inputs.ts';
import { call, type GitHubContext } from './context.ts';

/** One check as GitHub reported it (a check run or a commit status). */
export interface GitHubCiCheck extends Omit<CiCheck, 'status'> {
  status: CiCheck['status'] | 'pending';
  kind: 'check_run' | 'status' | 'required';
  /** check run conclusion / status state, or "missing" for a required check nothing reported. */
  conclusion: string;
  detailsUrl: string | null;
}

/** The CI verdict as GitHub reports it: `pending` while checks run or none has reported yet (never green). */
export interface GitHubCiVerdict extends CiVerdict {
  headSha: string;
  status: 'passed' | 'failed' | 'pending';
  checks: GitHubCiCheck[];
  /** Why it is pending or failed, in words (for the task's state and the agent's evidence). */
  summary: string;
}

const PASSING = new Set(['success', 'neutral', 'skipped']);

/** The verdict over check runs (latest per name) and statuses (latest per context): a pure function. */
export function ciVerdict(
  headSha: string,
  runs: Array<{ id: number; name: string; status: string; conclusion: string | null; details_url?: string | null; html_url?: string | null; started_at?: string | null; completed_at?: string | null; output?: { summary?: string | null; title?: string | null } }>,
  statuses: Array<{ context: string; state: string; target_url: string | null; description: string | null }>,
  required: readonly string[],
): GitHubCiVerdict {
  const latest = new Map<string, (typeof runs)[number]>();
  for (const r of runs) if (!latest.has(r.name) || latest.get(r.name)!.id < r.id) latest.set(r.name, r);
  const checks: GitHubCiCheck[] = [];
  for (const r of latest.values()) {
    const done = r.status === 'completed';
    const status: GitHubCiCheck['status'] = !done ? 'pending' : PASSING.has(r.conclusion ?? '') ? 'passed' : r.conclusion === 'timed_out' ? 'timed_out' : 'failed';
    const url = r.details_url ?? r.html_url ?? null;
    const started = r.started_at ? Date.parse(r.started_at) : NaN;
    const completed = r.completed_at ? Date.parse(r.completed_at) : NaN;
    checks.push({
      name: r.name,
      kind: 'check_run',
      status,
      conclusion: done ? (r.conclusion ?? 'unknown') : r.status,
      detailsUrl: url,
      exitCode: null,
      durationMs: Number.isFinite(started) && Number.isFinite(completed) ? completed - started : 0,
      outputFile: url ?? '',
      outputTail: [r.output?.title, r.output?.summary].filter(Boolean).join('\n').slice(-4_000),
    });
  }
  for (const s of statuses) {
    const status: GitHubCiCheck['status'] = s.state === 'success' ? 'passed' : s.state === 'pending' ? 'pending' : 'failed';
    checks.push({ name: s.context, kind: 'status', status, conclusion: s.state, detailsUrl: s.target_url, exitCode: null, durationMs: 0, outputFile: s.target_url ?? '', outputTail: s.description ?? '' });
  }
  const seen = new Set(checks.map((c) => c.name));
  for (const name of required) {
    if (!seen.has(name)) checks.push({ name, kind: 'required', status: 'pending', conclusion: 'missing', detailsUrl: null, exitCode: null, durationMs: 0, outputFile: '', outputTail: 'required check not reported yet' });
  }
  const failed = checks.filter((c) => c.status === 'failed' || c.status === 'timed_out');
  const pending = checks.filter((c) => c.status === 'pending');
  if (failed.length > 0) {
    return { headSha, status: 'failed', checks, summary: `failing: ${failed.map((c) => `${c.name} (${c.conclusion}${c.detailsUrl ? `, ${c.detailsUrl}` : ''})`).join('; ')}` };
  }
  if (checks.length === 0) return { headSha, status: 'pending', checks, summary: 'no checks reported yet at this commit: waiting, not green' };
  if (pending.length > 0) return { headSha, status: 'pending', checks, summary: `waiting for: ${pending.map((c) => `${c.name} (${c.conclusion})`).join(', ')}` };
  return { headSha, status: 'passed', checks, summary: `all ${checks.length} checks passed` };
}

/** The CI verdict at `headSha`: check runs and commit statuses, every page. */
export async function checksAt(gh: GitHubContext, repository: string, headSha: string, required: readonly string[]): Promise<GitHubCiVerdict> {
  const { octokit } = gh;
  const { owner, repo } = split(repository);
  const ctx = (what: string, permission: string): CallContext => ({ action: `reading the ${what} of ${headSha} in ${repository}`, resource: `commit ${headSha} of ${repository}`, permission });
  const runs = await call(gh, ctx('check runs', 'Checks: read'), () =>
    octokit.paginate(octokit.rest.checks.listForRef, { owner, repo, ref: headSha, filter: 'latest', per_page: 100 }),
  );
  const statuses = await call(gh, ctx('commit statuses', 'Commit statuses: read'), async () => {
    const all: Array<{ context: string; state: string; target_url: string | null; description: string | null }> = [];
    for await (const page of octokit.paginate.iterator(octokit.rest.repos.getCombinedStatusForRef, { owner, repo, ref: headSha, per_page: 100 })) {
      all.push(...(page.data as unknown as { statuses: typeof all }).statuses);
    }
    return all;
  });
  return ciVerdict(headSha, runs, statuses, required);
}

export function checkActivities(gh: GitHubContext) {
  return {
    async runCi(input: { taskId: string; repository: string; number: number; headSha: string; checks: RepoPolicy['ci']; requiredChecks?: string[] }): Promise<GitHubCiVerdict> {
      const { repository, headSha, checks, requiredChecks } = parseInput(
        PrRef.extend({
          taskId: Slug,
          headSha: Sha,
          checks: z.array(CiCheckConfigSchema).max(50),
          requiredChecks: z.array(z.string().min(1).max(200)).max(100).optional(),
        }),
        input,
        'runCi',
      );
      const required = [...new Set([...checks.map((c) => c.name), ...(requiredChecks ?? [])])];
      return checksAt(gh, repository, headSha, required);
    },
  };
}
