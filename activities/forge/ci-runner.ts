// Runs one CI check: a command from the repository's policy file, in its own process group, with
// a clean environment, a timeout that kills the whole group, and its full output kept in a file.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { asyncLocalStorage } from '@temporalio/activity';
import { stopGroupOnTimeoutOrAbort } from '../../lib/process.ts';
import type { CiCheck, RepoPolicy } from '../../workflows/task/types.ts';
import type { SandboxedRun } from '../agents/sandboxed.ts';
import { minimalEnv } from '../minimal-env.ts';
import { tailOfFd } from '../output-tail.ts';

/** After SIGTERM, how long the group gets to exit before SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** `preamble`: a first line of the log from swarmflow (what it changed in the checkout before the check). */
export async function runCheck(check: RepoPolicy['ci'][number], { cwd, logFile, preamble, sandbox }: { cwd: string; logFile: string; preamble?: string; sandbox?: SandboxedRun }): Promise<CiCheck> {
  // Absent when called outside an activity (tests, scripts).
  const cancellation = asyncLocalStorage.getStore()?.cancellationSignal;
  const fd = openSync(logFile, 'w+');
  const started = performance.now();
  try {
    if (preamble) writeSync(fd, preamble);
    // The command is the repository owner's, from their policy file, written for a shell like any
    // CI config: this is the one place swarmflow runs a shell. Its own process group lets a timeout
    // (or cancellation) kill everything it started, not just `sh`. Node's spawn rather than execa
    // because both output streams go straight to the log file's descriptor, interleaved as written.
    const [file, ...args] = sandbox ? sandbox.argv(['sh', '-c', check.command]) : ['sh', '-c', check.command];
    const child = spawn(file!, args, { cwd, env: minimalEnv({ CI: 'true', ...sandbox?.env }), detached: true, stdio: ['ignore', fd, fd] });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    // A long check keeps its activity alive through the workers' keep-alive heartbeat, which
    // repeats the `{ check }` the forge beat when it started this one.
    const guard = stopGroupOnTimeoutOrAbort(child.pid, { timeoutMs: check.timeoutMs, graceMs: KILL_GRACE_MS, signal: cancellation });
    const result = await exit;
    // Whatever the command left running in the background must not outlive the check.
    const stopped = guard.finish();
    cancellation?.throwIfAborted();

    const durationMs = Math.round(performance.now() - started);
    if (stopped === 'timeout') writeSync(fd, `\n[swarmflow] timed out after ${check.timeoutMs} ms: process group killed\n`);
    else if (result.code === null) writeSync(fd, `\n[swarmflow] ${result.error ? `could not start: ${result.error.message}` : `killed by ${result.signal}`}\n`);
    return {
      name: check.name,
      status: stopped === 'timeout' ? 'timed_out' : result.code === 0 ? 'passed' : 'failed',
      exitCode: stopped === 'timeout' ? null : result.code,
      durationMs,
      outputFile: logFile,
      outputTail: tailOfFd(fd),
    };
  } finally {
    closeSync(fd);
  }
}
