// What an operator's text must be for the task to carry it (a redirect to the agent; guidance, a
// reason, a comment into prompts, notes and notifications): the rules the CLI, the client and the
// workflow share.
import { describe, expect, it } from '@jest/globals';
import { abortInputProblem, decideInputProblem, OPERATOR_TEXT_MAX_CHARS, REDIRECT_MAX_CHARS, redirectProblem, retryInputProblem, senderProblem } from '../../workflows/task/messages.ts';
import { swarm } from '../harness/stack-process.ts';
import { tempDir } from '../harness/paths.ts';

describe('redirect text', () => {
  it.each([
    ['whitespace only', ' \n\t  ', 'the message has no printable text (only whitespace or control characters)'],
    ['control characters only', '\u001b\u0003\u0007\u007f', 'the message has no printable text (only whitespace or control characters)'],
    ['60 kB', 'x'.repeat(60_000), `the message is 60000 characters long, more than ${REDIRECT_MAX_CHARS}`],
  ])('refuses %s', (_name, message, reason) => {
    expect(redirectProblem(message)).toBe(reason);
  });

  it('takes plain text, and text around control characters', () => {
    expect(redirectProblem('Focus on calc.mjs only.')).toBeUndefined();
    expect(redirectProblem('\u001bfix it\n')).toBeUndefined();
    expect(redirectProblem('x'.repeat(REDIRECT_MAX_CHARS))).toBeUndefined();
  });

  it('swarm redirect refuses it with the reason, exit 2, without needing a server', () => {
    const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', SWARM_STATE_DIR: tempDir('cli-state') };
    const res = swarm(env, 'redirect', 'some-task', ' \t ');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('redirect refused: the message has no printable text');
  });
});

describe('guidance, reasons and comments', () => {
  const CONTROL = 'holds a control character other than tab or line break, or broken Unicode';
  it.each([
    ['a NUL', 'fix \u0000 it', `guidance ${CONTROL}`],
    ['an escape sequence', 'red \u001b[31m', `guidance ${CONTROL}`],
    ['a lone surrogate', 'half \ud800', `guidance ${CONTROL}`],
    ['whitespace only', ' \n\t ', 'guidance is empty'],
    ['60 kB', 'x'.repeat(60_000), `guidance is 60000 characters long, more than ${OPERATOR_TEXT_MAX_CHARS}`],
  ])('refuses guidance with %s', (_name, guidance, reason) => {
    expect(retryInputProblem({ guidance })).toBe(reason);
  });

  it('takes lines, tabs and any script', () => {
    expect(retryInputProblem({ guidance: 'use a * b\n\t- keep add()\nméthode 乘法 😀', by: 'alice' })).toBeUndefined();
    expect(abortInputProblem({})).toBeUndefined();
    expect(decideInputProblem({ decision: 'approve', by: 'alice' })).toBeUndefined();
  });

  it('names the field in every message', () => {
    expect(abortInputProblem({ reason: '\u0000' })).toBe(`reason ${CONTROL}`);
    expect(decideInputProblem({ decision: 'reject', by: 'bob', reason: '' })).toBe('reason is empty');
    expect(decideInputProblem({ decision: 'approve', by: 'bob', comment: '\u0007' })).toBe(`comment ${CONTROL}`);
    expect(senderProblem('alice\nbob')).toBe('by must be one line');
    expect(senderProblem('x'.repeat(101))).toBe('by is 101 characters long, more than 100');
  });

  it.each([
    ['retry', ['retry', 'some-task', ' \t '], 'retry refused: guidance is empty'],
    ['abort', ['abort', 'some-task', '--reason', 'x'.repeat(20_000)], 'abort refused: reason is 20000 characters long, more than 10000'],
    ['approve', ['approve', 'some-task', '--by', 'alice', '--comment', 'bell \u0007'], `approval refused: comment ${CONTROL}`],
    ['reject', ['reject', 'some-task', '--by', 'al\nice', '--reason', 'no'], 'rejection refused: by must be one line'],
  ])('swarm %s refuses it with the reason, exit 2, without needing a server', (_name, args, reason) => {
    const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', SWARM_STATE_DIR: tempDir('cli-state') };
    const res = swarm(env, ...args);
    expect(res.stderr).toContain(reason);
    expect(res.code).toBe(2);
  });
});
