// The handoff route: a concept agent writes the concept, the implementer builds it. Attempt 1's
// first run is the concept agent's (and its next ones, when a rate limit or provider fault
// respawned it); the run after it starts the implementer on the concept.
import { patched } from '@temporalio/workflow';
import { conceptPrompt } from '../policy/prompt.ts';
import { agentFault } from './agent-faults.ts';
import type { TaskContext } from './context.ts';
import { CONCEPT_FAULTS_PATCH } from './patches.ts';
import { monitor } from './steps/monitor.ts';
import { selectContext } from './steps/context.ts';
import { attemptContext, promptSynthesis } from './steps/prompt.ts';
import { spawn } from './steps/spawn.ts';
import type { AgentExit } from './types.ts';

/** False when the task was stopped. */
export async function conceptHandoff(ctx: TaskContext): Promise<boolean> {
  const { state, spec } = ctx;
  const { agent, file } = state.setup!.concept!;
  const prompt = () => conceptPrompt({ spec, agent: agent.name, file, businessContext: attemptContext(ctx) });
  // Already running when a continue-as-new came mid-concept.
  if (!ctx.current() && !(await spawn(ctx, prompt(), { run: 1, agent }))) return false;
  let exit: AgentExit | undefined;
  for (;;) {
    exit = await monitor(ctx);
    if (!exit) return false;
    const fault = exit.outcome?.failure;
    // A refused key is not waited out: the implementer goes on from the task alone.
    if ((fault !== 'rate_limited' && fault !== 'server_error') || !patched(CONCEPT_FAULTS_PATCH)) break;
    if (!(await agentFault(ctx, { ...exit.outcome!, failure: fault }, { agent, prompt }))) return false;
    // Its faults ran out and a human said retry: a new attempt, from the task alone.
    if (!ctx.current()) {
      await selectContext(ctx);
      return spawn(ctx, promptSynthesis(ctx));
    }
    state.conceptRun = state.session!.run;
  }
  state.concept = { agent: agent.name, file, commits: exit.commits, ...(exit.outcome ? { outcome: exit.outcome } : {}), at: ctx.now() };
  ctx.note(exit.commits > 0 ? `${agent.name} committed the concept (${file}); ${state.setup!.agent.name} implements it` : `${agent.name} committed no concept; ${state.setup!.agent.name} implements from the task alone`);
  ctx.current()!.exit = undefined;
  return spawn(ctx, promptSynthesis(ctx), { run: (state.session?.run ?? 1) + 1 });
}
