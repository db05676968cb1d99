// A local GitHub stand-in over HTTP on 127.0.0.1: repositories whose branches live in real bare
// git repositories (reached by git over HTTP through `git http-backend`), pull requests, check
// runs, commit statuses, reviews and merges. Every request and response of the REST API it serves
// is validated against GitHub's own OpenAPI description; a response that does not match is
// answered with a 500 and recorded in `violations`, which tests assert is empty.
//
// Behaviours reproduced (GitHub's documented ones, see shared reference §1):
// - `mergeable: null` / `mergeable_state: "unknown"` while "computing" (`nullReads` control) and
//   always once merged or closed;
// - `head=<owner>:<branch>` filters pulls.list; a bare branch name is ignored (all PRs come back);
// - pulls.merge: 409 when `sha` is not the head, 405 when not mergeable (a conflict, a draft,
//   blocked by the base's rules, behind under "require branches to be up to date"), 200 otherwise;
// - branch protection (`protectBranch`, GET .../branches/{b}/protection, 404 "Branch not protected"
//   without) and rulesets (`addRuleset`, GET .../rules/branches/{b}): required approving reviews and
//   required checks make a PR `blocked` until they are met; `strict` makes a PR whose base moved
//   `behind` and unmergeable until it is updated;
// - `mergeable: null` for the first `nullReadsAfterChange` reads after the head or the base moves;
// - `pushAs`: someone else's commit pushed to a branch (a reviewer's suggested change);
// - `push` webhooks (`webhooks` option), signed as GitHub signs them (X-Hub-Signature-256), for
//   every branch a push moves (over git HTTP, or `pushAs`), built from GitHub's example payload;
// - pulls.update-branch: 202 and an asynchronous merge of the base into the head; 422 when the
//   expected head SHA is stale, when there is a conflict, and when there is nothing new on the base;
// - pulls.create: 422 when a PR for the head already exists, or when there are no commits;
// - combined status `pending` with `total_count: 0` when there are no statuses;
// - pulls.create-review: 422 for an own PR approved or changes requested, a comment whose path is
//   not in the diff, or whose line is outside the diff's hunks; no `event` leaves it PENDING;
// - issues (`createIssue`, `labelIssue`) sharing the number space of PRs; `issues` webhooks
//   (`labeled`) as GitHub sends them; issues.get answers a PR's number with its `pull_request` link;
//   issue comments on issues and PRs alike; merging a PR into the default branch closes the issues
//   its description names with a closing keyword (`Closes #N`, `fixes owner/name#N`), as completed;
// - test-only faults under `/_standin/`: 5xx, secondary rate limit (403 + Retry-After), any status;
// - GitHub Apps (`apps` option): `POST /app/installations/{id}/access_tokens` verifies the App's JWT
//   (RS256 signature with the App's public key; iat/exp/iss as GitHub checks them) and issues an
//   installation token with a short, configurable lifetime, accepted for the API and git until it
//   expires (then 401, as GitHub answers an expired token).
import { createHmac, createPublicKey, createVerify, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { git, revParse } from '../../../activities/git.ts';
import { serveGitHttp } from './git-http.ts';
import { OpenApiContract, type Violation } from './openapi.ts';

export const SERVED_OPERATIONS = [
  'pulls/create',
  'pulls/list',
  'pulls/get',
  'pulls/update',
  'pulls/list-files',
  'pulls/update-branch',
  'pulls/merge',
  'pulls/create-review',
  'pulls/list-reviews',
  'pulls/get-review',
  'pulls/list-comments-for-review',
  'issues/get',
  'issues/create-comment',
  'issues/list-comments',
  'issues/update-comment',
  'checks/create',
  'checks/list-for-ref',
  'repos/create-commit-status',
  'repos/get-combined-status-for-ref',
  'repos/get-content',
  'git/get-ref',
  'git/delete-ref',
  'repos/get-branch-protection',
  'repos/get-branch-rules',
  'apps/create-installation-access-token',
] as const;
const APP_TOKEN_OP = 'apps/create-installation-access-token';

/** GitHub's example of an event (@octokit/webhooks-examples): the fields the stand-in does not set come from it. */
function webhookExample(event: string, pick: (payload: Obj) => boolean): Obj {
  const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as Array<{ name: string; examples: Obj[] }>;
  return structuredClone(examples.find((e) => e.name === event)!.examples.find(pick)!);
}
const pushExample = () => webhookExample('push', (p) => p.ref === 'refs/heads/master');

/** GitHub's closing keywords in a PR's description: `Closes #12`, `fixes: octo/app#3`. */
const CLOSING_KEYWORD = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+([\w.-]+\/[\w.-]+)?#(\d+)\b/gi;

let contract: OpenApiContract | undefined;
export const githubContract = () => (contract ??= new OpenApiContract([...SERVED_OPERATIONS]));

type Obj = Record<string, unknown>;

interface CheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  details_url: string | null;
  started_at: string;
  completed_at: string | null;
  output: { title: string | null; summary: string | null };
}
interface CommitStatus {
  id: number;
  sha: string;
  context: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  target_url: string | null;
  description: string | null;
  created_at: string;
}
interface ReviewComment {
  id: number;
  path: string;
  line: number | null;
  side: 'LEFT' | 'RIGHT';
  position: number | null;
  body: string;
  diffHunk: string;
  created_at: string;
}
interface Review {
  id: number;
  login: string;
  userType: 'User' | 'Bot';
  state: string;
  body: string;
  commit_id: string;
  comments: ReviewComment[];
  /** null while PENDING (GitHub omits submitted_at then). */
  submitted_at: string | null;
}
export type HumanReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';
interface IssueComment {
  id: number;
  login: string;
  body: string;
  created_at: string;
  updated_at: string;
}

interface Issue {
  number: number;
  id: number;
  title: string;
  body: string | null;
  labels: string[];
  state: 'open' | 'closed';
  stateReason: 'completed' | 'not_planned' | 'reopened' | null;
  author: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  comments?: IssueComment[];
  /** The PR whose merge closed it. */
  closedByPr?: number;
}

interface Pr {
  number: number;
  id: number;
  head: string;
  base: string;
  title: string;
  body: string | null;
  draft: boolean;
  state: 'open' | 'closed';
  merged: boolean;
  mergeSha: string | null;
  headSha: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  author: string;
  /** `mergeable: null` for this many more reads. */
  nullReads: number;
  /** The PR's conversation (issue comments). */
  comments?: IssueComment[];
  /** A mergeable_state the stand-in reports instead of computing one (blocked, has_hooks, something new). */
  forcedState?: string;
  /** The base and head mergeability was last computed for (a change starts a new computation). */
  computedFor?: string;
  reviews: Review[];
}
interface Repo {
  owner: string;
  name: string;
  id: number;
  dir: string;
  prs: Map<number, Pr>;
  issues: Map<number, Issue>;
  checkRuns: CheckRun[];
  statuses: CommitStatus[];
  /** Branch protection by branch (the fields the stand-in enforces). */
  protection: Map<string, Protection>;
  /** Rulesets: GitHub rule objects (`{ type, parameters }`) that apply to a branch. */
  rulesets: Array<{ id: number; name: string; branch: string; rules: Obj[] }>;
}
export interface Protection {
  /** "Require branches to be up to date before merging". */
  strict?: boolean;
  /** Required status checks (check run names or status contexts). */
  contexts?: string[];
  /** "Require approvals": how many. */
  requiredApprovingReviewCount?: number;
}
export interface Injection {
  /** Only requests for this operation (any when unset). */
  operationId?: string;
  status: number;
  message?: string;
  headers?: Record<string, string>;
  /** How many requests get it (default 1). */
  times?: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Obj = {},
  ) {
    super(message);
  }
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const DOCS = 'https://docs.github.com/rest';
const SECONDARY = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';

export interface StandinOptions {
  /** Scratch folder: bare repositories live in `<root>/git/<owner>/<name>.git`. */
  root: string;
  /** Tokens accepted for the API and for git (as `x-access-token:<token>`). */
  tokens?: string[];
  /** The login the token acts as (the author of the PRs it opens). */
  login?: string;
  /** Delay before an accepted update-branch lands (GitHub answers 202 and merges later). */
  updateBranchDelayMs?: number;
  /** GitHub Apps whose JWTs the installation-token endpoint accepts (verified with the public key). */
  apps?: StandinApp[];
  /** Lifetime of the installation tokens it issues (GitHub: 1 hour; default here too). */
  installationTokenLifetimeMs?: number;
  /** Reads that answer `mergeable: null` after the head or the base moves (GitHub computes it in the background; default 0). */
  nullReadsAfterChange?: number;
  /** Where to deliver `push` and `issues` events, and the webhook's secret. */
  webhooks?: { url: string; secret: string };
}

