// The background sender the worker owns: it drains the chat's outbox in order, one event at a
// time, so the notify activity only writes a row and no workflow ever waits on Telegram. Each
// event renders the task's current state into its one message: sendMessage the first time,
// editMessageText after. Flood control's retry_after is waited out, Telegram's 5xx and an
// unreachable API are retried with a capped backoff; a refusal (400, 403) fails that event only.
//
// Exactly once: the row is marked `sending` (with the call it is about to make) before the call
// goes out, and `sent` with the message id in one transaction after. A sender that finds a
// `sending` sendMessage at start knows its process died in between: Telegram may have the
// message, so it is never sent again (in_doubt), and the task's next event starts a fresh message
// carrying the whole state. A sendMessage that timed out is in doubt the same way. Edits repeat
// harmlessly ("message is not modified" counts as done), so an edit in flight is just done again.
//
// One sender per chat at a time: it holds a Postgres advisory lock for the chat on a connection of
// its own, so with several orchestration workers one drains and the others wait to take over.
import type { Logger } from '@temporalio/common';
import type pg from 'pg';
import type { Db } from '../../store/db.ts';
import type { TaskState } from '../../../workflows/task/state.ts';
import { notModified, TelegramError, type BotApi, type InlineKeyboard, type TgMessage } from './api.ts';
import { renderTask } from './render.ts';
import { buttonData, forgetMessage, markFailed, markInDoubt, markRetry, markSending, markSent, messageOf, nextOpen, pruneOutbox, settleInDoubt, type OutboxRow } from './store.ts';

export interface SenderDeps {
  api: BotApi;
  db: Db;
  chatId: string;
  /** The task's state now, or undefined when it cannot be read (the message then says what the event said). */
  stateOf: (taskId: string) => Promise<TaskState | undefined>;
  logger: Logger;
  /** Retry backoff for 5xx and network errors: doubling from minMs up to maxMs. */
  backoff?: { minMs: number; maxMs: number };
  /** How often an idle sender looks at the outbox without being woken (another worker's events). */
  idleMs?: number;
}

const chatValue = (chatId: string): number | string => (/^-?\d+$/.test(chatId) ? Number(chatId) : chatId);

export class TelegramSender {
  private readonly stopping = new AbortController();
  private wakeUp: (() => void) | undefined;
  /** A wake that came while no sleep was waiting (mid-query): the next sleep returns at once. */
  private woken = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: SenderDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Something was queued: look now rather than at the next idle tick. */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping.signal.aborted || this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    const { db, chatId, logger } = this.deps;
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      let lock: pg.PoolClient | undefined;
      try {
        lock = await db.connect();
        const { rows } = await lock.query<{ locked: boolean }>("SELECT pg_try_advisory_lock(hashtext('swarmflow-telegram:' || $1)) AS locked", [chatId]);
        if (!rows[0]?.locked) {
          // Another worker sends for this chat; take over if it goes.
          lock.release();
          lock = undefined;
          await this.sleep(this.deps.idleMs ?? 5_000);
          continue;
        }
        // The lock lives as long as its connection: losing it means another worker may take over.
        let lost = false;
        lock.on('error', () => {
          lost = true;
          this.wake();
        });
        for (const row of await settleInDoubt(db, chatId)) logger.warn('telegram message in doubt: not sent again; the next event sends a fresh message', { taskId: row.task_id, event: row.event });
        await pruneOutbox(db, chatId);
        failures = 0;
        await this.drain(() => lost);
        if (lost) throw new Error('the connection holding the chat lock was lost');
      } catch (err) {
        // Postgres went away (or the lock's connection did): start over once it is back.
        failures += 1;
        logger.warn('telegram sender paused: the outbox is unreachable', { error: (err as Error).message });
        await this.sleep(Math.min(1_000 * 2 ** failures, 30_000));
      } finally {
        // Releasing the connection with the lock held would leave the lock on it in the pool.
        if (lock) await lock.query("SELECT pg_advisory_unlock(hashtext('swarmflow-telegram:' || $1))", [chatId]).then(() => lock!.release(), (err: unknown) => lock!.release(err as Error));
      }
    }
  }

  private async drain(lockLost: () => boolean): Promise<void> {
    while (!this.stopping.signal.aborted && !lockLost()) {
      const row = await nextOpen(this.deps.db, this.deps.chatId);
      if (!row) {
        await this.sleep(this.deps.idleMs ?? 5_000);
        continue;
      }
      const wait = row.not_before.getTime() - Date.now();
      if (wait > 0) {
        // In order per chat: the events behind it wait too (flood control is the chat's).
        await this.sleep(wait);
        continue;
      }
      await this.deliver(row);
    }
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const { api, db, chatId, logger } = this.deps;
    const state = await this.deps.stateOf(row.task_id).catch(() => undefined);
    const rendered = renderTask(state, row.notification);
    const buttons = await Promise.all(rendered.buttons.map(async (b) => ({ text: b.label, callback_data: await buttonData(db, { taskId: row.task_id, headSha: rendered.headSha ?? null, action: b.action }) })));
    const markup: InlineKeyboard | undefined = buttons.length > 0 ? { inline_keyboard: [buttons] } : undefined;
    const body = { chat_id: chatValue(chatId), text: rendered.text, parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...(markup ? { reply_markup: markup } : {}) };
    const messageId = await messageOf(db, chatId, row.task_id);
    const action = messageId === undefined ? 'send' : 'edit';
    await markSending(db, row.id, action);
    try {
      if (messageId === undefined) {
        const message = await api.call<TgMessage>('sendMessage', body);
        await markSent(db, row, message.message_id);
      } else {
        await api.call('editMessageText', { ...body, message_id: messageId }).catch((err: unknown) => {
          if (!notModified(err)) throw err;
        });
        await markSent(db, row);
      }
    } catch (err) {
      if (!(err instanceof TelegramError)) throw err;
      if (action === 'edit' && err.code === 400 && /message to edit not found/i.test(err.description)) {
        // Deleted in the chat: this event sends a new one.
        await forgetMessage(db, chatId, row.task_id);
        await markRetry(db, row.id, 0, err.message);
      } else if (action === 'send' && err.maybeDelivered) {
        await markInDoubt(db, row.id, `${err.message}: it may have reached Telegram, so it is not sent again`);
      } else if (err.transient) {
        const { minMs, maxMs } = this.deps.backoff ?? { minMs: 1_000, maxMs: 300_000 };
        const delay = err.retryAfterMs ?? Math.min(minMs * 2 ** Math.min(row.attempts, 20), maxMs);
        logger.warn('telegram delivery delayed', { taskId: row.task_id, event: row.event, error: err.message, retryInMs: delay });
        await markRetry(db, row.id, delay, err.message);
      } else {
        logger.warn('telegram refused a message: that event is not delivered', { taskId: row.task_id, event: row.event, error: err.message });
        await markFailed(db, row.id, err.message);
      }
    }
  }
}
