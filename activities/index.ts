// All side effects, built by one factory so that workers inject real parts and tests inject
// real-but-local ones. Workflows import only the *type* of what this returns.
import type { Db } from './store/db.ts';
import { probeDatabase } from './store/probe.ts';

export interface ActivityDeps {
  db: Db;
}

export function createActivities({ db }: ActivityDeps) {
  return {
    probeDatabase: () => probeDatabase(db),
  };
}

export type Activities = ReturnType<typeof createActivities>;
