// This host's heartbeat in the host registry (activities/store/hosts.ts): its capacity and the
// agents it runs, every `workers.heartbeatInterval`, and a last word when it stops cleanly. A
// beat that fails (Postgres away) is logged and tried again at the next one: tasks do not wait on it.
import { msToNumber } from '@temporalio/common/lib/time.js';
import type { Duration } from '@temporalio/common';
import { agentPaths } from '../activities/agents/paths.ts';
import { createTmux } from '../activities/agents/tmux.ts';
import { liveAgentSessions, memAvailableMb } from '../activities/host/capacity.ts';
import type { Db } from '../activities/store/db.ts';
import { beatHost, markHostStopped } from '../activities/store/hosts.ts';
import { hostQueue, type Config } from '../lib/config.ts';
import type { SwarmLogger } from '../lib/logger.ts';

export interface HostHeartbeat {
  stop(): Promise<void>;
}

export async function startHostHeartbeat({ db, config, logger }: { db: Db; config: Config; logger: SwarmLogger }): Promise<HostHeartbeat> {
  const tmux = createTmux(agentPaths(config.stateDir).socket);
  const heartbeatMs = msToNumber(config.workers.heartbeatInterval as Duration);
  const startedAt = new Date().toISOString();
  let failing = false;
  const beat = async () => {
    try {
      const liveAgents = (await liveAgentSessions(tmux)).length;
      await beatHost(db, { hostId: config.workers.hostId, taskQueue: hostQueue(config), maxAgents: config.host.maxAgents, liveAgents, freeMemoryMb: memAvailableMb(), heartbeatMs, startedAt });
      if (failing) logger.info('host heartbeat written again');
      failing = false;
    } catch (err) {
      if (!failing) logger.warn('host heartbeat not written: `swarm status` will show this host as gone until it is', { error: (err as Error).message });
      failing = true;
    }
  };
  await beat();
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    inFlight = beat();
  }, heartbeatMs);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
      await markHostStopped(db, config.workers.hostId).catch((err: unknown) => logger.warn('host not marked stopped', { error: (err as Error).message }));
    },
  };
}
