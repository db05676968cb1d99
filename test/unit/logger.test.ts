import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { SwarmLogger } from '../../lib/logger.ts';

function sink(isTTY: boolean): Writable & { isTTY: boolean; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return Object.assign(stream, { isTTY, lines });
}

describe('SwarmLogger', () => {
  it('writes JSON lines off a terminal, carrying the task id', () => {
    const out = sink(false);
    new SwarmLogger({ stream: out }).child({ taskId: 'fix-login' }).info('spawned agent', { agent: 'codex' });
    const line = JSON.parse(out.lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'INFO', message: 'spawned agent', taskId: 'fix-login', agent: 'codex' });
    expect(typeof line.time).toBe('string');
  });

  it('writes readable lines on a terminal, with the workflow id Temporal attaches', () => {
    const out = sink(true);
    new SwarmLogger({ stream: out }).warn('activity retried', { workflowId: 'task-fix-login', attempt: 2 });
    expect(out.lines[0]).toMatch(/^\d\d:\d\d:\d\d WARN {2}\[task-fix-login\] activity retried \{"attempt":2\}$/);
  });

  it('never writes secret-looking fields', () => {
    const out = sink(false);
    new SwarmLogger({ stream: out }).info('calling GitHub', { token: 'ghp_abc', nested: { apiKey: 'k', password: 'p' }, repo: 'o/r' });
    expect(out.lines[0]).not.toMatch(/ghp_abc|"k"|"p"/);
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ token: '[redacted]', nested: { apiKey: '[redacted]', password: '[redacted]' }, repo: 'o/r' });
  });

  it('drops lines below its level', () => {
    const out = sink(false);
    const logger = new SwarmLogger({ stream: out, level: 'WARN' });
    logger.info('chatty');
    logger.debug('chattier');
    logger.error('boom', { err: new Error('disk full') });
    expect(out.lines).toHaveLength(1);
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ level: 'ERROR', err: { name: 'Error', message: 'disk full' } });
  });
});
