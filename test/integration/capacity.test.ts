// The host's ceiling with real tmux sessions, the real /proc/meminfo, real git, CI commands and
// Postgres: when a spawn is held, and how heavy validation waits for a slot.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTmux, type Tmux } from '../../activities/agents/tmux.ts';
import { git, revParse } from '../../activities/git.ts';
import { heavySlots, memAvailableMb, spawnGate } from '../../activities/host/capacity.ts';
import { ConfigSchema } from '../../lib/config.ts';
import { createHostActivities } from '../../activities/host/index.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';

/** Whether the promise settles within a short while (it should not when it waits for a slot). */
async function settlesSoon(promise: Promise<unknown>, ms = 200): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return settled;
}

describe('spawnGate', () => {
  let tmux: Tmux;
  beforeAll(async () => {
    tmux = createTmux(join(tempDir('capacity'), 'tmux.sock'));
    for (const session of ['swarm-alpha', 'swarm-beta', 'scratch']) await tmux.run(['new-session', '-d', '-s', session, '--', 'sleep', '600']);
  });
  afterAll(async () => {
    await tmux.run(['kill-server']);
  });

  it('holds a spawn at maxAgents, counting agent sessions only', async () => {
    // "scratch" is not an agent: 2 live, not 3.
    const held = await spawnGate({ tmux, maxAgents: 2, minFreeMemoryMb: 0 }).check('swarm-new');
    expect(held).toMatchObject({ ok: false, reason: 'agent_cap', liveAgents: 2, detail: '2 agent(s) already run or are starting on this host (maxAgents 2)' });
    await expect(spawnGate({ tmux, maxAgents: 3, minFreeMemoryMb: 0 }).check('swarm-new')).resolves.toMatchObject({ ok: true, liveAgents: 2 });
  });

  it('does not count the session a respawn replaces', async () => {
    await expect(spawnGate({ tmux, maxAgents: 2, minFreeMemoryMb: 0 }).check('swarm-alpha')).resolves.toMatchObject({ ok: true, liveAgents: 1 });
  });

  it('sees no agents when our tmux server is not running', async () => {
    const idle = createTmux(join(tempDir('capacity-idle'), 'tmux.sock'));
    await expect(spawnGate({ tmux: idle, maxAgents: 1, minFreeMemoryMb: 0 }).check('swarm-new')).resolves.toMatchObject({ ok: true, liveAgents: 0 });
  });

  it('lets a burst of checks through only up to the cap: a passing check reserves its slot', async () => {
    const idle = createTmux(join(tempDir('capacity-burst'), 'tmux.sock'));
    const gate = spawnGate({ tmux: idle, maxAgents: 3, minFreeMemoryMb: 0, reservationMs: 60_000 });
    const verdicts = await Promise.all(Array.from({ length: 8 }, (_, i) => gate.check(`swarm-burst-${i}`)));
    expect(verdicts.filter((v) => v.ok)).toHaveLength(3);
    expect(verdicts.filter((v) => !v.ok && v.reason === 'agent_cap')).toHaveLength(5);
    // A task asking again keeps its own slot.
    await expect(gate.check('swarm-burst-0')).resolves.toMatchObject({ ok: true, liveAgents: 2 });
  });

  it('frees a slot when its session came and went, and when its spawn never came', async () => {
    const socket = createTmux(join(tempDir('capacity-lapse'), 'tmux.sock'));
    const gate = spawnGate({ tmux: socket, maxAgents: 1, minFreeMemoryMb: 0, reservationMs: 300 });
    expect((await gate.check('swarm-one')).ok).toBe(true);
    expect((await gate.check('swarm-two')).ok).toBe(false);
    // swarm-one spawns (its session is seen), then its agent exits.
    await socket.run(['new-session', '-d', '-s', 'swarm-one', '--', 'sleep', '600']);
    expect((await gate.check('swarm-two')).ok).toBe(false);
    await socket.run(['kill-session', '-t', '=swarm-one']);
    expect((await gate.check('swarm-two')).ok).toBe(true);
    // swarm-two never spawns: its reservation lapses.
    expect((await gate.check('swarm-three')).ok).toBe(false);
    await sleep(400);
    expect((await gate.check('swarm-three')).ok).toBe(true);
    await socket.run(['kill-server']);
  });

  it('holds a spawn when free memory is below the headroom', async () => {
    const free = memAvailableMb();
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(totalmem() / 1024 / 1024);
    const held = await spawnGate({ tmux, maxAgents: 10, minFreeMemoryMb: free + 100_000 }).check('swarm-new');
    expect(held).toMatchObject({ ok: false, reason: 'low_memory', liveAgents: 2 });
    expect(held.ok === false && held.detail).toMatch(new RegExp(`^\\d+ MB of memory available, below minFreeMemoryMb ${free + 100_000}$`));
    await expect(spawnGate({ tmux, maxAgents: 10, minFreeMemoryMb: 1 }).check('swarm-new')).resolves.toMatchObject({ ok: true });
  });

  it('reads MemAvailable, not MemFree', () => {
    expect(memAvailableMb('MemTotal:       24684096 kB\nMemFree:         1024000 kB\nMemAvailable:    2048000 kB\n')).toBe(2000);
    expect(() => memAvailableMb('MemTotal: 1 kB\n')).toThrow(/no MemAvailable/);
  });
});

