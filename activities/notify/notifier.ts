// The notifications port: where "ready for approval", "escalated", "merged", "failed" go. The
// embedded default writes a log line; Telegram implements the same interface later.
import type { Logger } from '@temporalio/common';
import type { Notification } from '../../workflows/task/types.ts';

export interface Notifier {
  send(n: Notification): Promise<void>;
}

/** One structured log line per notification, carrying the task id. */
export class ConsoleNotifier implements Notifier {
  constructor(private readonly logger: Logger) {}

  send({ event, taskId, title, message, link }: Notification): Promise<void> {
    // `message` would overwrite the log line's own message field.
    this.logger.info(`notification: ${title}`, { taskId, event, body: message, link });
    return Promise.resolve();
  }
}
