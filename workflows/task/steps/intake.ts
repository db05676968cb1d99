// Step 1, intake and scope: the configuration, the agent by task shape (the routing policy), the
// host, the repository's policy from its base branch; the intent is recorded.
import { patched } from '@temporalio/workflow';
import { routeAgent } from '../../policy/routing.ts';
import { HOST_UNANSWERED_TIMEOUT, type TaskContext } from '../context.ts';
import { INTAKE_ATTRIBUTES_PATCH, SIGNED_DECISIONS_PATCH } from '../patches.ts';

export async function intakeAndScope(ctx: TaskContext): Promise<void> {
  const { state, spec } = ctx;
  ctx.enter('intake');
  // A task that names no host is placed by the worker (the freest host, for a GitHub repository).
  // The argument is not part of what a replay compares, and the answer is in the history.
  const cfg = await ctx.orchestration.taskConfig(spec.host ? undefined : { repository: spec.repository });
  // From here on the task shows its status in the Web UI's list, also if the rest of intake fails.
  if (patched(INTAKE_ATTRIBUTES_PATCH)) {
    state.searchAttributes = cfg.searchAttributes;
    ctx.publish();
  }
  const routed = routeAgent(spec, cfg.routing, Object.keys(cfg.agents));
  const agent = cfg.agents[routed.agent]!;
  const concept = routed.concept ? { agent: cfg.agents[routed.concept]!, file: `docs/concepts/${spec.id}.md` } : undefined;
  // Every host-bound step runs on the host that holds the worktree: the spec's, else the configured one.
  const hostQueue = spec.host ? `swarm-host-${spec.host}` : cfg.hostQueue;
  const hostUnansweredTimeout = cfg.hostUnansweredTimeout ?? HOST_UNANSWERED_TIMEOUT;
  ctx.unanswered = { queue: hostQueue, timeout: hostUnansweredTimeout };
  const policy = await ctx.host(hostQueue, hostUnansweredTimeout).quick.loadRepoPolicy({ repository: spec.repository, base: spec.baseBranch });
  state.setup = { agent, ...(concept ? { concept } : {}), routingReason: routed.reason, reviewers: cfg.reviewers, approvers: cfg.approvers, hostQueue, policy, reminderIntervalMs: cfg.reminderIntervalMs, hostUnansweredTimeout, searchAttributes: cfg.searchAttributes };
  if (patched(SIGNED_DECISIONS_PATCH)) state.setup.decisions = cfg.decisions;
  ctx.note(`routed to ${agent.name}: ${routed.reason}${spec.host ? `; on host ${spec.host}` : cfg.hostChoice ? `; on host ${cfg.hostChoice}` : ''}`);
  ctx.publish();
  await ctx.artifact({ key: 'intent', kind: 'intent', step: 'intake', payload: { spec, agent: agent.name, routingReason: routed.reason, ci: policy.ci.map((c) => c.name), uiPaths: policy.uiPaths } });
}
