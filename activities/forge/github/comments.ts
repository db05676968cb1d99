// One comment per purpose on an issue or a PR's conversation, found by its first-line marker and
// edited in place: the conversation does not fill up, and posting the same text again changes nothing.
import { call, type GitHubContext } from './context.ts';
import { splitRepository as split } from './inputs.ts';

/** GitHub's limit on a comment's body. */
const MAX_BODY = 65_536;

export interface MarkedComment {
  commentId: number;
  url: string;
  /** False when the comment already said exactly this. */
  changed: boolean;
}

export async function upsertMarkedComment(gh: GitHubContext, where: { repository: string; number: number; thread: string }, marker: string, body: string): Promise<MarkedComment> {
  const { repository, number, thread } = where;
  const text = `${marker}\n${body}`.slice(0, MAX_BODY);
  const ctx = { action: `commenting on ${thread} #${number} of ${repository}`, resource: `${thread} #${number} of ${repository}`, permission: thread === 'PR' ? 'Pull requests: write' : 'Issues: write' };
  const { octokit } = gh;
  const comments = await call(gh, ctx, () => octokit.paginate(octokit.rest.issues.listComments, { ...split(repository), issue_number: number, per_page: 100 }));
  const ours = comments.find((c) => c.body?.startsWith(marker));
  if (ours?.body === text) return { commentId: ours.id, url: ours.html_url, changed: false };
  const { data } = ours
    ? await call(gh, ctx, () => octokit.rest.issues.updateComment({ ...split(repository), comment_id: ours.id, body: text }))
    : await call(gh, ctx, () => octokit.rest.issues.createComment({ ...split(repository), issue_number: number, body: text }));
  return { commentId: data.id, url: data.html_url, changed: true };
}