describe('heavySlots', () => {
  it('lets n holders in; the next wait for releases in arrival order, and a double release frees one slot', async () => {
    const slots = heavySlots(2);
    const first = await slots.acquire();
    const second = await slots.acquire();
    const third = slots.acquire();
    const fourth = slots.acquire();
    expect(await settlesSoon(third)).toBe(false);
    first();
    const thirdRelease = await third;
    expect(await settlesSoon(fourth)).toBe(false);
    first(); // already released: must not free another slot
    expect(await settlesSoon(fourth)).toBe(false);
    second();
    (await fourth)();
    thirdRelease();
  });

  it('heartbeats while it waits inside an activity, and a cancelled wait gives up its place', async () => {
    const slots = heavySlots(1, 50);
    const holder = await slots.acquire();
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => (beats += 1));
    const waiting = env.run(() => slots.acquire());
    await sleep(300);
    expect(beats).toBeGreaterThanOrEqual(3);
    env.cancel();
    await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
    const beatsAfterCancel = beats;
    holder();
    // The cancelled waiter took nothing: the slot is free for the next caller at once.
    const next = slots.acquire();
    expect(await settlesSoon(next, 50)).toBe(true);
    (await next)();
    await sleep(150);
    expect(beats).toBe(beatsAfterCancel);
  });
});

describe('the host worker draws CI runs and bootstrap installs from one set of slots', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('runs them one at a time with maxHeavyValidations 1', async () => {
    const dir = tempDir('capacity-host');
    // Unsandboxed: the install writes the shared trace outside its clone, which its sandbox forbids.
    const activities = createHostActivities({ hostId: 'test', stateDir: join(dir, 'state'), db: database.db, limits: { ...ConfigSchema.shape.host.parse(undefined), maxHeavyValidations: 1, sandbox: 'off' } });
    const repo = join(dir, 'repo');
    await git(dir, ['init', '-q', '-b', 'main', repo]);
    writeFileSync(join(repo, 'README.md'), 'hello\n');
    await git(repo, ['add', '-A']);
    await git(repo, ['commit', '-q', '-m', 'initial']);
    const worktree = join(dir, 'agent');
    await git(repo, ['worktree', 'add', '-q', '-b', 'swarm/ci', worktree, 'main']);
    writeFileSync(join(worktree, 'change.txt'), 'x\n');
    await git(worktree, ['add', '-A']);
    await git(worktree, ['commit', '-q', '-m', 'change']);
    const headSha = (await revParse(worktree, 'HEAD'))!;
    const pr = await activities.ensurePr({ taskId: 'ci', repository: repo, base: 'main', branch: 'swarm/ci', title: 'CI', body: '' });

    // Each heavy command notes when it starts and ends; overlapping work would interleave the lines.
    const trace = join(dir, 'trace.log');
    const heavy = (name: string) => `echo "start ${name}" >> ${trace}; sleep 1; echo "end ${name}" >> ${trace}`;
    const [ci, workspace] = await Promise.all([
      activities.runCi({ taskId: 'ci', repository: repo, number: pr.number, headSha, checks: [{ name: 'test', command: heavy('ci'), timeoutMs: 30_000 }] }),
      activities.prepareWorkspace({ taskId: 'install', repository: repo, baseBranch: 'main', bootstrap: { envFiles: [], install: { command: heavy('install'), timeoutMs: 30_000 } } }),
    ]);
    expect(ci.status).toBe('passed');
    expect(workspace.bootstrap.install?.exitCode).toBe(0);
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]!.replace('start', 'end')).toBe(lines[1]);
    expect(lines[2]!.replace('start', 'end')).toBe(lines[3]);
  });
});
