// Gemini CLI's headless result counts the side requests it makes to other models; each model's
// tokens are priced at that model's price. The event is shaped as 0.61's stream-json writes it
// (`stats.models`, per model); agent-clis.test.ts runs the real CLI.
import { describe, expect, it } from '@jest/globals';
import { gemini } from '../../activities/agents/adapters/gemini.ts';

const result = (models: Record<string, { input_tokens: number; output_tokens: number; cached: number }>) => {
  const sum = (key: 'input_tokens' | 'output_tokens' | 'cached') => Object.values(models).reduce((n, m) => n + m[key], 0);
  return { type: 'result', status: 'success', stats: { input_tokens: sum('input_tokens'), output_tokens: sum('output_tokens'), cached: sum('cached'), models } };
};
const PRICES = { 'gemini-2.5-pro': { inputPerMTok: 1, outputPerMTok: 10 }, 'gemini-2.5-flash-lite': { inputPerMTok: 0.1, outputPerMTok: 0.4 } };
const init = { type: 'init', session_id: 's' };

describe('gemini headless cost', () => {
  it("prices each model's tokens at its own price", () => {
    const events = [init, result({ 'gemini-2.5-pro': { input_tokens: 1_000_000, output_tokens: 100_000, cached: 0 }, 'gemini-2.5-flash-lite': { input_tokens: 2_000_000, output_tokens: 500_000, cached: 0 } })];
    const outcome = gemini.outcome(events, 0, 'gemini-2.5-pro', PRICES);
    expect(outcome.usage).toEqual({ inputTokens: 3_000_000, cachedInputTokens: 0, outputTokens: 600_000 });
    // pro: 1 + 1; flash-lite: 0.2 + 0.2
    expect(outcome.cost).toEqual({ usd: expect.closeTo(2.4, 10), source: 'price_table' });
  });

  it("prices a model missing from the table as the agent's, and gives no cost when the agent's has no price either", () => {
    const events = [init, result({ 'gemini-2.5-pro': { input_tokens: 1_000_000, output_tokens: 0, cached: 0 }, 'gemini-9-experimental': { input_tokens: 1_000_000, output_tokens: 0, cached: 0 } })];
    expect(gemini.outcome(events, 0, 'gemini-2.5-pro', PRICES).cost).toEqual({ usd: expect.closeTo(2, 10), source: 'price_table' });
    expect(gemini.outcome(events, 0, 'gemini-unpriced', {}).cost).toBeUndefined();
  });

  it('prices the totals at the agent model when the result has no per-model stats', () => {
    const events = [init, { type: 'result', status: 'success', stats: { input_tokens: 1_000_000, output_tokens: 100_000, cached: 0 } }];
    expect(gemini.outcome(events, 0, 'gemini-2.5-pro', PRICES).cost).toEqual({ usd: expect.closeTo(2, 10), source: 'price_table' });
  });
});
