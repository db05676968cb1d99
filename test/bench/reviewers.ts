// A review round on the three real CLI reviewers (Codex, Claude Code, Gemini CLI) against the
// scripted model stand-in, on a ~300-line diff in a clean detached checkout: the wall time of the
// round with a heavy slot for each reviewer (in parallel) and with the default host's one slot
// (one after another), and of each reviewer alone. The model answers at once, so this is the
// CLIs' own cost: start-up, prompt handling, the structured-reply round trips.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { heavySlots } from '../../activities/host/capacity.ts';
import { sandboxSettings } from '../../activities/agents/sandboxed.ts';
import { createReviewActivities } from '../../activities/review/index.ts';
import { ConfigSchema } from '../../lib/config.ts';
import type { CliReviewer } from '../../workflows/task/types.ts';
import { MODELS, type CliName } from '../harness/model-server/clis.ts';
import { startModelServer, type ModelServer } from '../harness/model-server/index.ts';
import { tempDir } from '../harness/paths.ts';
import { progress } from './util.ts';

const KINDS: CliName[] = ['codex', 'claude', 'gemini'];
const KEY_ENV = 'SWARM_BENCH_REVIEWER_KEY';
const FOCUS: Record<CliName, string> = { codex: 'edge-cases', claude: 'security-scalability', gemini: 'correctness' };

export interface ReviewersResult {
  diffLines: number;
  runs: number;
  /** Round wall times, per heavy-slot count. */
  rounds: Array<{ slots: number; ms: number[] }>;
  aloneMs: Record<CliName, number[]>;
}

/** A repository whose head adds a 300-line module; returns the clean checkout of the head and the diff. */
async function pullRequest(): Promise<{ checkout: string; diff: string }> {
  const root = tempDir('bench-reviewers');
  const repo = join(root, 'repo');
  const git = (...args: string[]) => execa('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.invalid', ...args], { cwd: repo });
  mkdirSync(join(repo, 'src'), { recursive: true });
  await git('init', '--quiet', '--initial-branch=main');
  writeFileSync(join(repo, 'README.md'), '# bench\n');
  await git('add', '.');
  await git('commit', '--quiet', '-m', 'initial commit');
  const lines = Array.from({ length: 100 }, (_, i) => [`export function handler${i}(input: string): number {`, `  return input.length * ${i} + Number(input.split(',')[${i % 7}] ?? 0);`, '}']).flat();
  writeFileSync(join(repo, 'src', 'handlers.ts'), `${lines.join('\n')}\n`);
  await git('add', '.');
  await git('commit', '--quiet', '-m', 'add handlers');
  const checkout = join(root, 'head');
  await git('worktree', 'add', '--quiet', '--detach', checkout, 'HEAD');
  return { checkout, diff: (await git('diff', 'HEAD~1', 'HEAD')).stdout };
}

export async function benchReviewers({ runs = 3 }: { runs?: number } = {}): Promise<ReviewersResult> {
  process.env[KEY_ENV] = 'bench-key-not-a-secret';
  const { checkout, diff } = await pullRequest();
  // One stand-in per CLI: each serves its reviewer's script alone.
  const servers = Object.fromEntries(await Promise.all(KINDS.map(async (k) => [k, await startModelServer()] as const))) as Record<CliName, ModelServer>;
  const finding = { severity: 'minor', file: 'src/handlers.ts', line: 2, message: 'guard against a missing field' };
  const reviewer = (kind: CliName): CliReviewer => {
    const url = servers[kind].url;
    return { name: kind, kind, focus: FOCUS[kind], model: MODELS[kind], binary: kind, apiKeyEnv: KEY_ENV, baseUrl: kind === 'codex' ? `${url}/v1` : url, retries: 0, timeoutMs: 120_000 };
  };
  const prices = ConfigSchema.parse({}).prices;

  async function round(kinds: CliName[], slots: number): Promise<number> {
    for (const k of kinds) servers[k].script([{ structured: { findings: [finding] } }]);
    const { runReviewers } = createReviewActivities({ heavySlots: heavySlots(slots), prices, sandbox: sandboxSettings(join(checkout, '..', 'state'), ConfigSchema.shape.host.parse(undefined)) });
    const started = performance.now();
    const verdict = await runReviewers({ taskId: 'bench', headSha: 'b'.repeat(40), diff, reviewers: kinds.map(reviewer), cwd: checkout, acceptanceCriteria: ['handlers never throw'] });
    const ms = performance.now() - started;
    const bad = verdict.results.filter((r) => r.status !== 'ok' || r.findings.length !== 1);
    if (bad.length > 0) throw new Error(`reviewers failed: ${JSON.stringify(bad)}`);
    return ms;
  }

  try {
    const result: ReviewersResult = { diffLines: diff.split('\n').length, runs, rounds: [], aloneMs: { codex: [], claude: [], gemini: [] } };
    for (const slots of [3, 1]) {
      progress(`reviewers: ${runs} rounds of codex + claude + gemini with ${slots} heavy slot(s)`);
      const ms: number[] = [];
      for (let i = 0; i < runs; i++) ms.push(await round(KINDS, slots));
      result.rounds.push({ slots, ms });
    }
    for (const kind of KINDS) {
      progress(`reviewers: ${kind} alone, ${runs} runs`);
      for (let i = 0; i < runs; i++) result.aloneMs[kind].push(await round([kind], 1));
    }
    return result;
  } finally {
    await Promise.all(KINDS.map((k) => servers[k].close()));
    delete process.env[KEY_ENV];
  }
}
