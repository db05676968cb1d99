// All side effects of the orchestration queue (store, configuration, notifications), built by
// one factory so that workers inject real parts and tests inject real-but-local ones. Workflows
// import only the *type* of what this returns.
import type { Logger } from '@temporalio/common';
import type { Config } from '../lib/config.ts';
import type { ArtifactInput } from '../workflows/task/types.ts';
import { createNotifyActivities } from './notify/index.ts';
import type { Notifier } from './notify/notifier.ts';
import { taskConfig } from './setup.ts';
import { recordArtifact } from './store/artifacts.ts';
import type { Db } from './store/db.ts';
import { probeDatabase } from './store/probe.ts';

export interface ActivityDeps {
  db: Db;
  config: Config;
  notifier: Notifier;
  logger: Logger;
  searchAttributes: boolean;
}

export function createActivities({ db, config, notifier, logger, searchAttributes }: ActivityDeps) {
  return {
    probeDatabase: () => probeDatabase(db),
    taskConfig: () => Promise.resolve(taskConfig(config, searchAttributes)),
    recordArtifact: (a: ArtifactInput) => recordArtifact(db, a),
    ...createNotifyActivities({ notifier, logger }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
