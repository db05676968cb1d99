// A CLI reviewer: the pinned Codex, Claude Code or Gemini CLI, through its agent adapter, run
// read-only in a clean checkout of the PR head (never the agent's worktree), asked for findings on
// the diff with its focus, the acceptance criteria and the CI results, answering through the CLI's
// structured-output channel. Its reply is validated by the same FindingsReplySchema as a command
// reviewer's. A rate limit is waited out, a bounded number of times; whatever else goes wrong is a
// failed result with the reason, never a failed task.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliReviewer, ReviewerResult, TokenUsage } from '../../workflows/task/types.ts';
import { ADAPTERS, resolveBinary } from '../agents/adapters/index.ts';
import { NO_USAGE, addUsage, type PriceTable } from '../agents/adapters/cost.ts';
import { parseJsonLines } from '../agents/files.ts';
import { minimalEnv } from '../minimal-env.ts';
import { FINDINGS_JSON_SCHEMA, reviewPrompt, type ReviewMaterial } from './prompt.ts';
import { STOPPED, failed, inReviewerSandbox, parseReply, runReviewProcess } from './run-reviewer.ts';
import type { SandboxSettings } from '../agents/sandboxed.ts';
import type { HeldKey } from '../agents/egress/plan.ts';

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
  // The CLI's config home is seeded first, then handed to the reviewer's uid with the sandbox;
  // sandboxed, with the placeholder its egress proxy swaps for the key.
  const seed = (home: string, held: HeldKey | undefined) => {
    const cli = held ? { ...reviewer, baseUrl: held.baseUrl } : reviewer;
    const launch = adapter.review({ cli, binary, checkout: cwd, home, apiKey: held?.placeholder ?? apiKey, schema: FINDINGS_JSON_SCHEMA });
    // TMPDIR inside the home, as an agent's: Codex refuses to create the helper its bubblewrap
    // sandbox execs under the temp folder, and the home itself is in /tmp.
    mkdirSync(join(home, 'tmp'), { mode: 0o700 });
    return { launch, home };
  };
  return inReviewerSandbox(sandbox, { ...reviewer, apiKey }, cwd, [], seed, async (run, { launch, home }) => {
    // Unsandboxed, the key reaches the CLI only: no shell tool is offered (Claude, Gemini) or its shell runs without it (Codex).
    const env = minimalEnv({ ...launch.env, HOME: home, TMPDIR: join(home, 'tmp') });
    const prompt = reviewPrompt(reviewer.focus, material);
    let usage: TokenUsage = NO_USAGE;
    let costUsd: number | undefined = 0;
    const result = (r: ReviewerResult): ReviewerResult => ({ ...r, usage, ...(costUsd === undefined ? {} : { costUsd }) });
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
}