export interface StandinApp {
  appId: string | number;
  /** PEM (SPKI or PKCS#1) or a KeyObject. */
  publicKey: string | KeyObject;
  installationId: string | number;
}

export class GitHubStandin {
  readonly violations: Violation[] = [];
  /** Every API request: operationId, status. */
  readonly log: Array<{ operationId: string; method: string; url: string; status: number }> = [];
  url = '';
  private server?: Server;
  private readonly repos = new Map<string, Repo>();
  private readonly injections: Injection[] = [];
  private readonly corruptions: Array<{ operationId: string; patch: Obj }> = [];
  private readonly before: Array<{ operationId: string; run: () => Promise<void> | void }> = [];
  private readonly tokens: Set<string>;
  /** Installation tokens issued, with when they stop being accepted (ms since the epoch). */
  private readonly installationTokens = new Map<string, number>();
  private installationTokenLifetimeMs: number;
  private readonly login: string;
  private updateBranchDelayMs: number;
  private nextId = 1000;
  private pushes = 0;
  private readonly contract = githubContract();

  constructor(private readonly opts: StandinOptions) {
    this.tokens = new Set(opts.tokens ?? ['standin-token']);
    this.login = opts.login ?? 'swarm-bot';
    this.updateBranchDelayMs = opts.updateBranchDelayMs ?? 50;
    this.installationTokenLifetimeMs = opts.installationTokenLifetimeMs ?? 3_600_000;
  }

  setInstallationTokenLifetime(ms: number): void {
    this.installationTokenLifetimeMs = ms;
  }

  /** A fixed token, or an installation token that has not expired. */
  private accepts(token: string | undefined): boolean {
    if (!token) return false;
    if (this.tokens.has(token)) return true;
    const expires = this.installationTokens.get(token);
    return expires !== undefined && expires > Date.now();
  }

