// Gemini CLI (@google/gemini-cli, pinned in package.json): `gemini -p … -o stream-json` prints
// init / message / tool_use / tool_result / error events and a final `result{status, stats}`.
// Its settings live in $HOME/.gemini (the agent's own HOME): the key auth type must be chosen
// there, or a custom base URL makes it pick an auth type it then refuses (exit 41).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonlFilesUnder, readJsonLines } from '../files.ts';
import type { AgentOutcome, TokenUsage } from '../../../workflows/task/types.ts';
import { NO_USAGE, addUsage, priceTableCost, type PriceTable } from './cost.ts';
import { runOutcome } from './failure.ts';
import { MESSAGE, type AgentAdapter, type CliSettings } from './types.ts';

/** Headless exit codes (docs/cli/headless.md), 41 seen for a refused auth method. */
const EXIT_CODES: Record<number, string> = { 41: 'authentication is misconfigured', 42: 'the input was refused', 53: 'the turn limit was exceeded' };
/** On an API error 0.61 exits with the HTTP status cut to one byte: 401 -> 145, 429 -> 173, 500 -> 244. */
const STATUS_BY_EXIT_CODE: Record<number, number> = { 145: 401, 147: 403, 173: 429, 244: 500, 246: 502, 247: 503, 248: 504 };

interface GeminiEvent {
  type?: string;
  session_id?: string;
  role?: string;
  content?: string;
  message?: string;
  status?: string;
  error?: { type?: string; message?: string };
  stats?: GeminiStats & { models?: Record<string, GeminiStats> };
}

interface GeminiStats {
  input_tokens?: number;
  output_tokens?: number;
  cached?: number;
}

const usageOf = (stats: GeminiStats): Partial<TokenUsage> => ({ inputTokens: stats.input_tokens, cachedInputTokens: stats.cached, outputTokens: stats.output_tokens });

/**
 * Each model's tokens at its own price: a run's totals include the side requests it makes to other
 * models (routing, next-speaker checks). A model missing from the table is priced as the agent's.
 */
function costByModel(byModel: Map<string, TokenUsage>, agentModel: string, prices: PriceTable): AgentOutcome['cost'] {
  if (byModel.size === 0) return priceTableCost(NO_USAGE, agentModel, prices);
  let usd = 0;
  for (const [name, usage] of byModel) {
    const cost = priceTableCost(usage, name in prices ? name : agentModel, prices);
    if (!cost) return undefined;
    usd += cost.usd;
  }
  return { usd, source: 'price_table' };
}

/** A line of a session file ($HOME/.gemini/tmp/<project>/chats/session-*.jsonl), headless or TUI. */
interface ChatLine {
  sessionId?: string;
  id?: string;
  type?: string;
  tokens?: { input?: number; output?: number; cached?: number };
}

/** The session's file and lines, when the CLI saved one. */
function savedChat(home: string, sessionId: string): { file: string; lines: ChatLine[] } | undefined {
  for (const file of jsonlFilesUnder(join(home, '.gemini', 'tmp'))) {
    const lines = readJsonLines(file) as ChatLine[];
    if (lines[0]?.sessionId === sessionId) return { file, lines };
  }
  return undefined;
}

/** Writes $HOME/.gemini/settings.json under `home` (`more` merged in); returns the CLI's env. */
function seedSettings(home: string, apiKey: string, cli: CliSettings, more: Record<string, unknown> = {}): Record<string, string> {
  const settingsDir = join(home, '.gemini');
  mkdirSync(settingsDir, { recursive: true, mode: 0o700 });
  // general.maxAttempts counts the first try too (10 by default, capped at 10).
  const general = cli.retries === undefined ? {} : { general: { maxAttempts: Math.min(cli.retries + 1, 10) } };
  const settings = { security: { auth: { selectedType: 'gemini-api-key' } }, privacy: { usageStatisticsEnabled: false }, ...general, ...more };
  writeFileSync(join(settingsDir, 'settings.json'), JSON.stringify(settings, null, 2), { mode: 0o600 });
  // NO_RELAUNCH: it would start itself again with a V8 heap of half the machine's memory, past
  // the agent's memory limit, and a second Node process's start-up time.
  const env: Record<string, string> = { GEMINI_API_KEY: apiKey, GEMINI_CLI_TRUST_WORKSPACE: 'true', GEMINI_CLI_NO_RELAUNCH: 'true' };
  if (cli.baseUrl) env.GOOGLE_GEMINI_BASE_URL = cli.baseUrl;
  return env;
}

/**
 * Plan mode (0.61) offers no shell, but still write_file and replace, for its own plan files: a
 * reviewer gets neither. (tools.exclude is deprecated for the Policy Engine but honoured in 0.61.)
 */
