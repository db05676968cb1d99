// `npm start` after bootstrap (`node dist/workers/start.js`): time from spawn to its
// "swarmflow is ready" line, and the peak memory of the process tree until then (node, the
// Temporal dev server, Postgres). Fresh state folders, then one restart on an existing one.
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startStackProcess, stackEnv, type StackProcess } from '../harness/stack-process.ts';
import { TreeMemorySampler, type MemoryPeak } from './proc-memory.ts';
import { benchDir, progress, seconds, withTimeout } from './util.ts';

const READY = 'swarmflow is ready';
const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 90_000;

export interface StartupRun {
  kind: 'fresh' | 'restart';
  /** Spawn to the ready line on stdout, as the bench saw it. */
  readyMs: number;
  /** What the banner says ("ready (N ms …)"): measured inside the process, after node loaded it. */
  reportedMs: number | undefined;
  /** SIGINT to exit. */
  stopMs: number;
  exitCode: number | null;
  memory: MemoryPeak;
  stateDir: string;
}

export interface StartupResult {
  fresh: StartupRun[];
  restart: StartupRun;
}

/** Sends SIGTERM to what the stack left behind if it died abnormally (only pids it spawned). */
function reapLeftovers(sampler: TreeMemorySampler): void {
  for (const pid of sampler.pids) {
    try {
      process.kill(pid, 0);
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

async function stop(proc: StackProcess): Promise<{ stopMs: number; exitCode: number | null }> {
  const started = performance.now();
  proc.child.kill('SIGINT');
  const exitCode = await withTimeout(proc.exit, STOP_TIMEOUT_MS, 'the stack did not stop after SIGINT');
  return { stopMs: performance.now() - started, exitCode };
}

type OnCleanup = (fn: () => unknown) => () => void;

async function runOnce(env: NodeJS.ProcessEnv, kind: StartupRun['kind'], onCleanup: OnCleanup): Promise<StartupRun> {
  const t0 = performance.now();
  const proc = await startStackProcess(env, { waitReady: false });
  const sampler = new TreeMemorySampler(proc.child.pid!, 100).start();
  // On the bench's own Ctrl-C: the stack drains and stops its servers as after any SIGINT.
  const unregister = onCleanup(() => proc.child.kill('SIGINT') && proc.exit);
  let stopped = false;
  try {
    const readyMs = await withTimeout(
      new Promise<number>((resolve, reject) => {
        let seen = '';
        proc.child.stdout!.on('data', (d: Buffer) => {
          seen += d.toString();
          if (seen.includes(READY)) resolve(performance.now() - t0);
        });
        void proc.exit.then((code) => reject(new Error(`the stack exited with ${code} before it was ready:\n${proc.stdout()}\n${proc.stderr().slice(-4_000)}`)));
      }),
      READY_TIMEOUT_MS,
      'waiting for the stack to be ready',
    );
    sampler.sample();
    const memory = sampler.stop();
    const reported = /swarmflow is ready \((\d+) ms/.exec(proc.stdout())?.[1];
    const { stopMs, exitCode } = await stop(proc);
    stopped = true;
    return { kind, readyMs, reportedMs: reported ? Number(reported) : undefined, stopMs, exitCode, memory, stateDir: env.SWARM_STATE_DIR! };
  } finally {
    unregister();
    sampler.stop();
    if (!stopped && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGINT');
      await withTimeout(proc.exit, STOP_TIMEOUT_MS, 'stopping the stack').catch(() => proc.child.kill('SIGKILL'));
    }
    if (!stopped) reapLeftovers(sampler);
  }
}

export async function benchStartup({ runs = 3, keep = false, onCleanup }: { runs?: number; keep?: boolean; onCleanup: OnCleanup }): Promise<StartupResult> {
  const fresh: StartupRun[] = [];
  const stateDirs: string[] = [];
  try {
    let last: NodeJS.ProcessEnv | undefined;
    for (let i = 1; i <= runs; i++) {
      // stackEnv: free ports and queue names; the state folder goes under .swarmflow/bench instead,
      // and the embedded servers are what is measured even if this shell points elsewhere.
      const base = await stackEnv(`bench-${i}`);
      rmSync(base.SWARM_STATE_DIR!, { recursive: true, force: true });
      const env: NodeJS.ProcessEnv = { ...base, SWARM_STATE_DIR: benchDir(`startup-${i}`) };
      delete env.TEMPORAL_ADDRESS;
      delete env.DATABASE_URL;
      stateDirs.push(env.SWARM_STATE_DIR!);
      progress(`startup ${i}/${runs} (fresh state folder ${env.SWARM_STATE_DIR})`);
      const run = await runOnce(env, 'fresh', onCleanup);
      progress(`  ready in ${seconds(run.readyMs)}, stopped in ${seconds(run.stopMs)} (exit ${run.exitCode})`);
      fresh.push(run);
      last = env;
    }
    // The last state folder again, same ports: Temporal's state file and Postgres's data exist.
    progress(`startup restart on ${last!.SWARM_STATE_DIR}`);
    const restart = await runOnce(last!, 'restart', onCleanup);
    progress(`  ready in ${seconds(restart.readyMs)}, stopped in ${seconds(restart.stopMs)} (exit ${restart.exitCode})`);
    return { fresh, restart };
  } finally {
    if (!keep) for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  }
}