  /**
   * Checks an App JWT as GitHub does: three base64url parts, RS256, an App known by `iss` whose
   * public key verifies the signature, `iat` not in the future (60 s of drift allowed), `exp` in
   * the future and at most 10 minutes after `iat`. Returns GitHub's message when it is refused.
   */
  private verifyAppJwt(jwt: string | undefined): { app: StandinApp } | { problem: string } {
    const parts = jwt?.split('.') ?? [];
    if (parts.length !== 3) return { problem: 'A JSON web token could not be decoded' };
    let header: Obj;
    let claims: Obj;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Obj;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Obj;
    } catch {
      return { problem: 'A JSON web token could not be decoded' };
    }
    if (header.alg !== 'RS256') return { problem: "'alg' must be RS256" };
    const app = (this.opts.apps ?? []).find((a) => String(a.appId) === String(claims.iss));
    if (!app) return { problem: `Integration not found` };
    const key = typeof app.publicKey === 'string' ? createPublicKey(app.publicKey) : app.publicKey;
    const valid = createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`).verify(key, Buffer.from(parts[2]!, 'base64url'));
    if (!valid) return { problem: 'A JSON web token could not be decoded' };
    const nowS = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > nowS + 60) return { problem: "'Issued at' claim ('iat') must be an Integer representing a time in the past" };
    if (typeof exp !== 'number' || !Number.isInteger(exp) || exp <= nowS) return { problem: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires" };
    if (exp - iat > 600) return { problem: "'Expiration time' claim ('exp') is too far in the future" };
    return { app };
  }

  /** Installation tokens issued so far (most recent last), with their expiry. */
  issuedInstallationTokens(): Array<{ token: string; expiresAt: number }> {
    return [...this.installationTokens].map(([token, expiresAt]) => ({ token, expiresAt }));
  }

  get gitRoot() {
    return join(this.opts.root, 'git');
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `stand-in crashed: ${String(err)}` }));
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server!.close(() => ok()));
  }

  // ---- state set up by tests (also reachable over HTTP under /_standin/) ----

  /** A repository whose default branch `main` has one commit with `files`. */
  async createRepo(owner: string, name: string, files: Record<string, string> = { 'README.md': 'hello\n' }): Promise<{ dir: string; cloneUrl: string }> {
    const dir = join(this.gitRoot, owner, `${name}.git`);
    mkdirSync(dir, { recursive: true });
    await git(dir, ['init', '-q', '--bare', '-b', 'main']);
    const seed = join(this.opts.root, 'seed', owner, name);
    mkdirSync(seed, { recursive: true });
    await git(seed, ['init', '-q', '-b', 'main']);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(seed, path)), { recursive: true });
      writeFileSync(join(seed, path), content);
    }
    await git(seed, ['add', '-A']);
    await git(seed, ['commit', '-q', '-m', 'initial']);
    await git(seed, ['push', '-q', dir, 'main:refs/heads/main']);
    this.repos.set(`${owner}/${name}`, { owner, name, id: this.nextId++, dir, prs: new Map(), issues: new Map(), checkRuns: [], statuses: [], protection: new Map(), rulesets: [] });
    return { dir, cloneUrl: `${this.url}/${owner}/${name}.git` };
  }

  /** An open issue, as someone opens it on GitHub; returns its number (issues and PRs share one sequence). */
  createIssue(repo: string, issue: { title: string; body?: string; labels?: string[]; author?: string }): number {
    const r = this.repo(repo);
    const number = this.nextNumber(r);
    r.issues.set(number, { number, id: this.nextId++, title: issue.title, body: issue.body ?? null, labels: issue.labels ?? [], state: 'open', stateReason: null, author: issue.author ?? 'octocat', createdAt: now(), updatedAt: now(), closedAt: null });
    return number;
  }

  /** `sender` adds `label` to the issue: an `issues` event with action `labeled` is delivered (once per call, as GitHub does). Returns the receiver's status. */
  async labelIssue(repo: string, number: number, label: string, sender = 'octocat'): Promise<number | undefined> {
    const r = this.repo(repo);
    const issue = this.issue(r, number);
    if (!issue.labels.includes(label)) issue.labels.push(label);
    issue.updatedAt = now();
    const example = webhookExample('issues', (p) => p.action === 'labeled');
    return this.deliver('issues', {
      ...example,
      action: 'labeled',
      issue: this.issueJson(r, issue),
      label: this.labelJson(r, label),
      repository: this.hookRepository(r, example),
      sender: { ...(example.sender as Obj), login: sender },
    });
  }

  /** Someone edits the issue on GitHub (its body, or closes it as not planned). */
  editIssue(repo: string, number: number, change: { body?: string; state?: 'open' | 'closed' }): void {
    const issue = this.issue(this.repo(repo), number);
    if (change.body !== undefined) issue.body = change.body;
    if (change.state === 'closed' && issue.state === 'open') Object.assign(issue, { state: 'closed', stateReason: 'not_planned', closedAt: now() });
    if (change.state === 'open' && issue.state === 'closed') Object.assign(issue, { state: 'open', stateReason: 'reopened', closedAt: null });
    issue.updatedAt = now();
  }

  issueState(repo: string, number: number): Readonly<Issue> {
    return this.issue(this.repo(repo), number);
  }

  /** `mergeable: null` for the next `reads` reads of the PR. */
  mergeableNull(repo: string, number: number, reads: number): void {
    this.pr(this.repo(repo), number).nullReads = reads;
  }

  /** Report this mergeable_state (computed again when undefined). */
  forceMergeableState(repo: string, number: number, state: string | undefined): void {
    this.pr(this.repo(repo), number).forcedState = state;
  }

  /** Branch protection on `branch` (replacing any), as an admin sets it in the repository's settings. */
  protectBranch(repo: string, branch: string, protection: Protection): void {
    this.repo(repo).protection.set(branch, protection);
  }

  /** A ruleset targeting `branch` with GitHub rule objects (`{ type: 'pull_request', parameters: {...} }`). */
  addRuleset(repo: string, branch: string, name: string, rules: Obj[]): void {
    this.repo(repo).rulesets.push({ id: this.nextId++, name, branch, rules });
  }

  /**
   * Someone else's commit on `branch` (a reviewer's suggested change, a colleague's fix), pushed
   * as `login`: the branch moves on GitHub, not in any clone of ours. Returns the new head.
   */
  async pushAs(repo: string, branch: string, files: Record<string, string>, login: string, message = `Change by ${login}`): Promise<string> {
    const r = this.repo(repo);
    const work = join(this.opts.root, 'pushes', `${++this.pushes}`);
    mkdirSync(dirname(work), { recursive: true });
    await git(dirname(work), ['clone', '-q', '--branch', branch, r.dir, work]);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    }
    await git(work, ['add', '-A']);
    await git(work, ['-c', `user.name=${login}`, '-c', `user.email=${login}@users.noreply.github.com`, 'commit', '-q', '-m', message]);
    const before = await this.branches(r.dir);
    await git(work, ['push', '-q', r.dir, `HEAD:refs/heads/${branch}`]);
    await this.deliverPushes(r, before, login);
    return (await revParse(work, 'HEAD'))!;
  }

  inject(injection: Injection): void {
    this.injections.push({ times: 1, ...injection });
  }

  /** The next `operationId` response gets `patch` laid over its body (to prove validation catches it). */
  corruptNextResponse(operationId: string, patch: Obj): void {
    this.corruptions.push({ operationId, patch });
  }

  /** Runs `run` just before the next `operationId` request is handled (a push racing a merge, say). */
  onceBefore(operationId: string, run: () => Promise<void> | void): void {
    this.before.push({ operationId, run });
  }

  /**
   * A second open PR for a branch that already has one. GitHub allows one per head owner and branch,
   * but a fork's PR with the same branch name, or a lookup without the owner, answers more than one:
   * this is how tests get an ambiguous answer.
   */
  async addDuplicatePr(repo: string, head: string, base = 'main'): Promise<number> {
    const r = this.repo(repo);
    const headSha = (await revParse(r.dir, this.ref(head)))!;
    const n = this.nextNumber(r);
    r.prs.set(n, {
      number: n, id: this.nextId++, head, base, title: `duplicate for ${head}`, body: null, draft: false, state: 'open', merged: false, mergeSha: null, headSha,
      createdAt: now(), updatedAt: now(), closedAt: null, mergedAt: null, author: 'someone-else', nullReads: 0, reviews: [],
    });
    return n;
  }

  /** The violations since the last call, cleared: tests assert this is empty after each test. */
  takeViolations(): Violation[] {
    return this.violations.splice(0);
  }

  clearViolations(): void {
    this.violations.length = 0;
  }

  secondaryRateLimit(retryAfterSeconds: number, operationId?: string): void {
    this.inject({ operationId, status: 403, message: SECONDARY, headers: { 'retry-after': String(retryAfterSeconds) } });
  }

  setUpdateBranchDelay(ms: number): void {
    this.updateBranchDelayMs = ms;
  }

  addCheckRun(repo: string, sha: string, run: { name: string; status?: string; conclusion?: string | null; details_url?: string; summary?: string }): number {
    const r = this.repo(repo);
    const status = run.status ?? (run.conclusion ? 'completed' : 'queued');
    const id = this.nextId++;
    r.checkRuns.push({
      id,
      name: run.name,
      head_sha: sha,
      status,
      conclusion: status === 'completed' ? (run.conclusion ?? 'success') : null,
      details_url: run.details_url ?? `${this.url}/${r.owner}/${r.name}/runs/${id}`,
      started_at: now(),
      completed_at: status === 'completed' ? now() : null,
      output: { title: run.conclusion ?? null, summary: run.summary ?? null },
    });
    return id;
  }

  addStatus(repo: string, sha: string, s: { context: string; state: CommitStatus['state']; target_url?: string; description?: string }): void {
    this.repo(repo).statuses.push({ id: this.nextId++, sha, context: s.context, state: s.state, target_url: s.target_url ?? null, description: s.description ?? null, created_at: now() });
  }

  /**
   * A review by someone else (a human, or another app with `type: 'Bot'`), as pulls.listReviews
   * will return it: at the PR's head unless `commitId` says otherwise, submitted now unless
   * `submittedAt` says otherwise. Reviews are listed in the order they were added.
   */
  addReview(
    repo: string,
    number: number,
    review: { login: string; state: HumanReviewState; body?: string; commitId?: string; submittedAt?: string; type?: 'User' | 'Bot' },
  ): number {
    const pr = this.pr(this.repo(repo), number);
    const id = this.nextId++;
    pr.reviews.push({ id, login: review.login, userType: review.type ?? 'User', state: review.state, body: review.body ?? '', commit_id: review.commitId ?? pr.headSha, comments: [], submitted_at: review.submittedAt ?? now() });
    return id;
  }

  /** Who opened the PR (GitHub refuses an author's own approval or request for changes). */
  setPrAuthor(repo: string, number: number, login: string): void {
    this.pr(this.repo(repo), number).author = login;
  }

  async branchSha(repo: string, branch: string): Promise<string | undefined> {
    return revParse(this.repo(repo).dir, `refs/heads/${branch}`);
  }

  prState(repo: string, number: number): Readonly<Pr> {
    return this.pr(this.repo(repo), number);
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname;
    const gitMatch = /^\/([^/]+)\/([^/]+\.git)(\/.*)$/.exec(path);
    if (gitMatch) return this.handleGit(req, res, gitMatch[1]!, gitMatch[2]!, gitMatch[3]!, url.search.slice(1));
    const body = await readBody(req);
    if (path.startsWith('/_standin/')) return this.handleControl(req, res, path, body);
    const method = req.method ?? 'GET';
    const found = this.contract.match(method, path);
    if (!found) return send(res, 404, { message: 'Not Found', documentation_url: DOCS });
    const { op, params } = found;
    const opId = op.operationId;
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      let out = payload;
      const corruption = this.corruptions.findIndex((c) => c.operationId === opId);
      if (corruption >= 0 && out && typeof out === 'object') {
        out = { ...(out as Obj), ...this.corruptions[corruption]!.patch };
        this.corruptions.splice(corruption, 1);
      }
      const errors = this.contract.validateResponse(opId, status, out);
      this.log.push({ operationId: opId, method, url: req.url ?? '', status });
      if (errors.length > 0) {
        this.violations.push({ direction: 'response', operationId: opId, status, errors });
        return send(res, 500, { message: `STAND-IN RESPONSE VIOLATES OPENAPI (${opId} ${status}): ${errors.join('; ')}` });
      }
      return send(res, status, out, headers);
    };

    const auth = req.headers.authorization ?? '';
    const token = /^(?:token|bearer)\s+(.+)$/i.exec(auth)?.[1];
    // The installation-token endpoint takes the App's JWT (as a bearer token), and nothing else does.
    let app: StandinApp | undefined;
    if (opId === APP_TOKEN_OP) {
      const checked = this.verifyAppJwt(/^bearer\s+(.+)$/i.exec(auth)?.[1]);
      if ('problem' in checked) return reply(401, { message: checked.problem, documentation_url: DOCS, status: '401' });
      app = checked.app;
    } else if (!this.accepts(token)) return reply(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });

    const injection = this.injections.find((i) => !i.operationId || i.operationId === opId);
    if (injection) {
      injection.times = (injection.times ?? 1) - 1;
      if (injection.times <= 0) this.injections.splice(this.injections.indexOf(injection), 1);
      return reply(injection.status, { message: injection.message ?? 'Injected failure', documentation_url: DOCS, status: String(injection.status) }, injection.headers);
    }

    const hook = this.before.findIndex((b) => b.operationId === opId);
    if (hook >= 0) {
      const { run } = this.before.splice(hook, 1)[0]!;
      await run();
    }

    let parsed: unknown;
    if (body.length > 0) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return reply(400, { message: 'Problems parsing JSON', documentation_url: DOCS });
      }
    }
    const query = Object.fromEntries(url.searchParams);
    const requestErrors = this.contract.validateRequest(opId, query, parsed);
    if (requestErrors.length > 0) {
      this.violations.push({ direction: 'request', operationId: opId, errors: requestErrors });
      return reply(422, { message: `Invalid request.\n\n${requestErrors.join('\n')}`, documentation_url: DOCS });
    }
    try {
      if (app) return reply(201, this.issueInstallationToken(app, params.installation_id!));
      const repo = this.repos.get(`${params.owner}/${params.repo}`);
      if (!repo) throw new HttpError(404, 'Not Found');
      const result = await this.operation(opId, repo, params, query, (parsed ?? {}) as Obj, req, url);
      if (result.raw !== undefined) {
        this.log.push({ operationId: opId, method, url: req.url ?? '', status: result.status });
        res.writeHead(result.status, { 'content-type': 'application/vnd.github.diff; charset=utf-8' });
        res.end(result.raw);
        return;
      }
      return reply(result.status, result.body, result.headers);
    } catch (err) {
      if (err instanceof HttpError) return reply(err.status, { message: err.message, documentation_url: DOCS, ...err.extra });
      throw err;
    }
  }

  private issueInstallationToken(app: StandinApp, installationId: string): Obj {
    if (String(app.installationId) !== installationId) throw new HttpError(404, 'Not Found');
    const token = `ghs_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
    // GitHub's expires_at has whole seconds: rounded up, so the token lives at least the lifetime.
    const expiresAt = Math.ceil((Date.now() + this.installationTokenLifetimeMs) / 1000) * 1000;
    this.installationTokens.set(token, expiresAt);
    return { token, expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'), permissions: { contents: 'write', pull_requests: 'write', checks: 'read', statuses: 'read' }, repository_selection: 'all' };
  }

