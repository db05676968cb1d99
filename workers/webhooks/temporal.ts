// The `signal` and `tasksOf` the webhook server is given in production. `signal`: the task workflow's `forgeEvent` signal,
// sent to the latest run of `task-<id>` (so it follows continue-as-new). A workflow that does not
// exist or has closed makes the client throw WorkflowNotFoundError, which the server acknowledges.
import type { Client } from '@temporalio/client';
import { forgeEventSignal, type ForgeEvent } from '../../workflows/task/messages.ts';
import type { IntakeFn, SignalFn } from './server.ts';
import { startIssueIntake } from '../../client/swarm-client.ts';
import { SwarmRepo } from '../../workflows/search-attributes.ts';

export function temporalSignal(client: Client): SignalFn {
  return async (workflowId: string, event: ForgeEvent) => {
    await client.workflow.getHandle(workflowId).signal(forgeEventSignal, event);
  };
}

/**
 * The running task workflows of a repository: by the SwarmRepo search attribute when the server
 * has it, else every running task (each ignores an event of another repository).
 */
export function temporalTasksOf(client: Client, bySearchAttribute: boolean): (repository: string) => Promise<string[]> {
  return async (repository: string) => {
    const query = `WorkflowType = 'task' AND ExecutionStatus = 'Running'${bySearchAttribute ? ` AND ${SwarmRepo.name} = ${JSON.stringify(repository)}` : ''}`;
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
    return ids;
  };
}

/** The intake of a labelled issue: its workflow on the orchestration queue (see startIssueIntake). */
export function temporalIntake(client: Client, orchestrationQueue: string): IntakeFn {
  return async ({ repository, number, label, deliveryId }) => (await startIssueIntake(client, orchestrationQueue, { repository, number, trigger: { kind: 'label', label, deliveryId } })).workflowId;
}
