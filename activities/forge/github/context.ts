// What every part of the GitHub forge works over, built once per forge: the octokit client, the
// credentials (a token or a GitHub App's installation tokens), the tokens to redact from any text,
// the bounded waits, and where the state folder and the git URLs are.
// Octokit's own retry and throttling are off: Temporal's retry policy owns every wait
// (`toTemporalFailure` hands it the delay from Retry-After).
import { Octokit } from 'octokit';
import type { Db } from '../../store/db.ts';
import { appCredentials, tokenCredentials, type CredentialSource, type GitHubAppAuth } from './auth.ts';
import { isHttpError, toTemporalFailure, type CallContext } from './errors.ts';

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

export interface Polling {
  /** Reads of a PR whose mergeability is still being computed, before giving the attempt back to Temporal. */
  mergeableAttempts: number;
  mergeableDelayMs: number;
  /** Reads after a 202 update-branch, waiting for the new head. */
  updateBranchAttempts: number;
  updateBranchDelayMs: number;
  maxDelayMs: number;
}
const DEFAULT_POLLING: Polling = { mergeableAttempts: 5, mergeableDelayMs: 1_000, updateBranchAttempts: 8, updateBranchDelayMs: 1_000, maxDelayMs: 8_000 };

export interface GitHubContext {
  octokit: Octokit;
  credentials: CredentialSource;
  /** Every token this forge has used, as sent and as git's Basic credential: redacted from any text. */
  secrets: readonly string[];
  /** What a failed API call means for Temporal, with this forge's secrets redacted. */
  failure: (err: unknown, ctx: CallContext) => Error;
  poll: Polling;
  stateDir: string;
  /** `<git base>/<owner>/<name>.git`: the URL holds no token. */
  repoUrl: (repository: string) => string;
}

/** https://api.github.com → https://github.com; https://host/api/v3 → https://host. */
export function gitBaseFor(baseUrl: string): string {
  const u = new URL(baseUrl);
  if (u.hostname === 'api.github.com') return 'https://github.com';
  return `${u.origin}${u.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/$/, '')}`;
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

export function createGitHubContext({ github, polling, stateDir }: GitHubForgeDeps): GitHubContext {
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
  return {
    octokit,
    credentials,
    secrets,
    failure: (err, ctx) => toTemporalFailure(err, ctx, secrets),
    poll: { ...DEFAULT_POLLING, ...polling },
    stateDir,
    repoUrl: (repository) => `${gitBase}/${repository}.git`,
  };
}

/** Every API call goes through here: its failure becomes what Temporal should do with it. */
export async function call<T>(gh: GitHubContext, ctx: CallContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw gh.failure(err, ctx);
  }
}
