// What the attempt's tmux session runs. A `command` agent is its argv. A CLI agent goes through
// its adapter: the config home is seeded, its key (or, sandboxed, the placeholder its egress proxy
// swaps for the key) is handed over under the CLI's own name, and in headless mode the runner runs its turns (the first, then one per redirect).
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import type { AgentCommand, AgentOutcome } from '../../workflows/task/types.ts';
import { FailureType, nonRetryable } from '../errors.ts';
import type { Leftovers } from '../task-branch.ts';
import { ADAPTERS, isCli, resolveBinary, type CliKind } from './adapters/index.ts';
import { priceTableCost, type PriceTable } from './adapters/cost.ts';
import { runOutcome } from './adapters/failure.ts';
import type { TuiRun } from './adapters/types.ts';
import type { HeldKey } from './egress/plan.ts';
import { readJsonLines, readRegularFile, writeFileAtomic } from './files.ts';
import type { AttemptFiles } from './paths.ts';

const RUNNER = join(PROJECT_ROOT, 'activities', 'agents', 'runner.mjs');

export interface LaunchSpec {
  /** The argv the wrapper runs. */
  command: string[];
  /** The CLI's own variables (its key among them), on top of the agent allow-list. */
  env: Record<string, string>;
  /** A TUI (interactive mode): it needs a terminal for its output, not the log pipe. */
  terminal?: boolean;
}

export interface CliLaunchInput {
  agent: AgentCommand;
  worktree: string;
  home: string;
  prompt: string;
  files: AttemptFiles;
  /** The attempt's first run: where its session id is kept for the runs that resume it. */
  firstRun: AttemptFiles;
  /** A respawn resumes the attempt's session with this message. */
  resumeWith?: string;
  /** Puts the agent's own argv in its sandbox (sandbox.ts); the runner that drives a headless CLI stays outside. */
  sandbox?: (argv: string[], terminal: boolean) => string[];
  /** The sandbox's egress proxy holds the key: the CLI is given this placeholder and base URL instead. */
  heldKey?: HeldKey;
}

/** What awaitAgentExit needs to read the run's events, or a TUI's own session files. */
interface AgentRecord extends TuiRun {
  name: string;
  kind: CliKind;
  model: string;
  headless: boolean;
}

/** A CLI agent's API key, from the worker's environment; undefined for a command agent. */
export function apiKeyFor(agent: AgentCommand): string | undefined {
  if (!isCli(agent.kind)) return undefined;
  const keyEnv = agent.apiKeyEnv ?? ADAPTERS[agent.kind].apiKeyEnv;
  const apiKey = process.env[keyEnv];
  if (!apiKey) {
    throw nonRetryable(FailureType.AgentMisconfigured, `agent "${agent.name}" (${agent.kind}) needs an API key: set ${keyEnv} in the environment of the host worker (or agents.${agent.name}.apiKeyEnv to the variable that holds it)`);
  }
  return apiKey;
}

export function launchSpec(input: CliLaunchInput): LaunchSpec {
  const { agent, worktree, home, prompt, files, firstRun, resumeWith, sandbox = (argv) => argv, heldKey } = input;
  const kind = agent.kind;
  if (!isCli(kind)) return { command: sandbox(agent.command, false), env: {} };
  const adapter = ADAPTERS[kind];
  if (!agent.model) throw nonRetryable(FailureType.AgentMisconfigured, `agent "${agent.name}" (${kind}) has no model configured`);
  const apiKey = heldKey?.placeholder ?? apiKeyFor(agent)!;
  const binary = resolveBinary(agent.command[0]!);
  if (binary === undefined) {
    throw nonRetryable(FailureType.AgentMisconfigured, `agent "${agent.name}": ${agent.command[0]} is not installed on this host; run \`npm install\` (the pinned ${kind} CLI) or fix agents.${agent.name}.binary`);
  }
  const sessionFile = join(firstRun.dir, 'session-id');
  // Written once by us; anything else there (the agent's FIFO or link) is replaced.
  let sessionId = readRegularFile(sessionFile)?.trim();
  if (!sessionId) {
    mkdirSync(firstRun.dir, { recursive: true, mode: 0o700 });
    sessionId = randomUUID();
    writeFileAtomic(sessionFile, sessionId);
  }
  const launch = adapter.launch({ agent: { ...agent, model: agent.model, ...(heldKey ? { baseUrl: heldKey.baseUrl } : {}) }, binary, worktree, home, apiKey, prompt, sessionId, resumeWith });
  const headless = agent.mode !== 'interactive';
  const record: AgentRecord = { name: agent.name, kind, model: agent.model, headless, home, sessionId, startedAt: new Date().toISOString() };
  writeFileAtomic(files.agentFile, JSON.stringify(record));
  if (!headless) return { command: sandbox(launch.argv, true), env: launch.env, terminal: true };
  mkdirSync(files.inbox, { recursive: true, mode: 0o700 });
  const plan = { argv: sandbox(launch.argv, false), stdinFile: launch.promptOnStdin ? files.promptFile : null, resumeArgv: launch.resumeArgv && sandbox(launch.resumeArgv, false), eventsFile: files.eventsFile, inbox: files.inbox };
  writeFileAtomic(files.planFile, JSON.stringify(plan, null, 2));
  return { command: ['node', RUNNER, files.planFile], env: launch.env };
}

