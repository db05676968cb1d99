// Activities bound to this machine's disk (worktrees, tmux, the local forge's git, CI, reviewers):
// they run on this host's queue.
import { createAgentActivities } from '../agents/index.ts';
import { createForge } from '../forge/index.ts';
import type { GitHubAppAuth } from '../forge/github/auth.ts';
import { createGitHubForge } from '../forge/github/github-forge.ts';
import { createLocalForge } from '../forge/local-forge.ts';
import { createReviewActivities } from '../review/index.ts';
import type { Db } from '../store/db.ts';
import { probeHost } from './probe.ts';

export interface HostActivityDeps {
  hostId: string;
  stateDir: string;
  db: Db;
  /** GitHub credentials (a token, or a GitHub App) and endpoints; without either, tasks on `owner/name` are refused. */
  github?: { token?: string; app?: GitHubAppAuth; apiUrl: string; gitUrl?: string };
}

export function createHostActivities({ hostId, stateDir, db, github }: HostActivityDeps) {
  return {
    probeHost: () => probeHost(hostId),
    ...createAgentActivities({ stateDir, db }),
    ...createForge({
      local: createLocalForge({ db, stateDir }),
      github:
        github?.token || github?.app
          ? createGitHubForge({ db, stateDir, github: { baseUrl: github.apiUrl, ...(github.token ? { token: github.token } : { app: github.app }), gitBaseUrl: github.gitUrl } })
          : undefined,
    }),
    ...createReviewActivities(),
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
