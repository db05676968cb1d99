// The remote control: what a button press or a command in the chat does. Only the configured chat
// is heard, and only approvers whose `telegram` id is the presser's; anyone else is answered with
// the reason and nothing reaches a workflow. A listed press becomes the same validated decision as
// `swarmflow approve` (the decide update), signed by the orchestrator's key over the Telegram user
// id and the PR head the message showed; the workflow checks both.
import type { Logger } from '@temporalio/common';
import type { SwarmClient } from '../../../client/swarm-client.ts';
import type { Approver } from '../../../lib/config.ts';
import { signDecision, type SigningKey } from '../../../lib/keys.ts';
import type { TaskState } from '../../../workflows/task/state.ts';
import type { Db } from '../../store/db.ts';
import { TelegramError, type BotApi, type TgCallbackQuery, type TgMessage, type TgUpdate } from './api.ts';
import { escapeHtml, renderTask } from './render.ts';
import { buttonMeaning } from './store.ts';

/** What the remote control needs of the client: the same calls `swarmflow` makes. */
export type TaskControl = Pick<SwarmClient, 'decide' | 'retry' | 'getTask' | 'registry'>;

export interface RemoteDeps {
  api: BotApi;
  db: Db;
  chatId: string;
  approvers: Approver[];
  client: TaskControl;
  orchestratorKey: () => SigningKey;
  /** Re-renders the task's message after a press (queued like an event, keyed by the press). */
  refresh: (taskId: string, key: string) => Promise<void>;
  logger: Logger;
  /** How long a press waits for the workflow's answer before it answers "under way" (Telegram shows a spinner meanwhile). */
  answerWithinMs?: number;
}

/** The update types we ask Telegram for. */
export const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

/** Telegram caps a callback answer at 200 characters. */
const answerText = (s: string) => (s.length > 200 ? `${s.slice(0, 199)}…` : s);

/** The reason a workflow (or the client) refused, in its own words. */
function refusal(err: unknown): string {
  const e = err as Error & { cause?: Error };
  return e.name === 'WorkflowUpdateFailedError' ? (e.cause?.message ?? e.message) : e.message;
}

function outcome(state: TaskState, taskId: string): string {
  if (state.status === 'merged') return `merged: ${taskId}, PR #${state.checks.pr?.number ?? '?'} as ${state.merge?.sha.slice(0, 12) ?? '?'}`;
  if (state.status === 'rejected') return `rejected: ${taskId}`;
  return `approved, not merged: ${taskId} is ${state.status.replace('_', ' ')}: ${state.notes.at(-1)?.replace(/^\S+ /, '') ?? ''}`;
}

export class RemoteControl {
  constructor(private readonly deps: RemoteDeps) {}

  private approverOf(userId: number): Approver | undefined {
    return this.deps.approvers.find((a) => a.telegram === userId);
  }

  private inChat(chat: { id: number } | undefined): boolean {
    return chat !== undefined && String(chat.id) === this.deps.chatId;
  }

  /** Handles one update; never throws for what a user did (a refusal is an answer). */
  async handle(update: TgUpdate): Promise<void> {
    try {
      if (update.callback_query) await this.press(update.callback_query);
      else if (update.message) await this.command(update.message);
    } catch (err) {
      this.deps.logger.warn('telegram update not handled', { updateId: update.update_id, error: (err as Error).message });
    }
  }

  private async answer(query: TgCallbackQuery, text: string, alert = false): Promise<void> {
    await this.deps.api.call('answerCallbackQuery', { callback_query_id: query.id, text: answerText(text), show_alert: alert }).catch((err: unknown) => {
      // A query older than Telegram keeps it open cannot be answered any more; the message edit still tells.
      if (!(err instanceof TelegramError)) throw err;
      this.deps.logger.warn('telegram press not answered', { error: err.message });
    });
  }

