// Step 2, prompt synthesis: the spec, the failures of earlier attempts and a human's guidance
// become the attempt's constrained prompt (see policy/prompt.ts), with the business context
// selected for it (steps/context.ts).
import { classifyFailure } from '../../policy/classify.ts';
import { synthesizePrompt } from '../../policy/prompt.ts';
import type { TaskContext } from '../context.ts';
import type { ClassifiedFailure } from '../types.ts';

export function promptSynthesis(ctx: TaskContext): string {
  const { state, spec } = ctx;
  ctx.enter('prompt');
  const failures: ClassifiedFailure[] = state.attempts.flatMap((a) => (a.failure ? [a.failure] : []));
  if (state.guidance) failures.push(classifyFailure({ source: 'human', summary: state.guidance, details: [], files: [] }));
  const concept = state.concept && state.concept.commits > 0 ? { file: state.concept.file, by: state.concept.agent } : undefined;
  // Read by consultMemory before this (prompt synthesis stays synchronous): only this attempt's.
  const learned = state.learned?.attempt === state.attempt ? state.learned.hints : undefined;
  return synthesizePrompt({ spec, agent: state.setup!.agent.name, attempt: state.attempt, failures, concept, businessContext: attemptContext(ctx), learned });
}

/** The notes selected for this attempt (see steps/context.ts), if any. */
export function attemptContext({ businessContext, state }: TaskContext) {
  return businessContext?.attempt === state.attempt ? businessContext.notes : undefined;
}
