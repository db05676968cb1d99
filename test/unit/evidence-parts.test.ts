// The evidence classifier's parts on their own: the stuck detector, the budget, the scope rule,
// the runner dispatcher, the transcript's steps and the playbook's source excerpt.
import { describe, expect, it } from '@jest/globals';
import { checkBudget } from '../../workflows/policy/evidence/budget.ts';
import { classifyEvidence } from '../../workflows/policy/evidence/classify.ts';
import { injection } from '../../workflows/policy/evidence/playbook.ts';
import { detectRunners, parseCiOutput } from '../../workflows/policy/evidence/runners/index.ts';
import { readScope, scopePaths } from '../../workflows/policy/evidence/scope.ts';
import { stepsOf } from '../../workflows/policy/evidence/steps.ts';
import { correctionFor, stuckVerdict, type Observation } from '../../workflows/policy/evidence/stuck.ts';
import { missingContext } from '../../workflows/policy/evidence/transcript.ts';
import { stripAnsi } from '../../workflows/policy/text.ts';

const MIN = 60_000;
const limits = { repeats: 3, idleMinutes: 10 };
const call = (atMs: number, input = '{"file_path":"src/a.ts"}'): Observation => ({ kind: 'tool_call', atMs, tool: 'Read', input });
const command = (atMs: number, exitCode = 1, cmd = 'npm test'): Observation => ({ kind: 'command', atMs, command: cmd, exitCode });
const progress = (atMs: number, fileChanges: number, outputBytes: number): Observation => ({ kind: 'progress', atMs, fileChanges, outputBytes });

describe('stuckVerdict', () => {
  it('calls the same tool call N times in a row stuck, and N-1 times or a different input not', () => {
    expect(stuckVerdict([call(1), call(2), call(3)], 4, limits)).toEqual({ stuck: true, reason: 'repeated_tool_call', what: 'Read {"file_path":"src/a.ts"}', times: 3 });
    expect(stuckVerdict([call(1), call(2)], 3, limits)).toEqual({ stuck: false });
    expect(stuckVerdict([call(1), call(2, '{"file_path":"src/b.ts"}'), call(3)], 4, limits)).toEqual({ stuck: false });
  });

  it('calls the same failing command N times stuck only when no file changed between them', () => {
    const looping = [progress(0, 2, 100), command(1), command(2), command(3)];
    expect(stuckVerdict(looping, 4, limits)).toEqual({ stuck: true, reason: 'repeated_failing_command', what: 'npm test', times: 3 });
    // Edit, rerun, edit, rerun: iterating, not stuck.
    expect(stuckVerdict([progress(0, 2, 100), command(1), progress(2, 3, 200), command(3), command(4)], 5, limits)).toEqual({ stuck: false });
    // A command that passes breaks the run.
    expect(stuckVerdict([command(1), command(2, 0), command(3)], 4, limits)).toEqual({ stuck: false });
  });

  it('calls M minutes without a file change or new output idle, and counts any move of a total as progress', () => {
    const quiet = [progress(0, 1, 500), progress(5 * MIN, 1, 500), progress(10 * MIN, 1, 500)];
    expect(stuckVerdict(quiet, 10 * MIN, limits)).toEqual({ stuck: true, reason: 'idle', sinceMs: 0, minutes: 10 });
    expect(stuckVerdict(quiet, 10 * MIN - 1, limits)).toEqual({ stuck: false });
    expect(stuckVerdict([...quiet.slice(0, 2), progress(9 * MIN, 1, 501)], 12 * MIN, limits)).toEqual({ stuck: false });
    // A new run restarts its output count: a drop is a move.
    expect(stuckVerdict([progress(0, 1, 500), progress(3 * MIN, 0, 0)], 12 * MIN, limits)).toEqual({ stuck: false });
    expect(stuckVerdict([], 60 * MIN, limits)).toEqual({ stuck: false });
  });
});

