// Codex CLI (@openai/codex, pinned in package.json): `codex exec --json` prints JSONL events
// (thread.started, item.*, turn.completed{usage} / turn.failed / error). Its config home
// (CODEX_HOME) trusts the worktree and points a custom provider at `baseUrl` when set (the
// built-in one ignores OPENAI_BASE_URL and tries a WebSocket first). Its workspace-write sandbox
// mounts a worktree's git directory read-only, so its `git commit` fails: what it leaves
// uncommitted is committed for it when the run ends (see commitLeftovers).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenUsage } from '../../../workflows/task/types.ts';
import { jsonlFilesUnder, readJsonLines } from '../files.ts';
import { NO_USAGE, addUsage, priceTableCost, subtractUsage } from './cost.ts';
import { runOutcome } from './failure.ts';
import { MESSAGE, type AgentAdapter, type CliSettings, type TuiSession } from './types.ts';

const PROVIDER = 'swarm';
// TOML basic strings take JSON's escapes.
const toml = (value: string) => JSON.stringify(value);

function configToml(agent: CliSettings, worktree: string, sandbox: 'workspace-write' | 'read-only'): string {
  const lines = [
    '# Written by swarmflow for this run (regenerated on every spawn).',
    `model = ${toml(agent.model)}`,
    'approval_policy = "never"',
    `sandbox_mode = ${toml(sandbox)}`,
  ];
  if (agent.baseUrl) lines.push(`model_provider = ${toml(PROVIDER)}`);
  lines.push('', `[projects.${toml(worktree)}]`, 'trust_level = "trusted"');
  // The model's shell commands (the repository's own scripts and tests among them) run without the key.
  lines.push('', '[shell_environment_policy]', 'exclude = ["OPENAI_API_KEY"]');
  const retries = agent.retries === undefined ? [] : [`request_max_retries = ${agent.retries}`, `stream_max_retries = ${agent.retries}`];
  if (agent.baseUrl) {
    lines.push('', `[model_providers.${PROVIDER}]`, 'name = "swarmflow endpoint"', `base_url = ${toml(agent.baseUrl)}`, 'env_key = "OPENAI_API_KEY"', 'wire_api = "responses"', ...retries);
  } else if (retries.length > 0) {
    lines.push('', '[model_providers.openai]', ...retries);
  }
  return `${lines.join('\n')}\n`;
}

interface CodexEvent {
  type?: string;
  thread_id?: string;
  message?: string;
  error?: { message?: string };
  usage?: { input_tokens?: number; cached_input_tokens?: number; output_tokens?: number };
  item?: { type?: string; text?: string; message?: string };
}

/** A line of the TUI's rollout ($CODEX_HOME/sessions/<date>/rollout-*.jsonl). */
interface RolloutLine {
  type?: string;
  payload?: {
    type?: string;
    id?: string;
    timestamp?: string;
    info?: { total_token_usage?: { input_tokens?: number; cached_input_tokens?: number; output_tokens?: number } } | null;
  };
}

const usageOf = (e: CodexEvent): TokenUsage => addUsage(NO_USAGE, { inputTokens: e.usage?.input_tokens, cachedInputTokens: e.usage?.cached_input_tokens, outputTokens: e.usage?.output_tokens });

/** Writes $CODEX_HOME/config.toml under `home`; returns the CLI's env (config home and key). */
function seedHome(home: string, apiKey: string, config: string): Record<string, string> {
  const codexHome = join(home, '.codex');
  mkdirSync(codexHome, { recursive: true, mode: 0o700 });
  writeFileSync(join(codexHome, 'config.toml'), config, { mode: 0o600 });
  return { CODEX_HOME: codexHome, OPENAI_API_KEY: apiKey };
}

/** The last running total each thread reported in these events. */
function threadTotals(events: CodexEvent[]): Map<string, TokenUsage> {
  const totals = new Map<string, TokenUsage>();
  let thread: string | undefined;
  for (const e of events) {
    if (e.type === 'thread.started') thread = e.thread_id;
    else if (e.type === 'turn.completed' && thread !== undefined) totals.set(thread, usageOf(e));
  }
  return totals;
}

