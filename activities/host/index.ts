// Activities bound to this machine's disk (worktrees, tmux, the local forge's git, CI, reviewers):
// they run on this host's queue.
import { createAgentActivities } from '../agents/index.ts';
import { createLocalForge } from '../forge/local-forge.ts';
import { createReviewActivities } from '../review/index.ts';
import type { Db } from '../store/db.ts';
import { probeHost } from './probe.ts';

export interface HostActivityDeps {
  hostId: string;
  stateDir: string;
  db: Db;
}

export function createHostActivities({ hostId, stateDir, db }: HostActivityDeps) {
  return {
    probeHost: () => probeHost(hostId),
    ...createAgentActivities({ stateDir, db }),
    ...createLocalForge({ db, stateDir }),
    ...createReviewActivities(),
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
