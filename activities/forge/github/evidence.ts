// The evidence on the PR: one issue comment on the PR's conversation, marked
// `<!-- swarmflow-evidence -->`, that the orchestrator edits in place at every verified head (so
// the conversation does not fill up): the Definition of Done with its evidence, the criteria
// mapping and the screenshots' figures. Posted again at the same head with the same text, it
// changes nothing.
import { z } from 'zod';
import { call, type GitHubContext } from './context.ts';
import { GitHubRepository, Sha, parseInput, splitRepository as split } from './inputs.ts';

export const EVIDENCE_MARKER = '<!-- swarmflow-evidence -->';
/** GitHub's limit on a comment's body. */
const MAX_BODY = 65_536;

const PostEvidenceInput = z.object({ repository: GitHubRepository, number: z.number().int().positive(), headSha: Sha, body: z.string().min(1) });

export function evidenceActivities(gh: GitHubContext) {
  return {
    async postEvidence(input: z.input<typeof PostEvidenceInput>): Promise<{ commentId: number | null; url?: string; changed: boolean }> {
      const { repository, number, body } = parseInput(PostEvidenceInput, input, 'postEvidence');
      const text = `${EVIDENCE_MARKER}\n${body}`.slice(0, MAX_BODY);
      const where = { action: `commenting on PR #${number} of ${repository}`, resource: `PR #${number} of ${repository}`, permission: 'Pull requests: write' };
      const comments = await call(gh, where, () => gh.octokit.paginate(gh.octokit.rest.issues.listComments, { ...split(repository), issue_number: number, per_page: 100 }));
      const ours = comments.find((c) => c.body?.startsWith(EVIDENCE_MARKER));
      if (ours?.body === text) return { commentId: ours.id, url: ours.html_url, changed: false };
      const { data } = ours
        ? await call(gh, where, () => gh.octokit.rest.issues.updateComment({ ...split(repository), comment_id: ours.id, body: text }))
        : await call(gh, where, () => gh.octokit.rest.issues.createComment({ ...split(repository), issue_number: number, body: text }));
      return { commentId: data.id, url: data.html_url, changed: true };
    },
  };
}
