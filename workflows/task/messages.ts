// Every message of the task workflow, defined once: the workflow sets handlers on these objects
// and the client sends them. Imports only @temporalio/workflow and pure helpers, so both sides can load it.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { oneLine } from '../policy/text.ts';
import type { TaskState } from './state.ts';
import type { TaskSpec } from './spec.ts';

export interface ApproveInput {
  by: string;
  comment?: string;
}
export interface RejectInput {
  by: string;
  reason: string;
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

/** What a forge webhook says changed for a task's PR (see workers/webhooks). */
export interface ForgeEvent {
  kind: 'pull_request' | 'check' | 'status' | 'review';
  action?: string;
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

/** Approve or reject with a synchronous answer: refused while the Definition of Done is unmet or from a non-approver. */
export const decideUpdate = defineUpdate<TaskState, [DecideInput]>('decide');

export const stateQuery = defineQuery<TaskState>('state');

/** What starts (or continues) a task workflow. */
export interface TaskInput {
  spec: TaskSpec;
  /** Set by continue-as-new: the state so far. */
  carried?: TaskState;
}

export interface TaskResult {
  taskId: string;
  status: TaskState['status'];
  pr?: number;
  mergeSha?: string;
  note: string;
}
