// The forge port: one set of activities, served by the local forge for a repository path and by
// GitHub for `owner/name`. The workflow never knows which; the repository decides.
import { isLocalRepository } from '../../workflows/task/spec.ts';
import { ApplicationFailure } from '@temporalio/common';
import type { HumanReviews, PrSync, ReviewVerdict } from '../../workflows/task/types.ts';
import { FailureType, nonRetryable } from '../errors.ts';
import type { createGitHubForge } from './github/github-forge.ts';
import type { LocalForge } from './local-forge.ts';

type GitHubForge = ReturnType<typeof createGitHubForge>;

export interface ForgeDeps {
  local: LocalForge;
  /** Absent when no GitHub token is configured. */
  github?: GitHubForge;
}

/** A local repository has no issues: its requests are files committed under .swarm/requests/. */
const noIssues = (repository: string): never => {
  throw nonRetryable(FailureType.InvalidInput, `${repository} is a local repository: it has no issues; commit a request under .swarm/requests/ and run swarm intake ${repository}`);
};

export function createForge({ local, github }: ForgeDeps) {
  const remote = (repository: string): GitHubForge => {
    if (!github) {
      throw nonRetryable(FailureType.InvalidInput, `${repository} is a GitHub repository, but GitHub is not configured: set GITHUB_TOKEN, or GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY_PATH (and GITHUB_API_URL for GitHub Enterprise)`);
    }
    return github;
  };
  const forge = (repository: string) => (isLocalRepository(repository) ? local : remote(repository));
  type In<K extends keyof LocalForge> = Parameters<LocalForge[K]>[0];
  /** The agent's commits, collected from its clone, to the forge: into the repository itself for the local forge. */
  const pushBranch = async (i: { repository: string; worktree: string; branch: string }): Promise<{ pushed: boolean }> => {
    if (isLocalRepository(i.repository)) {
      await local.collectBranch(i);
      return { pushed: false };
    }
    await remote(i.repository).pushBranch(i);
    return { pushed: true };
  };
  return {
    loadRepoPolicy: (i: In<'loadRepoPolicy'>) => forge(i.repository).loadRepoPolicy(i),
    localCheckout: (i: In<'localCheckout'>) => forge(i.repository).localCheckout(i),
    ensurePr: (i: In<'ensurePr'>) => forge(i.repository).ensurePr(i),
    getPr: (i: In<'getPr'>) => forge(i.repository).getPr(i),
    changedFiles: (i: In<'changedFiles'>) => forge(i.repository).changedFiles(i),
    diff: (i: In<'diff'>) => forge(i.repository).diff(i),
    checkMergeable: (i: In<'checkMergeable'>) => forge(i.repository).checkMergeable(i),
    syncWithBase: (i: In<'syncWithBase'>) => forge(i.repository).syncWithBase(i),
    runCi: (i: In<'runCi'>) => forge(i.repository).runCi(i),
    mergePr: (i: In<'mergePr'>) => forge(i.repository).mergePr(i),
    closePr: (i: In<'closePr'>) => forge(i.repository).closePr(i),
    /** The reviewers' findings as one PR review; the local forge keeps them in the task's state only. */
    postReview: async (i: { repository: string; number: number; headSha: string; verdict: ReviewVerdict }): Promise<{ reviewId: number | null }> =>
      isLocalRepository(i.repository) ? { reviewId: null } : remote(i.repository).postReview(i),
    /** The Definition of Done and its evidence on the PR's conversation; the local forge's evidence is the task's state and files. */
    postEvidence: async (i: { repository: string; number: number; headSha: string; body: string }): Promise<{ commentId: number | null; url?: string; changed: boolean }> =>
      isLocalRepository(i.repository) ? { commentId: null, changed: false } : remote(i.repository).postEvidence(i),
    /** An issue to take in (intake from GitHub); the local forge's requests are files (client/intake.ts). */
    readIssue: (i: { repository: string; number: number }) => (isLocalRepository(i.repository) ? noIssues(i.repository) : remote(i.repository).readIssue(i)),
    commentOnIssue: (i: { repository: string; number: number; body: string }) => (isLocalRepository(i.repository) ? noIssues(i.repository) : remote(i.repository).commentOnIssue(i)),
    /** Humans' standing reviews on the PR; a local PR has none. */
    humanReviews: async (i: { repository: string; number: number; headSha: string }): Promise<HumanReviews> =>
      isLocalRepository(i.repository) ? { reviews: [], changesRequested: false } : remote(i.repository).humanReviews(i),
    /** The agent's commits, collected from its clone into the orchestrator's repository (the local one, or the GitHub mirror), not pushed. */
    collectBranch: (i: { repository: string; worktree: string; branch: string }): Promise<{ headSha: string }> =>
      isLocalRepository(i.repository) ? local.collectBranch(i) : remote(i.repository).collectBranch(i),
    pushBranch,
    /**
     * Step 5 in one call, where it took five workflow round trips: push, open the PR (or read the
     * one already open: a human may have edited it), merge the base in, read the PR back with its
     * mergeability. Every part is idempotent, so a retry runs them again from the push.
     */
    syncPr: async (i: In<'ensurePr'> & { worktree: string; openPr?: number }): Promise<PrSync> => {
      const { repository, worktree, branch } = i;
      try {
        await pushBranch({ repository, worktree, branch });
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === FailureType.BranchDiverged) return { status: 'diverged', detail: err.message };
        throw err;
      }
      const f = forge(repository);
      const open = i.openPr === undefined ? undefined : await f.getPr({ repository, number: i.openPr });
      const pr = open?.state === 'open' ? open : await f.ensurePr({ taskId: i.taskId, repository, base: i.base, branch, title: i.title, body: i.body });
      const sync = await f.syncWithBase({ repository, number: pr.number, worktree });
      if (sync.status === 'conflict') return { status: 'conflict', pr, conflicts: sync.conflicts };
      const synced = await f.getPr({ repository, number: pr.number });
      return { status: 'synced', pr: synced, mergeability: await f.checkMergeable({ repository, number: pr.number }) };
    },
  };
}
