// Everything a task test needs, real: a git repository with a scripted agent's scenario and CI
// policy committed, a fresh Postgres database, a state folder, and both workers on a Temporal
// test environment (time-skipping or dev server).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { CompositeNotifier, type Notifier } from '../../activities/notify/notifier.ts';
import { createTelegram, type Telegram } from '../../activities/notify/telegram/index.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { loadConfig, type Approver, type Config } from '../../lib/config.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { createHostWorker, createOrchestrationWorker } from '../../workers/workers.ts';
import type { Notification } from '../../workflows/task/types.ts';
import type { TaskSpecInput } from '../../workflows/task/spec.ts';
import { freshDatabase, type TestDatabase } from './postgres.ts';
import { approversEnv } from './approvers.ts';
import { tempDir } from './paths.ts';
import { workflowBundle } from './temporal.ts';

export const SCRIPTED_REVIEWER = join(PROJECT_ROOT, 'activities', 'review', 'scripted-reviewer.mjs');

/** The notifications a task sent, in order (the console notifier's job, observable). */
export class RecordingNotifier implements Notifier {
  readonly sent: Notification[] = [];
  private readonly held = new Map<string, { arrived: () => void; released: Promise<void> }>();

  async send(n: Notification): Promise<void> {
    this.sent.push(n);
    const hold = this.held.get(n.event);
    if (!hold) return;
    this.held.delete(n.event);
    hold.arrived();
    await hold.released;
  }

  /** Holds the next notification of this event in flight until `release()`: a slow channel. */
  holdNext(event: Notification['event']): { arrived: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    this.held.set(event, { arrived, released: new Promise<void>((resolve) => (release = resolve)) });
    return { arrived: arrival, release };
  }
  events(taskId: string): string[] {
    return this.sent.filter((n) => n.taskId === taskId).map((n) => n.event);
  }
}

export interface ScenarioStep {
  files?: Record<string, string>;
  commit?: string;
  sleepMs?: number;
  exitCode?: number;
  print?: string[];
}

/** The scripted agent's one good attempt: feature.txt, committed. */
export const FEATURE_DONE: ScenarioStep = { files: { 'feature.txt': 'done\n' }, commit: 'Add the feature' };

/** A task for the scripted agent that FEATURE_DONE fulfils. */
export const featureSpec = (id: string, repository: string, extra: Partial<TaskSpecInput> = {}): TaskSpecInput => ({
  id,
  repository,
  title: 'Add the feature',
  description: 'feature.txt holds "done".',
  acceptanceCriteria: ['feature.txt exists'],
  shape: 'backend',
  agent: 'scripted',
  ...extra,
});

export interface RepoOptions {
  files?: Record<string, string>;
  ci?: Array<{ name: string; command: string; timeout?: string }>;
  uiPaths?: string[];
  /** The policy's worktree bootstrap (env files, install command). */
  bootstrap?: { envFiles?: string[]; install?: { command: string; timeout?: string } };
  scenario: ScenarioStep[];
  /** Findings file for the scripted reviewer, committed outside the repository. */
  reviewerFindings?: unknown;
  /** More of swarmflow.repo.json (preview, protectedPaths, allowPaths…), as the file has them. */
  policy?: Record<string, unknown>;
}

export function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).trim();
}

export function commitFiles(repo: string, files: Record<string, string>, message: string): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

/** The policy file sampleRepo commits (a scenario that must leave it as it is writes the same text). */
export function policyFile({ ci = [], uiPaths = [], bootstrap, policy = {} }: Pick<RepoOptions, 'ci' | 'uiPaths' | 'bootstrap' | 'policy'>): string {
  return JSON.stringify({ ci, uiPaths, ...(bootstrap ? { bootstrap } : {}), ...policy });
}

/** A repository whose main branch carries the sample code, its CI policy and the agent's scenario. */
export function sampleRepo({ files = {}, ci = [], uiPaths = [], bootstrap, scenario, policy = {} }: RepoOptions): string {
  const repo = join(tempDir('repo'), 'project');
  mkdirSync(repo);
  git(repo, 'init', '--quiet', '--initial-branch=main');
  commitFiles(
    repo,
    {
      ...files,
      'swarmflow.repo.json': policyFile({ ci, uiPaths, bootstrap, policy }),
      'swarm-scenario.json': JSON.stringify({ steps: scenario }),
    },
    'initial',
  );
  return repo;
}