  private async press(query: TgCallbackQuery): Promise<void> {
    if (!this.inChat(query.message?.chat)) return this.answer(query, 'refused: this bot answers only in its own chat', true);
    const approver = this.approverOf(query.from.id);
    if (!approver) return this.answer(query, `refused: Telegram user ${query.from.id} is not an approver of this swarm`, true);
    const meaning = await buttonMeaning(this.deps.db, query.data ?? '');
    if (!meaning) return this.answer(query, 'refused: this button is not one of ours (or is from a reset database)', true);
    const { taskId, headSha, action } = meaning;
    const work = (async () => {
      if (action === 'retry') return (await this.deps.client.retry(taskId, `retried from Telegram by ${approver.name}`, approver.name)).detail;
      if (!headSha) throw new Error('the message showed no PR head to decide for');
      const signed = signDecision(this.deps.orchestratorKey(), { channel: 'telegram', taskId, headSha, decision: action, telegramUserId: query.from.id });
      const state = await this.deps.client.decide(taskId, action === 'approve' ? { decision: 'approve', by: approver.name, signed } : { decision: 'reject', by: approver.name, reason: `rejected from Telegram by ${approver.name}`, signed });
      return outcome(state, taskId);
    })();
    const text = await Promise.race([
      work.then(
        (t) => t,
        (err: unknown) => `refused: ${refusal(err)}`,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve(`${action} taken: ${taskId} is working on it; this message follows`), this.deps.answerWithinMs ?? 10_000).unref()),
    ]);
    await this.answer(query, text, text.startsWith('refused'));
    // The message shows what the task does now; once more when a slow decision finishes.
    await this.deps.refresh(taskId, `press:${query.id}`);
    void work.then(
      () => this.deps.refresh(taskId, `press:${query.id}:done`),
      () => undefined,
    );
  }

  private async reply(text: string): Promise<void> {
    const chat_id = /^-?\d+$/.test(this.deps.chatId) ? Number(this.deps.chatId) : this.deps.chatId;
    await this.deps.api.call('sendMessage', { chat_id, text, parse_mode: 'HTML', link_preview_options: { is_disabled: true } }).catch(async (err: unknown) => {
      // A reply is answered now or not at all; one wait for flood control is worth it.
      if (!(err instanceof TelegramError) || err.code !== 429 || !err.retryAfterMs) throw err;
      await new Promise((r) => setTimeout(r, err.retryAfterMs));
      await this.deps.api.call('sendMessage', { chat_id, text, parse_mode: 'HTML', link_preview_options: { is_disabled: true } });
    });
  }

  private async command(message: TgMessage): Promise<void> {
    const match = /^\/(tasks|status)(?:@\w+)?(?:\s+(\S+))?\s*$/.exec(message.text ?? '');
    if (!match || !this.inChat(message.chat)) return;
    if (!message.from || !this.approverOf(message.from.id)) return this.reply(`refused: Telegram user ${message.from?.id ?? '?'} is not an approver of this swarm`);
    if (match[1] === 'tasks') return this.reply(await this.tasks());
    const id = match[2];
    if (!id) return this.reply('usage: /status &lt;task id&gt;');
    const state = await this.deps.client.getTask(id).catch(() => undefined);
    if (!state) return this.reply(`no task ${escapeHtml(id)}`);
    return this.reply(renderTask(state, { taskId: id, title: state.spec.title, message: '' }).text);
  }

  /** The open tasks, as `swarmflow tasks` lists them. */
  private async tasks(): Promise<string> {
    const { entries, more } = await this.deps.client.registry({ limit: 100 });
    const open = entries.filter((e) => e.status === 'running' || e.status === 'awaiting_approval' || e.status === 'needs_human');
    if (open.length === 0) return 'No open tasks.';
    const lines = open.slice(0, 50).map((e) => `• <code>${escapeHtml(e.id)}</code> ${escapeHtml(e.status.replace('_', ' '))}${'step' in e ? ` · ${escapeHtml(e.step.replace('_', ' '))}` : ''}${'description' in e ? `: ${escapeHtml(e.description.slice(0, 80))}` : ''}`);
    return [`<b>Open tasks</b> (${open.length}${more ? '+' : ''})`, ...lines, ...(open.length > 50 ? [`… and ${open.length - 50} more: swarmflow tasks`] : [])].join('\n');
  }
}
