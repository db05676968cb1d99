// Activities bound to this machine's disk (worktrees, tmux, the local forge's git, CI, reviewers):
// they run on this host's queue.
import { createAgentActivities, type HostLimits, type PrepareWorkspaceInput } from '../agents/index.ts';
import type { PriceTable } from '../agents/adapters/cost.ts';
import { createForge } from '../forge/index.ts';
import type { GitHubAppAuth } from '../forge/github/auth.ts';
import { createGitHubForge } from '../forge/github/github-forge.ts';
import { createLocalForge } from '../forge/local-forge.ts';
import { policyGate } from '../gates/index.ts';
import { createReviewActivities } from '../review/index.ts';
import { sandboxSettings } from '../agents/sandboxed.ts';
import type { Db } from '../store/db.ts';
import { heavySlots } from './capacity.ts';
import { createEvidenceActivities } from './evidence.ts';
import { createFailureEvidenceActivities } from './failure-evidence.ts';
import { probeHost } from './probe.ts';

export interface HostActivityDeps {
  hostId: string;
  stateDir: string;
  db: Db;
  /** This host's resource ceiling: agents, memory, CI runs and bootstrap installs at once (config `host`). */
  limits: HostLimits;
  /** USD per million tokens, for agent CLIs that report no cost. */
  prices?: PriceTable;
  /** How long kept agent logs stay (tasks.logRetention). */
  logRetentionMs?: number;
  /** The worker's secret files outside the state folder, hidden from sandboxed agents. */
  secretFiles?: string[];
  /** GitHub credentials (a token, or a GitHub App) and endpoints; without either, tasks on `owner/name` are refused. */
  github?: { token?: string; app?: GitHubAppAuth; apiUrl: string; gitUrl?: string };
}

export function createHostActivities({ hostId, stateDir, db, limits, prices, logRetentionMs, secretFiles, github }: HostActivityDeps) {
  // One set of slots per worker process: every activity of this host draws from it.
  const heavy = heavySlots(limits.maxHeavyValidations);
  const sandbox = sandboxSettings(stateDir, limits, secretFiles);
  const agents = createAgentActivities({ stateDir, db, prices, limits, logRetentionMs, secretFiles });
  return {
    probeHost: () => probeHost(hostId),
    ...agents,
    // The install is the heavy part of preparing a workspace; without one there is nothing to hold.
    prepareWorkspace: async (input: PrepareWorkspaceInput) => {
      if (!input.bootstrap?.install) return agents.prepareWorkspace(input);
      const release = await heavy.acquire();
      try {
        return await agents.prepareWorkspace(input);
      } finally {
        release();
      }
    },
    ...createForge({
      local: createLocalForge({ db, stateDir, heavySlots: heavy, sandbox }),
      github:
        github?.token || github?.app
          ? createGitHubForge({ db, stateDir, github: { baseUrl: github.apiUrl, ...(github.token ? { token: github.token } : { app: github.app }), gitBaseUrl: github.gitUrl } })
          : undefined,
    }),
    // The anti-gaming and secret gate over the collected task branch, before anything is pushed.
    policyGate,
    ...createEvidenceActivities({ stateDir, heavy, review: createReviewActivities({ heavySlots: heavy, prices, sandbox }) }),
    // A failed attempt's evidence, read and classified where it lies (see EVIDENCE_PLAYBOOK_PATCH).
    ...createFailureEvidenceActivities({ stateDir }),
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
