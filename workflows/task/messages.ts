// Every message of the task workflow, defined once: the workflow sets handlers on these objects
// and the client sends them. Imports only @temporalio/workflow, so both sides can load it.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
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
