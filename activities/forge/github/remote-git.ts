// git calls that talk to GitHub over HTTPS, and what their failures mean for Temporal.
import { git } from '../../git.ts';
import { FailureType, nonRetryable } from '../../errors.ts';
import { redact } from './errors.ts';
import type { GitHubContext } from './context.ts';

/**
 * What one git call that talks to GitHub over HTTPS adds to git's minimal environment: the
 * current token (an App's installation token, refreshed when close to expiry) as an
 * `http.<url>.extraHeader` set through GIT_CONFIG_* variables for this call only, never in argv,
 * a remote URL or a config file, and never in a message.
 */
export const gitAuthEnv = async (gh: GitHubContext, url: string) => ({
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: `http.${url}.extraHeader`,
  GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${await gh.credentials.token()}`).toString('base64')}`,
});

/** What git said, in one line: its last lines, without the hints. */
export const gitSaid = (output: string) =>
  output
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('hint:'))
    .slice(-6)
    .join(' / ');

/** What a failed git call over HTTPS means for Temporal: auth and missing repositories are final, the rest is retried. */
export function gitFailure(gh: GitHubContext, res: { exitCode?: number; stdout: string; stderr: string }, doing: string, repository: string, permission: string): Error {
  const said = gitSaid(redact(`${res.stdout}\n${res.stderr}`, gh.secrets));
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
export async function remoteGit(gh: GitHubContext, cwd: string, args: string[], repository: string, doing: string, permission: string) {
  const res = await git(cwd, args, { env: await gitAuthEnv(gh, gh.repoUrl(repository)), allowFailure: true, timeoutMs: 600_000 });
  if (res.exitCode !== 0) throw gitFailure(gh, res, doing, repository, permission);
  return res;
}
