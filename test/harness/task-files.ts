// A task's files on a host as the agent activities leave them (the workspace record that names the
// start, attempt folders written by the wrapper), for the kept-logs and `swarm logs` tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AgentPaths, AttemptFiles } from '../../activities/agents/paths.ts';

/** The start `runKey` of the task prepared its workspace on this host ('' before run keys). */
export function preparedStart(paths: AgentPaths, taskId: string, runKey: string): void {
  const record = paths.workspaceRecord(taskId);
  mkdirSync(dirname(record), { recursive: true });
  writeFileSync(record, JSON.stringify({ checkout: '/srv/repo', branch: `swarm/${taskId}`, baseBranch: 'main', runKey }));
}

/** A live attempt folder with its log, events and prompt; with an exit code once `exitCode` is given. */
export function liveAttempt(paths: AgentPaths, taskId: string, attempt: number, run: number, log: string, exitCode?: number): AttemptFiles {
  const files = paths.attempt(taskId, attempt, run);
  mkdirSync(files.dir, { recursive: true });
  writeFileSync(files.logFile, log);
  writeFileSync(files.eventsFile, '{"type":"turn.completed"}\n');
  writeFileSync(files.promptFile, `prompt ${attempt}`);
  if (exitCode !== undefined) writeFileSync(files.exitFile, `${exitCode}\n`);
  return files;
}
