// Every message of the task workflow, defined once: the workflow sets handlers on these objects
// and the client sends them. Imports only @temporalio/workflow and pure helpers, so both sides can load it.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { CONTROL_CHARACTER, LONE_SURROGATE, oneLine } from '../policy/text.ts';
import type { TaskState } from './state.ts';
import type { TaskSpec } from './spec.ts';

/**
 * The proof that `by` made a decision, bound to the task and the PR head it was made for: the
 * approver's own Ed25519 signature (channel `key`: `swarm approve`, the client), or the
 * orchestrator's over a Telegram press by the approver's Telegram user id (channel `telegram`).
 * Over `decisionMessage` (workflows/policy/signatures.ts). A GitHub review needs none: the workflow
 * reads it from GitHub itself.
 */
export interface SignedDecision {
  channel: 'key' | 'telegram';
  taskId: string;
  headSha: string;
  /** When it was signed (ISO 8601). */
  at: string;
  /** 128 hex digits. */
  signature: string;
  /** The Telegram user who pressed the button (channel `telegram`). */
  telegramUserId?: number;
}
export interface ApproveInput {
  by: string;
  comment?: string;
  signed?: SignedDecision;
}
export interface RejectInput {
  by: string;
  reason: string;
  signed?: SignedDecision;
}
export interface RedirectInput {
  message: string;
  by?: string;
}
/** The longest redirect the agent's session takes (the sendToSession activity's limit). */
export const REDIRECT_MAX_CHARS = 10_000;

/** Why a redirect's text cannot go to an agent, or undefined: checked by the client and by the workflow. */
export function redirectProblem(message: unknown): string | undefined {
  if (typeof message !== 'string') return 'the message must be text';
  if (message.length > REDIRECT_MAX_CHARS) return `the message is ${message.length} characters long, more than ${REDIRECT_MAX_CHARS}`;
  // It is typed into a terminal as one line: control characters and line breaks are dropped.
  if (oneLine(message) === '') return 'the message has no printable text (only whitespace or control characters)';
  return undefined;
}

/**
 * What became of a redirect. `delivered`: the agent has it (typed into its live session). `queued`:
 * not yet: its headless CLI resumes the session with it after the current turn, or (no live
 * session) it goes into the prompt of the task's next run or attempt. The task's state follows it.
 */
export interface RedirectResult {
  status: 'delivered' | 'queued';
  detail: string;
}

export interface RetryInput {
  guidance: string;
  by?: string;
}
export interface AbortInput {
  by?: string;
  reason?: string;
}
export type DecideInput = ({ decision: 'approve' } & ApproveInput) | ({ decision: 'reject' } & RejectInput);

/** The longest guidance, reason or comment a task carries (into a prompt, its notes, a notification). */
export const OPERATOR_TEXT_MAX_CHARS = 10_000;
/** The longest name in `by`. */
export const OPERATOR_NAME_MAX_CHARS = 100;

/**
 * Why an operator's text cannot be carried into the task, or undefined. Tabs and line breaks are
 * fine; other control characters (a NUL cannot go into an argv, Postgres or a terminal) and a lone
 * surrogate are not. Checked by the client and again by the workflow, so no message fails a task.
 */
export function operatorTextProblem(field: string, text: unknown, max = OPERATOR_TEXT_MAX_CHARS): string | undefined {
  if (typeof text !== 'string') return `${field} must be text`;
  if (text.length > max) return `${field} is ${text.length} characters long, more than ${max}`;
  if (CONTROL_CHARACTER.test(text) || LONE_SURROGATE.test(text)) return `${field} holds a control character other than tab or line break, or broken Unicode`;
  if (text.trim() === '') return `${field} is empty`;
  return undefined;
}

/** Why `by` cannot name who sent a message, or undefined when it is absent or a one-line name. */
export function senderProblem(by: unknown): string | undefined {
  if (by === undefined) return undefined;
  return operatorTextProblem('by', by, OPERATOR_NAME_MAX_CHARS) ?? (/[\n\r\t]/.test(by as string) ? 'by must be one line' : undefined);
}

