// The host registry (migration 009): each host worker's heartbeat, and the listing `swarm status`
// shows. Whether a host is alive is read from its own heartbeat interval: three missed beats and
// it is gone (a SIGKILLed worker writes nothing on its way out).
import type { Db } from './db.ts';

export interface HostBeat {
  hostId: string;
  taskQueue: string;
  maxAgents: number;
  liveAgents: number;
  freeMemoryMb: number;
  heartbeatMs: number;
  startedAt: string;
}

export interface HostRecord extends HostBeat {
  lastSeen: string;
  stoppedAt?: string;
  /** alive: beating; stopped: shut down cleanly; gone: no beat for three intervals. */
  state: 'alive' | 'stopped' | 'gone';
}

/** Beats missed before a host counts as gone. */
export const MISSED_BEATS = 3;

export async function beatHost(db: Db, b: HostBeat): Promise<void> {
  await db.query(
    `INSERT INTO hosts (host_id, task_queue, max_agents, live_agents, free_memory_mb, heartbeat_ms, started_at, last_seen, stopped_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now(), NULL)
     ON CONFLICT (host_id) DO UPDATE SET task_queue = $2, max_agents = $3, live_agents = $4, free_memory_mb = $5, heartbeat_ms = $6, started_at = $7, last_seen = now(), stopped_at = NULL`,
    [b.hostId, b.taskQueue, b.maxAgents, b.liveAgents, b.freeMemoryMb, b.heartbeatMs, b.startedAt],
  );
}

export async function markHostStopped(db: Db, hostId: string): Promise<void> {
  await db.query('UPDATE hosts SET stopped_at = now() WHERE host_id = $1', [hostId]);
}

interface HostRow {
  host_id: string;
  task_queue: string;
  max_agents: number;
  live_agents: number;
  free_memory_mb: number;
  heartbeat_ms: number;
  started_at: Date;
  last_seen: Date;
  stopped_at: Date | null;
  gone: boolean;
}

/** A host row with whether it is gone, by the database's clock. */
const SELECT_HOSTS = `SELECT *, last_seen < now() - make_interval(secs => heartbeat_ms * $1 / 1000.0) AS gone FROM hosts`;

/** One host's record, if it ever beat. */
export async function findHost(db: Db, hostId: string): Promise<HostRecord | undefined> {
  const { rows } = await db.query<HostRow>(`${SELECT_HOSTS} WHERE host_id = $2`, [MISSED_BEATS, hostId]);
  return rows.map(toRecord)[0];
}

/** Every host that ever beat, alive ones first. */
export async function listHosts(db: Db): Promise<HostRecord[]> {
  const { rows } = await db.query<HostRow>(`${SELECT_HOSTS} ORDER BY stopped_at IS NOT NULL, last_seen DESC`, [MISSED_BEATS]);
  return rows.map(toRecord);
}

function toRecord(r: HostRow): HostRecord {
  return {
    hostId: r.host_id,
    taskQueue: r.task_queue,
    maxAgents: r.max_agents,
    liveAgents: r.live_agents,
    freeMemoryMb: r.free_memory_mb,
    heartbeatMs: r.heartbeat_ms,
    startedAt: r.started_at.toISOString(),
    lastSeen: r.last_seen.toISOString(),
    ...(r.stopped_at ? { stoppedAt: r.stopped_at.toISOString() } : {}),
    state: r.stopped_at ? 'stopped' : r.gone ? 'gone' : 'alive',
  };
}

/**
 * Where a task that names no host goes: the alive host with the most free agent slots; on a tie
 * the configured one, then the one with the most free memory. The configured host when the
 * registry has no alive host.
 */
export function freestHost(hosts: HostRecord[], configured: string): { hostId: string; why: string } {
  const free = (h: HostRecord) => h.maxAgents - h.liveAgents;
  const alive = hosts.filter((h) => h.state === 'alive');
  const [best] = [...alive].sort((a, b) => free(b) - free(a) || Number(b.hostId === configured) - Number(a.hostId === configured) || b.freeMemoryMb - a.freeMemoryMb);
  if (!best) return { hostId: configured, why: 'no host in the registry is alive: the configured one' };
  return { hostId: best.hostId, why: `the most free of ${alive.length} alive host(s): ${free(best)} of ${best.maxAgents} agent slot(s) free, ${best.freeMemoryMb} MB` };
}
