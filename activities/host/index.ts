// Activities bound to this machine's disk (worktrees, tmux, the local forge's git, CI, reviewers):
// they run on this host's queue.
import { createAgentActivities } from '../agents/index.ts';
import { createForge } from '../forge/index.ts';
import { createGitHubForge } from '../forge/github/github-forge.ts';
import { createLocalForge } from '../forge/local-forge.ts';
import { createReviewActivities } from '../review/index.ts';
import type { Db } from '../store/db.ts';
import { probeHost } from './probe.ts';

export interface HostActivityDeps {
  hostId: string;
  stateDir: string;
  db: Db;
  /** GitHub credentials and endpoints; without a token, tasks on `owner/name` are refused. */
  github?: { token?: string; apiUrl: string; gitUrl?: string };
}

export function createHostActivities({ hostId, stateDir, db, github }: HostActivityDeps) {
  return {
    probeHost: () => probeHost(hostId),
    ...createAgentActivities({ stateDir, db }),
    ...createForge({
      local: createLocalForge({ db, stateDir }),
      github: github?.token ? createGitHubForge({ db, stateDir, github: { baseUrl: github.apiUrl, token: github.token, gitBaseUrl: github.gitUrl } }) : undefined,
    }),
    ...createReviewActivities(),
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
