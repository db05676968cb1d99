// The `signal` the webhook server is given in production: the task workflow's `forgeEvent` signal,
// sent to the latest run of `task-<id>` (so it follows continue-as-new). A workflow that does not
// exist or has closed makes the client throw WorkflowNotFoundError, which the server acknowledges.
import type { Client } from '@temporalio/client';
import { forgeEventSignal, type ForgeEvent } from '../../workflows/task/messages.ts';
import type { SignalFn } from './server.ts';

export function temporalSignal(client: Client): SignalFn {
  return async (workflowId: string, event: ForgeEvent) => {
    await client.workflow.getHandle(workflowId).signal(forgeEventSignal, event);
  };
}