export interface Testbed {
  config: Config;
  /** The state folder of each extra host. */
  hostStateDirs: Record<string, string>;
  database: TestDatabase;
  notifier: RecordingNotifier;
  /** The Telegram notifier and remote control, when the env configured one (started with the workers). */
  telegram?: Telegram;
  /** Runs both workers until `fn` settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  teardown(): Promise<void>;
}

let counter = 0;

export interface TestbedOverrides {
  reviewers?: Config['reviewers'];
  /** Approvers with keys (see approvers.ts); alice by default. */
  approvers?: Array<string | Approver>;
  github?: Config['github'];
  /** Agents on top of the default ones (the scripted agent among them). */
  agents?: Config['agents'];
  /** Routes by shape over the default table (an issue names no agent: its shape routes it). */
  routing?: Partial<Config['routing']>;
  host?: Partial<Config['host']>;
  tasks?: Partial<Config['tasks']>;
  /** More hosts, each with its own host worker and state folder (a task picks one with `spec.host`). */
  extraHosts?: string[];
  /** More configuration env (TELEGRAM_BOT_TOKEN…) over the testbed's own. */
  env?: Record<string, string>;
  /** How the Telegram parts poll, when the env turns Telegram on. */
  telegram?: { pollSeconds?: number; idleMs?: number };
  /** A database the test owns (and may stop), instead of a fresh one on the run's Postgres; not dropped at teardown. */
  database?: TestDatabase;
}

export async function createTestbed(env: TestWorkflowEnvironment, overrides: TestbedOverrides = {}): Promise<Testbed> {
  const id = `t${process.pid}-${++counter}`;
  const config = loadConfig({
    env: { SWARM_STATE_DIR: tempDir('state'), SWARM_HOST_ID: id, SWARM_ORCHESTRATION_QUEUE: `orchestration-${id}`, ...approversEnv(overrides.approvers ?? ['alice']), ...overrides.env },
  });
  config.reviewers = overrides.reviewers ?? [];
  if (overrides.github) config.github = overrides.github;
  config.agents = { ...config.agents, ...overrides.agents };
  config.routing = { ...config.routing, ...overrides.routing };
  config.host = { ...config.host, ...overrides.host };
  config.tasks = { ...config.tasks, ...overrides.tasks };
  const database = overrides.database ?? (await freshDatabase());
  const notifier = new RecordingNotifier();
  const logger = new SwarmLogger({ level: 'WARN' });
  const telegram = createTelegram({ config, db: database.db, client: SwarmClient.fromClient(env.client, config), logger, ...overrides.telegram });
  const workers: Worker[] = [
    await createOrchestrationWorker({ connection: env.nativeConnection, config, db: database.db, logger, notifier: telegram ? new CompositeNotifier([notifier, telegram.notifier]) : notifier, workflowBundle, searchAttributes: !env.supportsTimeSkipping }),
    await createHostWorker({ connection: env.nativeConnection, config, db: database.db }),
  ];
  const hostStateDirs: Record<string, string> = {};
  for (const hostId of overrides.extraHosts ?? []) {
    hostStateDirs[hostId] = tempDir(`state-${hostId}`);
    const hostConfig = { ...config, stateDir: hostStateDirs[hostId], workers: { ...config.workers, hostId } };
    workers.push(await createHostWorker({ connection: env.nativeConnection, config: hostConfig, db: database.db }));
  }
  return {
    config,
    hostStateDirs,
    database,
    notifier,
    ...(telegram ? { telegram } : {}),
    // The host workers stop first, then the orchestration worker (the order before extra hosts); Telegram runs while they do.
    run: (fn) => {
      const body = async () => {
        await telegram?.start();
        try {
          return await fn();
        } finally {
          await telegram?.stop();
        }
      };
      return workers[0]!.runUntil(workers.slice(1).reduce<Promise<unknown>>((inner, host) => host.runUntil(inner), body())) as ReturnType<typeof fn>;
    },
    teardown: () => (overrides.database ? Promise.resolve() : database.drop()),
  };
}

/** Polls `read` until `done` holds (the state query is live; no time skipping involved). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value).slice(0, 2_000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function tmuxSessionExists(config: Config, session: string): boolean {
  const socket = join(config.stateDir, 'tmux.sock');
  if (!existsSync(socket)) return false;
  try {
    execFileSync('tmux', ['-S', socket, 'has-session', '-t', `=${session}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
