// Where the GitHub forge's credentials come from: one small interface, `token()`, for both ways of
// authenticating (shared reference §1):
// - a token (a PAT, or a token someone else mints): returned as it is;
// - a GitHub App installation: an installation access token, obtained with a JWT signed by the
//   App's private key (RS256; `iat` 60 s in the past against clock drift, `exp` at most 10 minutes
//   after it, `iss` the App's id) from `POST /app/installations/{installation_id}/access_tokens`.
//   The token is cached and replaced `refreshMarginMs` before its `expires_at`, so a call (or a git
//   push) never starts with a token about to expire; concurrent callers share one refresh.
//
// Implemented on node:crypto rather than @octokit/auth-app: auth-app caches installation tokens for a
// fixed 59 minutes whatever `expires_at` says, has no refresh margin, and retries and sleeps on its
// own; here the expiry comes from GitHub's answer and every wait belongs to Temporal. The private key
// is read from its file into a KeyObject only: its text is never kept, logged or put in a message.
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Octokit } from 'octokit';
import { FailureType, nonRetryable } from '../../errors.ts';
import { isHttpError, toTemporalFailure } from './errors.ts';

export interface CredentialSource {
  /** A token valid for at least the refresh margin (an App's installation token is minted or reused). */
  token(): Promise<string>;
  /** Drops a cached token GitHub refused (revoked): the next `token()` gets a new one. */
  invalidate(token: string): void;
  /** What the credentials are, for messages: "a token" or "GitHub App 42 (installation 7)". */
  readonly describe: string;
}

export function tokenCredentials(token: string): CredentialSource {
  if (!token) throw new Error('GitHub token credentials need a token');
  return { token: () => Promise.resolve(token), invalidate: () => undefined, describe: 'the configured token' };
}

export interface GitHubAppAuth {
  /** The App's id (or its client ID), the JWT's `iss`. */
  appId: string | number;
  installationId: string | number;
  /** A PEM file with the App's private key (GitHub's download: PKCS#1 "RSA PRIVATE KEY", PKCS#8 works too). */
  privateKeyPath: string;
  /** Replace the installation token this long before its expires_at (default 5 minutes; GitHub's tokens last 1 hour). */
  refreshMarginMs?: number;
}

export interface AppCredentialOptions extends GitHubAppAuth {
  /** REST API root (https://api.github.com, or https://<host>/api/v3). */
  baseUrl: string;
  /** The clock (tests). */
  now?: () => number;
  /** Told of every token minted, so the forge can redact it. */
  onToken?: (token: string) => void;
}

const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;
/** GitHub refuses a JWT whose exp is more than 10 minutes after iat; 9 leaves room for drift. */
const JWT_LIFETIME_S = 9 * 60;
const JWT_BACKDATE_S = 60;

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** The App's JWT (RS256) as GitHub documents it: iat backdated 60 s, exp 9 minutes later, iss the App. */
export function appJwt(appId: string | number, key: KeyObject, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000) - JWT_BACKDATE_S;
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  // A numeric App id goes as a number (GitHub's examples), a client ID ("Iv1.…") as a string.
  const iss = typeof appId === 'number' || /^\d+$/.test(appId) ? Number(appId) : appId;
  const payload = b64url(JSON.stringify({ iat, exp: iat + JWT_BACKDATE_S + JWT_LIFETIME_S, iss }));
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key);
  return `${header}.${payload}.${b64url(signature)}`;
}

/** Reads and parses the App's private key; failures name the file and never quote it. */
export function loadAppPrivateKey(path: string, appId: string | number): KeyObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw nonRetryable(FailureType.ForgeUnauthorized, `the private key file of GitHub App ${appId} (${path}) cannot be read (${code}): set GITHUB_APP_PRIVATE_KEY_PATH to the .pem GitHub generated`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    // The parser's message can quote input: not passed on.
    throw nonRetryable(FailureType.ForgeUnauthorized, `the private key file of GitHub App ${appId} (${path}) does not hold a PEM private key: use the .pem GitHub generated for the App`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw nonRetryable(FailureType.ForgeUnauthorized, `the private key in ${path} is a ${key.asymmetricKeyType ?? 'non-RSA'} key: GitHub App ${appId} needs its RSA private key (RS256)`);
  }
  return key;
}

/** Installation access tokens for one App installation, minted on demand and refreshed before they expire. */
export function appCredentials(opts: AppCredentialOptions): CredentialSource {
  const { appId, installationId, privateKeyPath, baseUrl } = opts;
  const margin = opts.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
  const now = opts.now ?? Date.now;
  const describe = `GitHub App ${appId} (installation ${installationId}, key ${privateKeyPath})`;
  const request = new Octokit({
    baseUrl: baseUrl.replace(/\/$/, ''),
    throttle: { enabled: false },
    retry: { enabled: false },
    request: { retries: 0 },
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  }).request;
  let key: KeyObject | undefined;
  let cached: { token: string; expiresAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function mint(): Promise<string> {
    key ??= loadAppPrivateKey(privateKeyPath, appId);
    const jwt = appJwt(appId, key, now());
    const ctx = { action: `getting an installation token for ${describe}`, resource: `installation ${installationId} of GitHub App ${appId}`, permission: 'the App installed on the account' };
    try {
      const { data } = await request('POST /app/installations/{installation_id}/access_tokens', {
        installation_id: Number(installationId),
        headers: { authorization: `bearer ${jwt}` },
      });
      const expiresAt = Date.parse(data.expires_at);
      if (!data.token || !Number.isFinite(expiresAt)) throw new Error(`GitHub answered an installation token without a token or a valid expires_at for ${describe}`);
      cached = { token: data.token, expiresAt };
      opts.onToken?.(data.token);
      return data.token;
    } catch (err) {
      if (!isHttpError(err)) throw toTemporalFailure(err, ctx, [jwt]);
      const message = (err.response?.data as { message?: unknown } | undefined)?.message;
      const said = (typeof message === 'string' ? message : err.message).split(jwt).join('[REDACTED]').slice(0, 200);
      if (err.status === 401) {
        throw nonRetryable(
          FailureType.ForgeUnauthorized,
          `GitHub rejected the JWT of GitHub App ${appId} (401: ${said}): the private key in ${privateKeyPath} is not a key of App ${appId}, or the App id is wrong (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY_PATH)`,
          { status: 401, appId: String(appId) },
        );
      }
      if (err.status === 404) {
        throw nonRetryable(
          FailureType.ForgeUnauthorized,
          `GitHub App ${appId} has no installation ${installationId} (404: ${said}): check GITHUB_APP_INSTALLATION_ID (the App must be installed on the repositories' account)`,
          { status: 404, appId: String(appId), installationId: String(installationId) },
        );
      }
      if (err.status === 403 && err.response?.headers?.['retry-after'] === undefined && !/rate limit/i.test(said)) {
        throw nonRetryable(FailureType.ForgeForbidden, `GitHub refused an installation token for ${describe} (403: ${said}): the App or its installation may be suspended`, { status: 403 });
      }
      throw toTemporalFailure(err, ctx, [jwt]);
    }
  }

  return {
    describe,
    async token() {
      if (cached && cached.expiresAt - margin > now()) return cached.token;
      inFlight ??= mint().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    invalidate(token: string) {
      if (cached?.token === token) cached = undefined;
    },
  };
}
