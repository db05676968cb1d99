// Runs a short command (git, tmux) through the spawner (helper.mjs), a small process of its own,
// so that the worker's event loop is not held by forks of its own large memory: measured on this
// machine, spawn() from a 578 MB process blocks its loop 10 ms per command, from a 51 MB one 1 ms
// (docs/PERFORMANCE.md). One spawner per process, started on first use, started again if it died;
// it keeps the process alive only while a command runs.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';

const HELPER = join(PROJECT_ROOT, 'lib', 'spawner', 'helper.mjs');

export interface SpawnRequest {
  file: string;
  args: string[];
  cwd?: string;
  /** The command's whole environment. */
  env: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

export interface SpawnResult {
  stdout: string;
  stderr: string;
  /** null when it did not exit by itself (not started, killed by a signal). */
  exitCode: number | null;
  timedOut: boolean;
}

let helper: ChildProcess | undefined;
let nextId = 1;
const pending = new Map<number, { resolve: (r: SpawnResult) => void; reject: (e: Error) => void }>();

function started(): ChildProcess {
  if (helper?.connected) return helper;
  // No loader flags (tsx): the helper is plain JavaScript. Its own stdin and stdout unused; its stderr ours.
  const child = fork(HELPER, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
  child.on('message', (message: SpawnResult & { id: number }) => {
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (pending.size === 0) idle(child);
    const { stdout, stderr, exitCode, timedOut } = message;
    waiting.resolve({ stdout, stderr, exitCode, timedOut });
  });
  child.on('exit', (code, signal) => {
    if (helper === child) helper = undefined;
    const lost = [...pending.values()];
    pending.clear();
    for (const { reject } of lost) reject(new Error(`swarmflow's spawner process exited (${signal ?? `code ${code}`}) while running a command`));
  });
  child.on('error', () => undefined);
  helper = child;
  idle(child);
  return child;
}

/** Between commands the spawner holds nothing open: a CLI that is done exits. */
function idle(child: ChildProcess): void {
  child.unref();
  child.channel?.unref();
}

export function runCommand(request: SpawnRequest): Promise<SpawnResult> {
  const child = started();
  child.ref();
  child.channel?.ref();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    child.send({ id, ...request }, (err) => {
      if (!err || !pending.has(id)) return;
      pending.delete(id);
      reject(err);
    });
  });
}
