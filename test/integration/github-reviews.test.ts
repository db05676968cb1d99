// Reviews on GitHub with the real octokit against the local GitHub stand-in (every request and
// response checked against GitHub's OpenAPI description): the reviewers' findings posted as one
// review with line comments, REQUEST_CHANGES on a critical finding, an idempotent re-post, and the
// humans' reviews read back (their standing review each, across pages).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { Octokit } from 'octokit';
import { toTemporalFailure } from '../../activities/forge/github/errors.ts';
import { createGitHubReviews, MAX_LINE_COMMENTS, reviewMarker, type GitHubReviews } from '../../activities/forge/github/reviews.ts';
import type { ReviewVerdict } from '../../workflows/task/types.ts';
import { tempDir } from '../harness/paths.ts';
import { cloneFrom, commitOn, push } from '../harness/github/fixture.ts';
import { startStandin, type GitHubStandin } from '../harness/github/standin.ts';

const TOKEN = 'ghs_reviewsSecretToken456';
let standin: GitHubStandin;
let octokit: Octokit;
let reviews: GitHubReviews;
let repoCount = 0;

const CALC = ['export const add = (a, b) => a + b;', 'export const sub = (a, b) => a - b;', 'export const mul = (a, b) => a * b;', ''].join('\n');

beforeAll(async () => {
  standin = await startStandin({ root: tempDir('gh-reviews-standin'), tokens: [TOKEN] });
  octokit = new Octokit({ baseUrl: standin.url, auth: TOKEN, throttle: { enabled: false }, retry: { enabled: false }, request: { retries: 0 } });
  reviews = createGitHubReviews({ octokit, failure: (err, ctx) => toTemporalFailure(err, ctx, [TOKEN]) });
});
afterAll(async () => {
  await standin?.stop();
});
afterEach(() => {
  expect(standin.takeViolations()).toEqual([]);
});

/** A repository with a PR that adds src/calc.mjs (3 lines) and changes README.md line 1. */
async function openPr() {
  const name = `rev${++repoCount}`;
  const repository = `acme/${name}`;
  await standin.createRepo('acme', name, { 'README.md': 'hello\n', 'docs/guide.md': 'untouched\n' });
  const clone = await cloneFrom(standin, repository, TOKEN);
  const branch = `swarm/task-${repoCount}`;
  const headSha = await commitOn(clone, branch, { 'src/calc.mjs': CALC, 'README.md': 'hello, calc\n' }, 'agent work');
  await push(clone, branch, TOKEN);
  const { data } = await octokit.rest.pulls.create({ owner: 'acme', repo: name, head: branch, base: 'main', title: 'Add calc' });
  return { repository, owner: 'acme', repo: name, number: data.number, headSha, clone, branch };
}

const verdictAt = (headSha: string, results: ReviewVerdict['results']): ReviewVerdict => ({ headSha, results });

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected a failure');
}

const createCalls = () => standin.log.filter((l) => l.operationId === 'pulls/create-review');