  /** Every branch of the bare repository with its head. */
  private async branches(dir: string): Promise<Map<string, string>> {
    const { stdout } = await git(dir, ['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/']);
    return new Map(stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  }

  /** Webhook deliveries so far: the event, the ref a push moved, and the receiver's answer. */
  readonly webhookDeliveries: Array<{ event: string; ref?: string; status: number }> = [];

  /** One delivery, signed as GitHub signs it; undefined when no webhook is configured. */
  private async deliver(event: string, payload: Obj): Promise<number | undefined> {
    const hook = this.opts.webhooks;
    if (!hook) return undefined;
    const body = JSON.stringify(payload);
    const res = await fetch(hook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/standin',
        'x-github-event': event,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`,
      },
      body,
    });
    this.webhookDeliveries.push({ event, ...(typeof payload.ref === 'string' ? { ref: payload.ref } : {}), status: res.status });
    return res.status;
  }

  /** The event's `repository`: GitHub's example with this repository's names and ids. */
  private hookRepository(repo: Repo, example: Obj): Obj {
    return { ...(example.repository as Obj), id: repo.id, name: repo.name, full_name: `${repo.owner}/${repo.name}`, owner: { ...((example.repository as Obj).owner as Obj), login: repo.owner, name: repo.owner } };
  }

  /** A `push` event for each branch that moved between `before` and now, as `pusher`. */
  private async deliverPushes(repo: Repo, before: Map<string, string>, pusher: string): Promise<void> {
    if (!this.opts.webhooks) return;
    const after = await this.branches(repo.dir);
    const zero = '0'.repeat(40);
    for (const ref of new Set([...before.keys(), ...after.keys()])) {
      const [was, now] = [before.get(ref) ?? zero, after.get(ref) ?? zero];
      if (was === now) continue;
      const example = pushExample();
      await this.deliver('push', {
        ...example,
        ref,
        before: was,
        after: now,
        created: was === zero,
        deleted: now === zero,
        forced: false,
        compare: `${this.url}/${repo.owner}/${repo.name}/compare/${was.slice(0, 12)}...${now.slice(0, 12)}`,
        head_commit: now === zero ? null : { ...(example.head_commit as Obj), id: now, tree_id: now },
        commits: [],
        pusher: { name: pusher, email: `${pusher}@users.noreply.github.com` },
        repository: this.hookRepository(repo, example),
      });
    }
  }

  private async handleGit(req: IncomingMessage, res: ServerResponse, owner: string, repoGit: string, rest: string, query: string): Promise<void> {
    const basic = /^basic\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const [user, token] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':', 2) : [];
    if (user !== 'x-access-token' || !this.accepts(token)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"', 'content-type': 'text/plain' });
      res.end('Invalid username or token.\n');
      return;
    }
    if (!this.repos.has(`${owner}/${repoGit.slice(0, -4)}`)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Repository not found.\n');
      return;
    }
    const repo = this.repos.get(`${owner}/${repoGit.slice(0, -4)}`)!;
    if (rest === '/git-receive-pack' && this.opts.webhooks) {
      const before = await this.branches(repo.dir);
      res.on('finish', () => void this.deliverPushes(repo, before, this.login));
    }
    serveGitHttp(req, res, { projectRoot: this.gitRoot, pathInfo: `/${owner}/${repoGit}${rest}`, query, remoteUser: this.login });
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): Promise<void> {
    const input = (body.length > 0 ? JSON.parse(body.toString('utf8')) : {}) as Obj;
    try {
      if (req.method === 'GET' && path === '/_standin/violations') return send(res, 200, this.violations);
      if (req.method !== 'POST') return send(res, 405, { message: 'controls are POSTs' });
      let m: RegExpExecArray | null;
      if (path === '/_standin/repos') return send(res, 201, await this.createRepo(String(input.owner), String(input.name), input.files as Record<string, string> | undefined));
      if (path === '/_standin/inject') {
        this.inject(input as unknown as Injection);
        return send(res, 204, undefined);
      }
      if (path === '/_standin/secondary-rate-limit') {
        this.secondaryRateLimit(Number(input.retryAfter ?? 60), input.operationId as string | undefined);
        return send(res, 204, undefined);
      }
      if ((m = /^\/_standin\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)\/mergeable-null$/.exec(path))) {
        this.mergeableNull(m[1]!, Number(m[2]), Number(input.reads ?? 1));
        return send(res, 204, undefined);
      }
      if ((m = /^\/_standin\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)\/mergeable-state$/.exec(path))) {
        this.forceMergeableState(m[1]!, Number(m[2]), input.state as string | undefined);
        return send(res, 204, undefined);
      }
      if ((m = /^\/_standin\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]{40})\/check-runs$/.exec(path))) {
        return send(res, 201, { id: this.addCheckRun(m[1]!, m[2]!, input as never) });
      }
      if ((m = /^\/_standin\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]{40})\/statuses$/.exec(path))) {
        this.addStatus(m[1]!, m[2]!, input as never);
        return send(res, 204, undefined);
      }
      return send(res, 404, { message: `no control ${path}` });
    } catch (err) {
      return send(res, 400, { message: String(err) });
    }
  }

  // ---- the model ----

  private repo(fullName: string): Repo {
    const r = this.repos.get(fullName);
    if (!r) throw new Error(`no stand-in repository ${fullName}`);
    return r;
  }

  private pr(repo: Repo, number: number): Pr {
    const p = repo.prs.get(number);
    if (!p) throw new HttpError(404, 'Not Found');
    return p;
  }

  private issue(repo: Repo, number: number): Issue {
    const i = repo.issues.get(number);
    if (!i) throw new HttpError(404, 'Not Found');
    return i;
  }

  /** Issues and PRs share one sequence of numbers per repository. */
  private nextNumber(repo: Repo): number {
    return repo.prs.size + repo.issues.size + 1;
  }

  /** The conversation a number names: an issue's, or a PR's (GitHub serves both as issue comments). */
  private conversation(repo: Repo, number: number): { number: number; path: 'issues' | 'pull'; comments: IssueComment[] } {
    const thread = repo.issues.get(number) ?? repo.prs.get(number);
    if (!thread) throw new HttpError(404, 'Not Found');
    return { number, path: repo.issues.has(number) ? 'issues' : 'pull', comments: (thread.comments ??= []) };
  }

  /** A merge into the default branch closes the issues its PR's description names with a closing keyword. */
  private closeNamedIssues(repo: Repo, pr: Pr): void {
    if (pr.base !== 'main') return;
    for (const [, named, n] of (pr.body ?? '').matchAll(CLOSING_KEYWORD)) {
      const target = named ? this.repos.get(named) : repo;
      const issue = target?.issues.get(Number(n));
      if (!issue || issue.state === 'closed') continue;
      Object.assign(issue, { state: 'closed', stateReason: 'completed', closedAt: now(), updatedAt: now(), closedByPr: pr.number });
    }
  }

  private ref = (branch: string) => `refs/heads/${branch}`;

  private async liveHead(repo: Repo, pr: Pr): Promise<string> {
    if (pr.merged || pr.state === 'closed') return pr.headSha;
    const sha = await revParse(repo.dir, this.ref(pr.head));
    if (sha) pr.headSha = sha;
    return pr.headSha;
  }

  private async isAncestor(dir: string, a: string, b: string): Promise<boolean> {
    return (await git(dir, ['merge-base', '--is-ancestor', a, b], { allowFailure: true })).exitCode === 0;
  }

  private async mergeTree(dir: string, base: string, head: string): Promise<{ tree: string; conflicts: boolean }> {
    const res = await git(dir, ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', base, head], { allowFailure: true });
    if (res.exitCode > 1) throw new Error(`merge-tree failed: ${res.stderr}`);
    return { tree: res.stdout.split('\0')[0]!, conflicts: res.exitCode === 1 };
  }

  private async mergeability(repo: Repo, pr: Pr, consumeNull: boolean): Promise<{ mergeable: boolean | null; state: string }> {
    if (pr.merged || pr.state === 'closed') return { mergeable: null, state: 'unknown' };
    const head = await this.liveHead(repo, pr);
    const base = await revParse(repo.dir, this.ref(pr.base));
    // A new head or base starts a new background computation on GitHub.
    if (pr.computedFor !== `${base}..${head}`) {
      pr.computedFor = `${base}..${head}`;
      pr.nullReads = Math.max(pr.nullReads, this.opts.nullReadsAfterChange ?? 0);
    }
    if (pr.nullReads > 0) {
      if (consumeNull) pr.nullReads--;
      return { mergeable: null, state: 'unknown' };
    }
    if (!base) return { mergeable: false, state: 'dirty' };
    const { conflicts } = await this.mergeTree(repo.dir, base, head);
    let state: string;
    if (pr.forcedState) state = pr.forcedState;
    else if (pr.draft) state = 'draft';
    else if (conflicts) state = 'dirty';
    else if (!(await this.isAncestor(repo.dir, base, head))) state = 'behind';
    else if (this.unmetRules(repo, pr, head).length > 0) state = 'blocked';
    else state = this.failing(repo, head) ? 'unstable' : 'clean';
    return { mergeable: !conflicts, state };
  }

  /** The rules of the base (protection and rulesets) that `head` does not meet yet, as GitHub's 405 messages. */
  private unmetRules(repo: Repo, pr: Pr, head: string): string[] {
    const protection = repo.protection.get(pr.base);
    const rules = repo.rulesets.filter((r) => r.branch === pr.base).flatMap((r) => r.rules);
    const param = (rule: Obj, key: string) => (rule.parameters as Obj | undefined)?.[key];
    const approvalsNeeded = Math.max(
      protection?.requiredApprovingReviewCount ?? 0,
      ...rules.filter((r) => r.type === 'pull_request').map((r) => Number(param(r, 'required_approving_review_count') ?? 0)),
    );
    const contexts = new Set([
      ...(protection?.contexts ?? []),
      ...rules.filter((r) => r.type === 'required_status_checks').flatMap((r) => ((param(r, 'required_status_checks') as Obj[] | undefined) ?? []).map((c) => String(c.context))),
    ]);
    const unmet: string[] = [];
    // The latest submitted review per person counts; the author's own never does.
    const latest = new Map<string, string>();
    for (const r of pr.reviews) if (r.state !== 'PENDING' && r.state !== 'COMMENTED' && r.login !== pr.author) latest.set(r.login, r.state);
    const approvals = [...latest.values()].filter((s) => s === 'APPROVED').length;
    if (approvals < approvalsNeeded) unmet.push(`At least ${approvalsNeeded} approving review${approvalsNeeded > 1 ? 's are' : ' is'} required by reviewers with write access.`);
    const passing = new Set([
      ...this.latestRuns(repo, head).filter((r) => r.status === 'completed' && ['success', 'neutral', 'skipped'].includes(r.conclusion ?? '')).map((r) => r.name),
      ...this.latestStatuses(repo, head).filter((s) => s.state === 'success').map((s) => s.context),
    ]);
    for (const c of contexts) if (!passing.has(c)) unmet.push(`Required status check "${c}" is expected.`);
    return unmet;
  }

  /** "Require branches to be up to date before merging", from the protection or a ruleset. */
  private strict(repo: Repo, base: string): boolean {
    const ruleStrict = repo.rulesets.some((r) => r.branch === base && r.rules.some((rule) => rule.type === 'required_status_checks' && (rule.parameters as Obj | undefined)?.strict_required_status_checks_policy === true));
    return repo.protection.get(base)?.strict === true || ruleStrict;
  }

  private failing(repo: Repo, sha: string): boolean {
    const runs = this.latestRuns(repo, sha);
    const statuses = this.latestStatuses(repo, sha);
    return runs.some((r) => r.status === 'completed' && !['success', 'neutral', 'skipped'].includes(r.conclusion ?? '')) || statuses.some((s) => s.state === 'failure' || s.state === 'error');
  }

  private latestRuns(repo: Repo, sha: string): CheckRun[] {
    const byName = new Map<string, CheckRun>();
    for (const r of repo.checkRuns) if (r.head_sha === sha && (!byName.has(r.name) || byName.get(r.name)!.id < r.id)) byName.set(r.name, r);
    return [...byName.values()];
  }

  private latestStatuses(repo: Repo, sha: string): CommitStatus[] {
    const byContext = new Map<string, CommitStatus>();
    for (const s of repo.statuses) if (s.sha === sha && (!byContext.has(s.context) || byContext.get(s.context)!.id < s.id)) byContext.set(s.context, s);
    return [...byContext.values()];
  }

  // ---- JSON builders (a minimal valid object from the schema, with real values laid over it) ----

  private api(repo: Repo, rest = '') {
    return `${this.url}/repos/${repo.owner}/${repo.name}${rest}`;
  }

  private user(login: string, type: 'User' | 'Bot' = 'User'): Obj {
    // An app's login (`name[bot]`) is percent-encoded in its URLs, as GitHub does.
    const path = encodeURIComponent(login);
    return this.contract.example('simple-user', { login, id: login.length, type, html_url: `${this.url}/${path}`, url: `${this.url}/users/${path}` });
  }

  private repository(repo: Repo): Obj {
    return this.contract.example('repository', {
      id: repo.id,
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      owner: this.user(repo.owner),
      default_branch: 'main',
      url: this.api(repo),
      html_url: `${this.url}/${repo.owner}/${repo.name}`,
      clone_url: `${this.url}/${repo.owner}/${repo.name}.git`,
    });
  }

  private async pullJson(repo: Repo, pr: Pr, full: boolean): Promise<Obj> {
    const head = await this.liveHead(repo, pr);
    const base = (await revParse(repo.dir, this.ref(pr.base))) ?? '';
    const html = `${this.url}/${repo.owner}/${repo.name}/pull/${pr.number}`;
    const fields: Obj = {
      id: pr.id,
      number: pr.number,
      url: this.api(repo, `/pulls/${pr.number}`),
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      state: pr.state,
      title: pr.title,
      body: pr.body,
      draft: pr.draft,
      user: this.user(pr.author),
      created_at: pr.createdAt,
      updated_at: pr.updatedAt,
      closed_at: pr.closedAt,
      merged_at: pr.mergedAt,
      merge_commit_sha: pr.mergeSha,
      head: { label: `${repo.owner}:${pr.head}`, ref: pr.head, sha: head, user: this.user(repo.owner), repo: this.repository(repo) },
      base: { label: `${repo.owner}:${pr.base}`, ref: pr.base, sha: base, user: this.user(repo.owner), repo: this.repository(repo) },
      author_association: 'OWNER',
    };
    if (!full) return this.contract.example('pull-request-simple', fields);
    const m = await this.mergeability(repo, pr, true);
    return this.contract.example('pull-request', { ...fields, merged: pr.merged, mergeable: m.mergeable, rebaseable: m.mergeable, mergeable_state: m.state, merged_by: pr.merged ? this.user(this.login) : null });
  }

  private checkRunJson(repo: Repo, r: CheckRun): Obj {
    return this.contract.example('check-run', {
      id: r.id,
      name: r.name,
      head_sha: r.head_sha,
      status: r.status,
      conclusion: r.conclusion,
      details_url: r.details_url,
      html_url: r.details_url,
      url: this.api(repo, `/check-runs/${r.id}`),
      started_at: r.started_at,
      completed_at: r.completed_at,
      output: { title: r.output.title, summary: r.output.summary, text: null, annotations_count: 0, annotations_url: this.api(repo, `/check-runs/${r.id}/annotations`) },
      check_suite: { id: 1 },
      pull_requests: [],
    });
  }

  private labelJson(repo: Repo, name: string): Obj {
    return { id: name.length, node_id: `LA_${name}`, url: this.api(repo, `/labels/${encodeURIComponent(name)}`), name, description: null, color: 'ededed', default: false };
  }

  private issueJson(repo: Repo, issue: Issue): Obj {
    const self = this.api(repo, `/issues/${issue.number}`);
    return this.contract.example('issue', {
      id: issue.id,
      node_id: `I_${issue.id}`,
      url: self,
      repository_url: this.api(repo),
      labels_url: `${self}/labels{/name}`,
      comments_url: `${self}/comments`,
      events_url: `${self}/events`,
      html_url: `${this.url}/${repo.owner}/${repo.name}/issues/${issue.number}`,
      number: issue.number,
      state: issue.state,
      state_reason: issue.stateReason,
      title: issue.title,
      body: issue.body,
      user: this.user(issue.author),
      labels: issue.labels.map((l) => this.labelJson(repo, l)),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: issue.comments?.length ?? 0,
      closed_at: issue.closedAt,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      author_association: issue.author === repo.owner ? 'OWNER' : 'CONTRIBUTOR',
    });
  }

  /** A PR read as an issue (issues.get on a PR's number): its title, body and state, and the `pull_request` link that tells them apart. */
  private prAsIssueJson(repo: Repo, pr: Pr): Obj {
    const html = `${this.url}/${repo.owner}/${repo.name}/pull/${pr.number}`;
    const issue: Issue = { number: pr.number, id: pr.id, title: pr.title, body: pr.body, labels: [], state: pr.state, stateReason: null, author: pr.author, createdAt: pr.createdAt, updatedAt: pr.updatedAt, closedAt: pr.closedAt, comments: pr.comments };
    return { ...this.issueJson(repo, issue), html_url: html, pull_request: { url: this.api(repo, `/pulls/${pr.number}`), html_url: html, diff_url: `${html}.diff`, patch_url: `${html}.patch`, merged_at: pr.mergedAt } };
  }

  private issueCommentJson(repo: Repo, thread: { number: number; path: 'issues' | 'pull' }, c: IssueComment): Obj {
    return this.contract.example('issue-comment', {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: this.api(repo, `/issues/comments/${c.id}`),
      html_url: `${this.url}/${repo.owner}/${repo.name}/${thread.path}/${thread.number}#issuecomment-${c.id}`,
      issue_url: this.api(repo, `/issues/${thread.number}`),
      body: c.body,
      user: this.user(c.login),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: 'OWNER',
    });
  }

