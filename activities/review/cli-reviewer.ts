// A CLI reviewer: the pinned Codex, Claude Code or Gemini CLI, through its agent adapter, run
// read-only in a clean checkout of the PR head (never the agent's worktree), asked for findings on
// the diff with its focus, the acceptance criteria and the CI results, answering through the CLI's
// structured-output channel. Its reply is validated by the same FindingsReplySchema as a command
// reviewer's. A rate limit is waited out, a bounded number of times; whatever else goes wrong is a
// failed result with the reason, never a failed task.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliReviewer, ReviewerResult, TokenUsage } from '../../workflows/task/types.ts';
import { ADAPTERS, resolveBinary } from '../agents/adapters/index.ts';
import { NO_USAGE, addUsage, type PriceTable } from '../agents/adapters/cost.ts';
import { parseJsonLines } from '../agents/files.ts';
import { minimalEnv } from '../minimal-env.ts';
import { FINDINGS_JSON_SCHEMA, reviewPrompt, type ReviewMaterial } from './prompt.ts';
import { STOPPED, failed, parseReply, reviewerProcess, runReviewProcess } from './run-reviewer.ts';
import { withSandbox, type SandboxSettings } from '../agents/sandboxed.ts';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../errors.ts';

/** How a rate-limited reviewer waits: the provider's Retry-After when the CLI reports it, else doubling from `firstWaitMs`; never longer than `maxWaitMs`. */
export interface RateLimitPolicy {
  tries: number;
  firstWaitMs: number;
  maxWaitMs: number;
}

export const RATE_LIMIT_POLICY: RateLimitPolicy = { tries: 5, firstWaitMs: 5_000, maxWaitMs: 60_000 };

export interface CliReviewOptions {
  cwd: string;
  prices: PriceTable;
  rateLimit: RateLimitPolicy;
  sandbox: SandboxSettings;
  cancelSignal?: AbortSignal;
}

export async function runCliReviewer(reviewer: CliReviewer, material: ReviewMaterial, { cwd, prices, rateLimit, sandbox, cancelSignal }: CliReviewOptions): Promise<ReviewerResult> {
  const { name, kind, model } = reviewer;
  const adapter = ADAPTERS[kind];
  const binary = resolveBinary(reviewer.binary);
  if (binary === undefined) return failed(name, `${reviewer.binary} is not installed on this host (run \`npm install\` for the pinned ${kind} CLI, or fix reviewers[].binary)`);
  const keyEnv = reviewer.apiKeyEnv ?? adapter.apiKeyEnv;
  const apiKey = process.env[keyEnv];
  if (!apiKey) return failed(name, `needs an API key: set ${keyEnv} in the environment of the host worker`);
  // A private config home per review (mkdtemp makes it 0700), gone when the review ends.
  const home = mkdtempSync(join(tmpdir(), `swarm-review-${name}-`));
  try {
    const launch = adapter.review({ cli: reviewer, binary, checkout: cwd, home, apiKey, schema: FINDINGS_JSON_SCHEMA });
    // The key reaches the CLI only: no shell tool is offered (Claude, Gemini) or its shell runs without it (Codex).
    // TMPDIR inside the home, as an agent's: Codex refuses to create the helper its bubblewrap
    // sandbox execs under the temp folder, and the home itself is in /tmp.
    mkdirSync(join(home, 'tmp'), { mode: 0o700 });
    const env = minimalEnv({ ...launch.env, HOME: home, TMPDIR: join(home, 'tmp') });
    const prompt = reviewPrompt(reviewer.focus, material);
    let usage: TokenUsage = NO_USAGE;
    let costUsd: number | undefined = 0;
    return await withSandbox(sandbox, reviewerProcess(reviewer, cwd, home), async (run) => {
      const result = (r: ReviewerResult): ReviewerResult => {
        const egress = run.egress();
        return { ...r, usage, ...(costUsd === undefined ? {} : { costUsd }), ...(egress ? { egress } : {}) };
      };
      for (let attempt = 1; ; attempt++) {
        const end = await runReviewProcess({ argv: run.argv(launch.argv), cwd, input: launch.promptOnStdin ? prompt : '', env: { ...env, ...run.env }, timeoutMs: reviewer.timeoutMs, cancelSignal });
        if (!end.ok) return result(failed(name, end.error));
        const events = parseJsonLines(end.stdout);
        const outcome = adapter.outcome(events, end.exitCode, model, prices);
        usage = addUsage(usage, outcome.usage);
        costUsd = costUsd === undefined || outcome.cost === undefined ? undefined : costUsd + outcome.cost.usd;
        if (outcome.failure === 'rate_limited') {
          if (attempt >= rateLimit.tries) return result(failed(name, `rate limited: still refused after ${attempt} tries (${outcome.message ?? 'no message'})`));
          const backoff = Math.min(rateLimit.firstWaitMs * 2 ** (attempt - 1), rateLimit.maxWaitMs);
          try {
            await sleep(Math.min(outcome.retryAfterMs ?? backoff, rateLimit.maxWaitMs), undefined, { signal: cancelSignal });
          } catch {
            return result(failed(name, STOPPED));
          }
          continue;
        }
        if (outcome.status === 'failed') return result(failed(name, `${kind} failed: ${outcome.message ?? `exit code ${end.exitCode}`}`));
        const reply = adapter.structuredReply(events);
        if (reply === undefined) return result(failed(name, `${kind} gave no structured reply${outcome.message ? ` (it ended with: ${outcome.message})` : ''}`));
        return result(parseReply(name, reply));
      }
    });
  } catch (err) {
    // A sandbox required where this host has none: the reviewer does not run, and says why.
    if (err instanceof ApplicationFailure && err.type === FailureType.AgentMisconfigured) return failed(name, err.message);
    throw err;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
