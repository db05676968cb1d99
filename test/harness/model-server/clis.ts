// Runs a real agent CLI headless against the model stand-in, outside tmux: the argv and the
// CLI's own variables come from the production adapters (ADAPTERS[kind].launch, which also seeds
// the config home), the rest of the environment from the agent allow-list (agentEnvironment), so
// test/integration/model-server.test.ts checks exactly what swarmflow runs.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ADAPTERS, resolveBinary, type CliKind } from '../../../activities/agents/adapters/index.ts';
import { agentEnvironment } from '../../../activities/agents/wrapper.ts';

export type CliName = CliKind;

/** What each CLI is run as against the stand-in: the production agent's model and endpoint. */
export const MODELS: Record<CliName, string> = { codex: 'gpt-5-codex', claude: 'claude-sonnet-4-5', gemini: 'gemini-2.5-flash' };
const baseUrl = (name: CliName, url: string) => (name === 'codex' ? `${url}/v1` : url);

export interface CliOptions {
  /** The stand-in's base URL. */
  url: string;
  /** The folder the agent works in. */
  cwd: string;
  /** A private HOME holding the CLI's config and sessions. */
  home: string;
  /** The first turn's prompt, or the message a resumed turn adds. */
  prompt: string;
  /** Resume this session (Claude/Gemini: its id; Codex resumes the home's latest) with `prompt` as the new message. */
  resume?: string;
  /** Claude and Gemini: the new session's id, chosen up front. */
  sessionId?: string;
  /** More flags, as `agents.<name>.args` would add them. */
  args?: string[];
}

export interface CliRun {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** The prompt, when the CLI reads it on stdin. */
  input?: string;
}

/** The production command line and environment of one headless turn, with zero retries. */
export function cliRun(name: CliName, o: CliOptions): CliRun {
  mkdirSync(join(o.home, 'tmp'), { recursive: true });
  const apiKey = 'test-key';
  const launch = ADAPTERS[name].launch({
    agent: { name, kind: name, command: [name], passEnv: [], model: MODELS[name], mode: 'headless', baseUrl: baseUrl(name, o.url), retries: 0, ...(o.args ? { args: o.args } : {}) },
    binary: resolveBinary(name) ?? name,
    worktree: o.cwd,
    home: o.home,
    apiKey,
    prompt: o.prompt,
    sessionId: o.resume ?? o.sessionId ?? '00000000-0000-4000-8000-000000000000',
    ...(o.resume === undefined ? {} : { resumeWith: o.prompt }),
  });
  const promptFile = join(o.home, 'prompt.md');
  writeFileSync(promptFile, o.prompt);
  const env = agentEnvironment({ taskId: 'model-server', attempt: 1, agentName: name, home: o.home, promptFile, passEnv: [], cliEnv: launch.env });
  const [file, ...args] = launch.argv;
  return { file: file!, args, env, ...(launch.promptOnStdin ? { input: o.prompt } : {}) };
}

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

/** Runs a CLI headless: argv only (no shell), nothing inherited but what `env` lists, the prompt (if any) on stdin. */
export async function runCli(name: CliName, o: CliOptions, timeoutMs = 60_000): Promise<CliResult> {
  const run = cliRun(name, o);
  const startedAt = Date.now();
  const stdin = run.input === undefined ? { stdin: 'ignore' as const } : { input: run.input };
  const child = execa(run.file, run.args, { cwd: o.cwd, env: run.env, extendEnv: false, ...stdin, reject: false, timeout: timeoutMs });
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

/** A process's VmRSS in KiB, 0 once it has exited (Linux /proc). */
export function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // exited while we looked
  }
}

/** Sum of VmRSS over a process and its descendants, from /proc (Linux). */
export function treeRssKb(root: number): number {
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
    total += rssKb(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}