/** Which CLI ran the attempt, and how (agent.json); undefined for command agents. */
export const readRecord = (files: AttemptFiles): AgentRecord | undefined => {
  const text = readRegularFile(files.agentFile);
  return text === undefined ? undefined : (JSON.parse(text) as AgentRecord);
};

/**
 * For a CLI agent, how to commit the edits it did not commit (Codex's sandbox cannot write the
 * clone's git directory, and any agent may stop short of committing); undefined for command agents.
 * Authored by the agent (the same identity its own commits carry), committed by swarmflow.
 */
export function leftoversOf(files: AttemptFiles, attempt: number): Leftovers | undefined {
  const record = readRecord(files);
  if (!record) return undefined;
  return {
    author: { name: `swarmflow ${record.name}`, email: `${record.name}@swarmflow.invalid` },
    message: `${record.name}: changes left uncommitted by attempt ${attempt}`,
    indexFile: join(files.dir, 'leftovers.index'),
  };
}

/**
 * The adapter's reading of a finished CLI run; undefined for command agents. A headless run is
 * read from its events. A TUI prints none: its usage is read from the CLI's own session files, and
 * it finished when the operator quit it with exit code 0 (undefined when it recorded no session).
 * `earlierRuns` are the attempt's runs before this one (a respawn resumes their session).
 */
export function readOutcome(files: AttemptFiles, exitCode: number | null, prices: PriceTable, earlierRuns: AttemptFiles[] = []): AgentOutcome | undefined {
  const record = readRecord(files);
  if (!record) return undefined;
  const adapter = ADAPTERS[record.kind];
  if (!record.headless) {
    // A TUI launched by an earlier release recorded no home or start: it gets no outcome, as then.
    const session = record.startedAt === undefined ? undefined : adapter.tuiSession(record);
    if (!session) return undefined;
    const failed = exitCode !== 0;
    const message = failed ? `the ${record.kind} TUI exited with ${exitCode ?? 'no exit code'}` : undefined;
    return runOutcome({ failed, message, ...session, cost: priceTableCost(session.usage, record.model, prices) });
  }
  const earlier = earlierRuns.filter((run) => readRecord(run)?.kind === record.kind).flatMap((run) => readJsonLines(run.eventsFile));
  return adapter.outcome(readJsonLines(files.eventsFile), exitCode, record.model, prices, earlier);
}

/**
 * What a headless run has spent so far, for CLIs whose events stream usage (Claude Code); undefined
 * for the others, which report it when their turn ends. Dollars at the price table's rates, when it has the model.
 */
export function streamedSpend(files: AttemptFiles, prices: PriceTable): { tokens: number; usd?: number } | undefined {
  const record = readRecord(files);
  const adapter = record?.headless ? ADAPTERS[record.kind] : undefined;
  const usage = adapter?.streamedUsage?.(readJsonLines(files.eventsFile));
  if (!record || !usage) return undefined;
  const cost = priceTableCost(usage, record.model, prices);
  return { tokens: usage.inputTokens + usage.outputTokens, ...(cost ? { usd: cost.usd } : {}) };
}
