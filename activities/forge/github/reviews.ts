// Reviews on GitHub: the orchestrator's multi-model findings posted as ONE pull request review
// (`pulls.createReview`), and the humans' reviews read back into the task's state (shared reference
// §1.5). The forge passes its context's octokit and error mapping (context.ts), so auth (token or
// App) and the Temporal meaning of HTTP failures stay in one place:
//
//   const reviews = createGitHubReviews({ octokit: gh.octokit, failure: gh.failure });
//
// What GitHub does that this module relies on:
// - `event: COMMENT | REQUEST_CHANGES` needs a body; `commit_id` pins the review to the verified head;
// - a line comment must sit inside a hunk of the PR's diff ("Line could not be resolved" / "Path
//   could not be resolved", 422, and nothing is posted): such findings are moved into the body and
//   the review is posted again;
// - an author cannot request changes on (or approve) their own PR (422): when the bot opened the PR,
//   the review is posted as COMMENT, with the request for changes stated in its body;
// - listReviews is chronological, paginated, and shows PENDING reviews only to their author;
//   a reviewer's COMMENTED review does not withdraw an earlier APPROVED or CHANGES_REQUESTED one
//   (only a later decisive review, or a dismissal, does).
// Every review swarmflow posts starts with `<!-- swarmflow-review:<headSha> -->`: that marker makes a
// re-post at the same head a no-op and keeps swarmflow's own reviews out of the humans' ones.
import type { Octokit } from 'octokit';
import { z } from 'zod';
import { FailureType, nonRetryable } from '../../errors.ts';
import { FindingSchema, type Finding, type HumanReview, type HumanReviews, type HumanReviewState, type ReviewVerdict } from '../../../workflows/task/types.ts';
import { isHttpError, type CallContext } from './errors.ts';
import { GitHubRepository, Sha, parseInput, splitRepository as split } from './inputs.ts';

export interface GitHubReviewsDeps {
  octokit: Octokit;
  /** What a failed call means for Temporal (the forge passes `toTemporalFailure` bound to its secrets: `gh.failure`). */
  failure: (err: unknown, ctx: CallContext) => Error;
}

export interface PostedReview {
  /** null when there was nothing to post (no reviewer ran). */
  reviewId: number | null;
  /** The event GitHub recorded (COMMENT when an own PR refused REQUEST_CHANGES); null when nothing was posted. */
  event: 'COMMENT' | 'REQUEST_CHANGES' | null;
  /** The review was already there at this head (an earlier attempt posted it). */
  alreadyPosted: boolean;
  /** Findings posted as line comments (the rest are in the body); null when already posted. */
  lineComments: number | null;
}

// ---- inputs ----

const PrAtHead = z.object({ repository: GitHubRepository, number: z.number().int().positive(), headSha: Sha });
const VerdictSchema = z.object({
  headSha: Sha,
  results: z
    .array(
      z.object({
        reviewer: z.string().min(1).max(200),
        status: z.enum(['ok', 'failed']),
        findings: z.array(FindingSchema),
        error: z.string().optional(),
      }),
    )
    .max(50),
});

// ---- the review's text ----

const MARKER_RE = /^\s*<!-- swarmflow-review:([0-9a-f]{40}|[0-9a-f]{64}) -->/;
export const reviewMarker = (headSha: string) => `<!-- swarmflow-review:${headSha} -->`;
/** The head SHA a body's marker names, when the body is one swarmflow posted (the marker opens it). */
export function markedHead(body: string | null | undefined): string | undefined {
  return MARKER_RE.exec(body ?? '')?.[1];
}

/** GitHub refuses bodies over 65,536 characters; a margin stays for the truncation note. */
const BODY_CAP = 60_000;
const COMMENT_CAP = 20_000;
/** More line comments than this go into the body: one huge review is slow to post and to read. */
export const MAX_LINE_COMMENTS = 100;
const SEVERITIES = ['critical', 'major', 'minor'] as const;
const rank = (s: Finding['severity']) => SEVERITIES.indexOf(s);

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};
const cell = (text: string, max = 300) => oneLine(text, max).replace(/\|/g, '\\|');
const cap = (text: string, max: number, note: string) => (text.length <= max ? text : `${text.slice(0, max)}\n\n${note}`);

interface Located {
  reviewer: string;
  finding: Finding;
}

/** One comment per (path, line), every reviewer's finding there in it, worst first. */
function lineComments(located: Located[]): Array<{ path: string; line: number; side: 'RIGHT'; body: string; worst: number }> {
  const byPlace = new Map<string, Located[]>();
  for (const l of located) {
    const key = `${l.finding.file}\0${l.finding.line}`;
    byPlace.set(key, [...(byPlace.get(key) ?? []), l]);
  }
  return [...byPlace.values()].map((here) => {
    here.sort((a, b) => rank(a.finding.severity) - rank(b.finding.severity));
    const body = here.map((l) => `**${l.finding.severity}** (${l.reviewer}): ${l.finding.message.trim()}`).join('\n\n');
    return { path: here[0]!.finding.file, line: here[0]!.finding.line, side: 'RIGHT' as const, body: cap(body, COMMENT_CAP, '_[swarmflow: comment truncated]_'), worst: rank(here[0]!.finding.severity) };
  });
}

