// Issues, where work comes from: intake reads one (its title, body, labels, author and state) and
// keeps one comment on it, marked `<!-- swarmflow-intake -->` and edited in place: the task's
// progress link, or why no task was started.
import { z } from 'zod';
import type { IssueInput } from '../../../workflows/policy/issue-spec.ts';
import { isHttpError } from './errors.ts';
import { upsertMarkedComment, type MarkedComment } from './comments.ts';
import type { GitHubContext } from './context.ts';
import { GitHubRepository, PrNumber, PrRef, parseInput, splitRepository as split } from './inputs.ts';

export const INTAKE_MARKER = '<!-- swarmflow-intake -->';

export type IssueRead =
  | { found: false }
  /** `pullRequest`: the number is a PR's (GitHub serves PRs as issues too). */
  | { found: true; pullRequest: boolean; state: 'open' | 'closed'; issue: IssueInput };

const CommentInput = z.object({ repository: GitHubRepository, number: PrNumber, body: z.string().min(1) });

export function issueActivities(gh: GitHubContext) {
  return {
    async readIssue(input: { repository: string; number: number }): Promise<IssueRead> {
      const { repository, number } = parseInput(PrRef, input, 'readIssue');
      const ctx = { action: `reading issue #${number}`, resource: `issue #${number} of ${repository}`, permission: 'Issues: read' };
      try {
        const { data } = await gh.octokit.rest.issues.get({ ...split(repository), issue_number: number });
        const labels = data.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean);
        return {
          found: true,
          pullRequest: !!data.pull_request,
          state: data.state === 'closed' ? 'closed' : 'open',
          issue: { repository, number, url: data.html_url, title: data.title, body: data.body ?? '', labels, author: data.user?.login ?? '' },
        };
      } catch (err) {
        // 404: no such issue, or one the credentials cannot see; 410: deleted. Either way: no task, said so.
        if (isHttpError(err) && (err.status === 404 || err.status === 410)) return { found: false };
        throw gh.failure(err, ctx);
      }
    },

    /** The intake's one comment on the issue, written or edited to say `body`. */
    async commentOnIssue(input: z.input<typeof CommentInput>): Promise<MarkedComment> {
      const { repository, number, body } = parseInput(CommentInput, input, 'commentOnIssue');
      return upsertMarkedComment(gh, { repository, number, thread: 'issue' }, INTAKE_MARKER, body);
    },
  };
}
