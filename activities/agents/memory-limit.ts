// The cap on an agent's memory. cgroup v2 where the host allows it: one group per task holds the
// agent and everything it starts (also what leaves its process group, like Codex's app-server
// daemon), and the kernel stops the group as a whole. Otherwise prlimit's RLIMIT_DATA, inherited
// by every process the agent starts but counted per process.
//
// Why RLIMIT_DATA and not RLIMIT_AS: V8 and Bun reserve large inaccessible address ranges up
// front (Gemini CLI's WebAssembly alone fails under a 2 GiB RLIMIT_AS), which RLIMIT_AS counts and
// RLIMIT_DATA does not; RLIMIT_DATA counts writable private memory, so the heap, buffers and
// malloc are stopped at the limit. RLIMIT_RSS is accepted by Linux and never enforced.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath } from '../../scripts/tools.mjs';
import { Slug } from '../../workflows/task/spec.ts';
import { pause } from '../activity-context.ts';

export const CGROUP_ROOT = '/sys/fs/cgroup';
/** The group under the root that holds one group per task (it holds no process itself). */
const PARENT = 'swarmflow';

export type MemoryLimit =
  | { mechanism: 'cgroup2'; detail: string; parent: string }
  | { mechanism: 'prlimit'; detail: string; prlimit: string }
  | { mechanism: 'none'; detail: string };

export interface DetectOptions {
  cgroupRoot?: string;
  /** Where prlimit is looked up (its PATH). */
  env?: NodeJS.ProcessEnv;
}

const listsMemory = (file: string) => readFileSync(file, 'utf8').split(/\s+/).includes('memory');

/** Sets up `<root>/swarmflow` for per-task memory groups; the reason when this host cannot. */
function prepareCgroupParent(root: string): { parent: string } | { problem: string } {
  const controllers = join(root, 'cgroup.controllers');
  if (!existsSync(controllers)) return { problem: `no cgroup v2 hierarchy at ${root}` };
  if (!listsMemory(controllers)) return { problem: `the cgroup v2 hierarchy at ${root} has no memory controller` };
  const parent = join(root, PARENT);
  try {
    mkdirSync(parent, { recursive: true });
    // memory.max exists in a group only when its parent delegates the controller to its children.
    if (!listsMemory(join(root, 'cgroup.subtree_control'))) writeFileSync(join(root, 'cgroup.subtree_control'), '+memory');
    writeFileSync(join(parent, 'cgroup.subtree_control'), '+memory');
    const probe = join(parent, `probe-${process.pid}`);
    mkdirSync(probe, { recursive: true });
    const limitable = existsSync(join(probe, 'memory.max'));
    rmdirSync(probe);
    return limitable ? { parent } : { problem: `a group created under ${parent} has no memory.max` };
  } catch (err) {
    return { problem: `cannot create a memory-limited group under ${root}: ${(err as Error).message}` };
  }
}

/** Which mechanism agents get here: cgroup v2 when it can be used, else prlimit, else none. */
export function detectMemoryLimit({ cgroupRoot = CGROUP_ROOT, env = process.env }: DetectOptions = {}): MemoryLimit {
  const cgroup = prepareCgroupParent(cgroupRoot);
  if ('parent' in cgroup) return { mechanism: 'cgroup2', detail: `cgroup v2 group per task under ${cgroup.parent} (memory.max for the whole agent)`, parent: cgroup.parent };
  const prlimit = findOnPath('prlimit', env);
  if (prlimit) return { mechanism: 'prlimit', detail: `${prlimit} --data (RLIMIT_DATA, per process of the agent); ${cgroup.problem}`, prlimit };
  return { mechanism: 'none', detail: `no prlimit on PATH and ${cgroup.problem}` };
}

export interface LimitInput {
  taskId: string;
  limitMb: number;
  /** The agent's argv, as configured. */
  argv: string[];
}

/**
 * The argv the wrapper runs instead of the agent's: the same program under the limit. For cgroup v2
 * it also creates the task's group with its memory.max; the command joins it and then execs the
 * agent, so the agent keeps the pid and everything it starts is born inside. With no mechanism the
 * agent runs unlimited (the doctor reports that host).
 */
export function memoryLimitedArgv(limit: MemoryLimit, { taskId, limitMb, argv }: LimitInput): string[] {
  const bytes = String(limitMb * 1024 * 1024);
  switch (limit.mechanism) {
    case 'prlimit':
      return [limit.prlimit, `--data=${bytes}`, '--', ...argv];
    case 'cgroup2': {
      const group = join(limit.parent, Slug.parse(taskId));
      mkdirSync(group, { recursive: true });
      writeFileSync(join(group, 'memory.max'), bytes);
      // Without swap an agent over its limit is stopped, instead of slowing the whole host down.
      if (existsSync(join(group, 'memory.swap.max'))) writeFileSync(join(group, 'memory.swap.max'), '0');
      return ['/bin/sh', '-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'swarmflow-cgroup', group, ...argv];
    }
    case 'none':
      return argv;
  }
}

/**
 * Removes the task's group, killing whatever is still in it; false when there was none (prlimit
 * leaves nothing behind: the limit ends with the processes).
 */
export async function releaseMemoryLimit(taskId: string, cgroupRoot = CGROUP_ROOT): Promise<boolean> {
  const group = join(cgroupRoot, PARENT, Slug.parse(taskId));
  if (!existsSync(group)) return false;
  // cgroup.kill (Linux 5.14) SIGKILLs every process in the group, also those outside the session.
  if (existsSync(join(group, 'cgroup.kill'))) writeFileSync(join(group, 'cgroup.kill'), '1');
  // A group can be removed once its last process is reaped, a moment after the kill.
  for (let tries = 1; ; tries += 1) {
    try {
      rmdirSync(group);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || tries === 50) throw err;
      await pause(100);
    }
  }
}
