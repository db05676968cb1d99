// Agent faults: a rate limit or a provider fault spends no attempt. The run waits on a durable
// timer and respawns the same attempt, resuming its session; a refused key goes to a human.
import { condition } from '@temporalio/workflow';
import type { TaskContext } from './context.ts';
import { escalate } from './escalation.ts';
import { selectContext } from './steps/context.ts';
import { promptSynthesis } from './steps/prompt.ts';
import { spawn } from './steps/spawn.ts';
import type { AgentCommand, AgentOutcome } from './types.ts';

/** The wait before respawning after a rate limit or provider fault without a Retry-After: doubling, capped. */
const faultBackoffMs = (fault: number) => Math.min(60_000 * 2 ** (fault - 1), 30 * 60_000);

/** False when the task was stopped meanwhile. */
export async function agentFault(
  ctx: TaskContext,
  outcome: AgentOutcome & { failure: 'rate_limited' | 'server_error' | 'auth' },
  { agent, prompt }: { agent: AgentCommand; prompt: () => string } = { agent: ctx.state.setup!.agent, prompt: () => promptSynthesis(ctx) },
): Promise<boolean> {
  const { state, spec } = ctx;
  const record = ctx.current()!;
  if (outcome.failure === 'auth') {
    Object.assign(record, { endedAt: ctx.now(), outcome: 'failed' });
    return escalate(ctx, `${agent.name} could not authenticate with its model provider (${outcome.message ?? 'no message'}); fix its API key on host ${state.setup!.hostQueue}`, { respawn: true });
  }
  const interruptions = (record.interruptions ??= []);
  const run = (state.session?.run ?? 1) + 1;
  if (interruptions.length >= (spec.limits.maxAgentFaults ?? 6)) {
    Object.assign(record, { endedAt: ctx.now(), outcome: 'failed' });
    return escalate(ctx, `${agent.name} hit ${interruptions.length + 1} rate limits or provider faults in attempt ${state.attempt}; last: ${outcome.message ?? outcome.failure}`, { respawn: true });
  }
  const waitedMs = outcome.retryAfterMs ?? faultBackoffMs(interruptions.length + 1);
  interruptions.push({ run: run - 1, failure: outcome.failure, message: outcome.message, waitedMs, at: ctx.now() });
  record.exit = undefined;
  ctx.enter('monitor');
  ctx.note(`attempt ${state.attempt}: ${outcome.failure === 'rate_limited' ? 'rate limited' : 'provider fault'} (${outcome.message ?? 'no message'}); respawning in ${Math.round(waitedMs / 1000)} s, no attempt spent`);
  await condition(() => !!ctx.stop, waitedMs, { summary: `${outcome.failure}: waiting before respawn` });
  if (ctx.stop) return false;
  const resumeWith = `Your previous run was interrupted (${outcome.failure === 'rate_limited' ? 'rate limit' : 'provider fault'}). Continue the task where you left off.`;
  // A run that continued as new while waiting has the attempt's notes to select again.
  await selectContext(ctx);
  return spawn(ctx, prompt(), { run, resumeWith, agent });
}
