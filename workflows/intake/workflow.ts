// Intake from a GitHub issue, started by the `issues.labeled` webhook and by `swarm task start
// --from-issue`. It reads the issue, maps it to a spec (workflows/policy/issue-spec.ts, pure), and
// starts the task as a child it abandons: the task outlives this workflow, and its id is the
// issue's with REJECT_DUPLICATE, so a second label event (or a re-run of this workflow) starts
// nothing new. The issue gets one comment, edited in place: the progress link, or why no task.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { HostActivities } from '../../activities/host/index.ts';
import { issueToSpec } from '../policy/issue-spec.ts';
import { routeAgent } from '../policy/routing.ts';
import { INTAKE_PRIORITY_PATCH } from '../task/patches.ts';
import { parseTaskSpec, taskDisplay, taskPriority, taskWorkflowId, type TaskSpec } from '../task/spec.ts';
import type { TaskWorkflow } from '../task/messages.ts';
import type { IssueIntakeInput, IssueIntakeResult } from './types.ts';

const orchestration = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumInterval: '1 minute' } });
/** GitHub calls: a 5xx or a rate limit waits and retries (the forge classifies); a 401/403 fails this intake with its reason. */
const HOST_OPTIONS = { startToCloseTimeout: '2 minutes', retry: { maximumInterval: '1 minute' } } as const;

export async function issueIntake(input: IssueIntakeInput): Promise<IssueIntakeResult> {
  const { repository, number } = input;
  const cfg = await orchestration.taskConfig();
  const forge = proxyActivities<HostActivities>({ ...HOST_OPTIONS, taskQueue: cfg.hostQueue });
  const refuse = async (reason: string, taskId?: string): Promise<IssueIntakeResult> => {
    await forge.commentOnIssue({ repository, number, body: `swarm did not start a task: ${reason}` });
    return { outcome: 'refused', reason, commented: true, ...(taskId ? { taskId } : {}) };
  };

  const read = await forge.readIssue({ repository, number });
  if (!read.found) return { outcome: 'refused', reason: `${repository} has no issue #${number} that these GitHub credentials can see`, commented: false };
  // A PR's conversation is the reviewers' and the evidence's: no intake comment there.
  if (read.pullRequest) return { outcome: 'refused', reason: `#${number} is a pull request; label an issue instead`, commented: false };
  if (read.state === 'closed') return refuse(`issue #${number} is closed; reopen it, then label it again`);

  const mapped = issueToSpec(read.issue);
  if (!mapped.ok) return refuse(mapped.refusal);
  let spec: TaskSpec;
  try {
    spec = parseTaskSpec(mapped.spec);
    routeAgent(spec, cfg.routing, Object.keys(cfg.agents));
  } catch (err) {
    return refuse(`the issue does not make a valid task: ${(err as Error).message}`, mapped.spec.id);
  }

  const workflowId = taskWorkflowId(spec.id);
  try {
    await startChild<TaskWorkflow>('task', {
      workflowId,
      args: [{ spec }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      memo: { spec },
      // A child inherits its parent's priority: the task's own is set, as startTask sets it.
      ...(patched(INTAKE_PRIORITY_PATCH) ? { priority: taskPriority(spec) } : {}),
      ...taskDisplay(spec),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'known', taskId: spec.id, workflowId };
    throw err;
  }
  const link = await orchestration.webUiLink(workflowId);
  const comment = await forge.commentOnIssue({
    repository,
    number,
    body: [
      `swarm took this issue as task \`${spec.id}\` (${spec.shape}, ${spec.acceptanceCriteria.length} acceptance criteria from the checklist).`,
      `Its pull request closes this issue once a human approves the merge.`,
      '',
      `Progress: ${link ? `[the task in Temporal](${link})` : 'ask the operator'} · \`swarm task status ${spec.id}\``,
    ].join('\n'),
  });
  return { outcome: 'started', taskId: spec.id, workflowId, comment: comment.url };
}
