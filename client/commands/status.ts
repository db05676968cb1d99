// `swarm status`: what is running — server, Web UI, workers, database.
import { createPool, ping } from '../../activities/store/db.ts';
import { listHosts, MISSED_BEATS, type HostRecord } from '../../activities/store/hosts.ts';
import { redactUrl, type Config } from '../../lib/config.ts';
import { resolveEndpoints } from '../endpoints.ts';
import { SwarmClient } from '../swarm-client.ts';
import { reaperSchedule, type ReaperSchedule } from './reap.ts';

export interface Status {
  stack: { running: boolean; pid?: number; startedAt?: string; webhookUrl?: string };
  temporal: { address: string; reachable: boolean; embedded: boolean; uiUrl?: string; namespace: string; error?: string };
  workers: Array<{ taskQueue: string; kind: string; pollers: number }>;
  database: { url?: string; embedded: boolean; reachable: boolean; error?: string };
  /** This host's reaper schedule (null: the server has none), unknown while the server is down. */
  reaper?: ReaperSchedule | null;
  /** Every host that ever wrote a heartbeat (the host registry), unknown while Postgres is down. */
  hosts?: HostRecord[];
}

export async function getStatus(config: Config): Promise<Status> {
  const { stack, temporalAddress, databaseUrl } = resolveEndpoints(config);
  const status: Status = {
    stack: { running: !!stack, pid: stack?.pid, startedAt: stack?.startedAt, webhookUrl: stack?.webhookUrl },
    temporal: { address: temporalAddress, reachable: false, embedded: stack?.temporal.embedded ?? false, uiUrl: stack?.temporal.uiUrl, namespace: config.temporal.namespace },
    workers: [],
    database: { url: databaseUrl ? redactUrl(databaseUrl) : undefined, embedded: stack?.database.embedded ?? false, reachable: false },
  };
  try {
    const client = await SwarmClient.connect({ config, connectTimeoutMs: 3_000 });
    try {
      status.workers = await client.pollers();
      status.temporal.reachable = true;
      // A server that cannot describe schedules still answered: the reaper line is left out, the server is up.
      status.reaper = await reaperSchedule(client).then(
        (schedule) => schedule ?? null,
        () => undefined,
      );
    } finally {
      await client.close();
    }
  } catch (err) {
    status.temporal.error = (err as Error).message.split('\n')[0];
  }
  if (databaseUrl) {
    try {
      await ping(databaseUrl);
      status.database.reachable = true;
    } catch (err) {
      status.database.error = (err as Error).message;
    }
    if (status.database.reachable) status.hosts = await hostsIn(databaseUrl);
  }
  return status;
}

/** The host registry; undefined where it cannot be read (a database the workers have not migrated yet). */
async function hostsIn(databaseUrl: string): Promise<HostRecord[] | undefined> {
  const db = createPool(databaseUrl, 1);
  try {
    return await listHosts(db);
  } catch {
    return undefined;
  } finally {
    await db.end();
  }
}

/** Whether everything the status names is up: the server, the database, a worker on each queue. */
export const statusOk = (s: Status): boolean => s.temporal.reachable && (s.database.url === undefined || s.database.reachable) && s.workers.every((w) => w.pollers > 0);

export function formatStatus(s: Status): string {
  const up = (ok: boolean, error?: string) => (ok ? 'up' : `DOWN${error ? ` (${error})` : ''}`);
  const lines = [
    s.stack.running ? `swarmflow stack: running (pid ${s.stack.pid}, since ${s.stack.startedAt})` : 'swarmflow stack: not running on this state folder (start it with `npm start`)',
    `Temporal   ${s.temporal.address} [${s.temporal.namespace}]  ${up(s.temporal.reachable, s.temporal.error)}${s.temporal.embedded ? '  (embedded dev server)' : ''}`,
    `Web UI     ${s.temporal.uiUrl ?? '(not embedded: use your cluster’s UI)'}`,
    `Postgres   ${s.database.url ?? '(unknown: set DATABASE_URL or run `npm start`)'}  ${s.database.url ? up(s.database.reachable, s.database.error) : ''}${s.database.embedded ? '  (embedded)' : ''}`,
    ...(s.stack.webhookUrl ? [`Webhooks   ${s.stack.webhookUrl}`] : []),
    ...s.workers.map((w) => `Worker     ${w.taskQueue} (${w.kind})  ${w.pollers > 0 ? `${w.pollers} poller(s)` : 'NO WORKER POLLING'}`),
    ...(s.reaper === undefined ? [] : [`Reaper     ${formatReaper(s.reaper)}`]),
    ...(s.hosts ?? []).map((h) => `Host       ${formatHost(h)}`),
  ];
  return lines.join('\n');
}

function formatHost(h: HostRecord): string {
  const capacity = `${h.liveAgents}/${h.maxAgents} agent(s), ${h.freeMemoryMb} MB free`;
  const seconds = Math.round(h.heartbeatMs / 1000);
  if (h.state === 'alive') return `${h.hostId}  alive: ${capacity}; last heartbeat ${h.lastSeen} (every ${seconds}s)`;
  if (h.state === 'stopped') return `${h.hostId}  stopped at ${h.stoppedAt}`;
  return `${h.hostId}  GONE: no heartbeat since ${h.lastSeen} (${MISSED_BEATS} beats of ${seconds}s missed; last seen with ${capacity}). Its tasks wait for it, then ask a human: start its worker again (SWARM_HOST_ID=${h.hostId})`;
}

function formatReaper(r: ReaperSchedule | null): string {
  if (!r) return 'no schedule for this host (`npm start` creates it; `swarm reap` runs it now)';
  const every = r.everyMs === undefined ? '' : ` every ${r.everyMs % 60_000 === 0 ? `${r.everyMs / 60_000}m` : `${r.everyMs / 1_000}s`}`;
  const state = r.paused ? ', PAUSED' : r.nextRunAt ? `, next ${r.nextRunAt}` : '';
  const last = r.lastRun
    ? `; last run ${r.lastRun.startedAt}: ${r.lastRun.report ? `cleaned up ${r.lastRun.report.removed.length} task(s), left ${r.lastRun.report.kept.length}` : r.lastRun.status.toLowerCase()} (workflow ${r.lastRun.workflowId})`
    : '; no run yet';
  return `${r.scheduleId}${every}${state}${last}`;
}
