// Where presses and commands come from. Long polling: errors and flood control on getUpdates are
// outlasted, each update is handled once and acknowledged by the next offset, stop() cuts a long
// poll short. Webhook mode: setWebhook is called with our URL, the secret token and the update types we take;
// the endpoint refuses any request without Telegram's X-Telegram-Bot-Api-Secret-Token, and an
// update that carries it is handled like a polled one (here: an unlisted presser refused).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@temporalio/client';
import { BotApi, type TgMessage, type TgUpdate } from '../../activities/notify/telegram/api.ts';
import { LongPoller } from '../../activities/notify/telegram/updates.ts';
import { createTelegram, type Telegram } from '../../activities/notify/telegram/index.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { loadConfig } from '../../lib/config.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { eventually } from '../harness/task-testbed.ts';
import { tempDir } from '../harness/paths.ts';
import { startTelegramStandin, type TelegramStandin } from '../harness/telegram/standin.ts';

const CHAT = 5150;
const SECRET = 'hook_secret-1';
let tg: TelegramStandin;
let database: TestDatabase;
let telegram: Telegram;
beforeAll(async () => {
  tg = await startTelegramStandin();
  database = await freshDatabase();
  const config = loadConfig({
    env: {
      SWARM_STATE_DIR: tempDir('tg-webhook'),
      TELEGRAM_BOT_TOKEN: tg.token,
      SWARM_TELEGRAM_CHAT_ID: String(CHAT),
      TELEGRAM_API_ROOT: tg.apiRoot,
      SWARM_TELEGRAM_MODE: 'webhook',
      SWARM_TELEGRAM_WEBHOOK_URL: 'https://swarm.example.com/telegram',
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      SWARM_TELEGRAM_WEBHOOK_PORT: String(await freePort()),
      SWARM_APPROVERS: '[{"name":"alice","telegram":111}]',
    },
  });
  // An unlisted press never reaches Temporal: the client's lazy connection is never opened.
  telegram = createTelegram({ config, db: database.db, client: SwarmClient.fromClient(new Client(), config), logger: new SwarmLogger({ level: 'ERROR' }) })!;
  await telegram.start();
});
afterAll(async () => {
  await telegram?.stop();
  await database?.drop();
  await tg?.close();
});

const post = (body: unknown, headers: Record<string, string> = {}) => fetch(telegram.webhookAddress!, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('Telegram webhook mode', () => {
  it('sets the webhook with its secret, refuses requests without it, and handles updates that carry it', async () => {
    expect(tg.webhook).toEqual({ url: 'https://swarm.example.com/telegram', secret_token: SECRET, allowed_updates: ['message', 'callback_query'] });
    expect(telegram.webhookAddress).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/telegram$/);

    const api = new BotApi({ apiRoot: tg.apiRoot, token: tg.token });
    const message = await api.call<TgMessage>('sendMessage', { chat_id: CHAT, text: 'ready', reply_markup: { inline_keyboard: [[{ text: 'Approve', callback_data: 'sf1:aaaaaaaaaaaaaaaaaaaaaa' }]] } });
    const queryId = tg.press(CHAT, message.message_id, { id: 666, is_bot: false, first_name: 'Mallory' }, 'sf1:aaaaaaaaaaaaaaaaaaaaaa');
    const update = { update_id: 1, callback_query: { id: queryId, from: { id: 666, is_bot: false, first_name: 'Mallory' }, message, chat_instance: '1', data: 'sf1:aaaaaaaaaaaaaaaaaaaaaa' } };

    expect((await post(update)).status).toBe(401);
    expect((await post(update, { 'X-Telegram-Bot-Api-Secret-Token': 'hook_secret-2' })).status).toBe(401);
    expect((await fetch(telegram.webhookAddress!)).status).toBe(404);
    expect(tg.answered.size).toBe(0);
    expect((await post({ not: 'an update' }, { 'X-Telegram-Bot-Api-Secret-Token': SECRET })).status).toBe(400);

    expect((await post(update, { 'X-Telegram-Bot-Api-Secret-Token': SECRET })).status).toBe(200);
    expect(tg.answered.get(queryId)).toEqual({ text: 'refused: Telegram user 666 is not an approver of this swarm', show_alert: true });
    // No getUpdates in webhook mode (Telegram would answer 409).
    expect(tg.calls.filter((c) => c.method === 'getUpdates')).toEqual([]);
  });
});

describe('Telegram long polling', () => {
  it('outlasts getUpdates errors and flood control, handles each update once, acknowledges it, and stops at once', async () => {
    const standin = await startTelegramStandin();
    const handled: TgUpdate[] = [];
    const poller = new LongPoller(new BotApi({ apiRoot: standin.apiRoot, token: standin.token }), (u) => Promise.resolve(void handled.push(u)), new SwarmLogger({ level: 'ERROR' }), 5);
    try {
      standin.answerNext('getUpdates', { status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } });
      standin.floodNext('getUpdates', 1);
      await poller.start();
      const alice = { id: 111, is_bot: false, first_name: 'Alice' };
      standin.say(CHAT, alice, '/tasks');
      standin.say(CHAT, alice, '/status x');
      await eventually(() => Promise.resolve(handled.length), (n) => n === 2, 20_000);
      expect(handled.map((u) => u.message?.text)).toEqual(['/tasks', '/status x']);
      const polls = standin.calls.filter((c) => c.method === 'getUpdates');
      expect(polls.slice(0, 2).map((c) => c.status)).toEqual([502, 429]);
      // The flood's retry_after (1 s) was waited out before the next poll.
      expect(polls[2]!.at - polls[1]!.at).toBeGreaterThanOrEqual(1_000);
      // The poll after them acknowledges both (offset past the last), so they never come again.
      await eventually(() => Promise.resolve(standin.calls.filter((c) => c.method === 'getUpdates').at(-1)!.params), (p) => p.offset === handled[1]!.update_id + 1, 20_000);
      expect(standin.calls.find((c) => c.method === 'getUpdates')!.params).toMatchObject({ timeout: 5, allowed_updates: ['message', 'callback_query'] });
      expect(handled).toHaveLength(2);
      expect(standin.calls.filter((c) => c.method === 'deleteWebhook')).toHaveLength(1);
    } finally {
      const stopping = Date.now();
      await poller.stop();
      // A long poll in flight is aborted, not waited out.
      expect(Date.now() - stopping).toBeLessThan(1_000);
      await standin.close();
    }
  });
});