/** Why a retry's text cannot be carried, or undefined. */
export const retryInputProblem = (r: RetryInput) => operatorTextProblem('guidance', r.guidance) ?? senderProblem(r.by);
/** Why an abort's text cannot be carried, or undefined. */
export const abortInputProblem = (a: AbortInput) => (a.reason === undefined ? undefined : operatorTextProblem('reason', a.reason)) ?? senderProblem(a.by);
/** Why a decision's text cannot be carried, or undefined (`by` is required: it is checked against the approvers). */
export function decideInputProblem(d: DecideInput): string | undefined {
  const text = d.decision === 'approve' ? (d.comment === undefined ? undefined : operatorTextProblem('comment', d.comment)) : operatorTextProblem('reason', d.reason);
  return text ?? senderProblem(d.by) ?? (d.by === undefined ? 'by is required' : undefined) ?? (d.signed === undefined ? undefined : signedProblem(d.signed));
}

/** Why a decision's proof is not even shaped like one (its fields reach the task's notes), or undefined. */
function signedProblem(s: SignedDecision): string | undefined {
  if (typeof s !== 'object' || s === null) return 'signed must be an object';
  if (s.channel !== 'key' && s.channel !== 'telegram') return 'signed.channel must be "key" or "telegram"';
  for (const field of ['taskId', 'headSha', 'at', 'signature'] as const) {
    const value: unknown = s[field];
    // headSha is empty for a rejection before the task has a PR.
    if (typeof value !== 'string' || value.length > 200 || (value === '' && field !== 'headSha') || !/^[\x21-\x7e]*$/.test(value)) return `signed.${field} must be printable ASCII text without spaces, at most 200 characters`;
  }
  if (s.channel === 'telegram' && !Number.isSafeInteger(s.telegramUserId)) return 'signed.telegramUserId must be an integer';
  return undefined;
}

/** What a retry or an abort did: accepted, with what the task does now. */
export interface CommandResult {
  detail: string;
}

/** What a forge webhook says changed for a task's PR (see workers/webhooks). */
export interface ForgeEvent {
  kind: 'pull_request' | 'check' | 'status' | 'review' | 'push';
  action?: string;
  /** The branch a `push` moved (the task's own, or another: only its base concerns a task). */
  ref?: string;
  headSha?: string;
  prNumber?: number;
  repository: string;
  deliveryId: string;
}

export const approveSignal = defineSignal<[ApproveInput]>('approve');
export const forgeEventSignal = defineSignal<[ForgeEvent]>('forgeEvent');
export const rejectSignal = defineSignal<[RejectInput]>('reject');
export const redirectSignal = defineSignal<[RedirectInput]>('redirect');
export const retrySignal = defineSignal<[RetryInput]>('retry');
export const abortSignal = defineSignal<[AbortInput]>('abort');

/** A redirect with an answer: refused (never queued) when its text cannot go to an agent or the task has ended. */
export const redirectUpdate = defineUpdate<RedirectResult, [RedirectInput]>('redirect');

/** A retry with an answer: refused while the task is not waiting for a human, or when its text cannot be carried. */
export const retryUpdate = defineUpdate<CommandResult, [RetryInput]>('retry');
/** An abort with an answer: refused once the merge is under way or the task has ended. */
export const abortUpdate = defineUpdate<CommandResult, [AbortInput]>('abort');

/** Approve or reject with a synchronous answer: refused while the Definition of Done is unmet or from a non-approver. */
export const decideUpdate = defineUpdate<TaskState, [DecideInput]>('decide');

export const stateQuery = defineQuery<TaskState>('state');

/** What starts (or continues) a task workflow. */
export interface TaskInput {
  spec: TaskSpec;
  /** Set by continue-as-new: the state so far. */
  carried?: TaskState;
}

/**
 * The failure type a task workflow closes with when it ended without a merge, its TaskResult in the
 * failure's details: the Web UI's list shows FAILED for these, COMPLETED only for a merge, CANCELED
 * for a Temporal cancellation (see docs/ARCHITECTURE.md).
 */
export const TASK_ENDED_FAILURE = { failed: 'TaskFailed', rejected: 'TaskRejected', aborted: 'TaskAborted' } as const;

export interface TaskResult {
  taskId: string;
  status: TaskState['status'];
  pr?: number;
  mergeSha?: string;
  note: string;
  /** The runbook's terminal contract: each Definition-of-Done check by name (prCreated, ciPassed, codexReviewPassed, …). */
  checks?: Record<string, boolean>;
}

/** The task workflow's signature (`task` in workflow.ts): a client starts it by name with this type, without the workflow's code. */
export type TaskWorkflow = (input: TaskInput) => Promise<TaskResult>;
