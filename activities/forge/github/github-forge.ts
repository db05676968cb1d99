// The GitHub forge: the same port as the local forge (same function names, same input and output
// shapes) for repositories named `owner/name`, on octokit. One context (client, credentials,
// secrets to redact, waits, state folder) is built once; each concern is a module over it:
//   repository.ts    localCheckout (the host's mirror, mirror.ts), loadRepoPolicy
//   pulls.ts         ensurePr, getPr, changedFiles, diff, closePr
//   merge.ts         checkMergeable, mergePr with the head-SHA guard (mergeability.ts reads the state)
//   checks.ts        runCi: the verdict of check runs and commit statuses at a head SHA
//   branch-sync.ts   pushBranch, syncWithBase (git over HTTPS in remote-git.ts)
//   reviews.ts       postReview, humanReviews
//   evidence.ts      postEvidence: the Definition of Done and its evidence as one comment, edited in place
//   issues.ts        readIssue, commentOnIssue: intake from an issue, and its one comment there
import { createGitHubContext, type GitHubForgeDeps } from './context.ts';
import { createGitHubReviews } from './reviews.ts';
import { repositoryActivities } from './repository.ts';
import { pullActivities } from './pulls.ts';
import { mergeActivities } from './merge.ts';
import { checkActivities } from './checks.ts';
import { branchSyncActivities } from './branch-sync.ts';
import { evidenceActivities } from './evidence.ts';
import { issueActivities } from './issues.ts';

export type { GitHubForgeDeps };

export function createGitHubForge(deps: GitHubForgeDeps) {
  const gh = createGitHubContext(deps);
  const reviews = createGitHubReviews({ octokit: gh.octokit, failure: gh.failure });
  return {
    ...reviews,
    ...repositoryActivities(gh),
    ...pullActivities(gh),
    ...mergeActivities(gh, reviews),
    ...checkActivities(gh),
    ...branchSyncActivities(gh),
    ...evidenceActivities(gh),
    ...issueActivities(gh),
  };
}

export type GitHubForge = ReturnType<typeof createGitHubForge>;
