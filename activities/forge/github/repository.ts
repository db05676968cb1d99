// The repository itself: the host's local copy of it, and its policy file on the base branch.
import { z } from 'zod';
import { BranchName } from '../../../workflows/task/spec.ts';
import type { RepoPolicy } from '../../../workflows/task/types.ts';
import { FailureType, nonRetryable } from '../../errors.ts';
import { EMPTY_POLICY, parseRepoPolicy, POLICY_FILE } from '../policy.ts';
import { isHttpError } from './errors.ts';
import { GitHubRepository, parseInput, splitRepository as split } from './inputs.ts';
import { ensureMirror } from './mirror.ts';
import { call, type GitHubContext } from './context.ts';

async function requireRef(gh: GitHubContext, repository: string, branch: string, role: string): Promise<string> {
  const { data } = await call(
    gh,
    { action: `reading the ${role} branch ${branch} of ${repository}`, resource: `${role} branch "${branch}" of ${repository}`, permission: 'Contents: read' },
    () => gh.octokit.rest.git.getRef({ ...split(repository), ref: `heads/${branch}` }),
  );
  return data.object.sha;
}

export function repositoryActivities(gh: GitHubContext) {
  return {
    /**
     * The local repository the host makes task clones from and keeps task branches in: a bare mirror
     * under `<stateDir>/repos/<owner>/<name>.git`, cloned on first use and fetched on every call.
     */
    async localCheckout(input: { repository: string }): Promise<{ path: string }> {
      const { repository } = parseInput(z.object({ repository: GitHubRepository }), input, 'localCheckout');
      return ensureMirror(gh, repository);
    },

    async loadRepoPolicy(input: { repository: string; base: string }): Promise<RepoPolicy> {
      const { repository, base } = parseInput(z.object({ repository: GitHubRepository, base: BranchName }), input, 'loadRepoPolicy');
      await requireRef(gh, repository, base, 'base');
      try {
        const { data } = await gh.octokit.rest.repos.getContent({ ...split(repository), path: POLICY_FILE, ref: base });
        if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) {
          throw nonRetryable(FailureType.InvalidInput, `${POLICY_FILE} on ${base} in ${repository} is not a file`);
        }
        return parseRepoPolicy(Buffer.from(data.content, 'base64').toString('utf8'), `${POLICY_FILE} on ${base} in ${repository}`);
      } catch (err) {
        if (isHttpError(err) && err.status === 404) return EMPTY_POLICY;
        if (!isHttpError(err)) throw err;
        throw gh.failure(err, { action: `reading ${POLICY_FILE} on ${base} of ${repository}`, resource: `repository ${repository}`, permission: 'Contents: read' });
      }
    },
  };
}
