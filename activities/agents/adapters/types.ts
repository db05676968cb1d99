// What every agent CLI adapter provides: the command lines for its pinned version (a first turn,
// and a resumed turn carrying one more user message), its pre-seeded config home, the reading of
// its JSON events into an outcome, and the reading of its TUI's session files.
import type { AgentCommand, AgentOutcome, TokenUsage } from '../../../workflows/task/types.ts';
import type { PriceTable } from './cost.ts';

/** The element of `resumeArgv` replaced by the redirect's text. */
export const MESSAGE = '{message}';

export interface LaunchInput {
  agent: AgentCommand & { model: string };
  /** The CLI's binary, resolved on this host. */
  binary: string;
  worktree: string;
  /** The agent's config home, under the task's folder (shared by its attempts, removed at cleanup). */
  home: string;
  apiKey: string;
  /** Interactive mode types it into the TUI's first message; headless turns read it on stdin. */
  prompt: string;
  /** The session the run starts (chosen up front where the CLI lets us) or resumes. */
  sessionId: string;
  /** Resume `sessionId` with a message instead of starting on the prompt (a respawn). */
  resumeWith?: string;
}

/** The CLI settings an agent and a CLI reviewer share (config `agents.<name>`, `reviewers[]`). */
export type CliSettings = Pick<AgentCommand, 'baseUrl' | 'args' | 'retries'> & { model: string };

/** A read-only review run (activities/review/cli-reviewer.ts): the prompt goes on stdin. */
export interface ReviewLaunchInput {
  cli: CliSettings;
  binary: string;
  /** A clean checkout of the PR head: the CLI reads it and may not write it. */
  checkout: string;
  /** A private config home for this run. */
  home: string;
  apiKey: string;
  /** The JSON schema the final reply must follow, handed to the CLI's structured-output channel. */
  schema: object;
}

export interface Launch {
  /** The CLI's own variables (config home, endpoint, key), on top of the agent allow-list. */
  env: Record<string, string>;
  /** The first turn. */
  argv: string[];
  /** Whether the first turn reads the prompt on stdin (else the prompt is in argv or not needed). */
  promptOnStdin: boolean;
  /** A later turn with one more user message; MESSAGE stands for it. Headless only. */
  resumeArgv?: string[];
}

/** An interactive run, as recorded when it was launched. */
export interface TuiRun {
  /** The agent's config home (the CLI keeps its session files under it). */
  home: string;
  /** The session the run was told to start (Codex's TUI picks its own). */
  sessionId: string;
  startedAt: string;
}

/** What a TUI's session files say of its run. */
export interface TuiSession {
  sessionId: string;
  usage: TokenUsage;
}

export interface AgentAdapter {
  /** The env var the CLI reads its key from, also the default name on the worker. */
  readonly apiKeyEnv: string;
  /** The model API when no base URL is set: what a sandboxed run's egress lets through, and where its held key goes. */
  readonly defaultBaseUrl: string;
  /** Writes the config home (trust, onboarding, endpoint) and returns the command lines. */
  launch(input: LaunchInput): Launch;
  /**
   * Reads the run's JSON events (one parsed object per line) and its exit code. `earlier` holds
   * the events of the attempt's earlier runs of the same CLI, for CLIs whose counts run on across
   * a resumed session.
   */
  outcome(events: unknown[], exitCode: number | null, model: string, prices: PriceTable, earlier?: unknown[]): AgentOutcome;
  /** A read-only review run: no edits, no shell, the reply in the CLI's structured-output channel. */
  review(input: ReviewLaunchInput): Launch;
  /** A review run's structured reply (JSON text), read from its events; undefined when it gave none. */
  structuredReply(events: unknown[]): string | undefined;
  /** The usage so far while a headless run goes, for CLIs whose events stream it (the budget's check mid-run). */
  streamedUsage?(events: unknown[]): TokenUsage;
  /** Reads an interactive run's session files, which the TUI writes as it goes; undefined when it wrote none. */
  tuiSession(run: TuiRun): TuiSession | undefined;
}
