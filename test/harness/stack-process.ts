// `npm start` as a user runs it: a child process with its own state folder and free ports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { freePort } from '../../lib/ports.ts';
import { exited } from '../../lib/process.ts';
import { tempDir } from './paths.ts';

export interface StackProcess {
  child: ChildProcess;
  env: NodeJS.ProcessEnv;
  stateDir: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exit: Promise<number | null>;
}

export async function stackEnv(name: string): Promise<NodeJS.ProcessEnv> {
  const id = `${name}-${process.pid}`;
  return {
    ...process.env,
    SWARM_STATE_DIR: tempDir(`stack-${name}`),
    SWARM_TEMPORAL_PORT: String(await freePort()),
    SWARM_TEMPORAL_UI_PORT: String(await freePort()),
    SWARM_PG_PORT: String(await freePort()),
    SWARM_HOST_ID: id,
    SWARM_ORCHESTRATION_QUEUE: `orchestration-${id}`,
    SWARM_LOG_FORMAT: 'json',
  };
}

export interface StartOptions {
  waitReady?: boolean;
  /** `npm start` as a user or a supervisor runs it, instead of its node process alone. */
  viaNpm?: boolean;
  /** In a process group of its own, as a terminal runs it (Ctrl-C signals the whole group). */
  ownGroup?: boolean;
}

/** Starts the stack; resolves once it printed "ready" (or rejects with its output if it exited). */
export async function startStackProcess(env: NodeJS.ProcessEnv, { waitReady = true, viaNpm = false, ownGroup = false }: StartOptions = {}): Promise<StackProcess> {
  // The compiled workers, as `npm start` runs them (the global setup builds them).
  const [command, args]: [string, string[]] = viaNpm ? ['npm', ['start', '--silent']] : [process.execPath, [join(PROJECT_ROOT, 'dist', 'workers', 'start.js')]];
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = exited(child).then(() => child.exitCode);
  const proc: StackProcess = { child, env, stateDir: env.SWARM_STATE_DIR!, stdout: () => out, stderr: () => err, exit };
  if (!waitReady) return proc;
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('swarmflow is ready')) {
        clearInterval(timer);
        resolve();
      }
    }, 100);
    void exit.then((code) => {
      clearInterval(timer);
      reject(new Error(`the stack exited with ${code} before it was ready:\n${out}\n${err}`));
    });
  });
  return proc;
}

/** The CLI's entry, as the package's bin and the checkout's ./swarm launcher run it. */
export const CLI_ENTRY = join(PROJECT_ROOT, 'bin', 'swarmflow.mjs');

/** Runs the `swarm` CLI as a user would, with the stack's env. */
export function swarm(env: NodeJS.ProcessEnv, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [CLI_ENTRY, ...args], { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Processes whose command line mentions `needle` (e.g. a state folder), other than this one. */
export function processesMentioning(needle: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .filter((line) => line.includes(needle) && !line.includes('ps -eo'))
    .map((l) => l.trim());
}

export function embeddedPostgresPid(stateDir: string): number {
  return Number(readFileSync(join(stateDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}
