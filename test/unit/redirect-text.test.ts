// What a redirect's text must be to reach an agent: the rule the CLI, the client and the workflow share.
import { describe, expect, it } from '@jest/globals';
import { REDIRECT_MAX_CHARS, redirectProblem } from '../../workflows/task/messages.ts';
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