const REVIEW_EXCLUDED_TOOLS = ['write_file', 'replace', 'run_shell_command'];

/** A reply wrapped in one Markdown code fence, as Gemini models tend to, unwrapped. */
const unfenced = (text: string) => /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text)?.[1] ?? text;

export const gemini: AgentAdapter = {
  apiKeyEnv: 'GEMINI_API_KEY',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',

  launch({ agent, binary, home, apiKey, prompt, sessionId, resumeWith }) {
    const env = seedSettings(home, apiKey, agent);
    const args = ['--approval-mode', 'yolo', '-m', agent.model, ...(agent.args ?? [])];
    if (agent.mode === 'interactive') return { env, argv: [binary, ...args, '--session-id', sessionId, '-i', prompt], promptOnStdin: false };
    // -p is appended to stdin: the prompt comes on stdin, -p only switches to headless mode.
    const headless = [binary, '-o', 'stream-json', ...args];
    const resume = (message: string) => [...headless, '--resume', sessionId, '-p', message];
    // Gemini will not resume a session whose first request failed (no reply in it: "No previous
    // sessions found", exit 42), nor start another under its id: such a file, holding nothing but
    // the prompt, is removed and the run starts over on the prompt.
    const chat = resumeWith === undefined ? undefined : savedChat(home, sessionId);
    const fresh = resumeWith === undefined || !chat?.lines.some((line) => line.type === 'gemini');
    if (chat && fresh) rmSync(chat.file);
    return {
      env,
      argv: fresh ? [...headless, '--session-id', sessionId, '-p', ' '] : resume(resumeWith),
      promptOnStdin: fresh,
      resumeArgv: resume(MESSAGE),
    };
  },

  review({ cli, binary, home, apiKey }) {
    // Gemini CLI 0.61 has no flag for a response schema: the prompt carries it (see
    // activities/review/prompt.ts) and the reply is the final message's JSON.
    const env = seedSettings(home, apiKey, cli, { tools: { exclude: REVIEW_EXCLUDED_TOOLS } });
    const argv = [binary, '-o', 'stream-json', '--approval-mode', 'plan', '-m', cli.model, ...(cli.args ?? []), '-p', ' '];
    return { env, argv, promptOnStdin: true };
  },

  structuredReply(events) {
    let reply: string | undefined;
    for (const e of events as GeminiEvent[]) {
      if (e.type === 'init') reply = undefined;
      else if (e.type === 'message' && e.role === 'assistant' && e.content) reply = (reply ?? '') + e.content;
    }
    return reply === undefined ? undefined : unfenced(reply);
  },

  outcome(events, exitCode, model, prices) {
    let usage = NO_USAGE;
    const byModel = new Map<string, TokenUsage>();
    let sessionId: string | undefined;
    let last: GeminiEvent | undefined;
    let error: string | undefined;
    let reply = '';
    for (const e of events as GeminiEvent[]) {
      if (e.type === 'init') {
        sessionId = e.session_id ?? sessionId;
        reply = '';
      } else if (e.type === 'message' && e.role === 'assistant' && e.content) reply += e.content;
      else if (e.type === 'error' && e.message) error = e.message;
      else if (e.type === 'result') {
        last = e;
        usage = addUsage(usage, usageOf(e.stats ?? {}));
        for (const [name, stats] of Object.entries(e.stats?.models ?? { [model]: e.stats ?? {} })) {
          byModel.set(name, addUsage(byModel.get(name) ?? NO_USAGE, usageOf(stats)));
        }
      }
    }
    const failed = last?.status !== 'success' || (exitCode !== null && exitCode !== 0);
    const message = failed ? (last?.error?.message ?? error ?? (exitCode === null ? undefined : EXIT_CODES[exitCode]) ?? `gemini exited with ${exitCode ?? 'no exit code'}`) : reply;
    const status = exitCode === null ? undefined : exitCode === 41 ? 401 : STATUS_BY_EXIT_CODE[exitCode];
    return runOutcome({ failed, message, status, sessionId, usage, cost: costByModel(byModel, model, prices) });
  },

  tuiSession({ home, sessionId }) {
    const chat = savedChat(home, sessionId)?.lines;
    if (!chat) return undefined;
    // A reply is written again when its tool calls complete: the last line of an id counts.
    const byMessage = new Map<string, NonNullable<ChatLine['tokens']>>();
    for (const line of chat) if (line.type === 'gemini' && line.id && line.tokens) byMessage.set(line.id, line.tokens);
    const usage = [...byMessage.values()].reduce((sum, t) => addUsage(sum, { inputTokens: t.input, cachedInputTokens: t.cached, outputTokens: t.output }), NO_USAGE);
    return { sessionId, usage };
  },
};
