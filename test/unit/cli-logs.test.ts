// `swarm logs`: an attempt's log from the state folder, live or kept, with no stack running; the
// exit codes say whether there was such an attempt, and --follow ends when the agent does.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { keepTaskLogs } from '../../activities/agents/kept-logs.ts';
import { agentPaths, type AgentPaths } from '../../activities/agents/paths.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { until } from '../harness/agents.ts';
import { tempDir } from '../harness/paths.ts';
import { liveAttempt, preparedStart } from '../harness/task-files.ts';
import { CLI_ENTRY, swarm } from '../harness/stack-process.ts';

/** A state folder with task `calc` started twice: start 1 kept (attempts 1 and 2, the second respawned once), start 2 live. */
async function stateWithTwoStarts(): Promise<{ env: NodeJS.ProcessEnv; paths: AgentPaths }> {
  const stateDir = tempDir('cli-logs');
  const paths = agentPaths(stateDir);
  preparedStart(paths, 'calc', 'start-one');
  liveAttempt(paths, 'calc', 1, 1, 'first start, attempt 1\n', 0);
  liveAttempt(paths, 'calc', 2, 1, 'first start, attempt 2, rate limited\n', 0);
  liveAttempt(paths, 'calc', 2, 2, 'first start, attempt 2, resumed\n', 0);
  await keepTaskLogs(paths, 'calc');
  rmSync(paths.taskDir('calc'), { recursive: true });
  preparedStart(paths, 'calc', 'start-two');
  liveAttempt(paths, 'calc', 1, 1, 'second start, attempt 1, running\n');
  return { env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', SWARM_STATE_DIR: stateDir }, paths };
}

/** `swarm logs … --follow` in the background: its output so far, and its exit. */
function followInBackground(env: NodeJS.ProcessEnv, ...args: string[]) {
  const child = spawn(process.execPath, [CLI_ENTRY, 'logs', ...args, '--follow'], { cwd: PROJECT_ROOT, env });
  const seen = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (seen.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (seen.stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { seen, exit, child };
}

describe('swarm logs', () => {
  it("prints the latest attempt of the latest start, live, or any start's kept attempt; each run of a respawned one", async () => {
    const { env } = await stateWithTwoStarts();
    expect(swarm(env, 'logs', 'calc')).toMatchObject({ code: 0, stdout: 'second start, attempt 1, running\n' });
    expect(swarm(env, 'logs', 'calc', '--run', '1', '--attempt', '1')).toMatchObject({ code: 0, stdout: 'first start, attempt 1\n' });
    const respawned = swarm(env, 'logs', 'calc', '--run', 'start-one');
    expect(respawned).toMatchObject({ code: 0, stdout: 'first start, attempt 2, rate limited\nfirst start, attempt 2, resumed\n' });
    expect(respawned.stderr).toBe('== attempt 2, run 1 ==\n== attempt 2, run 2 ==\n');
  });

  it('says what there is when the attempt, the start or the task is not here (exit 1), and refuses what it cannot use (exit 2)', async () => {
    const { env } = await stateWithTwoStarts();
    const noAttempt = swarm(env, 'logs', 'calc', '--run', '1', '--attempt', '3');
    expect(noAttempt.code).toBe(1);
    expect(noAttempt.stderr).toBe('swarmflow: task calc (start 1 of 2, start-one) has attempt(s) 1, 2; no attempt 3\n');
    const noStart = swarm(env, 'logs', 'calc', '--run', '3');
    expect(noStart.code).toBe(1);
    expect(noStart.stderr).toMatch(/^swarmflow: task calc has 2 start\(s\) with logs on this host: 1 \(start-one, started \S+\), 2 \(start-two, started \S+, live\); no --run 3\n$/);
    const unknown = swarm(env, 'logs', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('swarmflow: no logs of task nope on this host (nothing in ');
    expect(unknown.stderr).toContain("; no server answers at 127.0.0.1:1, so whether the task exists is unknown");
    expect(swarm(env, 'logs', 'calc', '--attempt', 'last')).toMatchObject({ code: 2, stderr: '--attempt must be an attempt number, 1 or more (got "last")\n' });
  });

  it('--follow prints the live log as it grows and exits 0 once the agent exited', async () => {
    const { env, paths } = await stateWithTwoStarts();
    const files = paths.attempt('calc', 1);
    const follow = followInBackground(env, 'calc');
    await until('the log so far', () => follow.seen.stdout === 'second start, attempt 1, running\n', 30_000);
    appendFileSync(files.logFile, 'more work\n');
    await until('the new line', () => follow.seen.stdout.endsWith('more work\n'));
    appendFileSync(files.logFile, 'done\n');
    writeFileSync(files.exitFile, '0\n');
    expect(await follow.exit).toBe(0);
    expect(follow.seen.stdout).toBe('second start, attempt 1, running\nmore work\ndone\n');
  });

  it('--follow goes on across cleanup, which keeps the log and removes the live one, and exits 0', async () => {
    const { env, paths } = await stateWithTwoStarts();
    const files = liveAttempt(paths, 'calc', 2, 1, 'attempt 2 working\n');
    const follow = followInBackground(env, 'calc', '--attempt', '2');
    await until('the log so far', () => follow.seen.stdout === 'attempt 2 working\n', 30_000);
    // The task is aborted: its agent killed (no exit code), the attempt kept, the task's files removed.
    appendFileSync(files.logFile, 'last words\n');
    expect(await keepTaskLogs(paths, 'calc')).toBe(2);
    rmSync(paths.taskDir('calc'), { recursive: true });
    expect(await follow.exit).toBe(0);
    expect(follow.seen.stdout).toBe('attempt 2 working\nlast words\n');
    expect(swarm(env, 'logs', 'calc', '--attempt', '2')).toMatchObject({ code: 0, stdout: 'attempt 2 working\nlast words\n' });
  });
});
