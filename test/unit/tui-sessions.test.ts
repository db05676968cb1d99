// A TUI run's outcome, read from the CLI's session files. Which of the task's Codex rollouts belong
// to the run: the task's CODEX_HOME is shared by its attempts and Codex's TUI picks its own session
// id, so the run is told apart by when it started. The lines are shaped as Codex 0.169's TUI writes
// them (agent-tui.test.ts reads real ones, of all three CLIs).
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codex } from '../../activities/agents/adapters/codex.ts';
import { readOutcome } from '../../activities/agents/launch.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { tempDir } from '../harness/paths.ts';

const meta = (id: string, timestamp: string) => ({ timestamp, type: 'session_meta', payload: { id, timestamp, cwd: '/w', originator: 'codex-tui' } });
const tokenCount = (input: number, cached: number, output: number) => ({
  type: 'event_msg',
  payload: { type: 'token_count', info: { total_token_usage: { input_tokens: input, cached_input_tokens: cached, output_tokens: output, total_tokens: input + output } } },
});

/** A string is written as it is: a line cut short by a kill. */
function writeRollout(home: string, day: string, name: string, lines: (object | string)[]): void {
  const dir = join(home, '.codex', 'sessions', day);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `${lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n')}\n`);
}

describe('codex TUI session files', () => {
  it('count the last running total of each rollout the run started, and none from before it', () => {
    const home = tempDir('codex-tui');
    // An earlier attempt's session, started before this run.
    writeRollout(home, '2026/11/24', 'rollout-2026-11-24T10-00-00-a.jsonl', [meta('a', '2026-11-24T10:00:00.000Z'), tokenCount(500, 0, 50)]);
    // This run's session, then a second one the operator opened with /new: totals run on within each.
    writeRollout(home, '2026/11/25', 'rollout-2026-11-25T09-00-01-b.jsonl', [meta('b', '2026-11-25T09:00:01.000Z'), tokenCount(110, 0, 21), { type: 'event_msg', payload: { type: 'token_count', info: null } }, tokenCount(230, 30, 43)]);
    writeRollout(home, '2026/11/25', 'rollout-2026-11-25T09-05-00-c.jsonl', [meta('c', '2026-11-25T09:05:00.000Z'), tokenCount(40, 0, 4), '{"type":"event_msg","payload":{"type":"tok']);

    expect(codex.tuiSession({ home, sessionId: 'unused', startedAt: '2026-11-25T09:00:00.000Z' })).toEqual({
      sessionId: 'c',
      usage: { inputTokens: 270, cachedInputTokens: 30, outputTokens: 47 },
    });
  });

  it('are none when the TUI recorded no session since the run started', () => {
    const home = tempDir('codex-tui-none');
    expect(codex.tuiSession({ home, sessionId: 'unused', startedAt: '2026-11-25T09:00:00.000Z' })).toBeUndefined();
    writeRollout(home, '2026/11/24', 'rollout-2026-11-24T10-00-00-a.jsonl', [meta('a', '2026-11-24T10:00:00.000Z'), tokenCount(500, 0, 50)]);
    expect(codex.tuiSession({ home, sessionId: 'unused', startedAt: '2026-11-25T09:00:00.000Z' })).toBeUndefined();
  });
});

describe('readOutcome of a TUI run', () => {
  it('reads its rollouts into a finished outcome priced from the table, and a non-zero exit as failed', () => {
    const stateDir = tempDir('tui-outcome');
    const files = agentPaths(stateDir).attempt('t', 1);
    const home = agentPaths(stateDir).home('t');
    mkdirSync(files.dir, { recursive: true });
    writeFileSync(files.agentFile, JSON.stringify({ name: 'codex', kind: 'codex', model: 'm', headless: false, home, sessionId: 'unused', startedAt: '2026-11-25T09:00:00.000Z' }));
    writeRollout(home, '2026/11/25', 'rollout-2026-11-25T09-00-01-b.jsonl', [meta('b', '2026-11-25T09:00:01.000Z'), tokenCount(1_000_000, 0, 100_000)]);
    const prices = { m: { inputPerMTok: 2, outputPerMTok: 10 } };
    const usage = { inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 100_000 };
    expect(readOutcome(files, 0, prices)).toEqual({ status: 'finished', sessionId: 'b', usage, cost: { usd: 3, source: 'price_table' } });
    expect(readOutcome(files, 130, prices)).toMatchObject({ status: 'failed', failure: 'error', message: 'the codex TUI exited with 130', usage });
  });

  it('is none for a TUI launched by the previous release, whose record has no start time', () => {
    const files = agentPaths(tempDir('tui-old')).attempt('t', 1);
    mkdirSync(files.dir, { recursive: true });
    writeFileSync(files.agentFile, JSON.stringify({ name: 'codex', kind: 'codex', model: 'm', headless: false }));
    expect(readOutcome(files, 0, {})).toBeUndefined();
  });
});
