// `swarm demo`: a sample repository in a temp dir, a stack of its own (dev server, embedded
// Postgres, workers), and a scripted agent task through every step to the approval gate; then it
// approves, and shows the merged commit on the base branch. Needs no account and no running stack.
// The ports are free ones unless SWARM_TEMPORAL_PORT, SWARM_TEMPORAL_UI_PORT or SWARM_PG_PORT say
// otherwise; the temp folder goes at the end unless --keep.
import { chmodSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Runtime } from '@temporalio/worker';
import { git } from '../../activities/git.ts';
import { loadConfig } from '../../lib/config.ts';
import { generateSigningKey } from '../../lib/keys.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { startStack } from '../../workers/stack.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { SwarmClient } from '../swarm-client.ts';

const SAMPLE_FILES: Record<string, string> = {
  'calc.mjs': 'export const add = (a, b) => a + b;\n',
  'test.mjs': "import assert from 'node:assert';\nimport * as calc from './calc.mjs';\nassert.equal(calc.add(2, 3), 5);\nif (calc.multiply) assert.equal(calc.multiply(4, 5), 20);\nconsole.log('all tests passed');\n",
  'swarmflow.repo.json': `${JSON.stringify({ ci: [{ name: 'tests', command: 'node test.mjs', timeout: '2m' }], uiPaths: ['ui/'] }, null, 2)}\n`,
  // What the scripted agent does: it stands in for Codex/Claude/Gemini in the demo.
  'swarm-scenario.json': `${JSON.stringify(
    {
      steps: [
        {
          print: ['reading the task…', 'adding multiply() and its test'],
          files: {
            'calc.mjs': 'export const add = (a, b) => a + b;\nexport const multiply = (a, b) => a * b;\n',
          },
          commit: 'Add multiply()',
          exitCode: 0,
        },
      ],
    },
    null,
    2,
  )}\n`,
  'reviewer-findings.json': `${JSON.stringify({ findings: [{ severity: 'minor', file: 'calc.mjs', line: 2, message: 'consider documenting multiply()' }] }, null, 2)}\n`,
};

async function sampleRepository(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'swarm-demo-'));
  // Embedded Postgres runs as the postgres user when we are root: it must reach its data dir.
  chmodSync(dir, 0o755);
  const repo = join(dir, 'calc');
  mkdirSync(repo, { recursive: true });
  for (const [path, content] of Object.entries(SAMPLE_FILES)) writeFileSync(join(repo, path), content);
  await git(repo, ['init', '--quiet', '--initial-branch=main']);
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '--quiet', '-m', 'Sample calculator']);
  return repo;
}

/**
 * The status that is true when the state was read. The workflow records the outcome as its last
 * step: between the merge and `done` it still says awaiting_approval, through cleanup too.
 */
function statusNow(state: TaskState): string {
  if (state.merge) return 'merged';
  if (state.step === 'cleanup') return state.decision?.decision === 'reject' ? 'rejected' : 'finishing';
  return state.status;
}

/** What the demo prints as the task moves: each change once, and the approval asked for once. */
export class DemoProgress {
  private lastLine = '';
  private approved = false;

  /** The lines to print for this state, and whether to approve now. */
  next(state: TaskState): { lines: string[]; approve: boolean } {
    const last = state.notes.at(-1)?.replace(/^\S+ /, '') ?? '';
    const line = `  [${statusNow(state)}] step ${state.step.padEnd(10)} ${last}`.trimEnd();
    const lines = line === this.lastLine ? [] : [line];
    this.lastLine = line;
    // Once per wait for approval (a head that moved after the approval clears it, and asks again).
    if (state.status !== 'awaiting_approval') this.approved = false;
    const approve = !this.approved && state.status === 'awaiting_approval' && !state.decision;
    if (approve) {
      this.approved = true;
      lines.push('', 'Definition of Done:', ...(state.dod?.items ?? []).map((item) => `  ${item.ok ? '✔' : '✘'} ${item.label}: ${item.detail}`), '', 'approving as demo-reviewer…');
    }
    return { lines, approve };
  }
}

