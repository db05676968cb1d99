// Claude Code (@anthropic-ai/claude-code, pinned in package.json): `claude -p --output-format
// stream-json --verbose` prints one JSON event per line and ends each turn with a `result` event
// that carries `is_error` (its `subtype` can say "success" on a failed run), usage and the cost it
// computed itself. We choose the session id up front, so a resumed turn needs nothing from the
// events. Its config dir is pre-seeded so no onboarding or trust dialog blocks the TUI either.
// `usage` is the turn's, but `total_cost_usd` is the session's running total: a resumed turn (a
// redirect, a respawn) counts the turns before it again, so a run's cost is what its total grew by.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { TokenUsage } from '../../../workflows/task/types.ts';
import { jsonlFilesUnder, readJsonLines } from '../files.ts';
import { NO_USAGE, addUsage, priceTableCost } from './cost.ts';
import { runOutcome } from './failure.ts';
import { MESSAGE, type AgentAdapter, type CliSettings } from './types.ts';

// An autonomous agent in its own worktree edits and runs commands without asking.
const PERMISSIONS = ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash Edit Write Read Glob Grep'];

interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** Anthropic's input_tokens leave out the cached and cache-writing tokens; ours count all input. */
function usageOf(u: AnthropicUsage): Partial<TokenUsage> {
  const cached = u.cache_read_input_tokens ?? 0;
  return { inputTokens: (u.input_tokens ?? 0) + cached + (u.cache_creation_input_tokens ?? 0), cachedInputTokens: cached, outputTokens: u.output_tokens };
}

/** A line of the TUI's transcript (<config dir>/projects/<cwd>/<session id>.jsonl). */
interface TranscriptLine {
  type?: string;
  message?: { id?: string; usage?: AnthropicUsage };
}

interface ClaudeEvent {
  type?: string;
  subtype?: string;
  session_id?: string;
  is_error?: boolean;
  result?: string;
  api_error_status?: number | null;
  total_cost_usd?: number;
  usage?: AnthropicUsage;
  /** With --json-schema: the StructuredOutput tool's input. */
  structured_output?: unknown;
}

/** The last running cost each session reported in these events. */
function sessionCosts(events: ClaudeEvent[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const e of events) if (e.type === 'result' && e.session_id && e.total_cost_usd !== undefined) totals.set(e.session_id, e.total_cost_usd);
  return totals;
}

/** Writes the config dir under `home` (onboarding done, `trusted` trusted, the key approved); returns the CLI's env. */
function seedConfigDir(home: string, trusted: string, apiKey: string, cli: CliSettings): Record<string, string> {
  const configDir = join(home, '.claude');
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const state = {
    hasCompletedOnboarding: true,
    projects: { [trusted]: { hasTrustDialogAccepted: true } },
    // The TUI asks once whether to use a key from the environment; it remembers the answer by the key's tail.
    customApiKeyResponses: { approved: [apiKey.slice(-20)], rejected: [] },
  };
  writeFileSync(join(configDir, '.claude.json'), JSON.stringify(state, null, 2), { mode: 0o600 });
  const env: Record<string, string> = {
    CLAUDE_CONFIG_DIR: configDir,
    ANTHROPIC_API_KEY: apiKey,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
  };
  if (cli.baseUrl) env.ANTHROPIC_BASE_URL = cli.baseUrl;
  if (cli.retries !== undefined) env.CLAUDE_CODE_MAX_RETRIES = String(cli.retries);
  return env;
}

/** A reviewer reads the checkout and nothing else: only these built-in tools exist for it (no Bash, Edit, Write, web). */
const REVIEW_TOOLS = 'Read,Grep,Glob';

