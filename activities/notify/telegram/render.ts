// A task's one Telegram message, rendered from its state as it is now (so the message edited in
// place always carries the whole current picture, whichever event prompted the edit), or from the
// notification alone when the state cannot be read. HTML parse mode: we escape <, > and &, which is
// all Telegram's HTML needs, and keep the visible text within Telegram's 4096 characters.
import type { TaskState } from '../../../workflows/task/state.ts';
import type { Notification } from '../../../workflows/task/types.ts';

export const MAX_VISIBLE_CHARS = 4096;
const MAX_DETAIL_CHARS = 300;

export type ButtonAction = 'approve' | 'reject' | 'retry';

export interface RenderedMessage {
  text: string;
  /** The buttons that can act on the task now; each becomes a stored token (see telegram_buttons). */
  buttons: Array<{ label: string; action: ButtonAction }>;
  /** The PR head the message shows, which an Approve or Reject press decides for. */
  headSha?: string;
}

export const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** What a reader sees of our own HTML: tags dropped, each entity one character. */
export const visibleLength = (html: string) => html.replace(/<[^>]*>/g, '').replace(/&(lt|gt|amp|quot);/g, '_').length;

const cut = (s: string, max = MAX_DETAIL_CHARS) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

const STATUS_MARK: Record<TaskState['status'], string> = {
  running: '▶️',
  awaiting_approval: '🟢',
  needs_human: '✋',
  merged: '✅',
  rejected: '⏹️',
  aborted: '⏹️',
  failed: '❌',
};

/** A link Telegram accepts (http, https, tg), else the URL as text (the local forge's `local://…`). */
function link(url: string, label: string): string {
  return /^(https?|tg):\/\//.test(url) ? `<a href="${escapeHtml(url).replace(/"/g, '&quot;')}">${escapeHtml(label)}</a>` : `${escapeHtml(label)} (${escapeHtml(url)})`;
}

/** Lines kept whole while they fit; past the limit the rest is replaced by one line saying so. */
function fit(lines: string[], footer: string[]): string {
  const text = (kept: string[]) => [...kept, ...footer].join('\n');
  if (visibleLength(text(lines)) <= MAX_VISIBLE_CHARS) return text(lines);
  const kept = [...lines];
  const cutLine = () => `… ${lines.length - kept.length} more lines: <code>swarmflow task status</code> has them`;
  while (kept.length > 0 && visibleLength(text([...kept, cutLine()])) > MAX_VISIBLE_CHARS) kept.pop();
  return text([...kept, cutLine()]);
}

/** What an event said: the message when the task's state cannot be read. */
export type EventText = Pick<Notification, 'taskId' | 'title' | 'message' | 'link'>;

export function renderTask(state: TaskState | undefined, n: EventText): RenderedMessage {
  if (!state) {
    const lines = [`<b>${escapeHtml(cut(n.title, 500))}</b>`, escapeHtml(cut(n.message, 3_000)), ...(n.link ? [link(n.link, 'PR')] : [])];
    return { text: fit(lines, [`<code>${escapeHtml(n.taskId)}</code>`]), buttons: [] };
  }
  const pr = state.checks.pr;
  const headSha = state.approval?.headSha ?? pr?.headSha;
  const lines = [`<b>${escapeHtml(cut(state.spec.title, 500))}</b>`, `${STATUS_MARK[state.status]} <b>${escapeHtml(state.status.replace('_', ' '))}</b> · step ${escapeHtml(state.step.replace('_', ' '))} · attempt ${state.attempt}/${state.attemptLimit}`];
  if (pr) lines.push(`${link(pr.url, `PR #${pr.number}`)} (${escapeHtml(pr.state)}) at <code>${escapeHtml((headSha ?? pr.headSha).slice(0, 12))}</code>`);
  if (state.usage) lines.push(`Cost: $${state.usage.costUsd.toFixed(4)} (${state.usage.runs} agent run${state.usage.runs === 1 ? '' : 's'})`);
  if (state.status === 'needs_human' && state.blocker) lines.push('', `<b>Blocker</b>: ${escapeHtml(cut(state.blocker, 1_500))}`);
  if (state.outcome) lines.push('', `<b>Outcome</b>: ${escapeHtml(cut(state.outcome.summary, 1_000))}`);
  if (state.merge) lines.push(`Merged as <code>${escapeHtml(state.merge.sha.slice(0, 12))}</code>`);
  if (state.decision) lines.push(`${state.decision.decision === 'approve' ? 'Approved' : 'Rejected'} by ${escapeHtml(state.decision.by)}`);
  if (state.dod) {
    lines.push('', `<b>Definition of Done</b>${state.dod.readyForApproval ? ' (met)' : ''}`);
    for (const item of state.dod.items) lines.push(`${item.ok ? '✓' : '✗'} ${escapeHtml(item.label)}${item.detail ? `: ${escapeHtml(cut(item.detail))}` : ''}`);
  }
  const buttons: RenderedMessage['buttons'] =
    state.status === 'awaiting_approval' && headSha
      ? [
          { label: '✅ Approve', action: 'approve' },
          { label: '⏹️ Reject', action: 'reject' },
        ]
      : state.status === 'needs_human'
        ? [{ label: '🔁 Retry', action: 'retry' }]
        : [];
  return { text: fit(lines, ['', `<code>${escapeHtml(state.spec.id)}</code>`]), buttons, ...(headSha ? { headSha } : {}) };
}
