// `swarm logs <id>`: an attempt's agent log, read from this host's state folder: the live log while
// the task's files are there, the kept copy after (activities/agents/kept-logs.ts). It needs no
// server, so it works with the stack down and after Temporal has dropped the task's history; the
// server is asked only to say why there is nothing here.
import { createReadStream, existsSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { WorkflowNotFoundError } from '@temporalio/client';
import { openRegular, RUN_KEY, taskLogs, type AttemptLogs, type TaskRunLogs } from '../../activities/agents/kept-logs.ts';
import { agentPaths, type AgentPaths } from '../../activities/agents/paths.ts';
import type { Config } from '../../lib/config.ts';
import { Slug } from '../../workflows/task/spec.ts';
import { SwarmClient, TemporalUnreachableError } from '../swarm-client.ts';
import { InvalidOptionError } from './tasks.ts';

export interface LogsOptions {
  attempt?: string;
  /** A start of the task: its number (1 = the first) or its run key. */
  run?: string;
  follow?: boolean;
}

/** No such task, start or attempt here: the message says what there is (exit 1). */
export class NoLogsError extends Error {
  override name = 'NoLogsError';
}

export interface LogsIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** How often --follow looks at the live log. */
  pollMs?: number;
}

const write = (stream: NodeJS.WritableStream, data: Buffer | string) => new Promise<void>((resolve, reject) => stream.write(data, (e) => (e ? reject(e) : resolve())));

/** The bytes of `source` after its first `skip`. */
async function* after(source: AsyncIterable<Buffer>, skip: number): AsyncGenerator<Buffer> {
  let left = skip;
  for await (const chunk of source) {
    if (left >= chunk.length) left -= chunk.length;
    else {
      yield chunk.subarray(left);
      left = 0;
    }
  }
}

/** A kept log from byte `skip` on; false when none was kept. */
async function printKept(keptDir: string, out: NodeJS.WritableStream, skip = 0): Promise<boolean> {
  const file = join(keptDir, 'agent.log.gz');
  if (!existsSync(file)) return false;
  for await (const chunk of after(createReadStream(file).pipe(createGunzip()), skip)) await write(out, chunk);
  return true;
}

/** What the live log holds from `offset` on; how many bytes that was. */
async function printFrom(handle: FileHandle, offset: number, out: NodeJS.WritableStream): Promise<number> {
  let read = 0;
  for (;;) {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, offset + read);
    if (bytesRead === 0) return read;
    await write(out, buffer.subarray(0, bytesRead));
    read += bytesRead;
  }
}

/** The live log, read only as a regular file (it is in the agent's reach); undefined while there is none. */
async function openLiveLog(paths: AgentPaths, live: string, err: NodeJS.WritableStream): Promise<FileHandle | undefined> {
  const opened = await openRegular(paths.stateDir, live, 'agent.log');
  if (opened && 'refused' in opened) await write(err, `swarmflow: the live log in ${live} is not read: ${opened.refused}\n`);
  return opened && 'handle' in opened ? opened.handle : undefined;
}

/**
 * Prints one run of an attempt: its kept copy once it ended, else its live log; with `follow`
 * the live log until its agent has exited (the exit code written, the log kept, or the task's
 * files removed), with what only the kept copy still has if cleanup removed the live log first.
 */
async function printRun(paths: AgentPaths, logs: AttemptLogs, follow: boolean, { out, err, pollMs = 250 }: LogsIo): Promise<void> {
  if (!logs.live || existsSync(logs.keptDir)) {
    if (!(await printKept(logs.keptDir, out))) await write(err, `swarmflow: no log was kept of attempt ${logs.attempt}, run ${logs.run} (see ${join(logs.keptDir, 'attempt.json')})\n`);
    return;
  }
  let handle: FileHandle | undefined;
  let offset = 0;
  try {
    for (;;) {
      // Whether it ended is looked at before reading, so nothing written before the end is missed.
      const ended = !follow || existsSync(join(logs.live, 'exit-code')) || existsSync(logs.keptDir) || !existsSync(logs.live);
      handle ??= await openLiveLog(paths, logs.live, err);
      if (handle) offset += await printFrom(handle, offset, out);
      if (ended) {
        if (follow && !handle && !(await printKept(logs.keptDir, out, offset))) throw new NoLogsError(`the live log in ${logs.live} is gone and no copy of it was kept`);
        return;
      }
      await delay(pollMs);
    }
  } finally {
    await handle?.close();
  }
}

