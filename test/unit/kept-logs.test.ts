// The logs that outlive a task, on real files: kept compressed under the start's run key, never read
// through what a hostile agent planted, and pruned after the retention.
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { keepAttempt, keepTaskLogs, pruneKeptLogs, taskLogs, UNKEYED_RUN, type KeptAttempt } from '../../activities/agents/kept-logs.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { liveAttempt, preparedStart } from '../harness/task-files.ts';
import { tempDir } from '../harness/paths.ts';

const DAY = 24 * 60 * 60 * 1000;

const logOf = (attempt: number, run = 1) => `log of attempt ${attempt} run ${run}\n`.repeat(100);
const gunzip = (file: string) => gunzipSync(readFileSync(file)).toString('utf8');

describe('keeping an attempt', () => {
  it('keeps its log, events and prompt gzip-compressed under the run key, once', async () => {
    const paths = agentPaths(tempDir('kept'));
    preparedStart(paths, 'calc', 'run-a');
    const live = liveAttempt(paths, 'calc', 1, 1, logOf(1), 3);
    expect(await keepAttempt(paths, 'calc', 1, 1)).toBe(true);
    const kept = join(paths.keptLogs('calc'), 'run-a', 'attempt-1');
    expect(readdirSync(kept).sort()).toEqual(['agent.log.gz', 'attempt.json', 'events.jsonl.gz', 'prompt.md.gz']);
    expect(gunzip(join(kept, 'agent.log.gz'))).toBe(readFileSync(live.logFile, 'utf8'));
    expect(gunzip(join(kept, 'prompt.md.gz'))).toBe('prompt 1');
    const record = JSON.parse(readFileSync(join(kept, 'attempt.json'), 'utf8')) as KeptAttempt;
    expect(record).toMatchObject({ taskId: 'calc', runKey: 'run-a', attempt: 1, run: 1, exitCode: 3, files: { 'agent.log': { bytes: 2300, keptBytes: 2300 } } });
    expect(record.refused).toBeUndefined();
    // A second try (a retried activity, or cleanup after the attempt's end) keeps nothing more.
    expect(await keepAttempt(paths, 'calc', 1, 1)).toBe(false);
    expect(existsSync(live.logFile)).toBe(true);
  });

  it('keeps every run of every attempt at cleanup, and a task started again keeps both starts apart', async () => {
    const paths = agentPaths(tempDir('kept'));
    preparedStart(paths, 'calc', 'first');
    liveAttempt(paths, 'calc', 1, 1, logOf(1), 0);
    liveAttempt(paths, 'calc', 2, 1, logOf(2), 0);
    liveAttempt(paths, 'calc', 2, 2, logOf(2, 2));
    expect(await keepAttempt(paths, 'calc', 1, 1)).toBe(true);
    expect(await keepTaskLogs(paths, 'calc')).toBe(2);
    rmSync(paths.taskDir('calc'), { recursive: true });
    preparedStart(paths, 'calc', 'second');
    liveAttempt(paths, 'calc', 1, 1, logOf(1), 0);
    expect(await keepTaskLogs(paths, 'calc')).toBe(1);
    expect(readdirSync(join(paths.keptLogs('calc'), 'first')).sort()).toEqual(['attempt-1', 'attempt-2', 'attempt-2-run-2', 'run.json']);
    expect(readdirSync(join(paths.keptLogs('calc'), 'second')).sort()).toEqual(['attempt-1', 'run.json']);
    const runs = await taskLogs(paths, 'calc');
    expect(runs.map((r) => [r.runKey, r.live, r.attempts.map((a) => `${a.attempt}.${a.run}${a.live ? ' live' : ''}`)])).toEqual([
      ['first', false, ['1.1', '2.1', '2.2']],
      ['second', true, ['1.1 live']],
    ]);
  });

  it('keeps a task started before run keys under "unkeyed", and a run key the agent rewrote is not a path', async () => {
    const paths = agentPaths(tempDir('kept'));
    liveAttempt(paths, 'old', 1, 1, logOf(1), 0);
    await keepTaskLogs(paths, 'old');
    expect(existsSync(join(paths.keptLogs('old'), UNKEYED_RUN, 'attempt-1', 'agent.log.gz'))).toBe(true);
    preparedStart(paths, 'old', '../../../../tmp/elsewhere');
    liveAttempt(paths, 'old', 2, 1, logOf(2), 0);
    await keepTaskLogs(paths, 'old');
    expect(existsSync(join(paths.keptLogs('old'), UNKEYED_RUN, 'attempt-2'))).toBe(true);
  });

  it('never reads through a symlink, a FIFO or a folder the agent swapped for a link', async () => {
    const dir = tempDir('kept');
    const secret = join(dir, 'shadow');
    writeFileSync(secret, 'root:$6$secret\n');
    const paths = agentPaths(join(dir, 'state'));
    preparedStart(paths, 'evil', 'run-a');
    const live = liveAttempt(paths, 'evil', 1, 1, logOf(1), 0);
    rmSync(live.logFile);
    symlinkSync(secret, live.logFile);
    rmSync(live.eventsFile);
    execFileSync('mkfifo', [live.eventsFile]);
    // Attempt 2's whole folder is a link to a folder holding the secret as agent.log.
    mkdirSync(join(dir, 'decoy'));
    writeFileSync(join(dir, 'decoy', 'agent.log'), 'root:$6$secret\n');
    symlinkSync(join(dir, 'decoy'), paths.attempt('evil', 2).dir);
    expect(await keepTaskLogs(paths, 'evil')).toBe(1);
    const kept = join(paths.keptLogs('evil'), 'run-a', 'attempt-1');
    expect(readdirSync(kept).sort()).toEqual(['attempt.json', 'prompt.md.gz']);
    expect((JSON.parse(readFileSync(join(kept, 'attempt.json'), 'utf8')) as KeptAttempt).refused).toEqual({ 'agent.log': 'a symlink', 'events.jsonl': 'not a regular file' });
    expect(existsSync(join(paths.keptLogs('evil'), 'run-a', 'attempt-2'))).toBe(false);
    const everything = execFileSync('sh', ['-c', `zcat -f $(find '${paths.keptLogs('evil')}' -type f)`]).toString();
    expect(everything).not.toContain('secret');
  });
});

