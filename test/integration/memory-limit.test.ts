// The agent's memory limit on this host, with real processes: which mechanism is detected, that
// the limit reaches the process and everything it starts, that an allocation past it fails, and
// that the pinned agent CLIs still start under it.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { detectMemoryLimit, memoryLimitedArgv, releaseMemoryLimit, type MemoryLimit } from '../../activities/agents/memory-limit.ts';
import { stopChild } from '../../lib/process.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { tempDir } from '../harness/paths.ts';

const MiB = 1024 * 1024;
const prlimit = (): Extract<MemoryLimit, { mechanism: 'prlimit' }> => {
  const limit = detectMemoryLimit({ cgroupRoot: tempDir('no-cgroup') });
  if (limit.mechanism !== 'prlimit') throw new Error(`expected prlimit on this host, got ${limit.mechanism}: ${limit.detail}`);
  return limit;
};
/** Allocates `mb` MiB in 32 MiB buffers (touched, so they are really there), then says so. */
const allocate = (mb: number) => ['node', '-e', `const kept = []; for (let i = 0; i < ${mb / 32}; i++) kept.push(Buffer.alloc(32 << 20, 1)); console.log('allocated ${mb} MiB')`];

describe('detectMemoryLimit', () => {
  const cgroupV2Memory = existsSync('/sys/fs/cgroup/cgroup.controllers') && readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('memory');

  (cgroupV2Memory ? it.skip : it)('falls back to prlimit on this host, saying why cgroup v2 is not used', () => {
    const limit = detectMemoryLimit();
    expect(limit).toMatchObject({ mechanism: 'prlimit', prlimit: expect.stringMatching(/\/prlimit$/) });
    expect(limit.detail).toMatch(/--data \(RLIMIT_DATA, per process of the agent\); (no cgroup v2 hierarchy at|the cgroup v2 hierarchy at .* has no memory controller|cannot create)/);
  });

  (existsSync('/sys/fs/cgroup/unified/cgroup.controllers') && !readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').includes('memory') ? it : it.skip)(
    'does not take a cgroup v2 mount without the memory controller',
    () => {
      expect(detectMemoryLimit({ cgroupRoot: '/sys/fs/cgroup/unified' })).toMatchObject({ mechanism: 'prlimit', detail: expect.stringContaining('the cgroup v2 hierarchy at /sys/fs/cgroup/unified has no memory controller') });
      expect(existsSync('/sys/fs/cgroup/unified/swarmflow')).toBe(false);
    },
  );

  it('reports none, with both reasons, when prlimit is not on PATH either', () => {
    const root = tempDir('no-cgroup');
    expect(detectMemoryLimit({ cgroupRoot: root, env: { PATH: tempDir('empty-path') } })).toEqual({ mechanism: 'none', detail: `no prlimit on PATH and no cgroup v2 hierarchy at ${root}` });
  });
});

describe('memoryLimitedArgv', () => {
  it('runs the agent under prlimit --data, or unchanged without a mechanism', () => {
    const argv = ['codex', '--model', 'x y'];
    expect(memoryLimitedArgv({ mechanism: 'prlimit', detail: '', prlimit: '/usr/bin/prlimit' }, { taskId: 't', limitMb: 4096, argv })).toEqual(['/usr/bin/prlimit', '--data=4294967296', '--', 'codex', '--model', 'x y']);
    expect(memoryLimitedArgv({ mechanism: 'none', detail: '' }, { taskId: 't', limitMb: 4096, argv })).toEqual(argv);
  });

  it('puts the limit on the real process and on every process it starts', async () => {
    const argv = memoryLimitedArgv(prlimit(), { taskId: 't', limitMb: 256, argv: ['sh', '-c', 'grep "^Max data size" /proc/self/limits; sleep 30'] });
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const fromChild = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      // prlimit execs the agent: the pid we started is the agent's.
      const own = readFileSync(`/proc/${child.pid}/limits`, 'utf8');
      expect(own).toMatch(/^Max data size\s+268435456\s+268435456\s+bytes/m);
      expect(fromChild).toMatch(/^Max data size\s+268435456\s+268435456\s+bytes/);
    } finally {
      await stopChild(child, 'SIGKILL');
    }
  });

  it('stops an allocation past the limit, and lets the same one through under a higher limit', async () => {
    const limited = memoryLimitedArgv(prlimit(), { taskId: 't', limitMb: 256, argv: allocate(512) });
    const over = await execa(limited[0]!, limited.slice(1), { reject: false });
    expect(over.exitCode).not.toBe(0);
    expect(over.stderr).toContain('RangeError: Array buffer allocation failed');
    expect(over.stdout).not.toContain('allocated');

    const roomy = memoryLimitedArgv(prlimit(), { taskId: 't', limitMb: 1024, argv: allocate(512) });
    const under = await execa(roomy[0]!, roomy.slice(1), { reject: false });
    expect(under.stdout).toBe('allocated 512 MiB');
    expect(under.exitCode).toBe(0);
  });

  it.each(['codex', 'claude', 'gemini'])('lets the pinned %s CLI start under the 2 GiB limit', async (cli) => {
    const argv = memoryLimitedArgv(prlimit(), { taskId: 't', limitMb: 2048, argv: [join(PROJECT_ROOT, 'node_modules', '.bin', cli), '--version'] });
    const res = await execa(argv[0]!, argv.slice(1), { reject: false, env: { HOME: tempDir(`home-${cli}`) }, timeout: 60_000 });
    expect(res.stderr).not.toMatch(/out of memory|allocation failed/i);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/\d+\.\d+\.\d+/);
  });

  // This host has no cgroup v2 memory controller: what runs here is the joining command (the agent
  // writes its own pid, then execs with its argv intact), against a folder standing in for the group.
  it('for cgroup v2, creates the task group with memory.max and has the agent join it under its own pid', async () => {
    const parent = tempDir('cgroup-parent');
    const argv = memoryLimitedArgv({ mechanism: 'cgroup2', detail: '', parent }, { taskId: 'task-1', limitMb: 512, argv: ['sh', '-c', 'echo "$$ $1|$2"', 'agent', 'two words', "it's"] });
    const group = join(parent, 'task-1');
    expect(readFileSync(join(group, 'memory.max'), 'utf8')).toBe(String(512 * MiB));
    const res = await execa(argv[0]!, argv.slice(1));
    const pid = res.stdout.split(' ')[0];
    expect(readFileSync(join(group, 'cgroup.procs'), 'utf8').trim()).toBe(pid);
    expect(res.stdout).toBe(`${pid} two words|it's`);
    expect(() => memoryLimitedArgv({ mechanism: 'cgroup2', detail: '', parent }, { taskId: '../escape', limitMb: 512, argv: ['x'] })).toThrow();
  });

  it('has nothing to release where no group was made', async () => {
    const root = tempDir('cgroup-root');
    mkdirSync(join(root, 'swarmflow'));
    await expect(releaseMemoryLimit('task-1', root)).resolves.toBe(false);
  });
});
