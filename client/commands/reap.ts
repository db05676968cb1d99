// `swarm reap`: runs this host's reaper now and prints what it removed of closed tasks, and what
// it left and why; and what `swarm status` says of the reaper's schedule. Operator tools of this
// host's stack, not of the typed client other services import.
import { ScheduleNotFoundError } from '@temporalio/client';
import { reaperInput, reaperScheduleId } from '../../lib/reaper.ts';
import type { ReapReport, ReapedTask } from '../../workflows/reaper/types.ts';
import type { reaper } from '../../workflows/reaper/workflow.ts';
import type { SwarmClient } from '../swarm-client.ts';
import { withClient } from './tasks.ts';

/** No worker polls a queue the command needs: the stack (or this host's worker) is not running. */
export class NoWorkerError extends Error {
  constructor(readonly taskQueue: string) {
    super(`no worker polls ${taskQueue}: start the stack with \`npm start\` in the swarmflow checkout (or this host's worker, SWARM_HOST_ID)`);
    this.name = 'NoWorkerError';
  }
}

/** This host's reaper schedule as the server has it, and its latest run. */
export interface ReaperSchedule {
  scheduleId: string;
  everyMs?: number;
  paused: boolean;
  nextRunAt?: string;
  lastRun?: { workflowId: string; runId: string; startedAt: string; status: string; report?: ReapReport };
}

/**
 * Runs this host's reaper now, as its schedule does, and answers what it removed. A `reap`
 * already running is joined, not run beside. Throws NoWorkerError when a worker it needs is not there.
 */
export async function reapNow(client: SwarmClient, timeout = '10 minutes'): Promise<ReapReport> {
  for (const { taskQueue, pollers } of await client.pollers()) if (pollers === 0) throw new NoWorkerError(taskQueue);
  // By name: the workflow's code is the workers' to load, not the CLI's.
  return client.temporal.workflow.execute<typeof reaper>('reaper', {
    taskQueue: client.config.workers.orchestrationQueue,
    workflowId: `${reaperScheduleId(client.config)}-now`,
    args: [reaperInput(client.config)],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowExecutionTimeout: timeout,
    staticSummary: `swarm reap: what closed tasks left on host ${client.config.workers.hostId}`,
  });
}

/** This host's reaper schedule and the report of its latest run, or undefined when there is no schedule. */
export async function reaperSchedule(client: SwarmClient): Promise<ReaperSchedule | undefined> {
  const scheduleId = reaperScheduleId(client.config);
  let schedule;
  try {
    schedule = await client.temporal.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
  const last = schedule.info.recentActions.at(-1);
  const described: ReaperSchedule = { scheduleId, everyMs: schedule.spec.intervals?.[0]?.every, paused: schedule.state.paused, nextRunAt: schedule.info.nextActionTimes[0]?.toISOString() };
  if (!last) return described;
  const { workflowId, firstExecutionRunId: runId } = last.action.workflow;
  const handle = client.temporal.workflow.getHandle<typeof reaper>(workflowId, runId);
  const { status } = await handle.describe();
  const report = status.name === 'COMPLETED' ? await handle.result() : undefined;
  return { ...described, lastRun: { workflowId, runId, startedAt: last.takenAt.toISOString(), status: status.name, ...(report ? { report } : {}) } };
}

/** `worktree, session, branch` of what was removed of one task. */
function removedParts(task: ReapedTask): string {
  const parts = [task.worktree && 'worktree', task.session && 'tmux session', task.branch && 'branch', task.taskFiles && 'task files', task.leftovers > 0 && `${task.leftovers} leftover process(es)`, task.logsKept > 0 && `${task.logsKept} attempt log(s) kept`, task.pr && (task.pr.closed ? `PR #${task.pr.number} closed` : `PR #${task.pr.number} not closed (${task.pr.error})`)];
  return parts.filter(Boolean).join(', ') || 'nothing left to remove';
}

/** One line per task, `removed` first. */
export function formatReapReport(report: ReapReport): string {
  const lines = [`reaper on ${report.hostQueue} at ${report.at}: ${report.removed.length} task(s) cleaned up, ${report.kept.length} left alone`];
  for (const t of report.removed) lines.push(`  removed  ${t.taskId}: ${removedParts(t)} (workflow ${t.workflowStatus} at ${t.closedAt})`);
  for (const t of report.kept) lines.push(`  kept     ${t.taskId}: ${t.reason}`);
  return lines.join('\n');
}

export async function reapCommand({ json }: { json?: boolean }): Promise<void> {
  const report = await withClient(reapNow);
  process.stdout.write(`${json ? JSON.stringify(report, null, 2) : formatReapReport(report)}\n`);
}
