// Token cost for CLIs that report none (Codex, Gemini): the configured price table, per million
// tokens. A model missing from the table gets no cost rather than a guess.
import type { AgentOutcome, TokenUsage } from '../../../workflows/task/types.ts';

export type PriceTable = Record<string, { inputPerMTok: number; cachedInputPerMTok?: number; outputPerMTok: number }>;

export function priceTableCost(usage: TokenUsage, model: string, prices: PriceTable): AgentOutcome['cost'] {
  const price = prices[model];
  if (!price) return undefined;
  const uncached = usage.inputTokens - usage.cachedInputTokens;
  const usd = (uncached * price.inputPerMTok + usage.cachedInputTokens * (price.cachedInputPerMTok ?? price.inputPerMTok) + usage.outputTokens * price.outputPerMTok) / 1e6;
  return { usd, source: 'price_table' };
}

export const NO_USAGE: TokenUsage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };

export function addUsage(a: TokenUsage, b: Partial<TokenUsage>): TokenUsage {
  return {
    inputTokens: a.inputTokens + (b.inputTokens ?? 0),
    cachedInputTokens: a.cachedInputTokens + (b.cachedInputTokens ?? 0),
    outputTokens: a.outputTokens + (b.outputTokens ?? 0),
  };
}

export const subtractUsage = (a: TokenUsage, b: TokenUsage): TokenUsage => addUsage(a, { inputTokens: -b.inputTokens, cachedInputTokens: -b.cachedInputTokens, outputTokens: -b.outputTokens });
