// The pull request itself: opened, read, its files and diff, closed (shared reference §1).
// - ensurePr creates the PR and returns its number (the workflow stores it, and reads it afterwards);
//   a PR that already exists is recovered with `head=<owner>:<branch>` (never a bare branch name,
//   which GitHub ignores) and left as it is (a human may have edited it); an ambiguous answer is refused;
// - closePr, like a merge, deletes the branch afterwards: a task that ends leaves none on GitHub.
import { z } from 'zod';
import { BranchName, Slug } from '../../../workflows/task/spec.ts';
import type { ChangedFiles, PullRequest } from '../../../workflows/task/types.ts';
import { FailureType, nonRetryable } from '../../errors.ts';
import { capDiff } from '../diff.ts';
import { isHttpError, redact, type CallContext } from './errors.ts';
import { GitHubRepository, PrRef, parseInput, splitRepository as split } from './inputs.ts';
import { call, type GitHubContext } from './context.ts';

export type PullData = {
  number: number;
  state: string;
  merged?: boolean;
  merged_at: string | null;
  merge_commit_sha: string | null;
  title: string;
  body: string | null;
  html_url: string;
  head: { ref: string; sha: string };
  base: { ref: string };
  mergeable?: boolean | null;
  mergeable_state?: string;
};

const toPullRequest = (p: PullData): PullRequest => ({
  number: p.number,
  branch: p.head.ref,
  base: p.base.ref,
  headSha: p.head.sha,
  state: p.merged || p.merged_at ? 'merged' : p.state === 'closed' ? 'closed' : 'open',
  title: p.title,
  body: p.body ?? '',
  url: p.html_url,
});

export const prCtx = (repository: string, number: number, action: string, permission = 'Pull requests: read'): CallContext => ({
  action: `${action} PR #${number} of ${repository}`,
  resource: `PR #${number} of ${repository}`,
  permission,
});

export async function readPr(gh: GitHubContext, repository: string, number: number): Promise<PullData> {
  const { data } = await call(gh, prCtx(repository, number, 'reading'), () => gh.octokit.rest.pulls.get({ ...split(repository), pull_number: number }));
  return data;
}

export async function deleteBranch(gh: GitHubContext, repository: string, branch: string): Promise<void> {
  try {
    await gh.octokit.rest.git.deleteRef({ ...split(repository), ref: `heads/${branch}` });
  } catch (err) {
    // Already gone (GitHub's "delete head branches" setting, or an earlier attempt): fine.
    if (isHttpError(err) && (err.status === 422 || err.status === 404)) return;
    throw gh.failure(err, { action: `deleting branch ${branch} of ${repository}`, resource: `branch ${branch} of ${repository}`, permission: 'Contents: write' });
  }
}

/** The open PR for a branch, by `head=<owner>:<branch>`; more than one is refused. */
async function findOpenPr(gh: GitHubContext, repository: string, branch: string): Promise<PullData | undefined> {
  const { owner, repo } = split(repository);
  const found = await call(gh, { action: `looking up the PR for ${branch} in ${repository}`, resource: `repository ${repository}`, permission: 'Pull requests: read' }, () =>
    gh.octokit.paginate(gh.octokit.rest.pulls.list, { owner, repo, head: `${owner}:${branch}`, state: 'open', per_page: 100 }),
  );
  const mine = found.filter((p) => p.head.ref === branch);
  if (mine.length !== found.length || mine.length > 1) {
    throw nonRetryable(
      FailureType.AmbiguousPullRequest,
      `GitHub answered ${found.length} open PRs for ${owner}:${branch} in ${repository} (#${found.map((p) => p.number).join(', #')}): refusing to pick one`,
      { numbers: found.map((p) => p.number) },
    );
  }
  return mine[0];
}

