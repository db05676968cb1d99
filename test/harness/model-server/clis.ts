// How to run each real agent CLI headless against the model stand-in: argv, a minimal env and the
// config files in an isolated home. Verified by test/integration/model-server.test.ts.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../scripts/tools.mjs';

export type CliName = 'codex' | 'claude' | 'gemini';

export interface CliRun {
  file: string;
  args: string[];
  env: Record<string, string>;
}

export interface CliOptions {
  /** The stand-in's base URL. */
  url: string;
  /** The folder the agent works in. */
  cwd: string;
  /** A private HOME holding the CLI's config and sessions. */
  home: string;
  prompt: string;
  /** Resume this session (Codex thread id, Claude/Gemini session id) with `prompt` as the new message. */
  resume?: string;
  /** Claude and Gemini: choose the new session's id up front. */
  sessionId?: string;
  /** More folders the agent may write to (a worktree's real git dir). */
  writable?: string[];
  /** Codex only: its sandbox mode (default workspace-write). */
  sandbox?: 'workspace-write' | 'danger-full-access';
}

export const bin = (name: CliName): string => join(PROJECT_ROOT, 'node_modules', '.bin', name);

/** What every CLI needs from the parent: a PATH (for git, sh) and git identity; nothing else leaks in. */
function baseEnv(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_AUTHOR_NAME: 'Agent',
    GIT_AUTHOR_EMAIL: 'agent@example.invalid',
    GIT_COMMITTER_NAME: 'Agent',
    GIT_COMMITTER_EMAIL: 'agent@example.invalid',
  };
}

export function codex(o: CliOptions): CliRun {
  const codexHome = join(o.home, '.codex');
  mkdirSync(codexHome, { recursive: true });
  // A custom provider: plain HTTP SSE. The built-in one tries a WebSocket first. Zero retries so an
  // error script fails in milliseconds.
  writeFileSync(
    join(codexHome, 'config.toml'),
    [
      'model = "fake-model"',
      'model_provider = "standin"',
      '[model_providers.standin]',
      'name = "Stand-in"',
      `base_url = "${o.url}/v1"`,
      'env_key = "STANDIN_API_KEY"',
      'wire_api = "responses"',
      'request_max_retries = 0',
      'stream_max_retries = 0',
      '',
    ].join('\n'),
  );
  const writable = o.writable?.length ? ['-c', `sandbox_workspace_write.writable_roots=${JSON.stringify(o.writable)}`] : [];
  // `exec resume` takes no -C/-s of its own; the ones given to `exec` before it apply.
  const common = ['exec', '--json', '-s', o.sandbox ?? 'workspace-write', '-c', 'approval_policy=never', '--skip-git-repo-check', '-C', o.cwd, ...writable];
  const args = o.resume ? [...common, 'resume', o.resume, o.prompt] : [...common, o.prompt];
  return { file: bin('codex'), args, env: { ...baseEnv(o.home), CODEX_HOME: codexHome, STANDIN_API_KEY: 'test-key' } };
}

export function claude(o: CliOptions): CliRun {
  const configDir = join(o.home, '.claude');
  mkdirSync(configDir, { recursive: true });
  const session = o.resume ? ['--resume', o.resume] : o.sessionId ? ['--session-id', o.sessionId] : [];
  const dirs = (o.writable ?? []).flatMap((d) => ['--add-dir', d]);
  return {
    file: bin('claude'),
    // `--allowedTools` takes a list, so the prompt goes after `--`.
    args: ['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--allowedTools', 'Bash', ...dirs, ...session, '--', o.prompt],
    env: {
      ...baseEnv(o.home),
      ANTHROPIC_BASE_URL: o.url,
      ANTHROPIC_API_KEY: 'test-key',
      CLAUDE_CONFIG_DIR: configDir,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      CLAUDE_CODE_MAX_RETRIES: '0',
    },
  };
}

export function gemini(o: CliOptions): CliRun {
  const settingsDir = join(o.home, '.gemini');
  mkdirSync(settingsDir, { recursive: true });
  // selectedType: with GOOGLE_GEMINI_BASE_URL alone the CLI picks the "gateway" auth type and exits 41.
  // maxAttempts 1: the main model's retries (default 10, with 5 s..30 s backoff).
  writeFileSync(join(settingsDir, 'settings.json'), JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } }, general: { maxAttempts: 1 } }));
  const session = o.resume ? ['--resume', o.resume] : o.sessionId ? ['--session-id', o.sessionId] : [];
  const dirs = (o.writable ?? []).flatMap((d) => ['--include-directories', d]);
  return {
    file: bin('gemini'),
    args: ['-p', o.prompt, '-o', 'stream-json', '--approval-mode', 'yolo', ...dirs, ...session],
    env: { ...baseEnv(o.home), GOOGLE_GEMINI_BASE_URL: o.url, GEMINI_API_KEY: 'test-key', GEMINI_CLI_TRUST_WORKSPACE: 'true' },
  };
}

export const clis: Record<CliName, (o: CliOptions) => CliRun> = { codex, claude, gemini };

/** The fields of the CLIs' JSON events that tests read; each CLI uses its own subset (see the test). */
export interface CliEvent {
  type: string;
  subtype?: string;
  role?: string;
  content?: string;
  thread_id?: string;
  session_id?: string;
  status?: string;
  is_error?: boolean;
  result?: string;
  total_cost_usd?: number;
  api_error_status?: number | null;
  terminal_reason?: string;
  error?: string | { message: string; type?: string };
  item?: { type: string; text?: string };
  usage?: { input_tokens: number; output_tokens: number };
  stats?: { input_tokens: number; output_tokens: number; models: Record<string, { input_tokens: number; output_tokens: number }> };
}

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** The JSON lines of stdout, parsed (the CLIs print a few non-JSON lines on stderr only). */
  events: CliEvent[];
  startedAt: number;
  ms: number;
  /** Peak of the summed RSS of the CLI and all its descendants, sampled every 50 ms, in KiB. */
  peakTreeRssKb: number;
}

/** Runs a CLI headless: argv only (no shell), nothing inherited but what `env` lists, stdin closed. */
export async function runCli(name: CliName, o: CliOptions, timeoutMs = 60_000): Promise<CliResult> {
  const run = clis[name](o);
  const startedAt = Date.now();
  const child = execa(run.file, run.args, { cwd: o.cwd, env: run.env, extendEnv: false, stdin: 'ignore', reject: false, timeout: timeoutMs });
  let peakTreeRssKb = 0;
  const sampler = setInterval(() => {
    if (child.pid) peakTreeRssKb = Math.max(peakTreeRssKb, treeRssKb(child.pid));
  }, 50);
  const result = await child.finally(() => clearInterval(sampler));
  const events = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as CliEvent);
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, events, startedAt, ms: Date.now() - startedAt, peakTreeRssKb };
}

/** Sum of VmRSS over a process and its descendants, from /proc (Linux). */
function treeRssKb(root: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name may hold spaces and parentheses: the ppid is the 2nd field after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Exited while we looked.
    }
  }
  let total = 0;
  const queue = [root];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // Exited while we looked.
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}