function reviewBody(verdict: z.output<typeof VerdictSchema>, inBody: Located[], requestChanges: boolean, ownPr: boolean): string {
  const all = verdict.results.flatMap((r) => r.findings);
  const critical = all.filter((f) => f.severity === 'critical').length;
  const lines = [reviewMarker(verdict.headSha), `### swarmflow review of ${verdict.headSha.slice(0, 12)}`, ''];
  if (requestChanges) {
    lines.push(`**Changes requested:** ${critical} critical finding${critical === 1 ? '' : 's'}.`);
    if (ownPr) lines.push('', '_GitHub does not let a pull request\'s author request changes on it, so this review is a comment; the critical findings still block the merge._');
  } else {
    lines.push(all.length === 0 ? 'No findings.' : 'No critical findings.');
  }
  lines.push('', '| Reviewer | Result | Critical | Major | Minor |', '| --- | --- | --- | --- | --- |');
  for (const r of verdict.results) {
    const count = (s: Finding['severity']) => String(r.findings.filter((f) => f.severity === s).length);
    const result = r.status === 'ok' ? 'ok' : `failed: ${cell(r.error ?? 'no reason given')}`;
    lines.push(`| ${cell(r.reviewer, 100)} | ${result} | ${count('critical')} | ${count('major')} | ${count('minor')} |`);
  }
  if (inBody.length > 0) {
    lines.push('', '#### Findings not on a line of the diff', '');
    const sorted = [...inBody].sort((a, b) => rank(a.finding.severity) - rank(b.finding.severity));
    for (const { reviewer, finding } of sorted) {
      const where = finding.line > 0 ? `\`${finding.file}\` line ${finding.line}` : `\`${finding.file}\``;
      lines.push(`- **${finding.severity}** ${where} (${cell(reviewer, 100)}): ${oneLine(finding.message, 2_000)}`);
    }
  }
  return cap(lines.join('\n'), BODY_CAP, '_[swarmflow: review truncated; the task holds every finding]_');
}

// ---- GitHub's answers ----

/** GitHub's reasons for a 422 (`message` and `errors`, strings or objects), lower-cased. */
function reasons422(err: unknown): string | undefined {
  if (!isHttpError(err) || err.status !== 422) return undefined;
  const data = err.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const parts = [typeof data?.message === 'string' ? data.message : err.message];
  for (const e of Array.isArray(data?.errors) ? data.errors : []) parts.push(typeof e === 'string' ? e : JSON.stringify(e));
  return parts.join(' ').toLowerCase();
}
const OUTSIDE_DIFF = /could not be resolved|part of the diff|diff hunk/;
const OWN_PR = /your own pull request/;

const HUMAN_STATES = new Set<string>(['APPROVED', 'CHANGES_REQUESTED', 'COMMENTED', 'DISMISSED']);
const DECISIVE = new Set<string>(['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED']);

