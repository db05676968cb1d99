// Claude Code's usage while a headless run goes (the budget's check mid-run) and of a run stopped
// before its result: read from the assistant messages of its stream-json events.
import { describe, expect, it } from '@jest/globals';
import { claude } from '../../activities/agents/adapters/claude.ts';

// One event per content block of a message, each with the message's usage so far.
const assistant = (id: string, input: number, output: number) => ({ type: 'assistant', session_id: 's1', message: { id, usage: { input_tokens: input, output_tokens: output } } });
const STREAM = [{ type: 'system', subtype: 'init', session_id: 's1' }, assistant('m1', 100, 5), assistant('m1', 100, 20), assistant('m2', 300, 7)];

describe("Claude Code's streamed usage", () => {
  it('counts each message once, at its last usage', () => {
    expect(claude.streamedUsage!(STREAM)).toMatchObject({ inputTokens: 400, outputTokens: 27 });
  });

  it('gives a run stopped before its result the usage its messages streamed', () => {
    const outcome = claude.outcome(STREAM, null, 'claude-sonnet-4-5', {});
    expect(outcome).toMatchObject({ status: 'failed', message: 'claude exited with no exit code before its result' });
    expect(outcome.usage).toMatchObject({ inputTokens: 400, outputTokens: 27 });
    // No result, no cost from the CLI: the price table's, when it has the model.
    expect(outcome.cost).toBeUndefined();
    const priced = claude.outcome(STREAM, null, 'claude-sonnet-4-5', { 'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15 } });
    expect(priced.cost).toEqual({ usd: (400 * 3 + 27 * 15) / 1e6, source: 'price_table' });
  });

  it("keeps the result's usage once the run has one", () => {
    const outcome = claude.outcome([...STREAM, { type: 'result', session_id: 's1', is_error: false, result: 'done', usage: { input_tokens: 1, output_tokens: 2 }, total_cost_usd: 0.01 }], 0, 'claude-sonnet-4-5', {});
    expect(outcome.usage).toMatchObject({ inputTokens: 1, outputTokens: 2 });
  });
});