describe('pruning kept logs', () => {
  const age = (path: string, ms: number) => {
    const when = new Date(Date.now() - ms);
    for (const p of [path, ...readdirSync(path).map((n) => join(path, n))]) utimesSync(p, when, when);
  };

  it('removes starts older than the retention, keeps newer ones and the live one, and clears half-built folders', async () => {
    const paths = agentPaths(tempDir('prune'));
    for (const [taskId, runKey] of [['old', 'a'], ['old', 'b'], ['gone', 'c'], ['live', 'd']] as const) {
      preparedStart(paths, taskId, runKey);
      liveAttempt(paths, taskId, 1, 1, logOf(1), 0);
      await keepTaskLogs(paths, taskId);
      if (taskId !== 'live') rmSync(paths.taskDir(taskId), { recursive: true });
    }
    const runDir = (taskId: string, runKey: string) => join(paths.keptLogs(taskId), runKey);
    age(runDir('old', 'a'), 31 * DAY);
    age(runDir('old', 'b'), 29 * DAY);
    age(runDir('gone', 'c'), 40 * DAY);
    age(runDir('live', 'd'), 40 * DAY);
    const partial = join(runDir('old', 'b'), 'attempt-2.0000.partial');
    mkdirSync(partial);
    utimesSync(partial, new Date(Date.now() - 2 * 60 * 60 * 1000), new Date(Date.now() - 2 * 60 * 60 * 1000));

    const removed = await pruneKeptLogs(paths, 30 * DAY);
    expect(removed.sort()).toEqual([runDir('gone', 'c'), runDir('old', 'a')]);
    expect(existsSync(runDir('old', 'b'))).toBe(true);
    expect(existsSync(partial)).toBe(false);
    expect(existsSync(runDir('live', 'd'))).toBe(true);
    // A task with no start left has no folder left either.
    expect(existsSync(paths.keptLogs('gone'))).toBe(false);
  });
});