/** The port the operator set in `name`, else a free one: a demo runs beside a stack of its own. */
const portFrom = async (name: string) => process.env[name] ?? String(await freePort());

export async function runDemo({ keep = false }: { keep?: boolean } = {}): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const repo = await sampleRepository();
  const demoDir = dirname(repo);
  const stateDir = join(demoDir, 'state');
  const config = loadConfig({
    env: {
      SWARM_STATE_DIR: stateDir,
      SWARM_TEMPORAL_PORT: await portFrom('SWARM_TEMPORAL_PORT'),
      SWARM_TEMPORAL_UI_PORT: await portFrom('SWARM_TEMPORAL_UI_PORT'),
      SWARM_PG_PORT: await portFrom('SWARM_PG_PORT'),
      SWARM_HOST_ID: 'demo',
      SWARM_ORCHESTRATION_QUEUE: 'swarm-demo',
      SWARM_LOG_LEVEL: 'WARN',
    },
  });
  // The demo's approver signs with a key made for this run only, as a real one signs with theirs.
  const approverKey = generateSigningKey();
  config.approvers = [{ name: 'demo-reviewer', publicKey: approverKey.publicKey }];
  config.reviewers = [{ name: 'scripted-reviewer', command: ['node', join(PROJECT_ROOT, 'activities', 'review', 'scripted-reviewer.mjs'), join(repo, 'reviewer-findings.json')], timeout: '1m' }];
  const logger = new SwarmLogger({ level: 'WARN' });
  Runtime.install({ logger, shutdownSignals: [] });

  say(`sample repository: ${repo}`);
  say('starting a stack of its own (Temporal dev server, embedded Postgres, workers)…');
  const stack = await startStack(config, logger).catch((err: unknown) => {
    rmSync(demoDir, { recursive: true, force: true });
    throw err;
  });
  say(`Web UI: ${stack.info.temporal.uiUrl}`);
  const client = await SwarmClient.connect({ config, address: stack.info.temporal.address });
  try {
    const { taskId } = await client.startTask({
      id: 'add-multiply',
      repository: repo,
      title: 'Add multiply() to the calculator',
      description: 'The calculator only adds. Add a multiply(a, b) function next to add().',
      acceptanceCriteria: ['calc.multiply(4, 5) returns 20', 'the existing tests still pass'],
      shape: 'backend',
      agent: 'scripted',
    });
    say(`task ${taskId} started; following it live:`);
    const progress = new DemoProgress();
    for await (const state of client.watch(taskId, { intervalMs: 300 })) {
      const { lines, approve } = progress.next(state);
      for (const line of lines) say(line);
      if (approve) await client.decide(taskId, { decision: 'approve', by: 'demo-reviewer', comment: 'looks good' }, { key: approverKey });
      if (state.step === 'done') break;
    }
    const result = await client.result(taskId);
    say(`\nresult: ${result.status}, ${result.note}`);
    say((await git(repo, ['log', '--oneline', '--graph', '-5', 'main'])).stdout);
    const leftovers = [existsSync(join(stateDir, 'worktrees', taskId)) ? 'worktree' : '', (await git(repo, ['branch', '--list', 'swarm/*'])).stdout.trim() ? 'branch' : ''].filter(Boolean);
    say(leftovers.length ? `left behind: ${leftovers.join(', ')}` : 'cleaned up: no worktree, tmux session or branch left behind');
    if (keep) {
      say(`\nthe stack keeps running for you to look around (Web UI: ${stack.info.temporal.uiUrl}); Ctrl-C stops it`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    await client.close();
    await stack.stop();
    if (keep) say(`the sample repository and the stack's state stay in ${demoDir}`);
    else rmSync(demoDir, { recursive: true, force: true });
  }
}
