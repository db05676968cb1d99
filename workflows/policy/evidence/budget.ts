// A task's spend against its budget: tokens (input, cached included, plus output) and dollars.
// A breach stops the agent and escalates to a human; it spends no attempt, since another attempt
// would spend more. Cost is unknown when the model has no price: then only tokens can breach.
import type { TokenUsage } from '../../task/types.ts';

export interface Budget {
  maxTokens?: number;
  maxUsd?: number;
}

export interface Spent {
  usage: TokenUsage;
  /** Undefined when some run's model had no price. */
  usd?: number;
}

export type BudgetVerdict =
  | { status: 'ok'; tokens: number; usd?: number }
  | { status: 'breached'; tokens: number; usd?: number; over: { what: 'tokens' | 'usd'; spent: number; limit: number }[]; message: string };

/** Cents, or two significant digits below a cent (a budget of $0.001 is not "$0.00"). */
const dollars = (usd: number) => (usd >= 0.01 ? usd.toFixed(2) : usd.toPrecision(2));

export const totalTokens = (u: TokenUsage) => u.inputTokens + u.outputTokens;

export function checkBudget({ usage, usd }: Spent, budget: Budget): BudgetVerdict {
  const tokens = totalTokens(usage);
  const over: { what: 'tokens' | 'usd'; spent: number; limit: number }[] = [];
  if (budget.maxTokens !== undefined && tokens > budget.maxTokens) over.push({ what: 'tokens', spent: tokens, limit: budget.maxTokens });
  if (budget.maxUsd !== undefined && usd !== undefined && usd > budget.maxUsd) over.push({ what: 'usd', spent: usd, limit: budget.maxUsd });
  const figures = usd === undefined ? { tokens } : { tokens, usd };
  if (over.length === 0) return { status: 'ok', ...figures };
  const words = over.map((o) => (o.what === 'tokens' ? `${o.spent} tokens of ${o.limit}` : `$${dollars(o.spent)} of $${dollars(o.limit)}`));
  return { status: 'breached', ...figures, over, message: `The task's budget is spent: ${words.join(' and ')}.` };
}
