// The GitHub forge: the same port as the local forge (same function names, same input and output
// shapes) for repositories named `owner/name`, on octokit. GitHub's semantics (shared reference §1):
// - ensurePr creates the PR and returns its number (the workflow stores it, and reads it afterwards);
//   a PR that already exists is recovered with `head=<owner>:<branch>` (never a bare branch name,
//   which GitHub ignores) and left as it is (a human may have edited it); an ambiguous answer is refused;
// - `mergeable: null` (and `mergeable_state: unknown`) is "still computing": re-polled with a bounded
//   backoff, then a retryable failure; every known mergeable_state is mapped, any other one reported;
// - syncWithBase is `pulls.updateBranch` with `expected_head_sha`, only when GitHub says `behind`
//   (202 is asynchronous: the new head is awaited), its 422s told apart by re-reading the PR; the
//   mirror's branch of record follows the PR head either way (someone else may have pushed);
// - a `blocked` PR says what the base's protection and rulesets still require (`blockedBy`);
// - the CI verdict at a head SHA reads both check runs (latest per name, all pages) and the combined
//   commit statuses; only success/neutral/skipped pass; no checks at all is "pending", never green;
// - mergePr merges with the `sha` guard, 405/409/422 told apart (a 405 after settling mergeability:
//   conflict, behind, or what is still required), and deletes the branch afterwards; closePr too;
// - pushBranch never overwrites someone else's commits: the branch of record becomes their head, or
//   a merge of it and the agent's work; a merge that conflicts is BranchDiverged (the agent merges).
// Octokit's own retry and throttling are off: Temporal's retry policy owns every wait
// (`toTemporalFailure` hands it the delay from Retry-After).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Octokit } from 'octokit';
import { z } from 'zod';
import type { Db } from '../../store/db.ts';
import { BranchName, SafeAbsolutePath, Slug } from '../../../workflows/task/spec.ts';
import type { ChangedFiles, CiCheck, CiVerdict, Mergeability, PullRequest, RepoPolicy, SyncResult } from '../../../workflows/task/types.ts';
import { beat, pause } from '../../activity-context.ts';
import { createGitHubReviews } from './reviews.ts';
import { GitHubRepository, PrRef, Sha, parseInput, splitRepository as split } from './inputs.ts';
import { git, isAncestor, isRepository, mergeTree, revParse } from '../../git.ts';
import { collectTaskBranch } from '../../task-branch.ts';
import { agentPaths } from '../../agents/paths.ts';
import { isAlive } from '../../../lib/process.ts';
import { FailureType, nonRetryable } from '../../errors.ts';
import { CiCheckConfigSchema, EMPTY_POLICY, parseRepoPolicy, POLICY_FILE } from '../policy.ts';
import { appCredentials, tokenCredentials, type CredentialSource, type GitHubAppAuth } from './auth.ts';
import { isHttpError, redact, toTemporalFailure, type CallContext } from './errors.ts';
import { capDiff } from '../diff.ts';

export interface GitHubForgeDeps {
  db?: Db;
  stateDir: string;
  github: {
    /** REST API root: https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
    baseUrl: string;
    /** A token (PAT or similar); or `app`: exactly one of the two. */
    token?: string;
    /** A GitHub App installation: installation tokens minted with the App's key and refreshed before they expire. */
    app?: GitHubAppAuth;
    /** Where `<owner>/<name>.git` is served; derived from baseUrl when unset. */
    gitBaseUrl?: string;
  };
  /** Bounded waits inside one activity attempt (tests shorten them). */
  polling?: Partial<Polling>;
}

interface Polling {
  /** Reads of a PR whose mergeability is still being computed, before giving the attempt back to Temporal. */
  mergeableAttempts: number;
  mergeableDelayMs: number;
  /** Reads after a 202 update-branch, waiting for the new head. */
  updateBranchAttempts: number;
  updateBranchDelayMs: number;
  maxDelayMs: number;
}
const DEFAULT_POLLING: Polling = { mergeableAttempts: 5, mergeableDelayMs: 1_000, updateBranchAttempts: 8, updateBranchDelayMs: 1_000, maxDelayMs: 8_000 };

// ---- inputs ----

// ---- outputs beyond the port's shared types ----

/** GitHub's mergeable_state values (GraphQL MergeStateStatus, lower-cased) swarmflow knows. */
export const MERGE_STATES = ['clean', 'has_hooks', 'unstable', 'behind', 'blocked', 'dirty', 'draft'] as const;
export type MergeState = (typeof MERGE_STATES)[number];

export interface GitHubMergeability extends Mergeability {
  state: MergeState;
  /** What the state means for the task, in words. */
  detail: string;
}

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

