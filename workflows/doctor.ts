// The doctor's round trip: a workflow on the orchestration queue runs an activity that queries
// Postgres, then one on the host queue. If this completes, server, both workers and the database
// work together.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { HostActivities } from '../activities/host/index.ts';
import type { HostFacts } from '../activities/host/probe.ts';

const { probeDatabase } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 2 },
});

export interface RoundTrip {
  migrations: number;
  databaseTime: string;
  host: HostFacts;
}

export async function doctorRoundTrip(hostQueue: string): Promise<RoundTrip> {
  const { probeHost } = proxyActivities<HostActivities>({
    taskQueue: hostQueue,
    // A host queue nobody polls must fail the check quickly, not wait forever.
    scheduleToCloseTimeout: '15 seconds',
    retry: { maximumAttempts: 1 },
  });
  const database = await probeDatabase();
  const host = await probeHost();
  return { ...database, host };
}
