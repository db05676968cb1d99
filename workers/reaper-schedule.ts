// This host's reaper schedule, created at worker start or brought up to date with the
// configuration (interval, grace), so a restart never adds a second one. Whether an operator paused
// it in the Web UI is theirs and is kept.
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { Config } from '../lib/config.ts';
import { reaperInput, reaperScheduleId } from '../lib/reaper.ts';
import { reaper } from '../workflows/reaper/workflow.ts';

export async function ensureReaperSchedule(client: Client, config: Config): Promise<'created' | 'updated'> {
  const scheduleId = reaperScheduleId(config);
  const spec = { intervals: [{ every: msToNumber(config.reaper.interval as Duration) }] };
  // The schedule appends the time to the workflow id: one run per interval, each in the Web UI with its report.
  const action: ScheduleOptionsStartWorkflowAction<typeof reaper> = {
    type: 'startWorkflow',
    workflowType: reaper,
    workflowId: scheduleId,
    taskQueue: config.workers.orchestrationQueue,
    args: [reaperInput(config)],
    staticSummary: `reaper of host ${config.workers.hostId}: what closed tasks left there`,
  };
  // A reaper still running when the next one is due: that one is skipped, never run beside it.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies: { ...previous.policies, ...policies } }));
  return 'updated';
}
