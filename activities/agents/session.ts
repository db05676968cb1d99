// The agent's tmux session: one per task (`swarm-<id>`), replaced by each new attempt. Which
// attempt a session runs is set at creation (`new-session -e SWARM_ATTEMPT=n`), so a re-run
// activity can tell "my attempt is already running" from "an older attempt is still there".
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './files.ts';
import { exitCodeIn, keepAttempt, keptRunFolder, liveRunKey, openRegular } from './kept-logs.ts';
import { tailOfFd } from '../output-tail.ts';
import type { AgentCommand, AgentExit, AgentSession, RedirectReceipt } from '../../workflows/task/types.ts';
import { taskSession } from '../../workflows/task/spec.ts';
import { FailureType, nonRetryable } from '../errors.ts';
import { git } from '../git.ts';
import { collectTaskBranch, writeOriginBundle } from '../task-branch.ts';
import { readWorkspaceRecord } from './workspace.ts';
import { sessionGroups } from './reap.ts';
import { runCommand } from '../../lib/spawner/run.ts';
import { isCli } from './adapters/index.ts';
import type { Db } from '../store/db.ts';
import { beat, pause } from '../activity-context.ts';
import type { PriceTable } from './adapters/cost.ts';
import { apiKeyFor, launchSpec, leftoversOf, readOutcome, streamedSpend } from './launch.ts';
import { spawnKey, type AgentPaths, type AttemptFiles } from './paths.ts';
import { exactPane, exactSession, type Tmux } from './tmux.ts';
import { agentEnvironment, environmentFile, wrapperScript } from './wrapper.ts';
import { egressAllowList, egressRecord, modelBaseUrl, proxyEnvironment, writeEgressPlan } from './egress/plan.ts';
import { detectSandbox, handOver, isolationOf, sandboxedArgv, sandboxFor, sandboxModeFor, type SandboxLayout } from './sandbox.ts';
import type { SandboxSettings } from './sandboxed.ts';

export interface SessionDeps {
  paths: AgentPaths;
  tmux: Tmux;
  db: Db;
  /** For CLIs that report no cost. */
  prices: PriceTable;
  /** The agent's argv under this host's memory limit. */
  limitMemory: (taskId: string, argv: string[]) => string[];
  /** The host's sandbox (host.sandbox, unset: by agent kind; its limits and allow-list; the secret files it hides). */
  sandbox: SandboxSettings;
  /** host.agentMaxRuntime: one run's wall time. */
  maxRuntime: { seconds: number; label: string };
  /** host.agentDiskMb: what its clone and home may take. */
  maxDiskMb: number;
}

const POLL_MS = 1_000;
/** How often a run's disk use is measured. */
const DISK_CHECK_MS = 10_000;