export const claude: AgentAdapter = {
  apiKeyEnv: 'ANTHROPIC_API_KEY',
  defaultBaseUrl: 'https://api.anthropic.com',

  launch({ agent, binary, home, apiKey, prompt, worktree, sessionId, resumeWith }) {
    const env = seedConfigDir(home, worktree, apiKey, agent);
    const args = [...PERMISSIONS, '--model', agent.model, ...(agent.args ?? [])];
    // `--`: --allowedTools takes a list and would swallow the text that follows it.
    if (agent.mode === 'interactive') return { env, argv: [binary, '--session-id', sessionId, ...args, '--', prompt], promptOnStdin: false };
    const headless = [binary, '-p', '--output-format', 'stream-json', '--verbose', ...args];
    const resume = (message: string) => [...headless, '--resume', sessionId, '--', message];
    return {
      env,
      argv: resumeWith === undefined ? [...headless, '--session-id', sessionId] : resume(resumeWith),
      promptOnStdin: resumeWith === undefined,
      resumeArgv: resume(MESSAGE),
    };
  },

  review({ cli, binary, checkout, home, apiKey, schema }) {
    const env = seedConfigDir(home, checkout, apiKey, cli);
    // --json-schema offers the model a StructuredOutput tool whose input is the reply; the result
    // event carries it as `structured_output`. --no-session-persistence: nothing to resume.
    const argv = [binary, '-p', '--output-format', 'json', '--json-schema', JSON.stringify(schema), '--tools', REVIEW_TOOLS, '--no-session-persistence', '--model', cli.model, ...(cli.args ?? [])];
    return { env, argv, promptOnStdin: true };
  },

  structuredReply(events) {
    const result = (events as ClaudeEvent[]).findLast((e) => e.type === 'result');
    return result?.structured_output === undefined ? undefined : JSON.stringify(result.structured_output);
  },

  outcome(events, exitCode, model, prices, earlier = []) {
    let usage = NO_USAGE;
    let sessionId: string | undefined;
    let last: ClaudeEvent | undefined;
    for (const e of events as ClaudeEvent[]) {
      if (e.session_id) sessionId = e.session_id;
      if (e.type !== 'result') continue;
      last = e;
      usage = addUsage(usage, usageOf(e.usage ?? {}));
    }
    const total = sessionId === undefined ? undefined : sessionCosts(events as ClaudeEvent[]).get(sessionId);
    const before = sessionId === undefined ? undefined : sessionCosts(earlier as ClaudeEvent[]).get(sessionId);
    const usd = (total ?? before ?? 0) - (before ?? 0);
    const failed = !last || last.is_error === true || (exitCode !== null && exitCode !== 0);
    const message = last?.result ?? (failed ? `claude exited with ${exitCode ?? 'no exit code'} before its result` : undefined);
    if (last) return runOutcome({ failed, message, status: last.api_error_status ?? undefined, sessionId, usage, cost: { usd, source: 'cli' } });
    // A run stopped before its result (the budget's stop) still spent what its messages say, at the price table's rates.
    const spent = messagesUsage(events);
    return runOutcome({ failed, message, sessionId, usage: spent, cost: priceTableCost(spent, model, prices) });
  },

  tuiSession({ home, sessionId }) {
    const transcript = jsonlFilesUnder(join(home, '.claude', 'projects')).find((file) => basename(file) === `${sessionId}.jsonl`);
    if (!transcript) return undefined;
    return { sessionId, usage: messagesUsage(readJsonLines(transcript)) };
  },

  streamedUsage: messagesUsage,
};

/** The assistant messages' usage, in a transcript or stream-json events: one line per content block, each with the message's usage so far (the last counts). */
function messagesUsage(lines: unknown[]): TokenUsage {
  const byMessage = new Map<string, AnthropicUsage>();
  for (const line of lines as TranscriptLine[]) {
    if (line.type === 'assistant' && line.message?.id && line.message.usage) byMessage.set(line.message.id, line.message.usage);
  }
  return [...byMessage.values()].reduce((sum, u) => addUsage(sum, usageOf(u)), NO_USAGE);
}
