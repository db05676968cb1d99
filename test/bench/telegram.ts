// Telegram event-to-message latency against the Bot API stand-in: one real task (dev server,
// embedded Postgres, instant scripted agent) with the Telegram notifier, sender and long poller
// of the worker. Measured:
//   ready      the notify activity's outbox row written → the stand-in received sendMessage
//              (Postgres's clock_timestamp() vs Date.now(): one machine, one clock)
//   events     N more events for the task, one at a time: notifier.send() called → the stand-in
//              received editMessageText (the outbox write, the wake, the state query, the render)
//   press      an approver's press injected → answerCallbackQuery received (getUpdates, the
//              signed decide update, which answers after the merge), and → the message edited to merged
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { CompositeNotifier, type Notifier } from '../../activities/notify/notifier.ts';
import { createTelegram } from '../../activities/notify/telegram/index.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import type { Notification } from '../../workflows/task/types.ts';
import { sampleRepo } from '../harness/task-testbed.ts';
import { startTelegramStandin } from '../harness/telegram/standin.ts';
import { progress, sleep } from './util.ts';
import { benchSection, startBenchWorld, WakeOnReadyNotifier, type Cleanup } from './world.ts';

const TASK_ID = 'bench-telegram';
const CHAT = -1009999;
const APPROVER = { id: 111, is_bot: false, first_name: 'Bench' };

export interface TelegramResult {
  n: number;
  readyMs: number;
  eventsMs: number[];
  pressAnsweredMs: number;
  pressEditedMs: number;
}

/** Resolves with the time `found` first holds, polled every 2 ms (the stand-in is in this process). */
async function when(found: () => number | undefined, timeoutMs = 30_000, what = 'the stand-in call'): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = found();
    if (at !== undefined) return at;
    if (Date.now() > deadline) throw new Error(`${what} did not come in ${timeoutMs} ms`);
    await sleep(2);
  }
}

export async function benchTelegram({ n, keep = false, onCleanup }: { n: number; keep?: boolean; onCleanup: (fn: Cleanup) => () => void }): Promise<TelegramResult> {
  const { defer, cleanUp, logger, dir } = benchSection('telegram', { keep, onCleanup });
  try {
    const tg = await startTelegramStandin();
    defer(() => tg.close());
    // The world builds the worker before its database exists; Telegram joins once it does.
    const wake = new WakeOnReadyNotifier();
    const late: { telegram?: Notifier } = {};
    const notifier: Notifier = { send: (x, key) => new CompositeNotifier([wake, ...(late.telegram ? [late.telegram] : [])]).send(x, key) };
    const { env, config, database, orchestration, host } = await startBenchWorld({
      dir,
      id: `benchtg${process.pid}`,
      approver: { name: 'bench', telegram: APPROVER.id },
      notifier,
      logger,
      defer,
      label: 'telegram',
      configEnv: { TELEGRAM_BOT_TOKEN: tg.token, SWARM_TELEGRAM_CHAT_ID: String(CHAT), TELEGRAM_API_ROOT: tg.apiRoot },
    });
    const client = SwarmClient.fromClient(env.client, config);
    const telegram = createTelegram({ config, db: database.db, client, logger, pollSeconds: 10 })!;
    late.telegram = telegram.notifier;
    const repo = sampleRepo({ scenario: [{ files: { 'bench.txt': 'telegram\n' }, commit: 'bench: telegram' }] });
    if (!keep) defer(() => rmSync(dirname(repo), { recursive: true, force: true }));

    let result: TelegramResult | undefined;
    await orchestration.runUntil(
      host.runUntil(async () => {
        await telegram.start();
        try {
          progress('telegram: running a task to its approval gate');
          await client.startTask({ id: TASK_ID, repository: repo, title: 'Telegram bench', description: 'Write bench.txt.', acceptanceCriteria: ['bench.txt exists'], shape: 'backend', agent: 'scripted' });
          const sentAt = await when(() => tg.calls.find((c) => c.method === 'sendMessage' && c.status === 200)?.at, 120_000, 'the ready message');
          const { rows } = await database.db.query<{ created: string }>("SELECT (extract(epoch FROM created_at) * 1000)::text AS created FROM telegram_outbox WHERE task_id = $1 AND event = 'ready_for_approval'", [TASK_ID]);
          const readyMs = sentAt - Number(rows[0]!.created);
          const message = tg.messages(CHAT)[0]!;

          progress(`telegram: ${n} more events for the task, one at a time`);
          const eventsMs: number[] = [];
          for (let i = 0; i < n; i++) {
            const edits = tg.calls.filter((c) => c.method === 'editMessageText').length;
            const event: Notification = { event: 'approval_reminder', taskId: TASK_ID, title: 'Still waiting for approval: Telegram bench', message: `reminder ${i}` };
            const t0 = Date.now();
            await telegram.notifier.send(event, `bench-event-${i}`);
            const at = await when(() => tg.calls.filter((c) => c.method === 'editMessageText')[edits]?.at);
            eventsMs.push(at - t0);
          }

          progress('telegram: an approver presses Approve');
          const approve = message.reply_markup!.inline_keyboard.flat().find((b) => /Approve/.test(b.text))!.callback_data!;
          const t0 = Date.now();
          const query = tg.press(CHAT, message.message_id, APPROVER, approve);
          const answeredAt = await when(() => (tg.answered.has(query) ? Date.now() : undefined), 60_000, 'the press answer');
          const editedAt = await when(() => tg.calls.find((c) => c.method === 'editMessageText' && c.at >= t0 && /Merged as/.test(String(c.params.text)))?.at, 60_000, 'the merged edit');
          const answer = tg.answered.get(query)?.text ?? '';
          if (!answer.startsWith('merged:')) throw new Error(`the press was answered "${answer}", not merged`);
          result = { n, readyMs, eventsMs, pressAnsweredMs: answeredAt - t0, pressEditedMs: editedAt - t0 };
        } finally {
          await telegram.stop();
        }
      }),
    );
    return result!;
  } finally {
    progress('telegram: stopping the stand-in, dev server and Postgres');
    await cleanUp();
  }
}
