// The task branch between the host's mirror and GitHub (shared reference §1):
// - pushBranch never overwrites someone else's commits: the branch of record becomes their head, or
//   a merge of it and the agent's work; a merge that conflicts is BranchDiverged (the agent merges);
// - syncWithBase is `pulls.updateBranch` with `expected_head_sha`, only when GitHub says `behind`
//   (202 is asynchronous: the new head is awaited), its 422s told apart by re-reading the PR; the
//   mirror's branch of record follows the PR head either way (someone else may have pushed).
import { z } from 'zod';
import { BranchName, SafeAbsolutePath } from '../../../workflows/task/spec.ts';
import type { SyncResult } from '../../../workflows/task/types.ts';
import { beat, pause } from '../../activity-context.ts';
import { git, isAncestor, mergeTree, revParse } from '../../git.ts';
import { collectTaskBranch } from '../../task-branch.ts';
import { FailureType, nonRetryable } from '../../errors.ts';
import { isHttpError, redact } from './errors.ts';
import { GitHubRepository, PrRef, parseInput, splitRepository as split } from './inputs.ts';
import { ensureMirror, followPrHead } from './mirror.ts';
import { mapState, settledPr } from './mergeability.ts';
import { prCtx, readPr, type PullData } from './pulls.ts';
import { gitAuthEnv, gitFailure, gitSaid, remoteGit } from './remote-git.ts';
import type { GitHubContext } from './context.ts';

/** The task branch collected from the agent's clone into the mirror (git runs only in the mirror). */
async function collected(gh: GitHubContext, input: { repository: string; worktree: string; branch: string }, activity: string) {
  const { repository, worktree, branch } = parseInput(z.object({ repository: GitHubRepository, worktree: SafeAbsolutePath, branch: BranchName }), input, activity);
  const { path } = await ensureMirror(gh, repository);
  const headSha = await collectTaskBranch(path, worktree, branch);
  if (headSha === undefined) throw nonRetryable(FailureType.InvalidInput, `branch ${branch} does not exist in ${worktree}`);
  return { repository, branch, path, headSha };
}

/** The branch's head on GitHub; undefined when it does not exist. */
async function branchHead(gh: GitHubContext, repository: string, branch: string): Promise<string | undefined> {
  try {
    const { data } = await gh.octokit.rest.git.getRef({ ...split(repository), ref: `heads/${branch}` });
    return data.object.sha;
  } catch (err) {
    if (isHttpError(err) && err.status === 404) return undefined;
    throw gh.failure(err, { action: `reading branch ${branch} of ${repository}`, resource: `branch ${branch} of ${repository}`, permission: 'Contents: read' });
  }
}

/**
 * The branch of record after someone else pushed to the task branch on GitHub: theirs when ours
 * is in it (the push again is a no-op), else a merge of the two (a fast-forward for GitHub). When
 * that merge conflicts it is theirs, and the agent, which gets it from its origin, merges:
 * BranchDiverged. Their commits are never overwritten.
 */
