// The notifications port: where "ready for approval", "escalated", "merged", "failed" go. The
// embedded default writes a log line; Telegram (./telegram) implements the same interface, and
// with it configured both run (CompositeNotifier).
import type { Logger } from '@temporalio/common';
import type { Notification } from '../../workflows/task/types.ts';

export interface Notifier {
  /**
   * `key` names this event for good (the notify activity's workflow run and activity id): a retry
   * of the same activity passes the same key, so a notifier that keeps records sends it once.
   */
  send(n: Notification, key: string): Promise<void>;
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

/** Every notifier gets every notification; one failing does not keep it from the others. */
export class CompositeNotifier implements Notifier {
  constructor(private readonly notifiers: Notifier[]) {}

  async send(n: Notification, key: string): Promise<void> {
    const results = await Promise.allSettled(this.notifiers.map((x) => x.send(n, key)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    if (failed.length > 0) throw new Error(failed.join('; '));
  }
}
