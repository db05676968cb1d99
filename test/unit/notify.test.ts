import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createNotifyActivities } from '../../activities/notify/index.ts';
import { ConsoleNotifier, type Notifier } from '../../activities/notify/notifier.ts';
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

const ready: Notification = { event: 'ready_for_approval', taskId: 'fix-login', title: 'Ready for approval: Fix login', message: 'PR #3 meets the Definition of Done', link: 'local://pr/3' };

describe('ConsoleNotifier', () => {
  it('writes one structured log line carrying the task id', async () => {
    const { logger, lines } = jsonLogger();
    await new ConsoleNotifier(logger).send(ready);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ level: 'INFO', taskId: 'fix-login', event: 'ready_for_approval', message: 'notification: Ready for approval: Fix login', body: 'PR #3 meets the Definition of Done', link: 'local://pr/3' });
  });
});

describe('notify activity', () => {
  it('delivers through the notifier', async () => {
    const sent: Notification[] = [];
    const { logger } = jsonLogger();
    const { notify } = createNotifyActivities({ notifier: { send: (n) => Promise.resolve(void sent.push(n)) }, logger });
    await expect(notify(ready)).resolves.toEqual({ delivered: true });
    expect(sent).toEqual([ready]);
  });

  it('never throws: a failing notifier is logged and reported as not delivered', async () => {
    const { logger, lines } = jsonLogger();
    const broken: Notifier = { send: () => Promise.reject(new Error('telegram: 502 Bad Gateway')) };
    await expect(createNotifyActivities({ notifier: broken, logger }).notify(ready)).resolves.toEqual({ delivered: false, error: 'telegram: 502 Bad Gateway' });
    expect(lines()).toEqual([expect.objectContaining({ level: 'WARN', taskId: 'fix-login', event: 'ready_for_approval', error: 'telegram: 502 Bad Gateway' })]);
  });

  it('also survives a notifier that throws synchronously, or throws a non-Error', async () => {
    const { logger } = jsonLogger();
    const throwing: Notifier = {
      send: () => {
        throw new Error('no chat id configured');
      },
    };
    await expect(createNotifyActivities({ notifier: throwing, logger }).notify(ready)).resolves.toEqual({ delivered: false, error: 'no chat id configured' });
    const stringly: Notifier = { send: () => Promise.reject('rate limited') }; // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors
    await expect(createNotifyActivities({ notifier: stringly, logger }).notify(ready)).resolves.toEqual({ delivered: false, error: 'rate limited' });
  });
});
