// What intake needs from the worker's configuration: the agents, the routing table, reviewers,
// approvers and this host's queue. Read on the worker, so authority stays with its configuration.
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { hostQueue, type Approver, type Config } from '../lib/config.ts';
import type { DecisionRules } from '../workflows/task/state.ts';
import type { AgentCommand, ReviewerSpec } from '../workflows/task/types.ts';
import { orchestratorKey } from '../lib/keys.ts';

export interface TaskConfig {
  agents: Record<string, AgentCommand>;
  routing: Config['routing'];
  reviewers: ReviewerSpec[];
  approvers: Approver[];
  hostQueue: string;
  /** The host of `hostQueue` and why it (a task on a GitHub repository that names no host goes to the freest host). */
  hostChoice?: string;
  reminderIntervalMs: number;
  /** How long a host-bound step waits for its host's worker to pick it up before a human is told. */
  hostUnansweredTimeout: string;
  /** Whether the server has the project's search attributes. */
  searchAttributes: boolean;
  decisions: DecisionRules;
}

/** A CLI's binary is resolved on the host that runs it: the bare name means the pinned one there. */
function agentCommand(name: string, a: Config['agents'][string]): AgentCommand {
  if (a.kind === 'command') return { name, kind: 'command', command: a.command, passEnv: a.passEnv };
  const { kind, model, mode, apiKeyEnv, baseUrl, args, retries, passEnv } = a;
  return { name, kind, command: [a.binary ?? kind], passEnv, model, mode, apiKeyEnv, baseUrl, args, retries };
}

/** Like an agent's, a CLI reviewer's binary is resolved on the host that runs it. */
function reviewerSpec(r: Config['reviewers'][number]): ReviewerSpec {
  const timeoutMs = msToNumber(r.timeout as Duration);
  if ('command' in r) return { name: r.name, command: r.command, timeoutMs };
  const { name, kind, focus, model, apiKeyEnv, baseUrl, args, retries } = r;
  return { name, kind, focus, model, binary: r.binary ?? kind, apiKeyEnv, baseUrl, args, retries, timeoutMs };
}

export function taskConfig(config: Config, searchAttributes: boolean): TaskConfig {
  return {
    agents: Object.fromEntries(Object.entries(config.agents).map(([name, a]) => [name, agentCommand(name, a)])),
    routing: config.routing,
    reviewers: config.reviewers.map(reviewerSpec),
    approvers: config.approvers,
    hostQueue: hostQueue(config),
    reminderIntervalMs: msToNumber(config.tasks.approvalReminder as Duration),
    hostUnansweredTimeout: config.tasks.hostUnansweredTimeout,
    searchAttributes,
    decisions: {
      // Only the public half leaves the worker: the workflow checks the Telegram presses it relays.
      orchestratorPublicKey: orchestratorKey(config).publicKey,
      requesterMayApprove: config.approvals.requesterMayApprove,
      maxClockSkewMs: msToNumber(config.approvals.maxClockSkew as Duration),
    },
  };
}
