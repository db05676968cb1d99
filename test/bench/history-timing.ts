// Where a workflow's wall time went, from its event history (server timestamps):
//   wall        first event → last event (WorkflowExecutionStarted → closed)
//   activities  the union of ActivityTaskStarted → Completed/Failed/TimedOut/Canceled intervals
//   approval    the idle gap before the workflow task that accepted the approval update (the
//               "human" — here the bench's own poll — not orchestration)
//   overhead    wall − activities − approval: workflow tasks, activity queueing, round trips
// plus its parts: workflow tasks (scheduled → completed) and activity queueing (scheduled → started).
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

export interface JsonEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  activityTaskStartedEventAttributes?: { scheduledEventId?: string };
  workflowTaskStartedEventAttributes?: { scheduledEventId?: string };
  workflowTaskCompletedEventAttributes?: { scheduledEventId?: string };
  [key: string]: unknown;
}

export interface HistoryTiming {
  events: number;
  wallMs: number;
  activityMs: number;
  approvalWaitMs: number;
  overheadMs: number;
  workflowTaskMs: number;
  activityQueueMs: number;
  workflowTasks: number;
  /** Workflow tasks that failed or timed out (a worker's error, a nondeterminism, a lost worker). */
  failedWorkflowTasks: number;
  activities: number;
  /** Run time per activity type (summed over its executions). */
  byActivity: Record<string, number>;
}

const ACTIVITY_CLOSED = ['COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED'].map((s) => `EVENT_TYPE_ACTIVITY_TASK_${s}`);

function unionMs(intervals: Array<[number, number]>): number {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of sorted) {
    if (a > end) {
      total += b - a;
      end = b;
    } else if (b > end) {
      total += b - end;
      end = b;
    }
  }
  return total;
}

/** Milliseconds since the epoch, keeping the sub-millisecond part of RFC 3339 nanoseconds. */
export function time(e: JsonEvent): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(e.eventTime);
  if (!m) return Date.parse(e.eventTime);
  return Date.parse(`${m[1]}Z`) + Number(`0.${m[2] ?? '0'}`) * 1000;
}

export function historyTiming(history: Parameters<typeof historyToJSON>[0]): HistoryTiming {
  const events = (JSON.parse(historyToJSON(history)) as { events: JsonEvent[] }).events;
  const byId = new Map(events.map((e) => [e.eventId, e]));
  const attrs = (e: JsonEvent): Record<string, string | undefined> => {
    const key = Object.keys(e).find((k) => k.endsWith('EventAttributes'));
    return (key ? e[key] : {}) as Record<string, string | undefined>;
  };

  const activityRuns: Array<[number, number]> = [];
  const byActivity: Record<string, number> = {};
  let activityQueueMs = 0;
  let workflowTaskMs = 0;
  let workflowTasks = 0;
  let failedWorkflowTasks = 0;
  let approvalWaitMs = 0;
  for (const [i, e] of events.entries()) {
    if (ACTIVITY_CLOSED.includes(e.eventType)) {
      const a = attrs(e);
      const started = byId.get(a.startedEventId ?? '');
      const scheduled = byId.get(a.scheduledEventId ?? '');
      const begin = started ? time(started) : scheduled ? time(scheduled) : time(e);
      activityRuns.push([begin, time(e)]);
      const name = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      byActivity[name] = (byActivity[name] ?? 0) + (time(e) - begin);
      if (started && scheduled) activityQueueMs += time(started) - time(scheduled);
    } else if (e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED' || e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_FAILED' || e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT') {
      const scheduled = byId.get(attrs(e).scheduledEventId ?? '');
      if (scheduled) workflowTaskMs += time(e) - time(scheduled);
      workflowTasks += 1;
      if (e.eventType !== 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED') failedWorkflowTasks += 1;
    } else if (e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED') {
      // The workflow task that carried the update, and the idle gap before it was scheduled.
      let j = i - 1;
      while (j > 0 && events[j]!.eventType !== 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED') j--;
      if (j > 0) approvalWaitMs += time(events[j]!) - time(events[j - 1]!);
    }
  }
  const wallMs = events.length > 0 ? time(events.at(-1)!) - time(events[0]!) : 0;
  const activityMs = unionMs(activityRuns);
  return {
    events: events.length,
    wallMs,
    activityMs,
    approvalWaitMs,
    overheadMs: wallMs - activityMs - approvalWaitMs,
    workflowTaskMs,
    activityQueueMs,
    workflowTasks,
    failedWorkflowTasks,
    activities: activityRuns.length,
    byActivity,
  };
}
