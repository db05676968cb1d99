// The one place that turns an octokit RequestError into what Temporal should do with it:
// - 429, 5xx, a secondary rate limit (403 + Retry-After, or "secondary rate limit") and an
//   exhausted primary limit (403/429 with x-ratelimit-remaining: 0) are retryable ApplicationFailures
//   whose `nextRetryDelay` comes from Retry-After / x-ratelimit-reset: Temporal waits, not the activity;
// - 401, 403 and 404 are non-retryable, with a message naming the permission or resource missing;
// - anything else that is not an HTTP answer (a connection refused) stays a plain, retryable Error.
// Tokens never reach a message: octokit redacts its own request headers, and every text taken from
// an answer passes `redact` with the secrets the forge knows.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, nonRetryable } from '../../errors.ts';

export interface CallContext {
  /** What swarmflow was doing: "reading PR #3 of acme/calc". */
  action: string;
  /** What the call needs to exist: "PR #3 of acme/calc". */
  resource: string;
  /** The fine-grained permission the call needs: "Pull requests: read". */
  permission: string;
}

export interface HttpErrorLike {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

export function isHttpError(err: unknown): err is HttpErrorLike {
  return err instanceof Error && typeof (err as { status?: unknown }).status === 'number';
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[REDACTED]');
  return out;
}

/** GitHub's own message (the body's `message`), without the token and trimmed. */
function githubMessage(err: HttpErrorLike, secrets: readonly string[]): string {
  const data = err.response?.data as { message?: unknown } | undefined;
  const raw = typeof data?.message === 'string' ? data.message : err.message;
  return redact(raw, secrets).split('\n')[0]!.slice(0, 300);
}

/** Milliseconds to wait before trying again, from Retry-After (seconds or HTTP date) or x-ratelimit-reset. */
export function retryDelayMs(headers: Record<string, string | number | undefined> = {}, nowMs = Date.now()): number | undefined {
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined && String(retryAfter).trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(String(retryAfter));
    if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  }
  if (String(headers['x-ratelimit-remaining']) === '0' && headers['x-ratelimit-reset'] !== undefined) {
    const reset = Number(headers['x-ratelimit-reset']) * 1000;
    if (Number.isFinite(reset)) return Math.max(1000, reset - nowMs);
  }
  return undefined;
}

const SECONDARY_FALLBACK_MS = 60_000;

export function toTemporalFailure(err: unknown, ctx: CallContext, secrets: readonly string[]): Error {
  // Already decided (the credentials could not give a token, say): passed on as it is.
  if (err instanceof ApplicationFailure) return err;
  if (!isHttpError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    // A plain Error: Temporal retries it (the network, a DNS hiccup).
    return new Error(`GitHub could not be reached while ${ctx.action}: ${redact(message, secrets)}`);
  }
  const headers = err.response?.headers ?? {};
  const said = githubMessage(err, secrets);
  const delay = retryDelayMs(headers);
  const secondary = /secondary rate limit/i.test(said) || (err.status === 403 && headers['retry-after'] !== undefined);
  const primary = (err.status === 403 || err.status === 429) && String(headers['x-ratelimit-remaining']) === '0';
  if (err.status === 429 || secondary || primary) {
    const nextRetryDelay = delay ?? SECONDARY_FALLBACK_MS;
    return ApplicationFailure.create({
      type: FailureType.ForgeRateLimited,
      message: `GitHub rate-limited swarmflow while ${ctx.action} (${err.status}: ${said}); retrying in ${Math.ceil(nextRetryDelay / 1000)} s`,
      nonRetryable: false,
      nextRetryDelay,
      details: [{ status: err.status, retryAfterMs: nextRetryDelay }],
    });
  }
  if (err.status >= 500) {
    return ApplicationFailure.create({
      type: FailureType.ForgeUnavailable,
      message: `GitHub failed while ${ctx.action} (${err.status}: ${said})`,
      nonRetryable: false,
      nextRetryDelay: delay,
      details: [{ status: err.status }],
    });
  }
  if (err.status === 401) {
    return nonRetryable(
      FailureType.ForgeUnauthorized,
      `GitHub rejected the token while ${ctx.action} (401: ${said}): it is missing, expired or revoked; configure a valid token`,
      { status: 401 },
    );
  }
  if (err.status === 403) {
    return nonRetryable(
      FailureType.ForgeForbidden,
      `GitHub refused ${ctx.action} (403: ${said}): the token needs the "${ctx.permission}" permission on ${ctx.resource}`,
      { status: 403, permission: ctx.permission },
    );
  }
  if (err.status === 404) {
    return nonRetryable(
      FailureType.ForgeNotFound,
      `${ctx.resource} was not found while ${ctx.action} (404): it does not exist, or the token cannot see it ` +
        `(it needs access to the repository with "Metadata: read" and "${ctx.permission}")`,
      { status: 404, resource: ctx.resource },
    );
  }
  return nonRetryable(FailureType.InvalidInput, `GitHub refused ${ctx.action} (${err.status}: ${said})`, { status: err.status });
}