async function takeTheirs(gh: GitHubContext, repository: string, path: string, branch: string, ours: string): Promise<string> {
  const ref = `refs/heads/${branch}`;
  const fetched = `refs/swarmflow/github/${branch}`;
  await remoteGit(gh, path, ['fetch', '--quiet', '--no-tags', '--', gh.repoUrl(repository), `+${ref}:${fetched}`], repository, `fetching ${branch} of ${repository}`, 'Contents: read');
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

async function waitForNewHead(gh: GitHubContext, repository: string, number: number, oldHead: string): Promise<PullData> {
  let delay = gh.poll.updateBranchDelayMs;
  for (let attempt = 1; ; attempt++) {
    await pause(delay);
    const pr = await readPr(gh, repository, number);
    if (pr.head.sha !== oldHead) return pr;
    if (attempt >= gh.poll.updateBranchAttempts) {
      throw new Error(`GitHub accepted the update of PR #${number} of ${repository} but its head is still ${oldHead} after ${attempt} reads`);
    }
    beat({ waiting: 'update-branch', attempt });
    delay = Math.min(delay * 2, gh.poll.maxDelayMs);
  }
}

export function branchSyncActivities(gh: GitHubContext) {
  return {
    async syncWithBase(input: { repository: string; number: number; worktree: string }): Promise<SyncResult> {
      // The agent's clone (worktree) is not touched: the mirror's branch follows GitHub's, and the agent fetches it from its origin.
      const { repository, number } = parseInput(PrRef.extend({ worktree: SafeAbsolutePath }), input, 'syncWithBase');
      const pr = await settledPr(gh, repository, number);
      if (pr.state !== 'open') throw nonRetryable(FailureType.InvalidInput, `PR #${number} of ${repository} is not open`);
      const expected = pr.head.sha;
      if (pr.mergeable_state !== 'behind') {
        // Nothing to update (each update is a new head and a new CI run): only when GitHub says behind.
        if (pr.mergeable === false || pr.mergeable_state === 'dirty') return { status: 'conflict', headSha: expected, conflicts: mapState(repository, { ...pr, mergeable_state: 'dirty' }).conflicts };
        // The mirror's branch follows the head GitHub has (someone else may have pushed): the agent fetches it from its origin.
        await followPrHead(gh, repository, pr.head.ref, expected);
        return { status: 'up_to_date', headSha: expected, conflicts: [] };
      }
      try {
        await gh.octokit.rest.pulls.updateBranch({ ...split(repository), pull_number: number, expected_head_sha: expected });
      } catch (err) {
        if (!isHttpError(err) || err.status !== 422) throw gh.failure(err, prCtx(repository, number, 'updating the branch of', 'Contents: write'));
        // 422 means one of three things: told apart by the PR as it is now, the message only as a tie-breaker.
        const said = JSON.stringify(err.response?.data ?? '');
        const now = await settledPr(gh, repository, number);
        if (now.head.sha !== expected || /expected.*head/i.test(said)) {
          // Someone pushed since: a retry reads the new head and tries again.
          throw new Error(`PR #${number} of ${repository} moved from ${expected} to ${now.head.sha} during the update: trying again`, { cause: err });
        }
        if (now.mergeable_state === 'dirty' || now.mergeable === false || /conflict/i.test(said)) {
          return { status: 'conflict', headSha: now.head.sha, conflicts: mapState(repository, { ...now, mergeable_state: 'dirty' }).conflicts };
        }
        if (now.mergeable_state !== 'behind' || /no new commits/i.test(said)) {
          // An earlier attempt may have updated the branch on GitHub and died before the mirror followed.
          await followPrHead(gh, repository, now.head.ref, now.head.sha);
          return { status: 'up_to_date', headSha: now.head.sha, conflicts: [] };
        }
        throw nonRetryable(FailureType.InvalidInput, `GitHub refused to update PR #${number} of ${repository}: ${redact(said, gh.secrets).slice(0, 300)}`);
      }
      // 202: accepted, applied asynchronously. CI must be awaited again on the new head.
      const updated = await waitForNewHead(gh, repository, number, expected);
      // The mirror's branch follows, so the agent's next work is merged onto the new head and pushes a fast-forward.
      await followPrHead(gh, repository, updated.head.ref, updated.head.sha);
      return { status: 'synced', headSha: updated.head.sha, conflicts: [] };
    },

    /** The branch collected from the agent's clone into the mirror, not pushed: what the policy gate reads first. */
    async collectBranch(input: { repository: string; worktree: string; branch: string }): Promise<{ headSha: string }> {
      return { headSha: (await collected(gh, input, 'collectBranch')).headSha };
    },

    /**
     * Collects the branch from the agent's clone into the mirror, then pushes it from the mirror to
     * GitHub over HTTPS: git runs only in the mirror, never with the clone's config, and the token
     * travels in an `http.<url>.extraHeader` set through GIT_CONFIG_* environment variables for this
     * one git call: never in argv, the remote URL or git's config files, and never in a message.
     */
    async pushBranch(input: { repository: string; worktree: string; branch: string }): Promise<{ headSha: string }> {
      const { repository, branch, path, headSha } = await collected(gh, input, 'pushBranch');
      const url = gh.repoUrl(repository);
      const args = ['push', '--porcelain', url, `refs/heads/${branch}:refs/heads/${branch}`];
      const res = await git(path, args, { env: await gitAuthEnv(gh, url), allowFailure: true, timeoutMs: 300_000 });
      if (res.exitCode !== 0) {
        const full = redact(`${res.stdout}\n${res.stderr}`, gh.secrets);
        // Someone else pushed to the branch (a reviewer's suggested commit): taken in, never overwritten.
        if (/fetch first|non-fast-forward/i.test(full) && (await branchHead(gh, repository, branch))) {
          const next = await takeTheirs(gh, repository, path, branch, headSha);
          const again = await git(path, args, { env: await gitAuthEnv(gh, url), allowFailure: true, timeoutMs: 300_000 });
          // A push landing in between: the next attempt of this activity takes that one in too.
          if (again.exitCode !== 0) throw gitFailure(gh, again, `pushing ${branch} to ${repository}`, repository, 'Contents: write');
          return { headSha: next };
        }
        if (/\[rejected\]|non-fast-forward|fetch first|updates were rejected|protected branch|pre-receive hook declined/i.test(full)) {
          throw nonRetryable(FailureType.PushRejected, `GitHub rejected the push of ${branch} to ${repository}: ${gitSaid(full)}`);
        }
        throw gitFailure(gh, res, `pushing ${branch} to ${repository}`, repository, 'Contents: write');
      }
      return { headSha };
    },
  };
}