  private reviewJson(repo: Repo, pr: Pr, r: Review): Obj {
    const html = `${this.url}/${repo.owner}/${repo.name}/pull/${pr.number}`;
    return this.contract.example('pull-request-review', {
      id: r.id,
      user: this.user(r.login, r.userType),
      body: r.body,
      state: r.state,
      commit_id: r.commit_id,
      html_url: `${html}#pullrequestreview-${r.id}`,
      pull_request_url: this.api(repo, `/pulls/${pr.number}`),
      _links: { html: { href: html }, pull_request: { href: this.api(repo, `/pulls/${pr.number}`) } },
      ...(r.submitted_at ? { submitted_at: r.submitted_at } : {}),
      author_association: r.login === this.login ? 'OWNER' : 'CONTRIBUTOR',
    });
  }

  private reviewCommentJson(repo: Repo, pr: Pr, r: Review, c: ReviewComment): Obj {
    const html = `${this.url}/${repo.owner}/${repo.name}/pull/${pr.number}#discussion_r${c.id}`;
    const self = this.api(repo, `/pulls/comments/${c.id}`);
    return this.contract.example('review-comment', {
      id: c.id,
      node_id: `PRRC_${c.id}`,
      url: self,
      pull_request_review_id: r.id,
      diff_hunk: c.diffHunk,
      path: c.path,
      position: c.position ?? 1,
      original_position: c.position ?? 1,
      commit_id: r.commit_id,
      original_commit_id: r.commit_id,
      user: this.user(r.login, r.userType),
      body: c.body,
      created_at: c.created_at,
      updated_at: c.created_at,
      html_url: html,
      pull_request_url: this.api(repo, `/pulls/${pr.number}`),
      author_association: r.login === this.login ? 'OWNER' : 'CONTRIBUTOR',
      _links: { self: { href: self }, html: { href: html }, pull_request: { href: this.api(repo, `/pulls/${pr.number}`) } },
      side: c.side,
      line: c.line,
      original_line: c.line,
      subject_type: 'line',
    });
  }