describe('correctionFor', () => {
  it('names what the agent repeated and how often, and tells it what to do instead, on one line', () => {
    const looping = correctionFor({ stuck: true, reason: 'repeated_failing_command', what: 'npm test', times: 4 });
    expect(looping).toBe('swarmflow: you have run `npm test` 4 times in a row, it failed every time, and no file changed in between: stop repeating it. Read its output, find the cause, change the code (or the command), and only then run it again.');
    const reading = correctionFor({ stuck: true, reason: 'repeated_tool_call', what: 'Read {"file_path":"src/a.ts"}', times: 3 });
    expect(reading).toContain('the same tool call 3 times in a row (`Read {"file_path":"src/a.ts"}`)');
    expect(correctionFor({ stuck: true, reason: 'idle', sinceMs: 0, minutes: 15 })).toContain('nothing has moved for 15 minutes');
  });

  it('cuts a long or multi-line call short, so the message stays one readable line', () => {
    const long = correctionFor({ stuck: true, reason: 'repeated_tool_call', what: `Write {"content":"${'x'.repeat(5_000)}\n"}`, times: 4 });
    expect(long.length).toBeLessThan(500);
    expect(long).toContain('…`');
    expect(correctionFor({ stuck: true, reason: 'repeated_failing_command', what: 'npm test\n  -- --watch', times: 4 })).toContain('`npm test -- --watch`');
  });
});

describe('checkBudget', () => {
  const usage = { inputTokens: 90_000, cachedInputTokens: 40_000, outputTokens: 12_000 };
  it('is ok under the budget and breached over it, with the figures', () => {
    expect(checkBudget({ usage, usd: 1.5 }, { maxTokens: 200_000, maxUsd: 2 })).toEqual({ status: 'ok', tokens: 102_000, usd: 1.5 });
    expect(checkBudget({ usage, usd: 2.5 }, { maxTokens: 100_000, maxUsd: 2 })).toEqual({
      status: 'breached',
      tokens: 102_000,
      usd: 2.5,
      over: [
        { what: 'tokens', spent: 102_000, limit: 100_000 },
        { what: 'usd', spent: 2.5, limit: 2 },
      ],
      message: "The task's budget is spent: 102000 tokens of 100000 and $2.50 of $2.00.",
    });
  });
  it('says a budget under a cent in two significant digits, not as $0.00', () => {
    expect(checkBudget({ usage, usd: 0.0034 }, { maxUsd: 0.001 })).toMatchObject({ message: "The task's budget is spent: $0.0034 of $0.0010." });
  });
  it('cannot breach on an unknown cost, nor on a limit that is not set', () => {
    expect(checkBudget({ usage }, { maxUsd: 0.01 })).toEqual({ status: 'ok', tokens: 102_000 });
    expect(checkBudget({ usage, usd: 99 }, {})).toEqual({ status: 'ok', tokens: 102_000, usd: 99 });
  });
});

describe('readScope', () => {
  it('sorts changed files into inside, near (a shared directory) and far (none)', () => {
    const reading = readScope(['src/ui/a.ts', 'src/api/b.ts', 'docs/x.md', 'README.md', 'lib/ui/a.ts'], ['src/ui/', 'src/api/c.ts']);
    expect(reading).toEqual({ inside: ['src/ui/a.ts'], near: ['src/api/b.ts'], far: ['docs/x.md', 'README.md', 'lib/ui/a.ts'], judged: true, wrongDirection: true });
  });
  it('calls more than half far a wrong direction, half not', () => {
    expect(readScope(['docs/a.md', 'docs/b.md', 'src/a.ts'], ['src/a.ts']).wrongDirection).toBe(true);
    expect(readScope(['docs/a.md', 'src/a.ts'], ['src/a.ts']).wrongDirection).toBe(false);
  });
  it('judges nothing without hints or changes', () => {
    expect(readScope(['docs/a.md'], []).judged).toBe(false);
    expect(readScope([], ['src/a.ts']).judged).toBe(false);
  });
  it('takes expected tests that name a file into the scope, and leaves prose out', () => {
    expect(scopePaths({ files: ['src/a.ts'], expectedTests: ['test/a.test.ts', 'tests/test_a.py::test_x', 'parses an empty string', 'AC1'] })).toEqual(['src/a.ts', 'test/a.test.ts', 'tests/test_a.py']);
  });
});

