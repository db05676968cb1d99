// The in-doubt window, for real: the worker process (`npm start`'s entrypoint) is SIGKILLed while
// the stand-in holds its sendMessage answer, so Telegram has the message and we never learnt its id.
// The restarted worker must not send that event again; the in-doubt message's buttons still work
// (what they mean was recorded before the send), and the task's next event starts a fresh message
// carrying the whole state.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { SwarmClient } from '../../client/swarm-client.ts';
import { loadConfig } from '../../lib/config.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { startDevServer, type DevServer } from '../../workers/temporal-dev-server.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';
import { startStackProcess, type StackProcess } from '../harness/stack-process.ts';
import { eventually, FEATURE_DONE, featureSpec, sampleRepo } from '../harness/task-testbed.ts';
import { startTelegramStandin, type TelegramStandin } from '../harness/telegram/standin.ts';

const CHAT = 424242;
const alice = { id: 111, is_bot: false, first_name: 'Alice' };

let server: DevServer;
let database: TestDatabase;
let tg: TelegramStandin;
let worker: StackProcess | undefined;
beforeAll(async () => {
  server = await startDevServer({ dbFilename: join(tempDir('tg-durable-temporal'), 'temporal.db'), port: await freePort(), headless: true, logger: new SwarmLogger({ level: 'WARN' }) });
  database = await freshDatabase();
  tg = await startTelegramStandin();
});
afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await worker?.exit;
  await tg?.close();
  await server?.stop();
  await database?.drop();
});

const soon = <T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000) => eventually(() => Promise.resolve(read()), done, timeoutMs);

describe('a worker SIGKILLed between send and record', () => {
  it('sends no second message for that event; the next event starts a fresh one', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      DATABASE_URL: database.url,
      SWARM_STATE_DIR: tempDir('tg-durable-state'),
      SWARM_HOST_ID: `tg-durable-${process.pid}`,
      SWARM_ORCHESTRATION_QUEUE: `tg-durable-${process.pid}`,
      SWARM_APPROVERS: JSON.stringify([{ name: 'alice', telegram: alice.id }]),
      TELEGRAM_BOT_TOKEN: tg.token,
      SWARM_TELEGRAM_CHAT_ID: String(CHAT),
      TELEGRAM_API_ROOT: tg.apiRoot,
      SWARM_LOG_FORMAT: 'json',
    };
    const config = loadConfig({ env });
    const client = await SwarmClient.connect({ config });
    const outbox = async () => (await database.db.query<{ event: string; status: string; action: string | null }>("SELECT event, status, action FROM telegram_outbox WHERE task_id = 'tg-kill' ORDER BY id")).rows;
    const sends = () => tg.calls.filter((c) => c.method === 'sendMessage');
    try {
      const held = tg.holdNext('sendMessage');
      worker = await startStackProcess(env);
      await client.startTask(featureSpec('tg-kill', sampleRepo({ scenario: [FEATURE_DONE] })));
      await held.arrived;
      // Telegram has the message; the worker has not had the answer.
      expect(tg.messages(CHAT)).toHaveLength(1);
      expect(await outbox()).toEqual([{ event: 'ready_for_approval', status: 'sending', action: 'send' }]);
      worker.child.kill('SIGKILL');
      await worker.exit;
      held.release();

      worker = await startStackProcess(env);
      await soon(outbox, (rows) => rows[0]?.status === 'in_doubt');
      expect(worker.stderr() + worker.stdout()).toContain('telegram message in doubt: not sent again');
      // Give a wrongly repeating sender its chance: the restarted one idles, and no message is repeated.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(sends()).toHaveLength(1);
      expect((await client.getTask('tg-kill')).status).toBe('awaiting_approval');

      // The message Telegram got still works: its buttons were recorded before it went out.
      const [message] = tg.messages(CHAT);
      const approve = message!.reply_markup!.inline_keyboard.flat().find((b) => /Approve/.test(b.text))!.callback_data!;
      const press = tg.press(CHAT, message!.message_id, alice, approve);
      const merged = await soon(() => client.getTask('tg-kill'), (s) => s.status === 'merged', 120_000);
      await soon(() => tg.answered.get(press), (a) => a !== undefined);
      expect(tg.answered.get(press)).toEqual({ text: `merged: tg-kill, PR #1 as ${merged.merge!.sha.slice(0, 12)}`, show_alert: false });

      // The next events start one fresh message with the whole state, edited from then on.
      const fresh = await soon(() => tg.messages(CHAT).filter((m) => m.from.is_bot && m.message_id !== message!.message_id), (ms) => ms.length === 1 && ms[0]!.text.includes(`Merged as ${merged.merge!.sha.slice(0, 12)}`));
      expect(fresh[0]!.text).toContain('Definition of Done (met)');
      expect(fresh[0]!.text).toContain('Approved by alice');
      await soon(outbox, (rows) => rows.every((r) => r.status !== 'pending' && r.status !== 'sending'));
      expect(sends()).toHaveLength(2);
      expect((await outbox()).map((r) => `${r.event}:${r.status}`)).toEqual(expect.arrayContaining(['ready_for_approval:in_doubt', 'merged:sent']));

      // SIGTERM still stops everything, the long poll in flight included, and promptly.
      const stopping = Date.now();
      worker.child.kill('SIGTERM');
      expect(await worker.exit).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(15_000);
      worker = undefined;
    } finally {
      await client.close();
    }
  }, 300_000);
});
