// Whether a task's workflow has closed, asked of Temporal right before the reaper removes anything
// of it: the latest run of `task-<id>` decides, so an id started again is never reaped under its new run.
import { WorkflowNotFoundError, type Client, type WorkflowExecutionStatusName } from '@temporalio/client';
import { SwarmPrNumber, SwarmRepo } from '../workflows/search-attributes.ts';
import { taskWorkflowId } from '../workflows/task/spec.ts';

/** How a workflow can have ended; any other status (running, paused) keeps what the task has. */
const CLOSED: ReadonlySet<WorkflowExecutionStatusName> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);

/** A PR the task's own cleanup would have closed. */
export interface TaskPr {
  repository: string;
  number: number;
}

export type TaskRun = { closed: { status: WorkflowExecutionStatusName; closedAt: Date; openPr?: TaskPr } } | { kept: string };

/** The task's run if it closed before `closedBefore`, else why its leftovers stay. */
export async function closedTaskRun(client: Client, taskId: string, closedBefore: Date): Promise<TaskRun> {
  const workflowId = taskWorkflowId(taskId);
  let run;
  try {
    run = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    return { kept: `no workflow ${workflowId} in namespace ${client.options.namespace}: not this stack's, or closed longer ago than the namespace keeps workflows` };
  }
  const status = run.status.name;
  if (!CLOSED.has(status) || !run.closeTime) return { kept: `its workflow is ${status}` };
  // A run closed moments ago may still be running its own cleanup (or be about to be started again).
  if (run.closeTime > closedBefore) return { kept: `its workflow closed (${status}) at ${run.closeTime.toISOString()}, within the grace period` };
  // Terminated or timed out, no task code ran after it: its PR (search attributes) may still be open.
  const repository = run.typedSearchAttributes.get(SwarmRepo);
  const number = run.typedSearchAttributes.get(SwarmPrNumber);
  const uncleaned = (status === 'TERMINATED' || status === 'TIMED_OUT') && repository !== undefined && number !== undefined;
  return { closed: { status, closedAt: run.closeTime, ...(uncleaned ? { openPr: { repository, number } } : {}) } };
}