/** KiB the folders take on disk (du, through the spawner; one filesystem each, links not followed); undefined if du cannot say. */
async function diskUsedKb(folders: string[]): Promise<number | undefined> {
  const res = await runCommand({ file: 'du', args: ['-s', '-k', '-x', '--', ...folders.filter((f) => existsSync(f))], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' }, timeoutMs: 60_000 });
  // du exits 1 when a file vanished under it (an agent deleting as it goes): its totals still stand.
  const totals = res.stdout.split('\n').map((line) => Number(line.split('\t')[0]));
  return totals.length === 0 || totals.some(Number.isNaN) ? undefined : totals.reduce((a, b) => a + b, 0);
}

/** The run the task's session runs (its spawnKey: `3`, or `3.2` for a respawn), or undefined when there is no session. */
export async function sessionAttempt(tmux: Tmux, session: string): Promise<string | undefined> {
  const res = await tmux.run(['show-environment', '-t', exactSession(session), 'SWARM_ATTEMPT']);
  if (res.absent) return undefined;
  const match = /^SWARM_ATTEMPT=(\d+(?:\.\d+)?)$/.exec(res.stdout.trim());
  if (!match) throw new Error(`tmux session ${session} carries no attempt number (${res.stdout.trim() || res.stderr.trim()})`);
  return match[1];
}

/** Kills the session and its process groups; returns the groups (none when there was no session). */
export async function killSession(tmux: Tmux, session: string): Promise<number[]> {
  const panes = await tmux.run(['list-panes', '-s', '-t', exactSession(session), '-F', '#{pane_pid}']);
  if (panes.absent) return [];
  // Killing the session only hangs up the pane; an agent that ignores SIGHUP (or left children
  // behind) would live on. Each pane's process leads its own process group, and a sandboxed
  // agent's sandbox another below it (bwrap --new-session).
  const groups = sessionGroups(panes.stdout.split('\n').filter(Boolean).map(Number));
  await tmux.run(['kill-session', '-t', exactSession(session)]);
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return groups;
}

/**
 * Starts the session. Killing a server's last session makes the server exit, and a new-session
 * that reaches it meanwhile answers "server exited unexpectedly": that is a retry, not a start.
 */
async function newSession(tmux: Tmux, args: string[]): Promise<void> {
  for (let tries = 1; ; tries++) {
    const started = await tmux.run(['new-session', ...args]);
    if (!started.absent) return;
    if (tries === 3) throw new Error(`tmux new-session failed ${tries} times: ${started.stderr.trim()}`);
    await pause(100 * tries);
  }
}

export interface SpawnInput {
  taskId: string;
  /** The task start's run key ('' before run keys): a start's spawns are counted apart from an earlier one's. */
  runKey: string;
  attempt: number;
  /** 1, or more for a respawn of the same attempt (after a rate limit), which resumes its session. */
  run: number;
  /** A respawn's message to the resumed session. */
  resumeWith?: string;
  /** A retry that resumes this earlier attempt's session (its session id is kept in that attempt's folder). */
  resumeAttempt?: number;
  worktree: string;
  agent: AgentCommand;
  prompt: string;
  /** The task's port (Workspace.port), exported as SWARM_PORT. */
  port?: number;
  /** The repository policy's network allow-list (its package registries), for a sandboxed run. */
  network?: string[];
}

/**
 * Records a spawn and returns when the attempt's session started. A real spawn counts itself
 * (`spawns` > 1 means an attempt was started twice). An idempotent hit only fills in a row lost to
 * a crash between starting tmux and this insert.
 */
async function recordSpawn(db: Db, { taskId, runKey, attempt, agent }: SpawnInput, session: string, real: boolean): Promise<string> {
  // A respawn of the same attempt is recorded under the attempt's row: `spawns` counts only duplicates of a run.
  const values = [taskId, attempt, agent.name, session, runKey];
  const { rows } = real
    ? await db.query<{ started_at: Date }>(
        `INSERT INTO agent_spawns (task_id, attempt, agent, session, run_key) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (task_id, run_key, attempt) DO UPDATE SET spawns = agent_spawns.spawns + 1, agent = EXCLUDED.agent, started_at = now()
         RETURNING started_at`,
        values,
      )
    : await db.query<{ started_at: Date }>(
        // The outer SELECT does not see the CTE's insert: exactly one of the two yields the row.
        `WITH inserted AS (
           INSERT INTO agent_spawns (task_id, attempt, agent, session, run_key) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (task_id, run_key, attempt) DO NOTHING RETURNING started_at)
         SELECT started_at FROM inserted
         UNION ALL SELECT started_at FROM agent_spawns WHERE task_id = $1 AND attempt = $2 AND run_key = $5`,
        values,
      );
  return rows[0]!.started_at.toISOString();
}

export async function spawnAgent({ paths, tmux, db, limitMemory, sandbox: settings, maxRuntime }: SessionDeps, input: SpawnInput): Promise<AgentSession> {
  const { taskId, attempt, run, resumeWith, resumeAttempt, worktree, agent, prompt, port, network } = input;
  const session = taskSession(taskId);
  const files = paths.attempt(taskId, attempt, run);
  const key = spawnKey(attempt, run);
  // Where this start keeps its logs: the start its workspace record names, as for keeping them.
  const keptLogs = keptRunFolder(paths, taskId, await liveRunKey(paths, taskId));
  // Before anything is written: a required sandbox this host lacks starts no agent.
  const mode = sandboxModeFor(settings.mode, agent.kind ?? 'command');
  const support = detectSandbox();
  const sandbox = sandboxFor(mode, agent.name, support);
  const allow = egressAllowList(agent, network, settings.egressAllow);
  const isolation = isolationOf(mode, support, taskId, settings.maxProcesses, allow, !!sandbox && isCli(agent.kind));
  const result = (startedAt: string): AgentSession => ({ session, attempt, run, promptFile: files.promptFile, logFile: files.logFile, exitFile: files.exitFile, keptLogs, startedAt, isolation });

  // Session first, exit file second: the wrapper writes the file before its session ends, so an
  // attempt that finishes between the two checks is still seen.
  const running = await sessionAttempt(tmux, session);
  if (running === key || existsSync(files.exitFile)) return result(await recordSpawn(db, input, session, false));
  if (!existsSync(worktree)) throw nonRetryable(FailureType.InvalidInput, `worktree does not exist: ${worktree}`);
  if (running !== undefined) await killSession(tmux, session);

  const home = paths.home(taskId);
  // 0700, and the files 0600: the environment file carries the agent's passEnv values (and, unsandboxed, its API key).
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  mkdirSync(join(home, 'tmp'), { recursive: true, mode: 0o700 });
  writeFileAtomic(files.promptFile, prompt);
  const { secretFiles, maxProcesses, tmpMb } = settings;
  // Sandboxed, the key stays with the egress proxy, outside: nothing the agent runs can read it.
  const apiKey = sandbox ? apiKeyFor(agent) : undefined;
  const upstream = modelBaseUrl(agent);
  const egress = sandbox && writeEgressPlan(files.dir, allow, apiKey && upstream ? { upstream, key: apiKey } : undefined);
  const layout: SandboxLayout | undefined = egress && { taskId, stateDir: paths.stateDir, worktree, home, readOnly: [files.promptFile, paths.originBundle(taskId)], secretFiles, maxProcesses, tmpMb, egress };
  const inSandbox = sandbox && layout && ((argv: string[], terminal: boolean) => sandboxedArgv(sandbox, { ...layout, terminal }, argv));
  const launch = launchSpec({ agent, worktree, home, prompt, files, firstRun: paths.attempt(taskId, resumeAttempt ?? attempt), resumeWith, sandbox: inSandbox, ...(egress && egress.model ? { heldKey: egress.model } : {}) });
  const cliEnv = layout ? { ...launch.env, ...proxyEnvironment(layout.egress) } : launch.env;
  const env = agentEnvironment({ taskId, attempt, agentName: agent.name, home, promptFile: files.promptFile, passEnv: agent.passEnv, port, cliEnv });
  writeFileAtomic(files.envFile, environmentFile(env));
  writeFileAtomic(files.wrapper, wrapperScript(limitMemory(taskId, launch.command), files, { terminal: launch.terminal, egress: !!layout, maxRuntime }));
  // The clone's origin gets the current base and branch of record (our merges), for the agent to fetch.
  if (existsSync(paths.workspaceRecord(taskId))) {
    const { checkout, branch, baseBranch } = readWorkspaceRecord(paths.workspaceRecord(taskId));
    await writeOriginBundle(checkout, baseBranch, branch, paths.originBundle(taskId));
  }
  // Last, once the CLI's home is seeded and the bundle written: the agent's uid owns what it may write.
  if (sandbox && layout) handOver(layout, sandbox);
  await newSession(tmux, ['-d', '-s', session, '-c', worktree, '-e', `SWARM_ATTEMPT=${key}`, '--', 'bash', files.wrapper]);
  return result(await recordSpawn(db, input, session, true));
}


export interface AwaitInput {
  taskId: string;
  attempt: number;
  run: number;
  worktree: string;
  baseBranch: string;
  tokensLeft?: number;
  /** Dollars at the price table's rates, for CLIs whose events stream usage. */
  usdLeft?: number;
}

/** The log's last lines, read only as the regular file the wrapper wrote (the agent can replace it with a link to anything). */
async function logTailOf(paths: AgentPaths, files: AttemptFiles): Promise<string> {
  const opened = await openRegular(paths.stateDir, files.dir, 'agent.log');
  if (!opened) return '';
  if ('refused' in opened) return `[swarmflow: the agent's log was not read: ${opened.refused}]`;
  try {
    return tailOfFd(opened.handle.fd);
  } finally {
    await opened.handle.close();
  }
}

/** Polls until the attempt ends. Holds no state of its own, so a re-run simply polls again. */
export async function awaitAgentExit({ paths, tmux, prices, maxDiskMb }: SessionDeps, { taskId, attempt, run, worktree, baseBranch, tokensLeft, usdLeft }: AwaitInput): Promise<AgentExit> {
  const session = taskSession(taskId);
  const files = paths.attempt(taskId, attempt, run);
  let exitCode: number | null;
  let stoppedFor: string | undefined;
  let diskCheckedAt = Date.now();
  for (;;) {
    beat();
    // Same order as in spawnAgent, for the same reason.
    const alive = (await sessionAttempt(tmux, session)) === spawnKey(attempt, run);
    const recorded = await exitCodeIn(paths.stateDir, files.dir);
    if (recorded !== undefined) {
      exitCode = recorded;
      break;
    }
    if (!alive) {
      exitCode = null;
      break;
    }
    // Over the task's budget mid-run: the agent is stopped now, and the exit's usage shows the breach.
    const spent = tokensLeft === undefined && usdLeft === undefined ? undefined : streamedSpend(files, prices);
    if (spent && ((tokensLeft !== undefined && spent.tokens > tokensLeft) || (usdLeft !== undefined && spent.usd !== undefined && spent.usd > usdLeft))) {
      await killSession(tmux, session);
      exitCode = null;
      break;
    }
    // No project quotas on this host's filesystems: the clone and home are measured instead.
    if (Date.now() - diskCheckedAt >= DISK_CHECK_MS) {
      diskCheckedAt = Date.now();
      const usedKb = await diskUsedKb([worktree, paths.home(taskId)]);
      if (usedKb !== undefined && usedKb > maxDiskMb * 1024) {
        await killSession(tmux, session);
        stoppedFor = `swarmflow: the agent's clone and home took ${Math.round(usedKb / 1024)} MiB, past host.agentDiskMb (${maxDiskMb} MiB), and it was stopped`;
        exitCode = null;
        break;
      }
    }
    await pause(POLL_MS);
  }
  // The agent's work is read from its clone into the branch of record; git never runs with the clone's config.
  const { checkout, branch } = readWorkspaceRecord(paths.workspaceRecord(taskId));
  const headSha = await collectTaskBranch(checkout, worktree, branch, leftoversOf(files, attempt));
  if (headSha === undefined) throw new Error(`${branch} exists neither in ${worktree} nor in ${checkout}`);
  const { stdout } = await git(checkout, ['rev-list', '--count', '--end-of-options', `${baseBranch}..${headSha}`]);
  const earlierRuns = Array.from({ length: run - 1 }, (_, i) => paths.attempt(taskId, attempt, i + 1));
  const outcome = readOutcome(files, exitCode, prices, earlierRuns);
  const redirects = inboxReceipts(files);
  const egress = egressRecord(files.dir);
  // The run has ended and its log is whole: kept now, not only at cleanup.
  await keepAttempt(paths, taskId, attempt, run);
  // Why swarmflow stopped it, where the operator and the classifier read the run's end.
  const logTail = `${await logTailOf(paths, files)}${stoppedFor ? `\n${stoppedFor}` : ''}`;
  return { exitCode, commits: Number(stdout.trim()), headSha, logTail, ...(outcome ? { outcome } : {}), ...(redirects.length > 0 ? { redirects } : {}), ...(egress ? { egress } : {}) };
}

// Control characters would arrive as keystrokes (Ctrl-C, escape sequences), not text, and a line
// break would submit half the message: the redirect is delivered as one line of plain text.
const toOneLine = (message: string) =>
  message
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/\p{Cc}/gu, '')
    .trim();

export interface Delivery {
  /** The agent has it: typed into its live session. */
  delivered: boolean;
  /** `inbox`: queued for a headless CLI, whose next turn resumes its session with it. `tmux`: typed into the pane. */
  channel?: 'inbox' | 'tmux';
  /** The message's name in the inbox, which the run's exit reports as delivered or not (RedirectReceipt). */
  inbox?: string;
}

/**
 * Into the running CLI's inbox: its name there, or undefined when its runner has already closed it
 * (the run is ending). An urgent one (`.now.msg`) makes the runner interrupt the turn in flight.
 */
function dropInInbox(files: AttemptFiles, message: string, urgent: boolean): string | undefined {
  const name = `${Date.now().toString().padStart(15, '0')}-${randomUUID()}${urgent ? '.now' : ''}.msg`;
  const staged = join(files.dir, name);
  writeFileAtomic(staged, message);
  try {
    renameSync(staged, join(files.inbox, name));
    return name;
  } catch (err) {
    rmSync(staged, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** What the runner did with each redirect in the run's inbox (see runner.mjs): delivered once its resumed turn succeeded. */
function inboxReceipts(files: AttemptFiles): RedirectReceipt[] {
  const receipts: RedirectReceipt[] = [];
  for (const dir of [files.inbox, `${files.inbox}.closed`]) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      const match = /^(.+\.msg)(\.sent|\.delivered)?$/.exec(file);
      if (match) receipts.push({ id: match[1]!, delivered: match[2] === '.delivered' });
    }
  }
  return receipts;
}

/** How long a typed redirect settles before its Enter (see sendToSession). */
const ENTER_AFTER_MS = 500;

/**
 * `interrupt`: a headless CLI gets it now, its turn in flight interrupted (the stuck watch's
 * correction: a looping turn may never end); a TUI reads typed text between its steps anyway.
 */
export async function sendToSession({ tmux, paths }: SessionDeps, { taskId, message, interrupt = false }: { taskId: string; message: string; interrupt?: boolean }): Promise<Delivery> {
  const text = toOneLine(message);
  if (text === '') throw nonRetryable(FailureType.InvalidInput, 'sendToSession: the message has no printable text');
  const session = taskSession(taskId);
  const running = await sessionAttempt(tmux, session);
  if (running === undefined) return { delivered: false };
  const [attempt, run] = running.split('.').map(Number);
  const files = paths.attempt(taskId, attempt!, run ?? 1);
  // A headless CLI has no prompt to type into: its runner resumes the session with the message.
  if (existsSync(files.planFile)) {
    const inbox = dropInInbox(files, text, interrupt);
    return inbox === undefined ? { delivered: false } : { delivered: false, channel: 'inbox', inbox };
  }
  // -l: the text is typed literally, never looked up as key names; `--`: a leading "-" is text too.
  const typed = await tmux.run(['send-keys', '-t', exactPane(session), '-l', '--', text]);
  if (typed.absent) return { delivered: false };
  // The text arrives as one fast burst, which a TUI reads as a paste: Codex turns an Enter that
  // follows a paste within ~120 ms into a newline in its composer instead of submitting it.
  await pause(ENTER_AFTER_MS);
  const entered = await tmux.run(['send-keys', '-t', exactPane(session), 'Enter']);
  return { delivered: !entered.absent, channel: 'tmux' };
}