export function pullActivities(gh: GitHubContext) {
  const { octokit } = gh;
  return {
    async ensurePr(input: { taskId: string; repository: string; base: string; branch: string; title: string; body: string }): Promise<PullRequest> {
      const { repository, base, branch, title, body } = parseInput(
        z.object({ taskId: Slug, repository: GitHubRepository, base: BranchName, branch: BranchName, title: z.string().trim().min(1).max(200), body: z.string().max(65_536) }),
        input,
        'ensurePr',
      );
      const { owner, repo } = split(repository);
      const ctx = { action: `opening a PR for ${branch} in ${repository}`, resource: `repository ${repository} (branches ${base}, ${branch})`, permission: 'Pull requests: write' };
      try {
        const { data } = await octokit.rest.pulls.create({ owner, repo, head: branch, base, title, body });
        return toPullRequest(data);
      } catch (err) {
        const already = isHttpError(err) && err.status === 422 && /already exists/i.test(JSON.stringify(err.response?.data ?? ''));
        if (!already) {
          if (isHttpError(err) && err.status === 422) {
            const data = err.response?.data as { errors?: Array<{ message?: string; field?: string; code?: string }> } | undefined;
            const why = (data?.errors ?? []).map((e) => e.message ?? `${e.field ?? ''} ${e.code ?? ''}`.trim()).join('; ');
            throw nonRetryable(FailureType.InvalidInput, `GitHub refused to open a PR for ${branch} into ${base} in ${repository}: ${redact(why || err.message, gh.secrets)}`);
          }
          throw gh.failure(err, ctx);
        }
      }
      // It exists (an earlier attempt made it, or a person did): recovered and left as it is, since a
      // human may have edited its title or body, and the body may carry evidence added since.
      const existing = await findOpenPr(gh, repository, branch);
      if (!existing) throw new Error(`GitHub says a PR for ${owner}:${branch} exists in ${repository} but lists none: trying again`);
      return toPullRequest(existing);
    },

    async getPr(input: { repository: string; number: number }): Promise<PullRequest> {
      const { repository, number } = parseInput(PrRef, input, 'getPr');
      return toPullRequest(await readPr(gh, repository, number));
    },

    async changedFiles(input: { repository: string; number: number }): Promise<ChangedFiles> {
      const { repository, number } = parseInput(PrRef, input, 'changedFiles');
      const pr = await readPr(gh, repository, number);
      const files = await call(gh, prCtx(repository, number, 'listing the files of'), () =>
        octokit.paginate(octokit.rest.pulls.listFiles, { ...split(repository), pull_number: number, per_page: 100 }),
      );
      const status = (s: string): ChangedFiles['files'][number]['status'] =>
        s === 'added' || s === 'copied' ? 'added' : s === 'removed' ? 'deleted' : s === 'renamed' ? 'renamed' : 'modified';
      return { headSha: pr.head.sha, files: files.map((f) => ({ path: f.filename, status: status(f.status) })) };
    },

    async diff(input: { repository: string; number: number }): Promise<{ headSha: string; diff: string; truncated: boolean }> {
      const { repository, number } = parseInput(PrRef, input, 'diff');
      const pr = await readPr(gh, repository, number);
      const { data } = await call(gh, prCtx(repository, number, 'reading the diff of'), () =>
        octokit.rest.pulls.get({ ...split(repository), pull_number: number, mediaType: { format: 'diff' } }),
      );
      // With the diff media type octokit hands back the body as text, though its types say PullRequest.
      const text: unknown = data;
      return { headSha: pr.head.sha, ...capDiff(typeof text === 'string' ? text : JSON.stringify(text)) };
    },

    async closePr(input: { repository: string; number: number }): Promise<PullRequest> {
      const { repository, number } = parseInput(PrRef, input, 'closePr');
      const pr = await readPr(gh, repository, number);
      if (pr.state !== 'open' && !pr.merged) {
        // An earlier attempt closed it and died before the branch went.
        await deleteBranch(gh, repository, pr.head.ref);
        return toPullRequest(pr);
      }
      if (pr.state !== 'open') return toPullRequest(pr);
      const { data } = await call(gh, prCtx(repository, number, 'closing', 'Pull requests: write'), () =>
        octokit.rest.pulls.update({ ...split(repository), pull_number: number, state: 'closed' }),
      );
      // As after a merge: a task that ends leaves no branch on GitHub.
      await deleteBranch(gh, repository, pr.head.ref);
      return toPullRequest(data);
    },
  };
}
