// The notify activity. A notification is a courtesy: its failure is logged and reported to the
// workflow, never thrown, so no task ever fails (or retries a step) because a message did not go out.
import { Context } from '@temporalio/activity';
import type { Logger } from '@temporalio/common';
import type { Notification } from '../../workflows/task/types.ts';
import type { Notifier } from './notifier.ts';

export type NotifyResult = { delivered: true } | { delivered: false; error: string };

export interface NotifyDeps {
  notifier: Notifier;
  logger: Logger;
}

export function createNotifyActivities({ notifier, logger }: NotifyDeps) {
  return {
    notify: async (n: Notification): Promise<NotifyResult> => {
      try {
        // The same for every retry of this activity, and unique to it: its run and its activity id.
        const { workflowExecution: run, activityId } = Context.current().info;
        if (!run) throw new Error('notify runs only for a workflow');
        await notifier.send(n, `${run.workflowId}/${run.runId}/${activityId}`);
        return { delivered: true };
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        logger.warn('notification not delivered', { taskId: n.taskId, event: n.event, error });
        return { delivered: false, error };
      }
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
