// Hosts that join (issue #15): a host-only worker (SWARM_WORKER_ROLE=host) joins a running stack
// on the same Temporal server and Postgres, writes its heartbeat to the host registry, runs a task
// pinned to it, and is where a GitHub task that names no host goes while it has the most free
// agent slots; `swarm status` lists both hosts with their capacity and last heartbeat, and the
// SIGKILLed one as gone once it missed three beats, and the task it ran asks a human, saying so.
// Real processes, dev server, Postgres, the GitHub stand-in.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { SwarmClient } from '../../client/swarm-client.ts';
import type { HostRecord } from '../../activities/store/hosts.ts';
import { loadConfig } from '../../lib/config.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { startDevServer, type DevServer } from '../../workers/temporal-dev-server.ts';
import { approversEnv } from '../harness/approvers.ts';
import { recordHistory } from '../harness/histories.ts';
import { tempDir } from '../harness/paths.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { startStandin, type GitHubStandin } from '../harness/github/standin.ts';
import { startStackProcess, swarm, type StackProcess } from '../harness/stack-process.ts';
import { eventually, git, sampleRepo } from '../harness/task-testbed.ts';

let server: DevServer;
let database: TestDatabase;
let standin: GitHubStandin;
const stacks: StackProcess[] = [];
beforeAll(async () => {
  standin = await startStandin({ root: tempDir('hosts-github') });
  await standin.createRepo('octo', 'placed', { 'README.md': 'placed\n', 'swarmflow.repo.json': JSON.stringify({ ci: [] }), 'swarm-scenario.json': JSON.stringify({ steps: [{ files: { 'placed.txt': 'placed\n' }, commit: 'Write placed.txt', sleepMs: 60_000 }] }) });
  server = await startDevServer({ dbFilename: join(tempDir('hosts-temporal'), 'temporal.db'), port: await freePort(), headless: true, logger: new SwarmLogger({ level: 'WARN' }) });
  database = await freshDatabase();
});
afterAll(async () => {
  for (const s of stacks) s.child.kill('SIGKILL');
  await Promise.all(stacks.map((s) => s.exit));
  await server?.stop();
  await database?.drop();
  await standin?.stop();
});

const hostsOf = (env: NodeJS.ProcessEnv): HostRecord[] => {
  const status = swarm(env, 'status', '--json');
  return (JSON.parse(status.stdout) as { hosts?: HostRecord[] }).hosts ?? [];
};