describe('postReview', () => {
  it('posts one review with line comments (one per place, every reviewer in it) and the rest in the body', async () => {
    const { repository, owner, repo, number, headSha } = await openPr();
    const verdict = verdictAt(headSha, [
      {
        reviewer: 'claude',
        status: 'ok',
        findings: [
          { severity: 'major', file: 'src/calc.mjs', line: 2, message: 'sub has no tests' },
          { severity: 'minor', file: 'README.md', line: 0, message: 'mention the new module' },
        ],
      },
      { reviewer: 'gemini', status: 'ok', findings: [{ severity: 'minor', file: 'src/calc.mjs', line: 2, message: 'name it subtract' }] },
      { reviewer: 'codex', status: 'failed', findings: [], error: 'reply was not JSON | exit 1' },
    ]);
    const before = createCalls().length;
    const out = await reviews.postReview({ repository, number, headSha, verdict });
    expect(out).toMatchObject({ event: 'COMMENT', alreadyPosted: false, lineComments: 2 });
    expect(createCalls().length - before).toBe(1);

    // Read back through the stand-in's API.
    const { data: review } = await octokit.rest.pulls.getReview({ owner, repo, pull_number: number, review_id: out.reviewId! });
    expect(review).toMatchObject({ state: 'COMMENTED', commit_id: headSha, user: { login: 'swarm-bot' } });
    expect(review.body.startsWith(reviewMarker(headSha))).toBe(true);
    expect(review.body).toContain('| claude | ok | 0 | 1 | 1 |');
    expect(review.body).toContain('| gemini | ok | 0 | 0 | 1 |');
    expect(review.body).toContain('| codex | failed: reply was not JSON \\| exit 1 | 0 | 0 | 0 |');
    expect(review.body).toContain('**minor** `README.md` (claude): mention the new module');
    expect(review.body).toContain('No critical findings.');
    const { data: comments } = await octokit.rest.pulls.listCommentsForReview({ owner, repo, pull_number: number, review_id: out.reviewId! });
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatchObject({ path: 'src/calc.mjs', line: 2, side: 'RIGHT', commit_id: headSha, pull_request_review_id: out.reviewId });
    expect(comments[0]!.body).toBe('**major** (claude): sub has no tests\n\n**minor** (gemini): name it subtract');
  });

  it('requests changes when a finding is critical', async () => {
    const { repository, owner, repo, number, headSha } = await openPr();
    standin.setPrAuthor(repository, number, 'alice');
    const verdict = verdictAt(headSha, [{ reviewer: 'claude', status: 'ok', findings: [{ severity: 'critical', file: 'src/calc.mjs', line: 3, message: 'overflow' }] }]);
    const out = await reviews.postReview({ repository, number, headSha, verdict });
    expect(out).toMatchObject({ event: 'REQUEST_CHANGES', lineComments: 1 });
    const { data: review } = await octokit.rest.pulls.getReview({ owner, repo, pull_number: number, review_id: out.reviewId! });
    expect(review.state).toBe('CHANGES_REQUESTED');
    expect(review.body).toContain('**Changes requested:** 1 critical finding.');
  });

  it("on the bot's own PR (GitHub refuses its request for changes) the critical review is a COMMENT that says so", async () => {
    const { repository, owner, repo, number, headSha } = await openPr();
    const verdict = verdictAt(headSha, [{ reviewer: 'claude', status: 'ok', findings: [{ severity: 'critical', file: 'src/calc.mjs', line: 1, message: 'wrong' }] }]);
    const out = await reviews.postReview({ repository, number, headSha, verdict });
    expect(out.event).toBe('COMMENT');
    expect(createCalls().slice(-2).map((c) => c.status)).toEqual([422, 200]);
    const { data: review } = await octokit.rest.pulls.getReview({ owner, repo, pull_number: number, review_id: out.reviewId! });
    expect(review.state).toBe('COMMENTED');
    expect(review.body).toContain('**Changes requested:** 1 critical finding.');
    expect(review.body).toMatch(/does not let a pull request's author request changes/);
  });

  it('is idempotent at a head: the review already posted is returned; a new head gets a new review', async () => {
    const { repository, owner, repo, number, headSha, clone, branch } = await openPr();
    const verdict = verdictAt(headSha, [{ reviewer: 'claude', status: 'ok', findings: [{ severity: 'minor', file: 'src/calc.mjs', line: 1, message: 'nit' }] }]);
    const first = await reviews.postReview({ repository, number, headSha, verdict });
    const before = createCalls().length;
    const again = await reviews.postReview({ repository, number, headSha, verdict });
    expect(again).toEqual({ reviewId: first.reviewId, event: 'COMMENT', alreadyPosted: true, lineComments: null });
    expect(createCalls().length).toBe(before);
    // A human review quoting the bot's does not count as the bot's.
    standin.addReview(repository, number, { login: 'alice', state: 'COMMENTED', body: `> ${reviewMarker(headSha)}\nagreed` });

    const next = await commitOn(clone, branch, { 'src/calc.mjs': `${CALC}export const div = (a, b) => a / b;\n` }, 'more');
    await push(clone, branch, TOKEN);
    const third = await reviews.postReview({ repository, number, headSha: next, verdict: { ...verdict, headSha: next } });
    expect(third.alreadyPosted).toBe(false);
    expect(third.reviewId).not.toBe(first.reviewId);
    const listed = (await octokit.rest.pulls.listReviews({ owner, repo, pull_number: number })).data;
    expect(listed.filter((r) => r.user?.login === 'swarm-bot').map((r) => r.commit_id)).toEqual([headSha, next]);
  });

  it('findings GitHub cannot place in the diff go into the body instead of failing the review', async () => {
    const { repository, owner, repo, number, headSha } = await openPr();
    const verdict = verdictAt(headSha, [
      {
        reviewer: 'claude',
        status: 'ok',
        findings: [
          { severity: 'major', file: 'src/calc.mjs', line: 2, message: 'in the diff' },
          { severity: 'major', file: 'docs/guide.md', line: 1, message: 'not a changed file' },
        ],
      },
    ]);
    const out = await reviews.postReview({ repository, number, headSha, verdict });
    expect(out).toMatchObject({ event: 'COMMENT', lineComments: 0 });
    expect(createCalls().slice(-2).map((c) => c.status)).toEqual([422, 200]);
    const { data: review } = await octokit.rest.pulls.getReview({ owner, repo, pull_number: number, review_id: out.reviewId! });
    expect(review.body).toContain('**major** `docs/guide.md` line 1 (claude): not a changed file');
    expect(review.body).toContain('**major** `src/calc.mjs` line 2 (claude): in the diff');
    expect((await octokit.rest.pulls.listCommentsForReview({ owner, repo, pull_number: number, review_id: out.reviewId! })).data).toEqual([]);
  });

  it(`keeps at most ${MAX_LINE_COMMENTS} line comments, the worst first; the others go into the body`, async () => {
    const name = `rev${++repoCount}`;
    const repository = `acme/${name}`;
    await standin.createRepo('acme', name);
    const clone = await cloneFrom(standin, repository, TOKEN);
    const big = Array.from({ length: 150 }, (_, i) => `line ${i + 1}`).join('\n');
    const headSha = await commitOn(clone, 'swarm/big', { 'big.txt': `${big}\n` });
    await push(clone, 'swarm/big', TOKEN);
    const { data: pr } = await octokit.rest.pulls.create({ owner: 'acme', repo: name, head: 'swarm/big', base: 'main', title: 'Big' });
    const findings = Array.from({ length: 150 }, (_, i) => ({ severity: i === 149 ? ('critical' as const) : ('minor' as const), file: 'big.txt', line: i + 1, message: `f${i + 1}` }));
    standin.setPrAuthor(repository, pr.number, 'alice');
    const out = await reviews.postReview({ repository, number: pr.number, headSha, verdict: verdictAt(headSha, [{ reviewer: 'r', status: 'ok', findings }]) });
    expect(out).toMatchObject({ event: 'REQUEST_CHANGES', lineComments: MAX_LINE_COMMENTS });
    const comments = await octokit.paginate(octokit.rest.pulls.listCommentsForReview, { owner: 'acme', repo: name, pull_number: pr.number, review_id: out.reviewId!, per_page: 100 });
    expect(comments).toHaveLength(MAX_LINE_COMMENTS);
    expect(comments[0]!.line).toBe(150);
  });

  it('posts nothing when no reviewer ran, and refuses a verdict for another head or a bad input', async () => {
    const { repository, number, headSha } = await openPr();
    const before = standin.log.length;
    expect(await reviews.postReview({ repository, number, headSha, verdict: verdictAt(headSha, []) })).toEqual({ reviewId: null, event: null, alreadyPosted: false, lineComments: 0 });
    expect(standin.log.length).toBe(before);
    const other = 'f'.repeat(40);
    const stale = await failureOf(reviews.postReview({ repository, number, headSha, verdict: verdictAt(other, []) }));
    expect([stale.type, stale.nonRetryable]).toEqual(['InvalidInput', true]);
    const bad = await failureOf(reviews.postReview({ repository: 'not a repo', number, headSha, verdict: verdictAt(headSha, []) }));
    expect(bad.message).toMatch(/invalid postReview input: repository/);
  });

  it('maps GitHub failures through the forge: a missing PR is final, a 5xx is retried', async () => {
    const { repository, number, headSha } = await openPr();
    const verdict = verdictAt(headSha, [{ reviewer: 'r', status: 'ok', findings: [] }]);
    const missing = await failureOf(reviews.postReview({ repository, number: number + 50, headSha, verdict }));
    expect([missing.type, missing.nonRetryable]).toEqual(['ForgeNotFound', true]);
    expect(missing.message).toMatch(/PR #\d+ of acme\/rev\d+ was not found while listing the reviews of/);
    standin.inject({ operationId: 'pulls/create-review', status: 502, message: 'Bad Gateway' });
    const flaky = await failureOf(reviews.postReview({ repository, number, headSha, verdict }));
    expect([flaky.type, flaky.nonRetryable]).toEqual(['ForgeUnavailable', false]);
    expect((await reviews.postReview({ repository, number, headSha, verdict })).alreadyPosted).toBe(false);
  });
});

describe('humanReviews', () => {
  it("reads each human's standing review: a later approval clears a request for changes, a later comment does not", async () => {
    const { repository, number, headSha } = await openPr();
    const old = 'a'.repeat(40);
    standin.addReview(repository, number, { login: 'alice', state: 'CHANGES_REQUESTED', body: 'fix it', commitId: old });
    standin.addReview(repository, number, { login: 'bob', state: 'CHANGES_REQUESTED', body: 'needs tests' });
    standin.addReview(repository, number, { login: 'alice', state: 'APPROVED', body: 'thanks' });
    standin.addReview(repository, number, { login: 'bob', state: 'COMMENTED', body: 'still looking' });
    standin.addReview(repository, number, { login: 'carol', state: 'COMMENTED', body: 'a question' });
    standin.addReview(repository, number, { login: 'linter-app[bot]', state: 'CHANGES_REQUESTED', body: 'lint', type: 'Bot' });
    await reviews.postReview({ repository, number, headSha, verdict: verdictAt(headSha, [{ reviewer: 'r', status: 'ok', findings: [] }]) });

    const out = await reviews.humanReviews({ repository, number, headSha });
    expect(out.changesRequested).toBe(true);
    expect(out.reviews.map((r) => `${r.author}:${r.state}:${r.body}`)).toEqual(['alice:APPROVED:thanks', 'bob:CHANGES_REQUESTED:needs tests', 'carol:COMMENTED:a question']);
    expect(out.reviews[0]).toMatchObject({ commitId: headSha, atHead: true });
    expect(out.reviews[0]!.submittedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    standin.addReview(repository, number, { login: 'bob', state: 'APPROVED', body: 'ok now' });
    const after = await reviews.humanReviews({ repository, number, headSha });
    expect(after.changesRequested).toBe(false);
    expect(after.reviews.map((r) => `${r.author}:${r.state}`)).toEqual(['alice:APPROVED', 'bob:APPROVED', 'carol:COMMENTED']);
  });

  it('a dismissed request for changes no longer counts', async () => {
    const { repository, number, headSha } = await openPr();
    standin.addReview(repository, number, { login: 'dan', state: 'DISMISSED', body: 'was: changes requested' });
    const out = await reviews.humanReviews({ repository, number, headSha });
    expect(out).toMatchObject({ changesRequested: false, reviews: [{ author: 'dan', state: 'DISMISSED' }] });
  });

  it('reads every page: the request for changes on page 2 is seen', async () => {
    const { repository, number, headSha } = await openPr();
    standin.addReview(repository, number, { login: 'erin', state: 'APPROVED', body: 'lgtm' });
    for (let i = 0; i < 120; i++) standin.addReview(repository, number, { login: `commenter${i % 7}`, state: 'COMMENTED', body: `comment ${i}` });
    standin.addReview(repository, number, { login: 'erin', state: 'CHANGES_REQUESTED', body: 'found a bug' });
    const before = standin.log.filter((l) => l.operationId === 'pulls/list-reviews').length;
    const out = await reviews.humanReviews({ repository, number, headSha });
    expect(standin.log.filter((l) => l.operationId === 'pulls/list-reviews').length - before).toBe(2);
    expect(out.changesRequested).toBe(true);
    expect(out.reviews).toHaveLength(8);
    expect(out.reviews.find((r) => r.author === 'erin')).toMatchObject({ state: 'CHANGES_REQUESTED', body: 'found a bug' });
    expect(out.reviews.find((r) => r.author === 'commenter6')?.body).toBe('comment 118');
  });

  it('no reviews: nothing requested', async () => {
    const { repository, number, headSha } = await openPr();
    expect(await reviews.humanReviews({ repository, number, headSha })).toEqual({ reviews: [], changesRequested: false });
  });
});
