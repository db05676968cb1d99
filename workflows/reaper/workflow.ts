// The `reaper` workflow: removes what closed task workflows left on one host (its clone, tmux
// session, branch of record and task folder, and the PR a terminated task left open). A task terminated in the Web UI runs no cleanup of
// its own; this is that cleanup. Run by a schedule per host (workers/reaper-schedule.ts) and by
// `swarm reap`. Deterministic code only; the host's activities list and remove, Temporal's answer
// about each task is read by the activity that removes (see reapTask).
import { ActivityFailure, log, proxyActivities } from '@temporalio/workflow';
import type { HostActivities } from '../../activities/host/index.ts';
import type { TaskPr } from '../../activities/closed-task.ts';
import type { ReapReport, ReaperInput } from './types.ts';

export async function reaper({ hostQueue, graceMs }: ReaperInput): Promise<ReapReport> {
  const host = proxyActivities<HostActivities>({
    taskQueue: hostQueue,
    // A host nobody serves fails this run quickly; the schedule's next run asks again.
    scheduleToStartTimeout: '1 minute',
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '20 seconds',
    retry: { maximumInterval: '10 seconds', maximumAttempts: 3 },
  });
  /** What the task's own cleanup does to its PR; a forge that refuses is reported, not retried for ever. */
  async function closePr(pr: TaskPr): Promise<NonNullable<ReapReport['removed'][number]['pr']>> {
    try {
      await host.closePr(pr);
      return { number: pr.number, closed: true };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      return { number: pr.number, closed: false, error: err.cause?.message ?? err.message };
    }
  }
  const at = new Date();
  const closedBefore = new Date(at.getTime() - graceMs).toISOString();
  const report: ReapReport = { hostQueue, at: at.toISOString(), removed: [], kept: [] };
  // One task at a time: removing a clone is disk work on a host that also runs agents.
  for (const { taskId, repositories } of await host.listTaskLeftovers()) {
    try {
      const outcome = await host.reapTask({ taskId, repositories, closedBefore });
      if (!('removed' in outcome)) {
        report.kept.push(outcome.kept);
        continue;
      }
      if (outcome.openPr) outcome.removed.pr = await closePr(outcome.openPr);
      report.removed.push(outcome.removed);
    } catch (err) {
      // One task that cannot be removed does not keep the others; the next run tries it again.
      if (!(err instanceof ActivityFailure)) throw err;
      report.kept.push({ taskId, reason: `removing failed: ${err.cause?.message ?? err.message}` });
    }
  }
  log.info('reaped', { hostQueue, removed: report.removed, kept: report.kept });
  return report;
}