export function createGitHubReviews({ octokit, failure }: GitHubReviewsDeps) {
  const ctx = (repository: string, number: number, action: string, permission: string): CallContext => ({
    action: `${action} PR #${number} of ${repository}`,
    resource: `PR #${number} of ${repository}`,
    permission,
  });

  async function listReviews(repository: string, number: number) {
    try {
      return await octokit.paginate(octokit.rest.pulls.listReviews, { ...split(repository), pull_number: number, per_page: 100 });
    } catch (err) {
      throw failure(err, ctx(repository, number, 'listing the reviews of', 'Pull requests: read'));
    }
  }

  return {
    /**
     * Posts the reviewers' findings at `headSha` as one review: REQUEST_CHANGES when any finding is
     * critical (COMMENT on the bot's own PR, which GitHub refuses otherwise), COMMENT else. Findings
     * on a line (line > 0) become line comments on the new side of the diff, one per place; line 0
     * findings, findings GitHub cannot place in the diff, and those beyond MAX_LINE_COMMENTS go in
     * the body. Idempotent: a review swarmflow already posted at this head is returned, not repeated.
     */
    async postReview(input: { repository: string; number: number; headSha: string; verdict: ReviewVerdict }): Promise<PostedReview> {
      const { repository, number, headSha, verdict } = parseInput(PrAtHead.extend({ verdict: VerdictSchema }), input, 'postReview');
      if (verdict.headSha !== headSha) {
        throw nonRetryable(FailureType.InvalidInput, `the review verdict is for ${verdict.headSha}, not the head ${headSha}: its line numbers would land on the wrong code`, {
          headSha,
          verdictHeadSha: verdict.headSha,
        });
      }
      if (verdict.results.length === 0) return { reviewId: null, event: null, alreadyPosted: false, lineComments: 0 };

      const existing = (await listReviews(repository, number)).find((r) => r.commit_id === headSha && markedHead(r.body) === headSha);
      if (existing) {
        return { reviewId: existing.id, event: existing.state === 'CHANGES_REQUESTED' ? 'REQUEST_CHANGES' : 'COMMENT', alreadyPosted: true, lineComments: null };
      }

      const located = verdict.results.flatMap((r) => r.findings.map((finding) => ({ reviewer: r.reviewer, finding })));
      const onLines = located.filter((l) => l.finding.line > 0);
      const comments = lineComments(onLines).sort((a, b) => a.worst - b.worst);
      let posted = comments.slice(0, MAX_LINE_COMMENTS);
      const placed = () => new Set(posted.map((c) => `${c.path}\0${c.line}`));
      const requestChanges = located.some((l) => l.finding.severity === 'critical');
      let event: 'COMMENT' | 'REQUEST_CHANGES' = requestChanges ? 'REQUEST_CHANGES' : 'COMMENT';

      // At most: once as asked, once with every finding in the body, once more as a COMMENT.
      for (let attempt = 1; ; attempt++) {
        const onComment = placed();
        const inBody = located.filter((l) => !onComment.has(`${l.finding.file}\0${l.finding.line}`));
        const body = reviewBody(verdict, inBody, requestChanges, requestChanges && event === 'COMMENT');
        try {
          const { data } = await octokit.rest.pulls.createReview({
            ...split(repository),
            pull_number: number,
            commit_id: headSha,
            event,
            body,
            ...(posted.length > 0 ? { comments: posted.map(({ path, line, side, body: text }) => ({ path, line, side, body: text })) } : {}),
          });
          return { reviewId: data.id, event, alreadyPosted: false, lineComments: onLines.filter((l) => onComment.has(`${l.finding.file}\0${l.finding.line}`)).length };
        } catch (err) {
          const why = reasons422(err);
          if (why !== undefined && attempt < 3) {
            if (event === 'REQUEST_CHANGES' && OWN_PR.test(why)) {
              event = 'COMMENT';
              continue;
            }
            if (posted.length > 0 && OUTSIDE_DIFF.test(why)) {
              // GitHub names no comment: all of them go to the body rather than guessing which one.
              posted = [];
              continue;
            }
          }
          throw failure(err, ctx(repository, number, 'posting a review on', 'Pull requests: write'));
        }
      }
    },

    /**
     * The humans' reviews of the PR, one per author: the latest APPROVED, CHANGES_REQUESTED or
     * DISMISSED one (a later comment does not withdraw it, as on GitHub), else the latest comment.
     * swarmflow's own reviews (the marker) and other apps' (user type Bot) are left out, PENDING ones
     * too. `changesRequested` when any author's standing review requests changes.
     */
    async humanReviews(input: { repository: string; number: number; headSha: string }): Promise<HumanReviews> {
      const { repository, number, headSha } = parseInput(PrAtHead, input, 'humanReviews');
      const all = await listReviews(repository, number);
      const standing = new Map<string, { review: (typeof all)[number]; order: number }>();
      all.forEach((r, order) => {
        if (r.state === 'PENDING' || !r.user || r.user.type === 'Bot' || markedHead(r.body) !== undefined) return;
        if (!HUMAN_STATES.has(r.state)) {
          throw nonRetryable(FailureType.UnrecognisedForgeState, `review ${r.id} on PR #${number} of ${repository} has state "${r.state}", which swarmflow does not know: not guessing what it means`, {
            reviewId: r.id,
            state: r.state,
          });
        }
        const login = r.user.login;
        const current = standing.get(login);
        const later = (a: typeof r, aOrder: number, b: typeof r, bOrder: number) => {
          const [ta, tb] = [a.submitted_at ?? '', b.submitted_at ?? ''];
          return ta !== tb ? ta > tb : aOrder > bOrder;
        };
        const replaces =
          !current ||
          (DECISIVE.has(r.state) && !DECISIVE.has(current.review.state)) ||
          (DECISIVE.has(r.state) === DECISIVE.has(current.review.state) && later(r, order, current.review, current.order));
        if (replaces) standing.set(login, { review: r, order });
      });
      const reviews: HumanReview[] = [...standing.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([author, { review: r }]) => ({
          author,
          id: r.id,
          state: r.state as HumanReviewState,
          submittedAt: r.submitted_at ?? '',
          commitId: r.commit_id,
          body: r.body,
          atHead: r.commit_id === headSha,
        }));
      return { reviews, changesRequested: reviews.some((r) => r.state === 'CHANGES_REQUESTED') };
    },
  };
}

export type GitHubReviews = ReturnType<typeof createGitHubReviews>;
