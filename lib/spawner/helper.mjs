// The spawner's side (see run.ts): a small Node process that starts the short commands the worker
// asks for (git, tmux) and hands back their output. Starting a process from Node forks it, and a
// fork costs page tables in proportion to the forking process's memory: from a worker of 700 MB,
// about 10 ms of its event loop per command; from this process, about 1 ms, off the worker's loop.
//
// One JSON message per request over the IPC channel: { id, file, args, cwd, env, input, timeoutMs };
// the answer: { id, stdout, stderr, exitCode, timedOut, error }. The command's environment is
// exactly `env` (nothing of this process's). It exits when the worker goes (the channel closes).
import { execFile } from 'node:child_process';

/** The most a command may print: a diff is capped at about 1 MB by its caller; this only stops a runaway. */
const MAX_BUFFER = 64 * 1024 * 1024;

/** What execa's stripFinalNewline did for these callers: one final newline off. */
const stripFinalNewline = (/** @type {string} */ text) => text.replace(/\r?\n$/, '');

/**
 * @typedef {{ id: number, file: string, args: string[], cwd?: string, env: Record<string, string>, input?: string, timeoutMs?: number }} SpawnRequest
 */

process.on('message', (/** @type {SpawnRequest} */ request) => {
  const { id, file, args, cwd, env, input, timeoutMs } = request;
  const child = execFile(file, args, { cwd, env, encoding: 'utf8', maxBuffer: MAX_BUFFER, timeout: timeoutMs ?? 0, killSignal: 'SIGTERM' }, (err, stdout, stderr) => {
    const failure = /** @type {(NodeJS.ErrnoException & { killed?: boolean, code?: string | number | null }) | null} */ (err);
    const exitCode = failure ? (typeof failure.code === 'number' ? failure.code : null) : 0;
    // A command that could not start (ENOENT: not installed) says so in stderr, as its callers report stderr.
    const unstarted = failure && typeof failure.code === 'string' ? `${failure.message}` : '';
    process.send?.({ id, stdout: stripFinalNewline(stdout ?? ''), stderr: stripFinalNewline(`${stderr ?? ''}${unstarted}`), exitCode, timedOut: !!(failure?.killed && timeoutMs) });
  });
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(input ?? '');
});

process.on('disconnect', () => process.exit(0));
