import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createNotifyActivities } from '../../activities/notify/index.ts';
import { CompositeNotifier, ConsoleNotifier, type Notifier } from '../../activities/notify/notifier.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import type { Notification } from '../../workflows/task/types.ts';

function jsonLogger(): { logger: SwarmLogger; lines: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: new SwarmLogger({ stream, format: 'json' }), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Runs the activity as a worker would, inside an activity context (its run and activity id make the event's key). */
const inActivity = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) =>
  new MockActivityEnvironment({ activityId: '12', workflowExecution: { workflowId: 'task-fix-login', runId: 'run-1' } }).run(fn, ...args);

const ready: Notification = { event: 'ready_for_approval', taskId: 'fix-login', title: 'Ready for approval: Fix login', message: 'PR #3 meets the Definition of Done', link: 'local://pr/3' };

describe('ConsoleNotifier', () => {
  it('writes one structured log line carrying the task id', async () => {
    const { logger, lines } = jsonLogger();
    const notifier: Notifier = new ConsoleNotifier(logger);
    await notifier.send(ready, 'key');
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ level: 'INFO', taskId: 'fix-login', event: 'ready_for_approval', message: 'notification: Ready for approval: Fix login', body: 'PR #3 meets the Definition of Done', link: 'local://pr/3' });
  });
});

describe('notify activity', () => {
  it('delivers through the notifier, keyed by its workflow run and activity id (the same for every retry of it)', async () => {
    const sent: Array<[Notification, string]> = [];
    const { logger } = jsonLogger();
    const { notify } = createNotifyActivities({ notifier: { send: (n, key) => Promise.resolve(void sent.push([n, key])) }, logger });
    await expect(inActivity(notify, ready)).resolves.toEqual({ delivered: true });
    expect(sent).toEqual([[ready, 'task-fix-login/run-1/12']]);
  });

  it('with Telegram configured, both notifiers get it; one failing does not keep it from the other', async () => {
    const { logger, lines } = jsonLogger();
    const broken: Notifier = { send: () => Promise.reject(new Error('outbox unreachable')) };
    const { notify } = createNotifyActivities({ notifier: new CompositeNotifier([new ConsoleNotifier(logger), broken]), logger });
    await expect(inActivity(notify, ready)).resolves.toEqual({ delivered: false, error: 'outbox unreachable' });
    expect(lines().map((l) => l.message)).toEqual(['notification: Ready for approval: Fix login', 'notification not delivered']);
  });

  it('never throws: a failing notifier is logged and reported as not delivered', async () => {
    const { logger, lines } = jsonLogger();
    const broken: Notifier = { send: () => Promise.reject(new Error('telegram: 502 Bad Gateway')) };
    await expect(inActivity(createNotifyActivities({ notifier: broken, logger }).notify, ready)).resolves.toEqual({ delivered: false, error: 'telegram: 502 Bad Gateway' });
    expect(lines()).toEqual([expect.objectContaining({ level: 'WARN', taskId: 'fix-login', event: 'ready_for_approval', error: 'telegram: 502 Bad Gateway' })]);
  });

  it('also survives a notifier that throws synchronously, or throws a non-Error', async () => {
    const { logger } = jsonLogger();
    const throwing: Notifier = {
      send: () => {
        throw new Error('no chat id configured');
      },
    };
    await expect(inActivity(createNotifyActivities({ notifier: throwing, logger }).notify, ready)).resolves.toEqual({ delivered: false, error: 'no chat id configured' });
    const stringly: Notifier = { send: () => Promise.reject('rate limited') }; // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors
    await expect(inActivity(createNotifyActivities({ notifier: stringly, logger }).notify, ready)).resolves.toEqual({ delivered: false, error: 'rate limited' });
  });
});
