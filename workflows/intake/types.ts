// What the issue intake workflow takes and answers, shared with the client and the webhook server
// (no workflow code here).

export interface IssueIntakeInput {
  /** `owner/name` on GitHub. */
  repository: string;
  number: number;
  /** What asked: a label event (its delivery id) or a person at the CLI. */
  trigger: { kind: 'label'; label: string; deliveryId: string } | { kind: 'cli' };
}

export type IssueIntakeResult =
  | { outcome: 'started'; taskId: string; workflowId: string; comment?: string }
  /** The issue's task was started before (by a label, the CLI, or by hand): nothing new starts. */
  | { outcome: 'known'; taskId: string; workflowId: string }
  /** No task: why, and whether the issue was told (a comment it can be fixed from). */
  | { outcome: 'refused'; reason: string; commented: boolean; taskId?: string };

export type IssueIntakeWorkflow = (input: IssueIntakeInput) => Promise<IssueIntakeResult>;

/** One intake workflow per issue: concurrent deliveries of a label event join the one running. */
export const issueIntakeWorkflowId = (repository: string, number: number) => `intake-${repository}#${number}`;