export const codex: AgentAdapter = {
  apiKeyEnv: 'OPENAI_API_KEY',
  defaultBaseUrl: 'https://api.openai.com/v1',

  launch(input) {
    const { agent, binary, home, apiKey, prompt, resumeWith } = input;
    const env = seedHome(home, apiKey, configToml(agent, input.worktree, 'workspace-write'));
    const args = agent.args ?? [];
    if (agent.mode === 'interactive') {
      // --no-daemon: the TUI otherwise leaves a shared app-server running after it exits.
      return { env, argv: [binary, '--no-daemon', '-C', input.worktree, ...args, prompt], promptOnStdin: false };
    }
    // `exec resume` takes no -C or -s: the session's cwd and config.toml carry them. `--last`
    // is this task's latest session, since the task has its own CODEX_HOME.
    const resume = (message: string) => [binary, 'exec', 'resume', '--json', '--skip-git-repo-check', ...args, '--last', message];
    return {
      env,
      argv: resumeWith === undefined ? [binary, 'exec', '--json', '--skip-git-repo-check', '-C', input.worktree, ...args, '-'] : resume(resumeWith),
      promptOnStdin: resumeWith === undefined,
      resumeArgv: resume(MESSAGE),
    };
  },

  review({ cli, binary, checkout, home, apiKey, schema }) {
    const env = seedHome(home, apiKey, configToml(cli, checkout, 'read-only'));
    // The schema goes to the model as the Responses request's text.format (json_schema, strict).
    const schemaFile = join(home, 'findings.schema.json');
    writeFileSync(schemaFile, JSON.stringify(schema), { mode: 0o600 });
    // --ephemeral: a review keeps no session to resume.
    const argv = [binary, 'exec', '--json', '--ephemeral', '--skip-git-repo-check', '-s', 'read-only', '--output-schema', schemaFile, '-C', checkout, ...(cli.args ?? []), '-'];
    return { env, argv, promptOnStdin: true };
  },

  structuredReply(events) {
    // With --output-schema the final agent message is the JSON reply.
    const messages = (events as CodexEvent[]).filter((e) => e.type === 'item.completed' && e.item?.type === 'agent_message');
    return messages.at(-1)?.item?.text;
  },

  outcome(events, exitCode, model, prices, earlier = []) {
    let total = NO_USAGE;
    let sessionId: string | undefined;
    let lastMessage: string | undefined;
    let error: string | undefined;
    let completed = false;
    for (const e of events as CodexEvent[]) {
      if (e.type === 'thread.started') sessionId = e.thread_id;
      else if (e.type === 'turn.completed') {
        completed = true;
        error = undefined;
        total = usageOf(e);
      } else if (e.type === 'turn.failed') {
        completed = false;
        error = e.error?.message ?? error;
      } else if (e.type === 'error') error = e.message ?? error;
      else if (e.type === 'item.completed' && e.item?.type === 'agent_message') lastMessage = e.item.text;
    }
    // The thread's running total, not the turn's: a resumed turn (a redirect, a respawn) counts the
    // turns before it again. What earlier runs already reported for this thread is not this run's.
    const before = sessionId === undefined ? undefined : threadTotals(earlier as CodexEvent[]).get(sessionId);
    const usage = before && total !== NO_USAGE ? subtractUsage(total, before) : total;
    const failed = !completed || (exitCode !== null && exitCode !== 0);
    const message = failed ? (error ?? `codex exited with ${exitCode ?? 'no exit code'}`) : lastMessage;
    return runOutcome({ failed, message, sessionId, usage, cost: priceTableCost(usage, model, prices) });
  },

  tuiSession({ home, startedAt }) {
    // The TUI picks its own session id: the run's rollouts are those it started since the launch
    // (the task's CODEX_HOME is shared by its attempts, one run at a time).
    let session: TuiSession | undefined;
    for (const file of jsonlFilesUnder(join(home, '.codex', 'sessions'))) {
      const lines = readJsonLines(file) as RolloutLine[];
      const meta = lines[0]?.type === 'session_meta' ? lines[0].payload : undefined;
      if (!meta?.id || !meta.timestamp || meta.timestamp < startedAt) continue;
      // Each token_count carries the session's running total: the last counts.
      const counts = lines.filter((line) => line.type === 'event_msg' && line.payload?.type === 'token_count' && line.payload.info?.total_token_usage);
      const total = counts.at(-1)?.payload?.info?.total_token_usage ?? {};
      const usage = addUsage(session?.usage ?? NO_USAGE, { inputTokens: total.input_tokens, cachedInputTokens: total.cached_input_tokens, outputTokens: total.output_tokens });
      session = { sessionId: meta.id, usage };
    }
    return session;
  },
};
