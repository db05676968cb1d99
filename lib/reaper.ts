// This host's reaper, as the schedule (workers/reaper-schedule.ts) and `swarm reap` both start it.
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import type { ReaperInput } from '../workflows/reaper/types.ts';
import { hostQueue, type Config } from './config.ts';

/** One schedule per host: the worktrees and tmux sessions it reaps are on that host's disk. */
export const reaperScheduleId = (config: Config) => `swarm-reaper-${config.workers.hostId}`;

export const reaperInput = (config: Config): ReaperInput => ({ hostQueue: hostQueue(config), graceMs: msToNumber(config.reaper.grace as Duration) });