describe('hosts that join and die', () => {
  it('a host-only worker joins, runs the task pinned to it and the GitHub task placed on it, is listed with its capacity, is gone three beats after a SIGKILL, and its task says so', async () => {
    const common: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      DATABASE_URL: database.url,
      SWARM_ORCHESTRATION_QUEUE: `hosts-${process.pid}`,
      SWARM_HOST_HEARTBEAT: '1s',
      // A step its host does not pick up asks a human after this (5 min by default).
      SWARM_HOST_UNANSWERED_TIMEOUT: '5s',
      SWARM_LOG_FORMAT: 'json',
      GITHUB_TOKEN: 'standin-token',
      GITHUB_API_URL: standin.url,
      GITHUB_GIT_URL: standin.url,
      ...approversEnv(['alice']),
    };
    const main = { ...common, SWARM_STATE_DIR: tempDir('hosts-main'), SWARM_HOST_ID: `main-${process.pid}` };
    const joined = { ...common, SWARM_STATE_DIR: tempDir('hosts-joined'), SWARM_HOST_ID: `joined-${process.pid}`, SWARM_WORKER_ROLE: 'host', SWARM_MAX_AGENTS: '5' };

    // A host worker alone cannot make a stack: it says what it needs.
    const alone = await startStackProcess({ ...joined, TEMPORAL_ADDRESS: '', DATABASE_URL: '', SWARM_STATE_DIR: tempDir('hosts-alone') }, { waitReady: false });
    expect(await alone.exit).toBe(1);
    expect(alone.stdout() + alone.stderr()).toContain('SWARM_WORKER_ROLE=host joins a stack that runs elsewhere: set TEMPORAL_ADDRESS and DATABASE_URL');

    stacks.push(await startStackProcess(main));
    const host = await startStackProcess(joined);
    stacks.push(host);
    expect(host.stdout()).toContain(`Worker     swarm-host-joined-${process.pid}`);
    expect(host.stdout()).not.toContain(`hosts-${process.pid}  (workflows`);

    const listed = await eventually(() => Promise.resolve(hostsOf(main)), (hosts) => hosts.filter((h) => h.state === 'alive').length === 2, 30_000);
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ hostId: `main-${process.pid}`, taskQueue: `swarm-host-main-${process.pid}`, maxAgents: 3, state: 'alive', heartbeatMs: 1_000 }),
        expect.objectContaining({ hostId: `joined-${process.pid}`, taskQueue: `swarm-host-joined-${process.pid}`, maxAgents: 5, liveAgents: 0, state: 'alive' }),
      ]),
    );
    expect(listed.every((h) => h.freeMemoryMb > 0)).toBe(true);
    const text = swarm(main, 'status');
    expect(text.stdout).toMatch(new RegExp(`Host       joined-${process.pid}  alive: 0/5 agent\\(s\\), \\d+ MB free; last heartbeat \\S+ \\(every 1s\\)`));

    // The joined host does a task's host-bound work: its worktree, agent and CI are there.
    const repo = sampleRepo({ ci: [{ name: 'check', command: 'true' }], scenario: [{ files: { 'joined.txt': 'joined\n' }, commit: 'Write joined.txt' }] });
    const client = await SwarmClient.connect({ config: loadConfig({ env: main }) });
    try {
      await client.startTask({ id: 'on-joined', repository: repo, title: 'Write joined.txt', description: 'Write joined.txt and commit it.', acceptanceCriteria: ['joined.txt exists'], shape: 'backend', agent: 'scripted', host: `joined-${process.pid}` });
      const waiting = await eventually(() => client.getTask('on-joined'), (s) => s.status === 'awaiting_approval', 120_000);
      expect(waiting.workspace!.worktree.startsWith(joined.SWARM_STATE_DIR)).toBe(true);
      await client.decide('on-joined', { decision: 'approve', by: 'alice' });
      expect(await client.result('on-joined')).toMatchObject({ status: 'merged' });
      expect(git(repo, 'show', 'main:joined.txt')).toBe('joined');

      // A GitHub task that names no host goes to the host with the most free agent slots: 5 here, 3 on the stack's.
      await client.startTask({ id: 'placed', repository: 'octo/placed', title: 'Write placed.txt', description: 'Write placed.txt and commit it.', acceptanceCriteria: ['placed.txt exists'], shape: 'backend', agent: 'scripted' });
      const placed = await eventually(() => client.getTask('placed'), (s) => s.step === 'monitor', 120_000);
      expect(placed.setup!.hostQueue).toBe(`swarm-host-joined-${process.pid}`);
      expect(placed.notes).toEqual(expect.arrayContaining([expect.stringContaining(`; on host joined-${process.pid}, the most free of 2 alive host(s): 5 of 5 agent slot(s) free`)]));
      expect(placed.workspace!.worktree.startsWith(joined.SWARM_STATE_DIR)).toBe(true);

      // SIGKILL while its agent works: no last word; three missed beats later the registry says gone, the other stays alive.
      host.child.kill('SIGKILL');
      await host.exit;
      const gone = await eventually(() => Promise.resolve(hostsOf(main)), (hosts) => hosts.some((h) => h.hostId === `joined-${process.pid}` && h.state === 'gone'), 30_000);
      expect(gone.find((h) => h.hostId === `main-${process.pid}`)).toMatchObject({ state: 'alive' });
      expect(swarm(main, 'status').stdout).toContain(`Host       joined-${process.pid}  GONE: no heartbeat since`);

      // The task does not wait for it forever: its step times out (heartbeat), nobody picks up the
      // retry, and a human is told that the host is gone and that the work (nothing pushed yet) is there.
      const stranded = await eventually(() => client.getTask('placed'), (s) => s.status === 'needs_human', 120_000);
      expect(stranded.blocker).toMatch(new RegExp(`^host joined-${process.pid} is gone: no heartbeat since \\S+ \\(awaitAgentExit waited 5s for it\\); its worktree is on joined-${process.pid} only: start its worker again \\(SWARM_HOST_ID=joined-${process.pid}\\), then retry`));
      await recordHistory(client.temporal, 'task-placed', 'dev-server-host-gone');
    } finally {
      await client.close();
    }
  }, 300_000);
});