  /**
   * The hunks of the PR's diff for one path (merge base to `head`, 3 lines of context as GitHub
   * shows them): where a review comment may land. Undefined when the path is not in the diff.
   */
  private async hunks(repo: Repo, pr: Pr, head: string, path: string): Promise<Array<{ text: string; left: [number, number]; right: [number, number] }> | undefined> {
    const base = (await revParse(repo.dir, this.ref(pr.base)))!;
    const mb = (await git(repo.dir, ['merge-base', base, head])).stdout.trim();
    const { stdout } = await git(repo.dir, ['diff', '-U3', '--no-color', '--no-ext-diff', mb, head, '--', path]);
    if (!stdout.trim()) return undefined;
    const out: Array<{ text: string; left: [number, number]; right: [number, number] }> = [];
    for (const chunk of stdout.split(/\n(?=@@ )/).slice(1)) {
      const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(chunk);
      if (!m) continue;
      const span = (start: string, count: string | undefined): [number, number] => [Number(start), Number(start) + Number(count ?? 1) - 1];
      out.push({ text: chunk.replace(/\n$/, ''), left: span(m[1]!, m[2]), right: span(m[3]!, m[4]) });
    }
    return out;
  }

  private page<T>(items: T[], query: Record<string, string>, url: URL): { items: T[]; headers: Record<string, string> } {
    const perPage = Math.min(Number(query.per_page ?? 30), 100);
    const page = Math.max(Number(query.page ?? 1), 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (p: number, rel: string) => {
      const u = new URL(url.toString());
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `<${this.url}${u.pathname}${u.search}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    return { items: items.slice((page - 1) * perPage, page * perPage), headers: links.length ? { link: links.join(', ') } : {} };
  }

  private async operation(
    opId: string,
    repo: Repo,
    params: Record<string, string>,
    query: Record<string, string>,
    body: Obj,
    req: IncomingMessage,
    url: URL,
  ): Promise<{ status: number; body?: unknown; headers?: Record<string, string>; raw?: string }> {
    const number = Number(params.pull_number ?? params.issue_number);
    switch (opId) {
      case 'issues/get': {
        const pr = repo.prs.get(number);
        return { status: 200, body: pr && !repo.issues.has(number) ? this.prAsIssueJson(repo, pr) : this.issueJson(repo, this.issue(repo, number)) };
      }
      case 'issues/create-comment': {
        const thread = this.conversation(repo, number);
        if (typeof body.body !== 'string' || body.body.length === 0) throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }] });
        if (body.body.length > 65_536) throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }] });
        const comment: IssueComment = { id: this.nextId++, login: this.login, body: body.body, created_at: now(), updated_at: now() };
        thread.comments.push(comment);
        return { status: 201, body: this.issueCommentJson(repo, thread, comment), headers: { location: this.api(repo, `/issues/comments/${comment.id}`) } };
      }
      case 'issues/list-comments': {
        const thread = this.conversation(repo, number);
        const { items, headers } = this.page(thread.comments, query, url);
        return { status: 200, body: items.map((c) => this.issueCommentJson(repo, thread, c)), headers };
      }
      case 'issues/update-comment': {
        const id = Number(params.comment_id);
        const on = [...repo.prs.values(), ...repo.issues.values()].find((t) => t.comments?.some((c) => c.id === id))?.number;
        const thread = on === undefined ? undefined : this.conversation(repo, on);
        const comment = thread?.comments.find((c) => c.id === id);
        if (!thread || !comment) throw new HttpError(404, 'Not Found');
        if (typeof body.body !== 'string' || body.body.length === 0) throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }] });
        Object.assign(comment, { body: body.body, updated_at: now() });
        return { status: 200, body: this.issueCommentJson(repo, thread, comment) };
      }
      case 'pulls/create': {
        const headSpec = String(body.head);
        const branch = headSpec.includes(':') ? headSpec.slice(headSpec.indexOf(':') + 1) : headSpec;
        const base = String(body.base);
        const headSha = await revParse(repo.dir, this.ref(branch));
        const baseSha = await revParse(repo.dir, this.ref(base));
        if (!headSha || !baseSha) {
          throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'PullRequest', field: headSha ? 'base' : 'head', code: 'invalid' }] });
        }
        const open = [...repo.prs.values()].find((p) => p.head === branch && p.state === 'open');
        if (open) {
          throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner}:${branch}.` }] });
        }
        if (await this.isAncestor(repo.dir, headSha, baseSha)) {
          throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${branch}` }] });
        }
        const pr: Pr = {
          number: this.nextNumber(repo),
          id: this.nextId++,
          head: branch,
          base,
          title: str(body.title, ''),
          body: (body.body as string | undefined) ?? null,
          draft: body.draft === true,
          state: 'open',
          merged: false,
          mergeSha: null,
          headSha,
          createdAt: now(),
          updatedAt: now(),
          closedAt: null,
          mergedAt: null,
          author: this.login,
          nullReads: 0,
          reviews: [],
        };
        repo.prs.set(pr.number, pr);
        return { status: 201, body: await this.pullJson(repo, pr, true) };
      }
      case 'pulls/list': {
        const state = query.state ?? 'open';
        let prs = [...repo.prs.values()].filter((p) => state === 'all' || p.state === state);
        // GitHub: `head` must be `user:ref-name`; a bare branch name is silently ignored.
        if (query.head?.includes(':')) {
          const [owner, branch] = [query.head.slice(0, query.head.indexOf(':')), query.head.slice(query.head.indexOf(':') + 1)];
          prs = prs.filter((p) => owner === repo.owner && p.head === branch);
        }
        if (query.base) prs = prs.filter((p) => p.base === query.base);
        const { items, headers } = this.page(prs, query, url);
        return { status: 200, body: await Promise.all(items.map((p) => this.pullJson(repo, p, false))), headers };
      }
      case 'pulls/get': {
        const pr = this.pr(repo, number);
        const accept = String(req.headers.accept ?? '');
        if (/diff/.test(accept)) {
          const head = await this.liveHead(repo, pr);
          const base = (await revParse(repo.dir, this.ref(pr.base)))!;
          const mb = (await git(repo.dir, ['merge-base', base, head])).stdout.trim();
          return { status: 200, raw: `${(await git(repo.dir, ['diff', '-M', '--no-color', mb, head])).stdout}\n` };
        }
        return { status: 200, body: await this.pullJson(repo, pr, true) };
      }
      case 'pulls/update': {
        const pr = this.pr(repo, number);
        if (typeof body.title === 'string') pr.title = body.title;
        if (typeof body.body === 'string') pr.body = body.body;
        if (body.state === 'closed' && pr.state === 'open') {
          await this.liveHead(repo, pr);
          pr.state = 'closed';
          pr.closedAt = now();
        } else if (body.state === 'open' && pr.state === 'closed' && !pr.merged) {
          pr.state = 'open';
          pr.closedAt = null;
        }
        pr.updatedAt = now();
        return { status: 200, body: await this.pullJson(repo, pr, true) };
      }
      case 'pulls/list-files': {
        const pr = this.pr(repo, number);
        const head = await this.liveHead(repo, pr);
        const base = (await revParse(repo.dir, this.ref(pr.base)))!;
        const mb = (await git(repo.dir, ['merge-base', base, head])).stdout.trim();
        const { stdout } = await git(repo.dir, ['diff', '--name-status', '-z', '-M', mb, head]);
        const f = stdout.split('\0');
        const files: Obj[] = [];
        for (let i = 0; i + 1 < f.length; ) {
          const code = f[i]![0]!;
          const entry = (status: string, filename: string, previous?: string) =>
            this.contract.example('diff-entry', { sha: head, filename, status, additions: 0, deletions: 0, changes: 0, ...(previous ? { previous_filename: previous } : {}) });
          if (code === 'R' || code === 'C') {
            files.push(entry(code === 'R' ? 'renamed' : 'copied', f[i + 2]!, f[i + 1]));
            i += 3;
          } else {
            files.push(entry(code === 'A' ? 'added' : code === 'D' ? 'removed' : 'modified', f[i + 1]!));
            i += 2;
          }
        }
        const { items, headers } = this.page(files, query, url);
        return { status: 200, body: items, headers };
      }
      case 'pulls/update-branch': {
        const pr = this.pr(repo, number);
        if (pr.state !== 'open') throw new HttpError(422, 'Pull request is not open.');
        const head = await this.liveHead(repo, pr);
        if (typeof body.expected_head_sha === 'string' && body.expected_head_sha !== head) {
          throw new HttpError(422, "expected_head_sha didn't match current head ref.");
        }
        const base = (await revParse(repo.dir, this.ref(pr.base)))!;
        if (await this.isAncestor(repo.dir, base, head)) throw new HttpError(422, 'There are no new commits on the base branch.');
        const { tree, conflicts } = await this.mergeTree(repo.dir, base, head);
        if (conflicts) throw new HttpError(422, 'merge conflict between base and head');
        const commit = (await git(repo.dir, ['commit-tree', tree, '-p', head, '-p', base, '-m', `Merge branch '${pr.base}' into ${pr.head}`])).stdout.trim();
        // 202: accepted, the head moves a little later (a push in between makes the CAS fail: nothing lands).
        setTimeout(() => {
          void git(repo.dir, ['update-ref', this.ref(pr.head), commit, head], { allowFailure: true });
        }, this.updateBranchDelayMs);
        return { status: 202, body: { message: 'Updating pull request branch.', url: `${this.url}/${repo.owner}/${repo.name}/pull/${pr.number}` } };
      }
      case 'pulls/merge': {
        const pr = this.pr(repo, number);
        if (pr.merged || pr.state !== 'open') throw new HttpError(405, 'Pull Request is not mergeable');
        const head = await this.liveHead(repo, pr);
        if (typeof body.sha === 'string' && body.sha !== head) throw new HttpError(409, 'Head branch was modified. Review and try the merge again.');
        const m = await this.mergeability(repo, pr, false);
        if (m.state === 'blocked' && !pr.forcedState) {
          const byRuleset = repo.rulesets.some((r) => r.branch === pr.base);
          throw new HttpError(405, byRuleset && !repo.protection.has(pr.base) ? 'Repository rule violations found' : this.unmetRules(repo, pr, head)[0]!);
        }
        if (m.state === 'behind' && this.strict(repo, pr.base)) throw new HttpError(405, 'Head branch is out of date. Review and try the merge again.');
        if (m.mergeable !== true || ['dirty', 'blocked', 'draft'].includes(m.state)) throw new HttpError(405, 'Pull Request is not mergeable');
        const base = (await revParse(repo.dir, this.ref(pr.base)))!;
        const { tree } = await this.mergeTree(repo.dir, base, head);
        const title = typeof body.commit_title === 'string' ? body.commit_title : `Merge pull request #${pr.number} from ${repo.owner}/${pr.head}`;
        const mergeSha = (await git(repo.dir, ['commit-tree', tree, '-p', base, '-p', head, '-m', title])).stdout.trim();
        await git(repo.dir, ['update-ref', this.ref(pr.base), mergeSha, base]);
        Object.assign(pr, { merged: true, state: 'closed', mergeSha, mergedAt: now(), closedAt: now(), updatedAt: now(), headSha: head });
        this.closeNamedIssues(repo, pr);
        return { status: 200, body: { sha: mergeSha, merged: true, message: 'Pull Request successfully merged' } };
      }
      case 'pulls/create-review': {
        const pr = this.pr(repo, number);
        const head = await this.liveHead(repo, pr);
        const event = body.event as string | undefined;
        if (event === 'APPROVE' && pr.author === this.login) throw new HttpError(422, 'Unprocessable Entity', { errors: ['Can not approve your own pull request'] });
        if (event === 'REQUEST_CHANGES' && pr.author === this.login) throw new HttpError(422, 'Unprocessable Entity', { errors: ['Can not request changes on your own pull request'] });
        if ((event === 'REQUEST_CHANGES' || event === 'COMMENT') && !body.body) throw new HttpError(422, 'Unprocessable Entity', { errors: ['Body is required'] });
        const reviewId = this.nextId++;
        const comments: ReviewComment[] = [];
        for (const c of (body.comments as Obj[] | undefined) ?? []) {
          const path = String(c.path);
          const hunks = await this.hunks(repo, pr, head, path);
          if (!hunks) throw new HttpError(422, 'Unprocessable Entity', { errors: ['Path could not be resolved'] });
          const side = c.side === 'LEFT' ? 'LEFT' : 'RIGHT';
          const line = typeof c.line === 'number' ? c.line : null;
          const position = typeof c.position === 'number' ? c.position : null;
          const hunk = line === null ? hunks[0] : hunks.find((h) => line >= h[side === 'LEFT' ? 'left' : 'right'][0] && line <= h[side === 'LEFT' ? 'left' : 'right'][1]);
          if (!hunk || (line === null && position === null)) throw new HttpError(422, 'Unprocessable Entity', { errors: ['Line could not be resolved'] });
          comments.push({ id: this.nextId++, path, line, side, position, body: str(c.body, ''), diffHunk: hunk.text, created_at: now() });
        }
        const state = event === 'APPROVE' ? 'APPROVED' : event === 'REQUEST_CHANGES' ? 'CHANGES_REQUESTED' : event === 'COMMENT' ? 'COMMENTED' : 'PENDING';
        const review: Review = { id: reviewId, login: this.login, userType: 'User', state, body: str(body.body, ''), commit_id: str(body.commit_id, head), comments, submitted_at: state === 'PENDING' ? null : now() };
        pr.reviews.push(review);
        return { status: 200, body: this.reviewJson(repo, pr, review) };
      }
      case 'pulls/list-reviews': {
        const pr = this.pr(repo, number);
        // PENDING reviews are only ever shown to their author (the token's user here).
        const visible = pr.reviews.filter((r) => r.state !== 'PENDING' || r.login === this.login);
        const { items, headers } = this.page(visible, query, url);
        return { status: 200, body: items.map((r) => this.reviewJson(repo, pr, r)), headers };
      }
      case 'pulls/get-review': {
        const pr = this.pr(repo, number);
        const review = pr.reviews.find((r) => r.id === Number(params.review_id));
        if (!review || (review.state === 'PENDING' && review.login !== this.login)) throw new HttpError(404, 'Not Found');
        return { status: 200, body: this.reviewJson(repo, pr, review) };
      }
      case 'pulls/list-comments-for-review': {
        const pr = this.pr(repo, number);
        const review = pr.reviews.find((r) => r.id === Number(params.review_id));
        if (!review) throw new HttpError(404, 'Not Found');
        const { items, headers } = this.page(review.comments, query, url);
        return { status: 200, body: items.map((c) => this.reviewCommentJson(repo, pr, review, c)), headers };
      }
      case 'checks/create': {
        const id = this.addCheckRun(`${repo.owner}/${repo.name}`, String(body.head_sha), {
          name: String(body.name),
          status: (body.status as string | undefined) ?? (body.conclusion ? 'completed' : 'queued'),
          conclusion: (body.conclusion as string | undefined) ?? null,
          details_url: body.details_url as string | undefined,
        });
        return { status: 201, body: this.checkRunJson(repo, repo.checkRuns.find((r) => r.id === id)!) };
      }
      case 'checks/list-for-ref': {
        const sha = (await revParse(repo.dir, params.ref!)) ?? params.ref!;
        let runs = query.filter === 'all' ? repo.checkRuns.filter((r) => r.head_sha === sha) : this.latestRuns(repo, sha);
        if (query.check_name) runs = runs.filter((r) => r.name === query.check_name);
        if (query.status) runs = runs.filter((r) => r.status === query.status);
        runs.sort((a, b) => a.id - b.id);
        const { items, headers } = this.page(runs, query, url);
        return { status: 200, body: { total_count: runs.length, check_runs: items.map((r) => this.checkRunJson(repo, r)) }, headers };
      }
      case 'repos/create-commit-status': {
        this.addStatus(`${repo.owner}/${repo.name}`, params.sha!, {
          context: str(body.context, 'default'),
          state: body.state as CommitStatus['state'],
          target_url: body.target_url as string | undefined,
          description: body.description as string | undefined,
        });
        const s = repo.statuses.at(-1)!;
        return {
          status: 201,
          body: this.contract.example('status', { id: s.id, state: s.state, context: s.context, target_url: s.target_url, description: s.description, created_at: s.created_at, updated_at: s.created_at, url: this.api(repo, `/statuses/${s.sha}`), creator: this.user(this.login) }),
        };
      }
      case 'repos/get-combined-status-for-ref': {
        const sha = (await revParse(repo.dir, params.ref!)) ?? params.ref!;
        const statuses = this.latestStatuses(repo, sha);
        const state = statuses.some((s) => s.state === 'failure' || s.state === 'error') ? 'failure' : statuses.length === 0 || statuses.some((s) => s.state === 'pending') ? 'pending' : 'success';
        const { items, headers } = this.page(statuses, query, url);
        return {
          status: 200,
          headers,
          body: this.contract.example('combined-commit-status', {
            state,
            sha,
            total_count: statuses.length,
            statuses: items.map((s) => this.contract.example('simple-commit-status', { id: s.id, state: s.state, context: s.context, target_url: s.target_url, description: s.description, created_at: s.created_at, updated_at: s.created_at, url: this.api(repo, `/statuses/${sha}`) })),
            repository: this.contract.example('minimal-repository', { id: repo.id, name: repo.name, full_name: `${repo.owner}/${repo.name}`, owner: this.user(repo.owner) }),
            commit_url: this.api(repo, `/commits/${sha}`),
            url: this.api(repo, `/commits/${sha}/status`),
          }),
        };
      }
      case 'repos/get-content': {
        const ref = query.ref ?? 'main';
        const spec = `${(await revParse(repo.dir, this.ref(ref))) ?? ref}:${params.path}`;
        const blob = await git(repo.dir, ['rev-parse', '--verify', '--quiet', spec], { allowFailure: true });
        if (blob.exitCode !== 0) throw new HttpError(404, 'Not Found');
        const content = (await git(repo.dir, ['cat-file', 'blob', blob.stdout.trim()])).stdout;
        const self = this.api(repo, `/contents/${params.path}?ref=${ref}`);
        return {
          status: 200,
          body: this.contract.example('content-file', {
            type: 'file',
            encoding: 'base64',
            content: Buffer.from(content).toString('base64'),
            name: params.path!.split('/').at(-1),
            path: params.path,
            sha: blob.stdout.trim(),
            size: Buffer.byteLength(content),
            url: self,
            git_url: null,
            html_url: null,
            download_url: null,
            _links: { self, git: null, html: null },
          }),
        };
      }
      case 'git/get-ref': {
        const sha = await revParse(repo.dir, `refs/${params.ref}`);
        if (!sha) throw new HttpError(404, 'Not Found');
        return { status: 200, body: { ref: `refs/${params.ref}`, node_id: 'REF', url: this.api(repo, `/git/refs/${params.ref}`), object: { type: 'commit', sha, url: this.api(repo, `/git/commits/${sha}`) } } };
      }
      case 'repos/get-branch-protection': {
        const p = repo.protection.get(params.branch!);
        if (!p) throw new HttpError(404, 'Branch not protected');
        const url = this.api(repo, `/branches/${params.branch}/protection`);
        return {
          status: 200,
          body: this.contract.example('branch-protection', {
            url,
            enabled: true,
            ...(p.contexts || p.strict !== undefined
              ? { required_status_checks: { url: `${url}/required_status_checks`, strict: p.strict ?? false, contexts: p.contexts ?? [], checks: (p.contexts ?? []).map((context) => ({ context, app_id: null })), contexts_url: `${url}/required_status_checks/contexts` } }
              : {}),
            ...(p.requiredApprovingReviewCount !== undefined
              ? { required_pull_request_reviews: { url: `${url}/required_pull_request_reviews`, dismiss_stale_reviews: false, require_code_owner_reviews: false, required_approving_review_count: p.requiredApprovingReviewCount } }
              : {}),
          }),
        };
      }
      case 'repos/get-branch-rules': {
        const rules = repo.rulesets
          .filter((r) => r.branch === params.branch)
          .flatMap((r) => r.rules.map((rule) => ({ ...rule, ruleset_source_type: 'Repository', ruleset_source: `${repo.owner}/${repo.name}`, ruleset_id: r.id })));
        const { items, headers } = this.page(rules, query, url);
        return { status: 200, body: items, headers };
      }
      case 'git/delete-ref': {
        const full = `refs/${params.ref}`;
        // GitHub says "Reference does not exist"; its description declares this 422 without a body, so none is sent.
        if (!(await revParse(repo.dir, full))) return { status: 422 };
        await git(repo.dir, ['update-ref', '-d', full]);
        return { status: 204 };
      }
      default:
        throw new HttpError(404, 'Not Found');
    }
  }
}

const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => ok(Buffer.concat(chunks)));
    req.on('error', fail);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const h: Record<string, string> = { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '4999', 'x-ratelimit-resource': 'core', 'x-github-media-type': 'github.v3; format=json', ...headers };
  if (body === undefined) {
    res.writeHead(status, h);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...h });
  res.end(JSON.stringify(body));
}

export async function startStandin(opts: StandinOptions): Promise<GitHubStandin> {
  return new GitHubStandin(opts).start();
}