function pickRun(taskId: string, runs: TaskRunLogs[], wanted: string | undefined): TaskRunLogs {
  if (wanted === undefined) return runs.at(-1)!;
  const found = /^\d+$/.test(wanted) ? runs[Number(wanted) - 1] : runs.find((r) => r.runKey === wanted);
  if (found) return found;
  const listed = runs.map((r, i) => `${i + 1} (${r.runKey}, started ${r.startedAt}${r.live ? ', live' : ''})`).join(', ');
  throw new NoLogsError(`task ${taskId} has ${runs.length} start(s) with logs on this host: ${listed}; no --run ${wanted}`);
}

function pickAttempt(taskId: string, run: TaskRunLogs, wanted: number | undefined, runLabel: string): AttemptLogs[] {
  const numbers = [...new Set(run.attempts.map((a) => a.attempt))];
  if (numbers.length === 0) throw new NoLogsError(`task ${taskId}${runLabel} has no attempt with a log yet`);
  const attempt = wanted ?? Math.max(...numbers);
  const runs = run.attempts.filter((a) => a.attempt === attempt);
  if (runs.length === 0) throw new NoLogsError(`task ${taskId}${runLabel} has attempt(s) ${numbers.join(', ')}; no attempt ${attempt}`);
  return runs;
}

/** Why there is nothing here: the server knows whether the task exists, and where it runs. */
async function whyNoLogs(taskId: string, config: Config, paths: AgentPaths): Promise<string> {
  const here = `no logs of task ${taskId} on this host (nothing in ${paths.keptLogs(taskId)} or ${paths.taskDir(taskId)}; kept logs stay ${config.tasks.logRetention})`;
  let client: SwarmClient | undefined;
  try {
    client = await SwarmClient.connect({ config, connectTimeoutMs: 2_000 });
    const state = await client.getTask(taskId);
    const elsewhere = state.spec.host && state.spec.host !== config.workers.hostId ? `; it runs on host ${state.spec.host}: ask there` : '';
    const at = state.outcome?.step ?? state.step;
    return `${here}: the task is ${state.status.replace('_', ' ')} at ${at} and ${state.session ? 'its logs are gone' : 'has started no agent'}${elsewhere}`;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return `unknown task ${taskId}: there is no workflow task-${taskId}, and ${here}`;
    if (e instanceof TemporalUnreachableError) return `${here}; no server answers at ${e.address}, so whether the task exists is unknown`;
    return `${here}; asking the server about it failed: ${(e as Error).message}`;
  } finally {
    await client?.close();
  }
}

/** `swarm logs`: the chosen attempt's log (each of its runs, when a fault respawned it), followed if asked. */
export async function printLogs(taskId: string, o: LogsOptions, config: Config, io: LogsIo): Promise<void> {
  if (!Slug.safeParse(taskId).success) throw new InvalidOptionError(`the task id must be a slug such as add-multiply (got "${taskId}")`);
  const attempt = o.attempt === undefined ? undefined : Number(o.attempt);
  if (attempt !== undefined && !(Number.isInteger(attempt) && attempt >= 1)) throw new InvalidOptionError(`--attempt must be an attempt number, 1 or more (got "${o.attempt}")`);
  if (o.run !== undefined && !RUN_KEY.test(o.run)) throw new InvalidOptionError(`--run must be a start's number (1 = the first) or its run key (got "${o.run}")`);
  const paths = agentPaths(config.stateDir);
  const runs = await taskLogs(paths, taskId);
  if (runs.length === 0) throw new NoLogsError(await whyNoLogs(taskId, config, paths));
  const run = pickRun(taskId, runs, o.run);
  const runLabel = runs.length > 1 ? ` (start ${runs.indexOf(run) + 1} of ${runs.length}, ${run.runKey})` : '';
  const attemptRuns = pickAttempt(taskId, run, attempt, runLabel);
  for (const [i, logs] of attemptRuns.entries()) {
    if (attemptRuns.length > 1) await write(io.err, `== attempt ${logs.attempt}, run ${logs.run} ==\n`);
    await printRun(paths, logs, !!o.follow && i === attemptRuns.length - 1, io);
  }
}
