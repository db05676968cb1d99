// Postgres records of the Telegram notifier (migration 005): the outbox, each task's message, and
// what each button means. Every write is keyed, so a retried activity or a restarted sender
// writes nothing twice.
import { createHash } from 'node:crypto';
import type { Db } from '../../store/db.ts';
import type { ButtonAction, EventText } from './render.ts';

export interface OutboxRow {
  id: string;
  chat_id: string;
  event_key: string;
  task_id: string;
  event: string;
  notification: EventText;
  status: 'pending' | 'sending' | 'sent' | 'in_doubt' | 'failed';
  action: 'send' | 'edit' | null;
  attempts: number;
  not_before: Date;
}

/**
 * Queues an event for the chat (a notification's, or `refresh` after a press); the same key again
 * is the same event and is ignored.
 */
export async function enqueue(db: Db, chatId: string, key: string, event: string, n: EventText): Promise<void> {
  await db.query('INSERT INTO telegram_outbox (chat_id, event_key, task_id, event, notification) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chat_id, event_key) DO NOTHING', [chatId, key, n.taskId, event, JSON.stringify(n)]);
}

/** The chat's oldest open event: the next one to deliver, in order. */
export async function nextOpen(db: Db, chatId: string): Promise<OutboxRow | undefined> {
  const { rows } = await db.query<OutboxRow>("SELECT * FROM telegram_outbox WHERE chat_id = $1 AND status IN ('pending', 'sending') ORDER BY id LIMIT 1", [chatId]);
  return rows[0];
}

/**
 * After a restart: a sendMessage that was in flight may have reached Telegram, so it is not sent
 * again (in_doubt), and the task's message is forgotten so its next event sends a fresh one with
 * the whole state. An edit in flight is simply done again: an edit repeats harmlessly.
 */
export async function settleInDoubt(db: Db, chatId: string): Promise<OutboxRow[]> {
  const { rows } = await db.query<OutboxRow>(
    "UPDATE telegram_outbox SET status = 'in_doubt', done_at = clock_timestamp(), error = 'the process stopped after sendMessage went out and before its answer was recorded: not sent again' WHERE chat_id = $1 AND status = 'sending' AND action = 'send' RETURNING *",
    [chatId],
  );
  await db.query("UPDATE telegram_outbox SET status = 'pending', action = NULL WHERE chat_id = $1 AND status = 'sending'", [chatId]);
  return rows;
}

/** Delivered (or given up) events are kept a while for inspection, then dropped. */
export async function pruneOutbox(db: Db, chatId: string, olderThanDays = 30): Promise<void> {
  await db.query("DELETE FROM telegram_outbox WHERE chat_id = $1 AND status IN ('sent', 'in_doubt', 'failed') AND done_at < now() - $2 * interval '1 day'", [chatId, olderThanDays]);
}

/** Durably records that this call is about to go out (before it does). */
export async function markSending(db: Db, id: string, action: 'send' | 'edit'): Promise<void> {
  await db.query("UPDATE telegram_outbox SET status = 'sending', action = $2, attempts = attempts + 1 WHERE id = $1", [id, action]);
}

/** The event is delivered; a first send also records the task's message, in the same transaction. */
export async function markSent(db: Db, row: OutboxRow, messageId?: number): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query("UPDATE telegram_outbox SET status = 'sent', done_at = clock_timestamp(), error = NULL WHERE id = $1", [row.id]);
    if (messageId !== undefined) {
      await client.query('INSERT INTO telegram_messages (chat_id, task_id, message_id) VALUES ($1, $2, $3) ON CONFLICT (chat_id, task_id) DO UPDATE SET message_id = $3, updated_at = now()', [row.chat_id, row.task_id, messageId]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Tries the event again after `delayMs` (flood control's retry_after, or a backoff). */
export async function markRetry(db: Db, id: string, delayMs: number, error: string): Promise<void> {
  await db.query("UPDATE telegram_outbox SET status = 'pending', action = NULL, not_before = clock_timestamp() + $2 * interval '1 millisecond', error = $3 WHERE id = $1", [id, delayMs, error]);
}

/** A sendMessage that may have reached Telegram without our knowing: never sent again. */
export async function markInDoubt(db: Db, id: string, error: string): Promise<void> {
  await db.query("UPDATE telegram_outbox SET status = 'in_doubt', done_at = clock_timestamp(), error = $2 WHERE id = $1", [id, error]);
}

export async function markFailed(db: Db, id: string, error: string): Promise<void> {
  await db.query("UPDATE telegram_outbox SET status = 'failed', done_at = clock_timestamp(), error = $2 WHERE id = $1", [id, error]);
}

export async function messageOf(db: Db, chatId: string, taskId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ message_id: string | null }>('SELECT message_id FROM telegram_messages WHERE chat_id = $1 AND task_id = $2', [chatId, taskId]);
  return rows[0]?.message_id ? Number(rows[0].message_id) : undefined;
}

/** The task's message is gone (deleted in the chat): the next event sends a new one. */
export async function forgetMessage(db: Db, chatId: string, taskId: string): Promise<void> {
  await db.query('UPDATE telegram_messages SET message_id = NULL, updated_at = now() WHERE chat_id = $1 AND task_id = $2', [chatId, taskId]);
}

export interface ButtonMeaning {
  taskId: string;
  headSha: string | null;
  action: ButtonAction;
}

/** The callback_data of a button: a token derived from what it means, so rendering again gives the same data. */
export async function buttonData(db: Db, meaning: ButtonMeaning): Promise<string> {
  const token = createHash('sha256').update(JSON.stringify([meaning.taskId, meaning.headSha, meaning.action])).digest('base64url').slice(0, 22);
  await db.query('INSERT INTO telegram_buttons (token, task_id, head_sha, action) VALUES ($1, $2, $3, $4) ON CONFLICT (token) DO NOTHING', [token, meaning.taskId, meaning.headSha, meaning.action]);
  return `sf1:${token}`;
}

export async function buttonMeaning(db: Db, data: string): Promise<ButtonMeaning | undefined> {
  const token = /^sf1:([A-Za-z0-9_-]{22})$/.exec(data)?.[1];
  if (!token) return undefined;
  const { rows } = await db.query<{ task_id: string; head_sha: string | null; action: ButtonAction }>('SELECT task_id, head_sha, action FROM telegram_buttons WHERE token = $1', [token]);
  return rows[0] ? { taskId: rows[0].task_id, headSha: rows[0].head_sha, action: rows[0].action } : undefined;
}