/** https://api.github.com → https://github.com; https://host/api/v3 → https://host. */
export function gitBaseFor(baseUrl: string): string {
  const u = new URL(baseUrl);
  if (u.hostname === 'api.github.com') return 'https://github.com';
  return `${u.origin}${u.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/$/, '')}`;
}

type PullData = {
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

/** Ruleset rules about pushes and refs, which never block merging a PR. */
const PUSH_ONLY_RULES = new Set(['creation', 'deletion', 'non_fast_forward']);

/** The mirror's remote-tracking refspec: a fetch never writes `refs/heads/*` (task branches live there). */
const MIRROR_FETCH_REFSPEC = '+refs/heads/*:refs/remotes/origin/*';
/** Branches the host owns in the mirror (the agents' work, collected from their clones): a fetch never moves them. */
const TASK_BRANCH_PREFIX = 'swarm/';

/** One localCheckout at a time per mirror in this process (clone, fetch and ref updates are not interleaved). */
const mirrorLocks = new Map<string, Promise<unknown>>();
function withMirrorLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const run = (mirrorLocks.get(path) ?? Promise.resolve()).then(fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  mirrorLocks.set(path, settled);
  void settled.then(() => {
    if (mirrorLocks.get(path) === settled) mirrorLocks.delete(path);
  });
  return run;
}

/**
 * An octokit auth strategy over a CredentialSource: every request carries the token `token()` gives
 * at that moment; a 401 drops that token from the cache (revoked) before the failure goes on.
 */
function credentialAuth(credentials: CredentialSource) {
  type Request = ((route: string | object, parameters?: object) => Promise<unknown>) & { endpoint: { merge: (route: string | object, parameters?: object) => { headers: Record<string, string> } } };
  const auth = async () => ({ type: 'token', tokenType: 'installation', token: await credentials.token() });
  return Object.assign(auth, {
    hook: async (request: Request, route: string | object, parameters?: object) => {
      const endpoint = request.endpoint.merge(route, parameters);
      const token = await credentials.token();
      endpoint.headers.authorization = `token ${token}`;
      try {
        return await request(endpoint);
      } catch (err) {
        if (isHttpError(err) && err.status === 401) credentials.invalidate(token);
        throw err;
      }
    },
  });
}

export function createGitHubForge({ github, polling, stateDir }: GitHubForgeDeps) {
  const poll: Polling = { ...DEFAULT_POLLING, ...polling };
  // Every token this forge has used, as sent and as git's Basic credential: redacted from any text.
  const secrets: string[] = [];
  const remember = (token: string) => {
    if (secrets.includes(token)) return;
    secrets.push(token, Buffer.from(`x-access-token:${token}`).toString('base64'));
    // Installation tokens are replaced hourly: the last few are enough to redact late echoes.
    if (secrets.length > 16) secrets.splice(0, secrets.length - 16);
  };
  if (!github.token === !github.app) throw new Error('the GitHub forge needs either a token or a GitHub App (github.token or github.app), not both');
  const credentials: CredentialSource = github.token
    ? tokenCredentials(github.token)
    : appCredentials({ ...github.app!, baseUrl: github.baseUrl, onToken: remember });
  if (github.token) remember(github.token);
  const octokit = new Octokit({
    baseUrl: github.baseUrl.replace(/\/$/, ''),
    // Each request asks `credentials` for the current token (an App's is refreshed before it expires).
    authStrategy: credentialAuth,
    auth: credentials,
    throttle: { enabled: false },
    retry: { enabled: false },
    request: { retries: 0 },
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  const gitBase = (github.gitBaseUrl ?? gitBaseFor(github.baseUrl)).replace(/\/$/, '');
  const repoUrl = (repository: string) => `${gitBase}/${repository}.git`;

  /**
   * What one git call that talks to GitHub over HTTPS adds to git's minimal environment: the
   * current token (an App's installation token, refreshed when close to expiry) as an
   * `http.<url>.extraHeader` set through GIT_CONFIG_* variables for this call only, never in argv,
   * a remote URL or a config file, and never in a message.
   */
  const gitAuthEnv = async (url: string) => ({
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${url}.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${await credentials.token()}`).toString('base64')}`,
  });

  /** What a failed git call over HTTPS means for Temporal: auth and missing repositories are final, the rest is retried. */
  function gitFailure(res: { exitCode?: number; stdout: string; stderr: string }, doing: string, repository: string, permission: string): Error {
    const full = redact(`${res.stdout}\n${res.stderr}`, secrets);
    const said = full.trim().split('\n').filter((l) => !l.startsWith('hint:')).slice(-6).join(' / ');
    if (/\b403\b|permission to .* denied|access denied/i.test(said)) {
      return nonRetryable(FailureType.ForgeForbidden, `GitHub refused ${doing}: the token needs "${permission}" (${said})`);
    }
    if (/\b401\b|authentication failed|invalid username/i.test(said)) {
      return nonRetryable(FailureType.ForgeUnauthorized, `GitHub rejected the token ${doing}: it is missing, expired or revoked (${said})`);
    }
    if (/not found|\b404\b/i.test(said)) return nonRetryable(FailureType.ForgeNotFound, `repository ${repository} was not found ${doing} (${said})`);
    return new Error(`git failed ${doing} (exit ${res.exitCode ?? 'none'}): ${said}`);
  }

  /** A git call that talks to GitHub for `repository`; throws what its failure means. */
  async function remoteGit(cwd: string, args: string[], repository: string, doing: string, permission: string) {
    const res = await git(cwd, args, { env: await gitAuthEnv(repoUrl(repository)), allowFailure: true, timeoutMs: 600_000 });
    if (res.exitCode !== 0) throw gitFailure(res, doing, repository, permission);
    return res;
  }

  /** `git clone --bare` into a private folder, then one rename: the mirror's path only ever holds a whole clone. */
  async function cloneMirror(repository: string, path: string): Promise<void> {
    const parent = dirname(path);
    mkdirSync(parent, { recursive: true });
    const prefix = `${basename(path)}.partial-`;
    // Half-made clones of attempts that died (this process's, or a process that is gone).
    for (const entry of readdirSync(parent)) {
      if (!entry.startsWith(prefix)) continue;
      const pid = Number(entry.slice(prefix.length));
      if (pid === process.pid || !Number.isInteger(pid) || !isAlive(pid)) rmSync(join(parent, entry), { recursive: true, force: true });
    }
    const partial = `${path}.partial-${process.pid}`;
    beat({ cloning: repository });
    await remoteGit(parent, ['clone', '--bare', '--quiet', '--', repoUrl(repository), partial], repository, `cloning ${repository}`, 'Contents: read');
    try {
      renameSync(partial, path);
    } catch (err) {
      rmSync(partial, { recursive: true, force: true });
      // Another process finished its clone first: that one is as good.
      if (!existsSync(path)) throw err;
    }
  }

  /** Every non-task branch of the mirror set to origin's, except one checked out in a worktree (as an earlier release made). */
  async function alignBaseBranches(path: string): Promise<void> {
    const { stdout: worktrees } = await git(path, ['worktree', 'list', '--porcelain', '-z']);
    const checkedOut = new Set(worktrees.split('\0').filter((f) => f.startsWith('branch ')).map((f) => f.slice('branch '.length)));
    const { stdout } = await git(path, ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/remotes/origin/']);
    const updates: string[] = [];
    for (const line of stdout.split('\n').filter(Boolean)) {
      const [sha, remoteRef] = line.split(' ') as [string, string];
      const branch = remoteRef.slice('refs/remotes/origin/'.length);
      const local = `refs/heads/${branch}`;
      if (branch === 'HEAD' || branch.startsWith(TASK_BRANCH_PREFIX) || checkedOut.has(local)) continue;
      updates.push(`update ${local} ${sha}\n`);
    }
    if (updates.length > 0) await git(path, ['update-ref', '--stdin'], { input: updates.join('') });
  }

  /** The mirror's copy of the PR branch set to GitHub's (after update-branch made a new head there). */
  async function followPrHead(repository: string, branch: string, headSha: string): Promise<void> {
    const { path } = await ensureMirror(repository);
    if ((await revParse(path, `refs/heads/${branch}`)) === headSha) return;
    await remoteGit(path, ['fetch', '--quiet', '--no-tags', '--', repoUrl(repository), `+refs/heads/${branch}:refs/heads/${branch}`], repository, `fetching ${branch} of ${repository}`, 'Contents: read');
    if ((await revParse(path, `refs/heads/${branch}`)) !== headSha) throw new Error(`${headSha} (the head of ${branch}) is not on ${repository} any more: trying again`);
  }

  /** Every API call goes through here: its failure becomes what Temporal should do with it. */
  async function call<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toTemporalFailure(err, ctx, secrets);
    }
  }

  const prCtx = (repository: string, number: number, action: string, permission = 'Pull requests: read'): CallContext => ({
    action: `${action} PR #${number} of ${repository}`,
    resource: `PR #${number} of ${repository}`,
    permission,
  });

  async function readPr(repository: string, number: number): Promise<PullData> {
    const { data } = await call(prCtx(repository, number, 'reading'), () => octokit.rest.pulls.get({ ...split(repository), pull_number: number }));
    return data;
  }

  /** The PR once GitHub has computed its mergeability (bounded re-polls of `mergeable: null` / `unknown`). */
  async function settledPr(repository: string, number: number): Promise<PullData> {
    let delay = poll.mergeableDelayMs;
    for (let attempt = 1; ; attempt++) {
      const pr = await readPr(repository, number);
      const computing = pr.mergeable === null || pr.mergeable === undefined || pr.mergeable_state === 'unknown';
      if (!computing || pr.state !== 'open') return pr;
      if (attempt >= poll.mergeableAttempts) {
        // Retryable: Temporal tries again later; the mergeability is never guessed.
        throw new Error(`GitHub is still computing the mergeability of PR #${number} of ${repository} after ${attempt} reads`);
      }
      beat({ waiting: 'mergeability', attempt });
      await pause(delay);
      delay = Math.min(delay * 2, poll.maxDelayMs);
    }
  }

  function mapState(repository: string, pr: PullData): GitHubMergeability {
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

  /** The open PR for a branch, by `head=<owner>:<branch>`; more than one is refused. */
  async function findOpenPr(repository: string, branch: string): Promise<PullData | undefined> {
    const { owner, repo } = split(repository);
    const found = await call({ action: `looking up the PR for ${branch} in ${repository}`, resource: `repository ${repository}`, permission: 'Pull requests: read' }, () =>
      octokit.paginate(octokit.rest.pulls.list, { owner, repo, head: `${owner}:${branch}`, state: 'open', per_page: 100 }),
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

  async function requireRef(repository: string, branch: string, role: string): Promise<string> {
    const { data } = await call(
      { action: `reading the ${role} branch ${branch} of ${repository}`, resource: `${role} branch "${branch}" of ${repository}`, permission: 'Contents: read' },
      () => octokit.rest.git.getRef({ ...split(repository), ref: `heads/${branch}` }),
    );
    return data.object.sha;
  }

  /** The branch's head on GitHub; undefined when it does not exist. */
  async function branchHead(repository: string, branch: string): Promise<string | undefined> {
    try {
      const { data } = await octokit.rest.git.getRef({ ...split(repository), ref: `heads/${branch}` });
      return data.object.sha;
    } catch (err) {
      if (isHttpError(err) && err.status === 404) return undefined;
      throw toTemporalFailure(err, { action: `reading branch ${branch} of ${repository}`, resource: `branch ${branch} of ${repository}`, permission: 'Contents: read' }, secrets);
    }
  }

  /**
   * The branch of record after someone else pushed to the task branch on GitHub: theirs when ours
   * is in it (the push again is a no-op), else a merge of the two (a fast-forward for GitHub). When
   * that merge conflicts it is theirs, and the agent, which gets it from its origin, merges:
   * BranchDiverged. Their commits are never overwritten.
   */
  async function takeTheirs(repository: string, path: string, branch: string, ours: string): Promise<string> {
    const ref = `refs/heads/${branch}`;
    const fetched = `refs/swarmflow/github/${branch}`;
    await remoteGit(path, ['fetch', '--quiet', '--no-tags', '--', repoUrl(repository), `+${ref}:${fetched}`], repository, `fetching ${branch} of ${repository}`, 'Contents: read');
    const theirs = await revParse(path, fetched);
    if (!theirs) throw new Error(`${branch} of ${repository} went away while it was fetched: trying again`);
    if (await isAncestor(path, ours, theirs)) {
      await git(path, ['update-ref', ref, theirs, ours]);
      return theirs;
    }
    const { tree, conflicts } = await mergeTree(path, theirs, ours);
    if (conflicts.length > 0) {
      await git(path, ['update-ref', ref, theirs, ours]);
      throw nonRetryable(
        FailureType.BranchDiverged,
        `${branch} on GitHub has commits from elsewhere (its head is ${theirs}) that conflict with the agent's in ${conflicts.join(', ')}: fetch origin and merge origin/${branch}`,
        { headSha: theirs, conflicts },
      );
    }
    const merge = (await git(path, ['commit-tree', tree, '-p', theirs, '-p', ours, '-F', '-'], { input: `Merge the commits pushed to ${branch} from elsewhere\n` })).stdout.trim();
    await git(path, ['update-ref', ref, merge, ours]);
    return merge;
  }

  async function waitForNewHead(repository: string, number: number, oldHead: string): Promise<PullData> {
    let delay = poll.updateBranchDelayMs;
    for (let attempt = 1; ; attempt++) {
      await pause(delay);
      const pr = await readPr(repository, number);
      if (pr.head.sha !== oldHead) return pr;
      if (attempt >= poll.updateBranchAttempts) {
        throw new Error(`GitHub accepted the update of PR #${number} of ${repository} but its head is still ${oldHead} after ${attempt} reads`);
      }
      beat({ waiting: 'update-branch', attempt });
      delay = Math.min(delay * 2, poll.maxDelayMs);
    }
  }

  /**
   * The mirror of `repository`, cloned if missing, then fetched. The fetch writes only
   * `refs/remotes/origin/*`; then every non-task branch (not `swarm/*`) is set to origin's, so a task
   * branch made from `main` starts from the current remote main. Task branches are never moved by it:
   * they hold the agents' work collected from their clones.
   */
  async function ensureMirror(repository: string): Promise<{ path: string }> {
    const { owner, repo } = split(repository);
    const path = join(agentPaths(stateDir).mirrors, owner, `${repo}.git`);
    return withMirrorLock(path, async () => {
      // Anything at the path that is not a repository (a clone interrupted some other way) goes first.
      if (existsSync(path) && !(await isRepository(path))) rmSync(path, { recursive: true, force: true });
      if (!existsSync(path)) await cloneMirror(repository, path);
      // The URL holds no token: every call that talks to GitHub sends it in its own environment.
      await git(path, ['config', 'remote.origin.url', repoUrl(repository)]);
      await git(path, ['config', '--replace-all', 'remote.origin.fetch', MIRROR_FETCH_REFSPEC]);
      beat({ fetching: repository });
      await remoteGit(path, ['fetch', '--quiet', '--prune', '--no-tags', 'origin', MIRROR_FETCH_REFSPEC], repository, `fetching ${repository}`, 'Contents: read');
      await alignBaseBranches(path);
      return { path };
    });
  }

  /** The CI verdict at `headSha`: check runs and commit statuses, every page. */
  async function checksAt(repository: string, headSha: string, required: readonly string[]): Promise<GitHubCiVerdict> {
    const { owner, repo } = split(repository);
    const ctx = (what: string, permission: string): CallContext => ({ action: `reading the ${what} of ${headSha} in ${repository}`, resource: `commit ${headSha} of ${repository}`, permission });
    const runs = await call(ctx('check runs', 'Checks: read'), () =>
      octokit.paginate(octokit.rest.checks.listForRef, { owner, repo, ref: headSha, filter: 'latest', per_page: 100 }),
    );
    const statuses = await call(ctx('commit statuses', 'Commit statuses: read'), async () => {
      const all: Array<{ context: string; state: string; target_url: string | null; description: string | null }> = [];
      for await (const page of octokit.paginate.iterator(octokit.rest.repos.getCombinedStatusForRef, { owner, repo, ref: headSha, per_page: 100 })) {
        all.push(...(page.data as unknown as { statuses: typeof all }).statuses);
      }
      return all;
    });
    return ciVerdict(headSha, runs, statuses, required);
  }

  async function deleteBranch(repository: string, branch: string): Promise<void> {
    try {
      await octokit.rest.git.deleteRef({ ...split(repository), ref: `heads/${branch}` });
    } catch (err) {
      // Already gone (GitHub's "delete head branches" setting, or an earlier attempt): fine.
      if (isHttpError(err) && (err.status === 422 || err.status === 404)) return;
      throw toTemporalFailure(err, { action: `deleting branch ${branch} of ${repository}`, resource: `branch ${branch} of ${repository}`, permission: 'Contents: write' }, secrets);
    }
  }

  /** The mapped state, with what GitHub still requires of a blocked or draft PR. */
  async function mergeabilityOf(repository: string, pr: PullData): Promise<GitHubMergeability> {
    const m = mapState(repository, pr);
    if (m.state === 'draft') return { ...m, blockedBy: ['the PR is a draft: mark it ready for review'] };
    if (m.state === 'blocked') return { ...m, blockedBy: await unmetRules(repository, pr) };
    return m;
  }

  /**
   * What GitHub still requires before it merges a blocked PR, in words: the base branch's
   * protection (reading it needs admin rights: a 403/404 is said, not a failure) and the rulesets
   * that apply to it, against the PR's standing approvals and its checks at the head.
   */
  async function unmetRules(repository: string, pr: PullData): Promise<string[]> {
    const { owner, repo } = split(repository);
    const branch = pr.base.ref;
    const approvals: Array<{ count: number; by: string }> = [];
    const checks = new Map<string, string>();
    const needs: string[] = [];
    const unread: string[] = [];
    const unreadable = (err: unknown, what: string, permission: string) => {
      if (!isHttpError(err) || (err.status !== 403 && err.status !== 404)) {
        throw toTemporalFailure(err, { action: `reading the ${what} of ${branch} in ${repository}`, resource: `branch ${branch} of ${repository}`, permission }, secrets);
      }
      const said = redact((err.response?.data as { message?: string } | undefined)?.message ?? err.message, secrets);
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
      const verdict = await checksAt(repository, pr.head.sha, [...checks.keys()]);
      const notPassing = verdict.checks.filter((c) => checks.has(c.name) && c.status !== 'passed');
      if (notPassing.length > 0) needs.push(`required check(s) passing at ${pr.head.sha.slice(0, 12)}: ${notPassing.map((c) => `${c.name} (${c.conclusion}, ${checks.get(c.name)})`).join(', ')}`);
    }
    if (needs.length === 0) needs.push(`GitHub reports the merge as blocked by a rule swarmflow could not name`);
    return [...needs, ...unread];
  }

  const reviews = createGitHubReviews({ octokit, failure: (err, ctx) => toTemporalFailure(err, ctx, secrets) });

  return {
    ...reviews,
    /**
     * The local repository the host makes task clones from and keeps task branches in: a bare mirror
     * under `<stateDir>/repos/<owner>/<name>.git`, cloned on first use and fetched on every call.
     */
    async localCheckout(input: { repository: string }): Promise<{ path: string }> {
      const { repository } = parseInput(z.object({ repository: GitHubRepository }), input, 'localCheckout');
      return ensureMirror(repository);
    },

    async loadRepoPolicy(input: { repository: string; base: string }): Promise<RepoPolicy> {
      const { repository, base } = parseInput(z.object({ repository: GitHubRepository, base: BranchName }), input, 'loadRepoPolicy');
      await requireRef(repository, base, 'base');
      try {
        const { data } = await octokit.rest.repos.getContent({ ...split(repository), path: POLICY_FILE, ref: base });
        if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) {
          throw nonRetryable(FailureType.InvalidInput, `${POLICY_FILE} on ${base} in ${repository} is not a file`);
        }
        return parseRepoPolicy(Buffer.from(data.content, 'base64').toString('utf8'), `${POLICY_FILE} on ${base} in ${repository}`);
      } catch (err) {
        if (isHttpError(err) && err.status === 404) return EMPTY_POLICY;
        if (!isHttpError(err)) throw err;
        throw toTemporalFailure(err, { action: `reading ${POLICY_FILE} on ${base} of ${repository}`, resource: `repository ${repository}`, permission: 'Contents: read' }, secrets);
      }
    },

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
            throw nonRetryable(FailureType.InvalidInput, `GitHub refused to open a PR for ${branch} into ${base} in ${repository}: ${redact(why || err.message, secrets)}`);
          }
          throw toTemporalFailure(err, ctx, secrets);
        }
      }
      // It exists (an earlier attempt made it, or a person did): recovered and left as it is, since a
      // human may have edited its title or body, and the body may carry evidence added since.
      const existing = await findOpenPr(repository, branch);
      if (!existing) throw new Error(`GitHub says a PR for ${owner}:${branch} exists in ${repository} but lists none: trying again`);
      return toPullRequest(existing);
    },

    async getPr(input: { repository: string; number: number }): Promise<PullRequest> {
      const { repository, number } = parseInput(PrRef, input, 'getPr');
      return toPullRequest(await readPr(repository, number));
    },

    async changedFiles(input: { repository: string; number: number }): Promise<ChangedFiles> {
      const { repository, number } = parseInput(PrRef, input, 'changedFiles');
      const pr = await readPr(repository, number);
      const files = await call(prCtx(repository, number, 'listing the files of'), () =>
        octokit.paginate(octokit.rest.pulls.listFiles, { ...split(repository), pull_number: number, per_page: 100 }),
      );
      const status = (s: string): ChangedFiles['files'][number]['status'] =>
        s === 'added' || s === 'copied' ? 'added' : s === 'removed' ? 'deleted' : s === 'renamed' ? 'renamed' : 'modified';
      return { headSha: pr.head.sha, files: files.map((f) => ({ path: f.filename, status: status(f.status) })) };
    },

    async diff(input: { repository: string; number: number }): Promise<{ headSha: string; diff: string; truncated: boolean }> {
      const { repository, number } = parseInput(PrRef, input, 'diff');
      const pr = await readPr(repository, number);
      const { data } = await call(prCtx(repository, number, 'reading the diff of'), () =>
        octokit.rest.pulls.get({ ...split(repository), pull_number: number, mediaType: { format: 'diff' } }),
      );
      // With the diff media type octokit hands back the body as text, though its types say PullRequest.
      const text: unknown = data;
      return { headSha: pr.head.sha, ...capDiff(typeof text === 'string' ? text : JSON.stringify(text)) };
    },

    async checkMergeable(input: { repository: string; number: number }): Promise<GitHubMergeability> {
      const { repository, number } = parseInput(PrRef, input, 'checkMergeable');
      const pr = await settledPr(repository, number);
      if (pr.state !== 'open') throw nonRetryable(FailureType.InvalidInput, `PR #${number} of ${repository} is ${pr.merged ? 'merged' : 'closed'}: no mergeability to check`);
      return mergeabilityOf(repository, pr);
    },

    async syncWithBase(input: { repository: string; number: number; worktree: string }): Promise<SyncResult> {
      // The agent's clone (worktree) is not touched: the mirror's branch follows GitHub's, and the agent fetches it from its origin.
      const { repository, number } = parseInput(PrRef.extend({ worktree: SafeAbsolutePath }), input, 'syncWithBase');
      const pr = await settledPr(repository, number);
      if (pr.state !== 'open') throw nonRetryable(FailureType.InvalidInput, `PR #${number} of ${repository} is not open`);
      const expected = pr.head.sha;
      if (pr.mergeable_state !== 'behind') {
        // Nothing to update (each update is a new head and a new CI run): only when GitHub says behind.
        if (pr.mergeable === false || pr.mergeable_state === 'dirty') return { status: 'conflict', headSha: expected, conflicts: mapState(repository, { ...pr, mergeable_state: 'dirty' }).conflicts };
        // The mirror's branch follows the head GitHub has (someone else may have pushed): the agent fetches it from its origin.
        await followPrHead(repository, pr.head.ref, expected);
        return { status: 'up_to_date', headSha: expected, conflicts: [] };
      }
      try {
        await octokit.rest.pulls.updateBranch({ ...split(repository), pull_number: number, expected_head_sha: expected });
      } catch (err) {
        if (!isHttpError(err) || err.status !== 422) throw toTemporalFailure(err, prCtx(repository, number, 'updating the branch of', 'Contents: write'), secrets);
        // 422 means one of three things: told apart by the PR as it is now, the message only as a tie-breaker.
        const said = JSON.stringify(err.response?.data ?? '');
        const now = await settledPr(repository, number);
        if (now.head.sha !== expected || /expected.*head/i.test(said)) {
          // Someone pushed since: a retry reads the new head and tries again.
          throw new Error(`PR #${number} of ${repository} moved from ${expected} to ${now.head.sha} during the update: trying again`, { cause: err });
        }
        if (now.mergeable_state === 'dirty' || now.mergeable === false || /conflict/i.test(said)) {
          return { status: 'conflict', headSha: now.head.sha, conflicts: mapState(repository, { ...now, mergeable_state: 'dirty' }).conflicts };
        }
        if (now.mergeable_state !== 'behind' || /no new commits/i.test(said)) {
          // An earlier attempt may have updated the branch on GitHub and died before the mirror followed.
          await followPrHead(repository, now.head.ref, now.head.sha);
          return { status: 'up_to_date', headSha: now.head.sha, conflicts: [] };
        }
        throw nonRetryable(FailureType.InvalidInput, `GitHub refused to update PR #${number} of ${repository}: ${redact(said, secrets).slice(0, 300)}`);
      }
      // 202: accepted, applied asynchronously. CI must be awaited again on the new head.
      const updated = await waitForNewHead(repository, number, expected);
      // The mirror's branch follows, so the agent's next work is merged onto the new head and pushes a fast-forward.
      await followPrHead(repository, updated.head.ref, updated.head.sha);
      return { status: 'synced', headSha: updated.head.sha, conflicts: [] };
    },

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
      return checksAt(repository, headSha, required);
    },

    async mergePr(input: { repository: string; number: number; expectedHeadSha: string }): Promise<{ mergeSha: string; alreadyMerged: boolean }> {
      const { repository, number, expectedHeadSha } = parseInput(PrRef.extend({ expectedHeadSha: Sha }), input, 'mergePr');
      const { owner, repo } = split(repository);
      const pr = await readPr(repository, number);
      if (pr.merged || pr.merged_at) {
        await deleteBranch(repository, pr.head.ref);
        return { mergeSha: pr.merge_commit_sha!, alreadyMerged: true };
      }
      if (pr.state !== 'open') throw nonRetryable(FailureType.InvalidInput, `PR #${number} of ${repository} is closed`);
      if (pr.head.sha !== expectedHeadSha) {
        throw nonRetryable(FailureType.HeadMoved, `PR #${number} head is ${pr.head.sha}, not the verified ${expectedHeadSha}: merging now would merge unverified code`, {
          expectedHeadSha,
          headSha: pr.head.sha,
        });
      }
      let mergeSha: string;
      try {
        const { data } = await octokit.rest.pulls.merge({ owner, repo, pull_number: number, sha: expectedHeadSha, merge_method: 'merge' });
        mergeSha = data.sha;
      } catch (err) {
        if (!isHttpError(err)) throw toTemporalFailure(err, prCtx(repository, number, 'merging', 'Contents: write'), secrets);
        const said = redact(((err.response?.data as { message?: string } | undefined)?.message ?? err.message).slice(0, 300), secrets);
        if (err.status === 409) {
          throw nonRetryable(FailureType.HeadMoved, `PR #${number} of ${repository}: GitHub refused the merge because the head is no longer ${expectedHeadSha} (409: ${said})`, {
            expectedHeadSha,
          });
        }
        if (err.status === 405) {
          // Why, from the PR once its mergeability is computed (`null` for the first reads is normal).
          const now = await settledPr(repository, number);
          if (now.merged) return { mergeSha: now.merge_commit_sha!, alreadyMerged: true };
          if (now.mergeable === false || now.mergeable_state === 'dirty') {
            throw nonRetryable(FailureType.MergeConflict, `PR #${number} of ${repository} no longer merges cleanly into ${now.base.ref} (405: ${said})`, { conflicts: [] });
          }
          if (now.mergeable_state === 'behind') {
            throw nonRetryable(FailureType.BehindBase, `PR #${number} of ${repository} is behind ${now.base.ref}, and GitHub requires it up to date (405: ${said})`, { mergeableState: 'behind' });
          }
          const m = await mergeabilityOf(repository, now);
          const still = m.blockedBy?.length ? `: GitHub still requires ${m.blockedBy.join('; ')}` : '';
          throw nonRetryable(FailureType.NotMergeable, `GitHub will not merge PR #${number} of ${repository} (405: ${said}; mergeable_state "${now.mergeable_state ?? 'unknown'}")${still}`, {
            mergeableState: now.mergeable_state,
            blockedBy: m.blockedBy ?? [],
          });
        }
        if (err.status === 422) throw nonRetryable(FailureType.NotMergeable, `GitHub refused the merge of PR #${number} of ${repository} as invalid (422: ${said})`);
        throw toTemporalFailure(err, prCtx(repository, number, 'merging', 'Contents: write'), secrets);
      }
      await deleteBranch(repository, pr.head.ref);
      return { mergeSha, alreadyMerged: false };
    },

    async closePr(input: { repository: string; number: number }): Promise<PullRequest> {
      const { repository, number } = parseInput(PrRef, input, 'closePr');
      const pr = await readPr(repository, number);
      if (pr.state !== 'open' && !pr.merged) {
        // An earlier attempt closed it and died before the branch went.
        await deleteBranch(repository, pr.head.ref);
        return toPullRequest(pr);
      }
      if (pr.state !== 'open') return toPullRequest(pr);
      const { data } = await call(prCtx(repository, number, 'closing', 'Pull requests: write'), () =>
        octokit.rest.pulls.update({ ...split(repository), pull_number: number, state: 'closed' }),
      );
      // As after a merge: a task that ends leaves no branch on GitHub.
      await deleteBranch(repository, pr.head.ref);
      return toPullRequest(data);
    },

    /**
     * Collects the branch from the agent's clone into the mirror, then pushes it from the mirror to
     * GitHub over HTTPS: git runs only in the mirror, never with the clone's config, and the token
     * travels in an `http.<url>.extraHeader` set through GIT_CONFIG_* environment variables for this
     * one git call: never in argv, the remote URL or git's config files, and never in a message.
     */
    async pushBranch(input: { repository: string; worktree: string; branch: string }): Promise<{ headSha: string }> {
      const { repository, worktree, branch } = parseInput(z.object({ repository: GitHubRepository, worktree: SafeAbsolutePath, branch: BranchName }), input, 'pushBranch');
      const { path } = await ensureMirror(repository);
      const headSha = await collectTaskBranch(path, worktree, branch);
      if (headSha === undefined) throw nonRetryable(FailureType.InvalidInput, `branch ${branch} does not exist in ${worktree}`);
      const args = ['push', '--porcelain', repoUrl(repository), `refs/heads/${branch}:refs/heads/${branch}`];
      const res = await git(path, args, { env: await gitAuthEnv(repoUrl(repository)), allowFailure: true, timeoutMs: 300_000 });
      if (res.exitCode !== 0) {
        const full = redact(`${res.stdout}\n${res.stderr}`, secrets);
        // Someone else pushed to the branch (a reviewer's suggested commit): taken in, never overwritten.
        if (/fetch first|non-fast-forward/i.test(full) && (await branchHead(repository, branch))) {
          const next = await takeTheirs(repository, path, branch, headSha);
          const again = await git(path, args, { env: await gitAuthEnv(repoUrl(repository)), allowFailure: true, timeoutMs: 300_000 });
          // A push landing in between: the next attempt of this activity takes that one in too.
          if (again.exitCode !== 0) throw gitFailure(again, `pushing ${branch} to ${repository}`, repository, 'Contents: write');
          return { headSha: next };
        }
        if (/\[rejected\]|non-fast-forward|fetch first|updates were rejected|protected branch|pre-receive hook declined/i.test(full)) {
          const said = full.trim().split('\n').filter((l) => !l.startsWith('hint:')).slice(-6).join(' / ');
          throw nonRetryable(FailureType.PushRejected, `GitHub rejected the push of ${branch} to ${repository}: ${said}`);
        }
        throw gitFailure(res, `pushing ${branch} to ${repository}`, repository, 'Contents: write');
      }
      return { headSha };
    },
  };
}

export type GitHubForge = ReturnType<typeof createGitHubForge>;
