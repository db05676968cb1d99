// The task's budget at a run's exit: the usage counted so far against limits.maxTokens and maxUsd.
import { checkBudget } from '../policy/evidence/budget.ts';
import type { TaskContext } from './context.ts';

/** The blocker for a human when the task spent more than its budget, with the figures; undefined within it. */
export function budgetBreach({ spec, state }: TaskContext): string | undefined {
  const { maxTokens, maxUsd } = spec.limits;
  if ((maxTokens === undefined && maxUsd === undefined) || !state.usage) return undefined;
  const verdict = checkBudget({ usage: state.usage, usd: state.usage.costUsd }, { maxTokens, maxUsd });
  if (verdict.status === 'ok') return undefined;
  return `${verdict.message} The agent was stopped after ${state.usage.runs} run(s); raise limits.maxTokens/maxUsd in the spec, or say retry for one more run`;
}
