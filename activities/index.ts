// All side effects of the orchestration queue (store, configuration, notifications), built by
// one factory so that workers inject real parts and tests inject real-but-local ones. Workflows
// import only the *type* of what this returns.
import type { Logger } from '@temporalio/common';
import { hostQueueOf, webUiLink, type Config } from '../lib/config.ts';
import { isLocalRepository } from '../workflows/task/spec.ts';
import { createNotifyActivities } from './notify/index.ts';
import type { Notifier } from './notify/notifier.ts';
import { taskConfig } from './setup.ts';
import type { Db } from './store/db.ts';
import { createContextActivities } from './store/context/index.ts';
import { createArtifactRecorder } from './store/evidence/record.ts';
import { Spool, spoolDir } from './store/evidence/spool.ts';
import { findHost, freestHost, listHosts } from './store/hosts.ts';
import { probeDatabase } from './store/probe.ts';
import { learnedHints, rememberRetry, settleRetry, type RetryOutcome, type RetryRecord } from './store/retry-memory.ts';

export interface ActivityDeps {
  db: Db;
  config: Config;
  notifier: Notifier;
  logger: Logger;
  searchAttributes: boolean;
  /** Where signed artifacts wait while Postgres is unreachable; `<stateDir>/spool` by default. */
  spool?: Spool;
}

export function createActivities({ db, config, notifier, logger, searchAttributes, spool = new Spool(spoolDir(config.stateDir)) }: ActivityDeps) {
  return {
    probeDatabase: () => probeDatabase(db),
    /**
     * With a repository: a GitHub one that names no host goes to the freest alive host of the
     * registry (any host can clone it); a local one stays on the configured host, whose disk it is on.
     */
    taskConfig: async (task?: { repository: string }) => {
      const cfg = taskConfig(config, searchAttributes);
      if (!task || isLocalRepository(task.repository)) return cfg;
      const hosts = await listHosts(db).catch((err: unknown) => {
        logger.warn('the host registry cannot be read: the task goes to the configured host', { error: (err as Error).message });
        return [];
      });
      const chosen = freestHost(hosts, config.workers.hostId);
      return { ...cfg, hostQueue: hostQueueOf(chosen.hostId), hostChoice: `${chosen.hostId}, ${chosen.why}` };
    },
    /** A host's heartbeat record (null: it never beat), for a task whose host stopped answering. */
    hostRecord: async ({ hostId }: { hostId: string }) => (await findHost(db, hostId)) ?? null,
    /** The Web UI page of a workflow, for the links posted where people look (an issue); undefined without a known UI. */
    webUiLink: (workflowId: string) => Promise.resolve(webUiLink(config, workflowId)),
    recordArtifact: createArtifactRecorder({ db, config, spool, logger }),
    // The retry memory: written as each retry starts and ends, read before a retry's prompt.
    rememberRetry: (r: RetryRecord) => rememberRetry(db, r),
    settleRetry: (s: { taskId: string; runKey?: string; attempt: number; outcome: RetryOutcome }) => settleRetry(db, s),
    learnedHints: (q: { taskId: string; repository: string; kind: string; paths: string[] }) => learnedHints(db, q),
    ...createNotifyActivities({ notifier, logger }),
    ...createContextActivities({ db, config }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
