// The files of ours an agent can reach (its CLI's events, agent.json, session-id, its CLI's session
// transcripts) are read only as regular files: a FIFO it planted would block the host worker's event
// loop for good on a plain read (this test would hang), a symlink could point at a secret of ours.
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { appendFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonLines, readNewLines, readRegularFile } from '../../activities/agents/files.ts';
import { ciOutput } from '../../activities/host/failure-evidence.ts';
import { tempDir } from '../harness/paths.ts';

describe('files in the agent\'s reach', () => {
  it('reads a regular file, and nothing from a missing one, a FIFO, a symlink or a folder', () => {
    const dir = tempDir('agent-files');
    writeFileSync(join(dir, 'events.jsonl'), '{"type":"turn"}\nnot json\n{"type":"done"}\n');
    expect(readJsonLines(join(dir, 'events.jsonl'))).toEqual([{ type: 'turn' }, { type: 'done' }]);

    execFileSync('mkfifo', [join(dir, 'fifo.jsonl')]);
    expect(readJsonLines(join(dir, 'fifo.jsonl'))).toEqual([]);
    expect(readRegularFile(join(dir, 'fifo.jsonl'))).toBeUndefined();

    writeFileSync(join(dir, 'secret'), '{"token":"worker-secret"}\n');
    symlinkSync(join(dir, 'secret'), join(dir, 'linked.jsonl'));
    expect(readJsonLines(join(dir, 'linked.jsonl'))).toEqual([]);

    expect(readRegularFile(join(dir, 'missing'))).toBeUndefined();
    expect(readRegularFile(join(dir, 'events.jsonl', 'below-a-file'))).toBeUndefined();
    expect(readRegularFile(dir)).toBeUndefined();
  });

  it('reads the whole lines a running CLI appended since the last read; a line still being written waits', () => {
    const dir = tempDir('agent-files-growing');
    const events = join(dir, 'events.jsonl');
    writeFileSync(events, '{"n":1}\n{"n":2}\n{"n":');
    const first = readNewLines(events, 0);
    expect(first.lines).toEqual(['{"n":1}', '{"n":2}']);
    expect(readNewLines(events, first.offset)).toEqual({ lines: [], offset: first.offset });
    appendFileSync(events, '3}\n');
    const second = readNewLines(events, first.offset);
    expect(second.lines).toEqual(['{"n":3}']);
    // Replaced by a shorter file: read from its start.
    writeFileSync(events, '{"n":9}\n');
    expect(readNewLines(events, second.offset).lines).toEqual(['{"n":9}']);
    // A line longer than a read is skipped, not waited for: the next read starts inside it and drops its tail.
    writeFileSync(events, `{"big":"${'x'.repeat(100)}"}\n{"n":4}\n`);
    const cut = readNewLines(events, 0, 50);
    expect(cut).toEqual({ lines: [], offset: 50 });
    expect(readNewLines(events, cut.offset).lines).toEqual(['x'.repeat(58) + '"}', '{"n":4}']);
  });

  it('reads nothing new from a FIFO, a symlink or a missing file, and keeps its place', () => {
    const dir = tempDir('agent-files-hostile');
    execFileSync('mkfifo', [join(dir, 'fifo.jsonl')]);
    expect(readNewLines(join(dir, 'fifo.jsonl'), 7)).toEqual({ lines: [], offset: 7 });
    writeFileSync(join(dir, 'secret'), '{"token":"worker-secret"}\n');
    symlinkSync(join(dir, 'secret'), join(dir, 'linked.jsonl'));
    expect(readNewLines(join(dir, 'linked.jsonl'), 0)).toEqual({ lines: [], offset: 0 });
    expect(readNewLines(join(dir, 'missing.jsonl'), 3)).toEqual({ lines: [], offset: 3 });
  });

  it("reads a CI check's log for the next prompt only as a regular file: the agent's code in CI can swap it for a symlink or a FIFO", () => {
    const dir = tempDir('ci-log');
    const tail = '1 failing test (the tail kept while CI ran)';
    writeFileSync(join(dir, 'tests.log'), 'not ok 1 - multiply multiplies\n');
    expect(ciOutput({ outputFile: join(dir, 'tests.log'), outputTail: tail })).toBe('not ok 1 - multiply multiplies\n');
    writeFileSync(join(dir, 'secret'), 'worker-secret\n');
    symlinkSync(join(dir, 'secret'), join(dir, 'linked.log'));
    expect(ciOutput({ outputFile: join(dir, 'linked.log'), outputTail: tail })).toBe(tail);
    execFileSync('mkfifo', [join(dir, 'fifo.log')]);
    expect(ciOutput({ outputFile: join(dir, 'fifo.log'), outputTail: tail })).toBe(tail);
  });
});