describe('the runner dispatcher', () => {
  const eslint = '/repo/src/a.ts\n  1:1  error  Unexpected var  no-var\n\n✖ 1 problem (1 error, 0 warnings)\n';
  const jest = "FAIL src/a.test.ts\n  ● a › b\n\n    boom\n\n      at Object.<anonymous> (src/a.test.ts:3:1)\n\nTests:       1 failed, 1 total\n";
  it('finds every runner in one log, in the order they ran', () => {
    expect(detectRunners(`${eslint}\n${jest}`)).toEqual(['eslint', 'jest']);
    expect(detectRunners(`${jest}\n${eslint}`)).toEqual(['jest', 'eslint']);
  });
  it('falls back on the check name only when no runner is recognised', () => {
    expect(detectRunners('something went wrong', 'pytest (3.12)')).toEqual(['pytest']);
    expect(detectRunners(eslint, 'pytest')).toEqual(['eslint']);
    expect(detectRunners('', 'build')).toEqual([]);
  });
  it('strips colours, cursor moves and links before parsing', () => {
    expect(stripAnsi('\u001b[31m✕\u001b[39m \u001b[2Kdone \u001b]8;;https://x.test\u0007link\u001b]8;;\u0007')).toBe('✕ done link');
    const coloured = `\u001b[1m\u001b[31m${jest.replace('boom', '\u001b[31mboom\u001b[39m')}`;
    expect(parseCiOutput(coloured)).toEqual(parseCiOutput(jest));
    expect(parseCiOutput(jest)[0]?.failures[0]).toMatchObject({ test: 'a › b', file: 'src/a.test.ts', line: 3, message: 'boom' });
  });
  it('makes absolute paths relative to the given checkout', () => {
    expect(parseCiOutput('/srv/co/app/x.ts(1,2): error TS1005: ";" expected.', 'types', '/srv/co')[0]?.failures[0]?.file).toBe('app/x.ts');
  });
});

describe('the transcript', () => {
  it('reads Codex commands as the model wrote them, without the shell wrapper', () => {
    const events = [{ type: 'item.completed', item: { type: 'command_execution', command: "/bin/bash -lc 'cat '\\''a b.ts'\\'''", aggregated_output: '', exit_code: 0 } }];
    expect(stepsOf('codex', events)).toEqual([{ kind: 'tool', name: 'shell', input: { command: "cat 'a b.ts'" }, ok: true, output: '', exitCode: 0 }]);
  });
  it('reads a Gemini shell command that exited non-zero as failed, though the tool succeeded', () => {
    const events = [
      { type: 'tool_use', tool_name: 'run_shell_command', tool_id: 't1', parameters: { command: 'cat src/x.ts' } },
      { type: 'tool_result', tool_id: 't1', status: 'success', output: 'Command: cat src/x.ts\nOutput: cat: src/x.ts: No such file or directory\nExit Code: 1' },
    ];
    expect(missingContext('gemini', events)).toEqual([{ kind: 'file_not_found', target: 'src/x.ts', text: 'Output: cat: src/x.ts: No such file or directory' }]);
  });
  it('sees no missing context in a successful read or a failing test', () => {
    const events = [
      { type: 'assistant', message: { content: [{ type: 'tool_use', id: 'a', name: 'Bash', input: { command: 'npm test' } }] } },
      { type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 'a', content: 'Exit code 1\nTests: 1 failed', is_error: true }] } },
      { type: 'assistant', message: { content: [{ type: 'text', text: 'One test fails; fixing it.' }] } },
    ];
    expect(missingContext('claude', events)).toEqual([]);
  });
});

describe('the playbook', () => {
  it("quotes the failing test's own lines around the failure when an activity read the file", () => {
    const jest = "FAIL src/a.test.ts\n  ● a › b\n\n    expected 1\n\n      at Object.<anonymous> (src/a.test.ts:3:1)\n\nTests:       1 failed, 1 total\n";
    const classification = classifyEvidence({ source: 'ci', summary: 'tests failed', checks: [{ name: 'test', output: jest }] });
    const source = ['import { a } from "./a";', '', 'test("b", () => expect(a()).toBe(1));', '', '// end'].join('\n');
    const text = injection({ classification, scope: { files: [], interfaces: [], expectedTests: [] }, sources: { 'src/a.test.ts': source } });
    expect(text).toContain('### `a › b` at `src/a.test.ts:3`');
    expect(text).toContain('> 3 | test("b", () => expect(a()).toBe(1));');
    expect(text).toContain('  1 | import { a } from "./a";');
  });
});
