// The outbox sender on its own, real Postgres and the stand-in: events in order and once each with
// two workers' senders on one chat, the chat lock's connection killed under it, Telegram's 5xx
// retried, a refusal failing only its own event, a message deleted in the chat sent anew. The
// task's state is not readable here (no workflow), so messages say what their event said: the
// sender's own fallback.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { BotApi } from '../../activities/notify/telegram/api.ts';
import { TelegramSender } from '../../activities/notify/telegram/sender.ts';
import { enqueue } from '../../activities/notify/telegram/store.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { eventually } from '../harness/task-testbed.ts';
import { startTelegramStandin, type TelegramStandin } from '../harness/telegram/standin.ts';

const CHAT = 777;
// pg_locks is the whole server's: other suites' databases take advisory locks too (migrations).
const CHAT_LOCKS = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
let database: TestDatabase;
let tg: TelegramStandin;
const senders: TelegramSender[] = [];
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(() => database?.drop());
beforeEach(async () => {
  tg = await startTelegramStandin();
  await database.db.query('TRUNCATE telegram_outbox, telegram_messages, telegram_buttons');
});
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.stop()));
  await tg.close();
});

function sender(): TelegramSender {
  const s = new TelegramSender({
    api: new BotApi({ apiRoot: tg.apiRoot, token: tg.token }),
    db: database.db,
    chatId: String(CHAT),
    stateOf: () => Promise.resolve(undefined),
    logger: new SwarmLogger({ level: 'ERROR' }),
    backoff: { minMs: 200, maxMs: 1_000 },
    idleMs: 100,
  });
  s.start();
  senders.push(s);
  return s;
}

const event = (taskId: string, i: number) => enqueue(database.db, String(CHAT), `${taskId}/${i}`, 'escalated', { taskId, title: `${taskId} event ${i}`, message: `step ${i}` });
const texts = () => tg.messages(CHAT).map((m) => m.text.split('\n')[0]);
const outbox = async () => (await database.db.query<{ event_key: string; status: string }>('SELECT event_key, status FROM telegram_outbox ORDER BY id')).rows.map((r) => `${r.event_key}:${r.status}`);
const settled = () => eventually(outbox, (rows) => rows.every((r) => !r.endsWith(':pending') && !r.endsWith(':sending')), 20_000);

describe('the Telegram outbox sender', () => {
  it('two workers on one chat: one sends, in order and once each; the other takes over when it stops', async () => {
    const first = sender();
    for (let i = 1; i <= 3; i++) await event('a', i);
    await event('a', 1); // the same key again: a retried activity
    first.wake();
    await settled();
    // A second worker's sender finds the chat taken and waits.
    const second = sender();
    await event('a', 4);
    await settled();
    // One message for the task, edited by each later event.
    expect(tg.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(1);
    expect(tg.calls.filter((c) => c.method === 'editMessageText').map((c) => String(c.params.text).split('\n')[0])).toEqual(['<b>a event 2</b>', '<b>a event 3</b>', '<b>a event 4</b>']);
    expect(await outbox()).toEqual(['a/1:sent', 'a/2:sent', 'a/3:sent', 'a/4:sent']);

    await first.stop();
    await event('b', 1);
    second.wake();
    await settled();
    expect(texts()).toEqual(['a event 4', 'b event 1']);
  });

  it('survives the chat lock’s connection being killed, and still sends each event once', async () => {
    sender();
    await event('c', 1);
    await settled();
    const { rows } = await database.db.query<{ pid: number }>(CHAT_LOCKS);
    expect(rows).toHaveLength(1);
    await database.db.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await event('c', 2);
    await settled();
    expect(await outbox()).toEqual(['c/1:sent', 'c/2:sent']);
    expect(tg.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(1);
    // A new connection holds the lock now.
    await eventually(async () => (await database.db.query<{ pid: number }>(CHAT_LOCKS)).rows, (r) => r.length === 1 && r[0]!.pid !== rows[0]!.pid, 20_000);
  });

  it('retries Telegram’s 5xx with a backoff; a refusal fails only its own event; a message deleted in the chat is sent anew', async () => {
    const s = sender();
    tg.answerNext('sendMessage', { status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } });
    await event('d', 1);
    s.wake();
    await settled();
    const [bad, good] = tg.calls.filter((c) => c.method === 'sendMessage');
    expect([bad!.status, good!.status]).toEqual([502, 200]);
    expect(good!.at - bad!.at).toBeGreaterThanOrEqual(200);

    tg.answerNext('sendMessage', { status: 403, body: { ok: false, error_code: 403, description: 'Forbidden: bot was kicked from the group chat' } });
    await event('e', 1);
    await event('e', 2);
    await settled();
    expect(await outbox()).toEqual(['d/1:sent', 'e/1:failed', 'e/2:sent']);

    // Deleted in the chat: the edit finds no message, so this event sends a new one.
    tg.messages(CHAT).splice(0);
    await event('d', 2);
    await settled();
    expect(texts()).toEqual(['d event 2']);
    expect((await database.db.query<{ error: string | null }>("SELECT error FROM telegram_outbox WHERE event_key = 'e/1'")).rows[0]!.error).toBe('Telegram sendMessage: 403 Forbidden: bot was kicked from the group chat');
  });
});
