// One task on the dev server, driven through the `swarm` CLI, with the worker process SIGKILLed
// while the agent runs and again while CI runs. Real git, worktrees, tmux, Postgres, and a
// scripted agent that edits code and commits. The task must still end merged with exactly one PR,
// one merge and one agent session ever created, and nothing left behind.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SwarmClient } from '../../client/swarm-client.ts';
import { loadConfig } from '../../lib/config.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { startDevServer, type DevServer } from '../../workers/temporal-dev-server.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';
import { approversEnv } from '../harness/approvers.ts';
import { recordHistory } from '../harness/histories.ts';
import { startStackProcess, swarm, type StackProcess } from '../harness/stack-process.ts';
import { eventually, git, sampleRepo, tmuxSessionExists } from '../harness/task-testbed.ts';

const ADD = 'export const add = (a, b) => a + b;\n';

let server: DevServer;
let database: TestDatabase;
let worker: StackProcess | undefined;
beforeAll(async () => {
  server = await startDevServer({ dbFilename: join(tempDir('durable-temporal'), 'temporal.db'), port: await freePort(), headless: true, logger: new SwarmLogger({ level: 'WARN' }) });
  database = await freshDatabase();
});
afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await worker?.exit;
  await server?.stop();
  await database?.drop();
});

describe('a task survives worker crashes', () => {
  it('SIGKILL during the agent run and during CI: merged once, one PR, one spawn, nothing left behind', async () => {
    const repo = sampleRepo({
      files: { 'calc.mjs': ADD, 'test.mjs': "import * as c from './calc.mjs';\nif (c.multiply(4, 5) !== 20) process.exit(1);\n" },
      ci: [{ name: 'tests', command: 'sleep 4 && node test.mjs', timeout: '2m' }],
      scenario: [{ files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply', sleepMs: 15_000 }],
    });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      DATABASE_URL: database.url,
      SWARM_STATE_DIR: tempDir('durable-state'),
      SWARM_HOST_ID: `durable-${process.pid}`,
      SWARM_ORCHESTRATION_QUEUE: `durable-${process.pid}`,
      ...approversEnv(['alice']),
      SWARM_LOG_FORMAT: 'json',
    };
    const config = loadConfig({ env });
    const client = await SwarmClient.connect({ config });
    const state = () => client.getTask('durable');
    const until = (done: (s: TaskState) => boolean) => eventually(state, done, 120_000);
    const crashAndRestart = async () => {
      worker!.child.kill('SIGKILL');
      await worker!.exit;
      worker = await startStackProcess(env);
    };

    try {
      worker = await startStackProcess(env);
      const specFile = join(tempDir('durable-spec'), 'spec.json');
      writeFileSync(specFile, JSON.stringify({ id: 'durable', repository: repo, title: 'Add multiply()', description: 'multiply(a, b)', acceptanceCriteria: ['multiply(4, 5) is 20'], shape: 'backend', agent: 'scripted' }));
      const started = swarm(env, 'task', 'start', '--spec', specFile, '--json');
      expect(started.stderr).toBe('');
      expect(JSON.parse(started.stdout)).toEqual({ taskId: 'durable', workflowId: 'task-durable', started: true, runId: expect.any(String) });
      // Starting again is idempotent on the task id.
      expect(JSON.parse(swarm(env, 'task', 'start', '--spec', specFile, '--json').stdout)).toMatchObject({ started: false, existing: 'running' });

      await until((s) => s.step === 'monitor');
      expect(swarm(env, 'redirect', 'durable', 'Focus on calc.mjs only.').code).toBe(0);
      await until((s) => s.notes.some((n) => n.includes('redirect delivered to the agent')));
      await crashAndRestart(); // the agent keeps running in its tmux session meanwhile

      // CI runs first in step 6 (the reviewers read its results): crash while it runs.
      const inReview = await until((s) => s.step === 'review');
      expect(inReview.checks.ci).toBeUndefined();
      await crashAndRestart();

      await until((s) => s.status === 'awaiting_approval');
      const registry = JSON.parse(swarm(env, 'tasks', '--json').stdout) as Array<Record<string, unknown>>;
      expect(registry).toContainEqual(expect.objectContaining({ id: 'durable', status: 'awaiting_approval', tmuxSession: 'swarm-durable', branch: 'swarm/durable', attempts: 1 }));

      const refused = swarm(env, 'approve', 'durable', '--by', 'mallory');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('approval refused: mallory is not on the approvers list');
      const approved = swarm(env, 'approve', 'durable', '--by', 'alice', '--comment', 'lgtm');
      expect(approved.stdout).toContain('merged: durable, PR #1');
      expect(approved.code).toBe(0);
      const result = await client.result('durable');
      expect(result.status).toBe('merged');
      // A loop that approves until merged approves once: the next approval is refused, the task has ended.
      const again = swarm(env, 'approve', 'durable', '--by', 'alice');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('approval refused: task durable has ended (merged)');

      // Exactly one PR, one merge, one agent session ever spawned.
      const prs = await database.db.query<{ number: number; state: string; merge_sha: string }>('SELECT number, state, merge_sha FROM local_prs WHERE repository = $1', [repo]);
      expect(prs.rows).toEqual([{ number: 1, state: 'merged', merge_sha: result.mergeSha }]);
      const spawns = await database.db.query<{ attempt: number; spawns: number }>("SELECT attempt, spawns FROM agent_spawns WHERE task_id = 'durable'");
      expect(spawns.rows).toEqual([{ attempt: 1, spawns: 1 }]);
      expect(git(repo, 'log', '--format=%s', 'main')).toBe('Add multiply\ninitial');
      expect(git(repo, 'rev-parse', 'main')).toBe(result.mergeSha);

      expect(existsSync(join(config.stateDir, 'worktrees', 'durable'))).toBe(false);
      expect(tmuxSessionExists(config, 'swarm-durable')).toBe(false);
      expect(git(repo, 'branch', '--list', 'swarm/*')).toBe('');
      // The agent's log outlives the task, whole, though its watch was cut by a crash: one run, kept once.
      const logs = swarm(env, 'logs', 'durable');
      expect(logs).toMatchObject({ code: 0, stderr: '' });
      expect(logs.stdout).toContain('Add multiply()');
      expect(logs.stdout).toContain('committed: Add multiply');
      expect(logs.stdout.match(/--- prompt/g)).toHaveLength(1);
      const finished = JSON.parse(swarm(env, 'tasks', '--json').stdout) as Array<Record<string, unknown>>;
      expect(finished).toContainEqual(expect.objectContaining({ id: 'durable', status: 'done', pr: 1, checks: { prCreated: true, ciPassed: true } }));

      await recordHistory(client.temporal, 'task-durable', 'dev-server-two-worker-crashes');
    } finally {
      await client.close();
    }
  }, 300_000);
});
