// The script a tmux session runs for one agent attempt, and the environment file it gives the
// agent. Every word is single-quoted, so no value is ever parsed by a shell; the prompt itself is
// in neither (the agent reads SWARM_PROMPT_FILE).
import { join } from 'node:path';
import type { AgentCommand } from '../../workflows/task/types.ts';
import type { AttemptFiles } from './paths.ts';
import { EGRESS_PROXY } from './egress/plan.ts';
import { SOCKET } from './egress/proxy.mjs';

/** How long a run past its wall time has, after SIGTERM, before SIGKILL. */
const KILL_AFTER_SECONDS = 30;

/** POSIX single quoting: inside '…' only the quote itself needs care. */
export const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

export interface AgentEnvInput {
  taskId: string;
  attempt: number;
  agentName: string;
  home: string;
  promptFile: string;
  passEnv: string[];
  port?: number;
  /** A CLI adapter's variables: its config home, endpoint and its own API key. */
  cliEnv?: Record<string, string>;
}

/**
 * The agent's whole environment: the fixed allow-list, the agent's passEnv names and its CLI's
 * own variables. Nothing else of the worker's environment (tokens, database URL) reaches it.
 */
export function agentEnvironment({ taskId, attempt, agentName, home, promptFile, passEnv, port, cliEnv = {} }: AgentEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of passEnv) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  // Assigned last so a passEnv entry can never replace them (HOME above all).
  return Object.assign(env, cliEnv, {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    // Temp files too stay in the task's folder, removed with it at cleanup.
    TMPDIR: join(home, 'tmp'),
    LANG: process.env.LANG ?? 'C.UTF-8',
    TERM: 'screen-256color',
    // The agent's HOME has no git config: its commits carry the agent's name.
    GIT_AUTHOR_NAME: `swarmflow ${agentName}`,
    GIT_AUTHOR_EMAIL: `${agentName}@swarmflow.invalid`,
    GIT_COMMITTER_NAME: `swarmflow ${agentName}`,
    GIT_COMMITTER_EMAIL: `${agentName}@swarmflow.invalid`,
    SWARM_TASK_ID: taskId,
    SWARM_ATTEMPT: String(attempt),
    SWARM_PROMPT_FILE: promptFile,
    ...(port === undefined ? {} : { SWARM_PORT: String(port) }),
  });
}

/**
 * The agent's environment as a file the wrapper reads once: `export` lines of single-quoted values,
 * never parsed further. Kept apart from the wrapper so that it can be removed the moment the agent
 * starts, and so that no value (an API key above all) is ever in an argv, which every local
 * process can read.
 */
export const environmentFile = (env: Record<string, string>) =>
  `${Object.entries(env)
    .map(([name, value]) => `export ${shellQuote(`${name}=${value}`)}`)
    .join('\n')}\n`;

/**
 * The script a tmux session runs for one attempt. The agent's side (`--agent`) is started by
 * `env -i`, so nothing of the tmux server's environment reaches it; it reads `files.envFile`,
 * deletes it and execs the agent, whose environment is then exactly the file's. The key is on
 * disk only until the agent starts.
 *
 * `terminal`: the agent is a TUI (a CLI in interactive mode), which refuses to start when its
 * output is a pipe ("stdout is not a terminal"): it runs under script(1), which gives it a
 * terminal of its own relayed to the pane, and logs what it shows.
 *
 * `egress`: the agent is sandboxed with no network of its own; its egress proxy starts first, here,
 * outside the sandbox, and lives as long as the attempt (killed with the session's process group).
 *
 * `maxRuntime`: the run's wall time (host.agentMaxRuntime). timeout(1) stops the agent's process
 * with SIGTERM, then SIGKILL (a sandbox goes with it whole); the log says why, for the exit's evidence.
 */
export function wrapperScript(command: AgentCommand['command'], files: AttemptFiles, { terminal = false, egress = false, maxRuntime }: { terminal?: boolean; egress?: boolean; maxRuntime: { seconds: number; label: string } }): string {
  const tmp = `${files.exitFile}.tmp`;
  const socket = shellQuote(join(files.dir, SOCKET));
  const env = shellQuote(files.envFile);
  // --foreground: timeout stays in the pane's process group (which a session kill reaches) and lets a TUI keep the terminal.
  const limit = `timeout --foreground --kill-after=${KILL_AFTER_SECONDS} ${maxRuntime.seconds}`;
  const startAgent = `${limit} env -i "$BASH" ${shellQuote(files.wrapper)} --agent`;
  const stopped = `swarmflow: the agent ran for host.agentMaxRuntime (${maxRuntime.label}) and was stopped`;
  return [
    '#!/usr/bin/env bash',
    '# Written by swarmflow for one agent attempt (regenerated on every spawn).',
    'if [ "${1-}" = --agent ]; then',
    `  . ${env} && rm -f -- ${env} || { echo "swarmflow: cannot read the agent's environment (it is read once, as the agent starts): respawn the attempt" >&2; exit 126; }`,
    // bash exports these itself; env takes them off again.
    `  exec env -u _ -u SHLVL -u PWD -u OLDPWD -- ${command.map(shellQuote).join(' ')}`,
    'fi',
    // A TUI's re-entry under script(1): the agent only. The proxy is the outer run's (a second one
    // would take its sockets from under the sandbox, and find its key already taken).
    ...(terminal ? [`if [ "\${1-}" = --run ]; then exec ${startAgent}; fi`] : []),
    ...(egress
      ? [
          `${shellQuote(process.execPath)} ${shellQuote(EGRESS_PROXY)} ${shellQuote(files.dir)} < /dev/null >> ${shellQuote(join(files.dir, 'egress.log'))} 2>&1 & egress=$!`,
          // Node's start on a loaded host can take seconds; without its sockets the sandbox cannot start.
          `for _ in $(seq 600); do [ -S ${socket} ] && break; sleep 0.05; done`,
          `[ -S ${socket} ] || echo "swarmflow: the sandbox's egress proxy did not start within 30 s (see ${join(files.dir, 'egress.log')}): the agent cannot start" >&2`,
        ]
      : []),
    ...(terminal
      ? [
          // script: -q no banner, -f flush as it goes, -e the agent's exit code, -c run through /bin/sh.
          `SHELL=/bin/sh script -qfec ${shellQuote(`bash ${shellQuote(files.wrapper)} --run`)} ${shellQuote(files.logFile)}`,
          'code=$?',
        ]
      : [`${startAgent} 2>&1 | tee ${shellQuote(files.logFile)}`, 'code=${PIPESTATUS[0]}']),
    // timeout's 124 (stopped), or 137 (killed: it ignored the SIGTERM) once the time is up (an OOM kill is 137 too).
    `if [ "$SECONDS" -ge ${maxRuntime.seconds} ] && { [ "$code" = 124 ] || [ "$code" = 137 ]; }; then printf '%s\\n' ${shellQuote(stopped)} | tee -a ${shellQuote(files.logFile)}; fi`,
    ...(egress ? ['kill "$egress" 2>/dev/null'] : []),
    '# Written after the log is flushed, and renamed into place so a reader never sees half a file.',
    `printf '%s\\n' "$code" > ${shellQuote(tmp)} && mv -f -- ${shellQuote(tmp)} ${shellQuote(files.exitFile)}`,
    '',
  ].join('\n');
}
