// Each agent run in its own bubblewrap sandbox (issue #14): nothing of ours is even visible to it.
//
// What the agent sees:
// - `/` read-only (the system's tools, node, the project's pinned CLIs), its own /dev, /tmp, and
//   /proc of its own pid namespace (no other process: no /proc/<worker pid>/environ);
// - hidden behind an empty tmpfs: the state folder (other tasks' clones, the tmux socket, Temporal's
//   and Postgres' data, the keys, the attempt folders with their env files) and every home (/root,
//   /home: approvers' keys, ssh); the configured secret files outside them covered by /dev/null;
// - writable: its task's clone and its own home (the CLI's config home, TMPDIR); read-only inside
//   the hidden state folder: the attempt's prompt and the clone's origin bundle.
// Run as root, the agent also gets an unprivileged uid of its own: setpriv, inside the sandbox,
// drops every capability, clears the bounding set and sets no_new_privs before it starts the
// agent, so an escape from the namespaces still meets file permissions (the root-owned 0600 files a
// user namespace would map back to root). Otherwise it runs as the worker's user in a user namespace.
// What the agent starts (the model's shell commands, test runs) is inside with it.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUBBLEWRAP_INSTALL, findOnPath, PROJECT_ROOT } from '../../scripts/tools.mjs';
import type { SandboxMode } from '../../lib/config.ts';
import { FailureType, nonRetryable } from '../errors.ts';
import { bridgeArgv, type EgressPlan } from './egress/plan.ts';

/** `required`: no sandbox, no agent. `preferred`: sandboxed where this host can. `off`: never. */
export type { SandboxMode };

export type SandboxSupport =
  /** `setpriv` and `prlimit` as root only: the agent's own uid, and its process cap (RLIMIT_NPROC counts per uid). */
  | { available: true; bwrap: string; setpriv?: string; prlimit?: string; detail: string }
  | { available: false; problem: string; fix: string };

/** The first uid handed to agent runs; each task's is this plus a number from its id. */
export const AGENT_UID_BASE = 200_000;
const AGENT_UID_SPAN = 100_000;
/** The reviewers' uid, below every task's. */
export const REVIEWER_UID = AGENT_UID_BASE - 1;

const isRoot = () => process.getuid?.() === 0;
const MIB = 1024 * 1024;

/** The namespaces every sandbox gets; a user namespace only where we are not root (as root the mounts need none, and setpriv changes the uid). */
const namespaces = () => ['--die-with-parent', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', ...(isRoot() ? [] : ['--unshare-user'])];

const probes = new Map<string, SandboxSupport>();

/** Whether agents can be sandboxed here: bwrap on PATH that really starts a sandbox (user namespaces may be off). Cached per PATH. */
export function detectSandbox(env: NodeJS.ProcessEnv = process.env): SandboxSupport {
  const key = env.PATH ?? '';
  const known = probes.get(key);
  if (known) return known;
  const support = probe(env);
  probes.set(key, support);
  return support;
}

function probe(env: NodeJS.ProcessEnv): SandboxSupport {
  const bwrap = findOnPath('bwrap', env);
  if (!bwrap) return { available: false, problem: 'bubblewrap (bwrap) is not installed', fix: `${BUBBLEWRAP_INSTALL} (Debian/Ubuntu, as root; npm start and npm test install it when run as root)` };
  const setpriv = isRoot() ? findOnPath('setpriv', env) : undefined;
  const prlimit = isRoot() ? findOnPath('prlimit', env) : undefined;
  if (isRoot() && (!setpriv || !prlimit)) return { available: false, problem: 'setpriv and prlimit (util-linux) are not both installed: agents run by root would keep root, or no process cap', fix: 'apt-get install util-linux' };
  const inner = setpriv ? [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', 'true'] : ['true'];
  const res = spawnSync(bwrap, [...namespaces(), '--unshare-net', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--', ...inner], { encoding: 'utf8', timeout: 10_000 });
  if (res.status !== 0) {
    const said = (res.stderr || res.error?.message || `exit ${res.status}`).trim().split('\n').at(-1);
    return { available: false, problem: `bubblewrap cannot start a sandbox here (${said})`, fix: 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), or run the host worker as root' };
  }
  const identity = setpriv ? 'each task its own unprivileged uid and process cap' : "the worker's uid in a user namespace (run the host worker as root for a uid and a process cap per task)";
  return { available: true, bwrap, ...(setpriv && prlimit ? { setpriv, prlimit } : {}), detail: `bubblewrap ${bwrap}: read-only system, only the task's clone and home writable, private /tmp and pid namespace, ${identity}; network only through a recording proxy, to the model endpoint and the repository's registries; a CLI's API key held by that proxy, never inside` };
}

/** The mode an agent runs under: the host's setting, else `required` for a real CLI and `preferred` for any other command. */
export function sandboxModeFor(configured: SandboxMode | undefined, kind: string): SandboxMode {
  return configured ?? (kind === 'command' ? 'preferred' : 'required');
}

/** The task's agent uid (as root only): the same for each of its runs, so its clone stays its own. */
export function agentUid(taskId: string): number {
  let h = 0;
  for (const c of taskId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return AGENT_UID_BASE + (h % AGENT_UID_SPAN);
}

export interface SandboxLayout {
  taskId: string;
  stateDir: string;
  /** The task's clone: writable (a reviewer's checkout of the head: read-only). */
  worktree: string;
  /** A reviewer: the checkout is only read. */
  readOnlyWorktree?: boolean;
  /** The uid it runs as (as root), when not the task's (reviewers share REVIEWER_UID: they read one checkout at once). */
  uid?: number;
  /** The agent's home: writable. */
  home: string;
  /** Inside the hidden state folder, shown read-only: the prompt file, the origin bundle (handed to the run's uid). */
  readOnly: string[];
  /** Shown read-only as they are, wherever they are (the files a command reviewer's argv names). */
  visible?: string[];
  /** Secret files of the worker's configuration (a GitHub App key, a TLS client key): covered, unreadable. */
  secretFiles: string[];
  /** A TUI keeps the pane's terminal as its controlling one; anything else gets a session of its own (no TIOCSTI into the pane). */
  terminal?: boolean;
  /** host.agentMaxProcesses: the task uid's processes and threads (as root). */
  maxProcesses: number;
  /** host.agentTmpMb: the size of its private /tmp (the other hidden folders hold only mount points). */
  tmpMb: number;
  /** The run's network: its own namespace, out only through the egress proxy (egress/). */
  egress: EgressPlan;
}

/** The argv that runs `argv` in the task's sandbox. */
export function sandboxedArgv(support: Extract<SandboxSupport, { available: true }>, layout: SandboxLayout, argv: string[]): string[] {
  const { stateDir, worktree, home, readOnly, secretFiles, terminal } = layout;
  const network = bridgeArgv(layout.egress);
  // What a command names is shown, but never the state folder or a secret file through it.
  const visible = (layout.visible ?? []).filter((path) => !isWithin(path, stateDir) && !isWithin(stateDir, path) && !secretFiles.some((secret) => isWithin(path, secret)));
  const shown = (path: string) => visible.some((dir) => isWithin(path, dir));
  const hiddenRoots = ['/tmp', ...['/root', '/home'].filter((dir) => existsSync(dir)), stateDir];
  const hidden = (path: string) => hiddenRoots.some((root) => isWithin(path, root));
  // bwrap makes the folders leading to a mount inside a tmpfs 0700, which the agent's uid could not
  // pass: each is made first, 0755 (the hidden folders' names are all that shows of them).
  const reach = (path: string) => ancestorsBelow(path, hiddenRoots).flatMap((dir) => ['--dir', dir]);
  const mounts = [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    // /tmp is the agent's, as on any machine (sticky, writable by all); the rest is empty and ours.
    // Memory-backed: sized, or a full /tmp would be a full host.
    ...hiddenRoots.flatMap((dir) => [...reach(dir), ...(dir === '/tmp' ? ['--perms', '1777', '--size', String(layout.tmpMb * MIB)] : ['--size', String(MIB)]), '--tmpfs', dir]),
    // The project's CLIs and the scripted agent, wherever the checkout is (under /root, or a private /tmp folder).
    ...(hidden(PROJECT_ROOT) ? [...reach(PROJECT_ROOT), '--ro-bind', PROJECT_ROOT, PROJECT_ROOT, ...reach(stateDir), '--size', String(MIB), '--tmpfs', stateDir] : []),
    ...reach(worktree), layout.readOnlyWorktree ? '--ro-bind' : '--bind', worktree, worktree,
    ...reach(home), '--bind', home, home,
    ...[...readOnly, ...visible].filter((path) => existsSync(path)).flatMap((path) => [...reach(path), '--ro-bind', path, path]),
    // A secret file in a hidden folder is not there at all; elsewhere (or in a folder shown again) /dev/null covers it (on a nodev mount: unreadable).
    ...secretFiles.filter((path) => existsSync(path) && (!hidden(path) || shown(path))).flatMap((path) => ['--ro-bind', '/dev/null', path]),
    ...network.binds,
    '--chdir', worktree,
  ];
  // The clone stays ours (see handOver), which the agent's git would call dubious ownership: this
  // one folder is named safe, in the command-line scope git takes it from (no file of ours involved).
  const safeClone = support.setpriv ? ['--setenv', 'GIT_CONFIG_COUNT', '1', '--setenv', 'GIT_CONFIG_KEY_0', 'safe.directory', '--setenv', 'GIT_CONFIG_VALUE_0', worktree] : [];
  // prlimit first (as root it may set the cap), then setpriv, which gives up root for good.
  const uid = layout.uid ?? agentUid(layout.taskId);
  const dropToAgent =
    support.setpriv && support.prlimit
      ? [support.prlimit, `--nproc=${layout.maxProcesses}`, '--', support.setpriv, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--']
      : [];
  return [support.bwrap, ...namespaces(), ...(terminal ? [] : ['--new-session']), ...mounts, ...safeClone, '--', ...dropToAgent, ...network.argv, ...argv];
}

const isWithin = (path: string, root: string) => path === root || path.startsWith(`${root}/`);

/** The folders between the deepest hidden root holding `path` and `path` itself, outermost first. */
function ancestorsBelow(path: string, roots: string[]): string[] {
  const root = roots.filter((r) => isWithin(path, r) && r !== path).sort((a, b) => b.length - a.length)[0];
  if (!root) return [];
  const dirs: string[] = [];
  for (let dir = dirname(path); dir !== root && isWithin(dir, root); dir = dirname(dir)) dirs.unshift(dir);
  return dirs;
}

/**
 * As root: the task's uid gets its home, and its clone through the group: the clone's files go to
 * the task's group, writable by it, while the clone itself stays ours, so git (run by us, as root)
 * still finds the repository owned by its user and never needs to be told it is safe.
 */
export function handOver(layout: SandboxLayout, support: Extract<SandboxSupport, { available: true }>): void {
  if (!support.setpriv) return;
  const uid = layout.uid ?? agentUid(layout.taskId);
  walk(layout.home, (path, stat) => {
    if (stat.uid !== uid || stat.gid !== uid) lchownSync(path, uid, uid);
  });
  // A reviewer's checkout only to read: the group gets the owner's read and search bits, never write.
  const groupBits = layout.readOnlyWorktree ? (mode: number) => (mode & 0o500) >> 3 : (mode: number) => ((mode & 0o700) >> 3) | 0o020;
  walk(layout.worktree, (path, stat) => {
    if (stat.gid !== uid) lchownSync(path, -1, uid);
    // Links carry no mode of their own. No set-id bit survives.
    const mode = (stat.mode & 0o1707) | groupBits(stat.mode);
    if (!stat.isSymbolicLink() && (stat.mode & 0o7777) !== mode) chmodSync(path, mode);
  });
  // Ours, written 0600 in a folder the agent cannot see: it reads them through the read-only binds.
  for (const path of layout.readOnly) if (existsSync(path)) chownSync(path, uid, uid);
}

/** Every entry under `root`, links not followed (the agent's links point anywhere). */
function walk(root: string, visit: (path: string, stat: Stats) => void): void {
  const stat = lstatSync(root, { throwIfNoEntry: false });
  if (!stat) return;
  visit(root, stat);
  if (stat.isDirectory()) for (const entry of readdirSync(root)) walk(join(root, entry), visit);
}

/** What the spawn receipt and the operator are told of a run's isolation. */
export function isolationOf(mode: SandboxMode, support: SandboxSupport, taskId: string, maxProcesses: number, allow: readonly string[], heldKey = false): string {
  if (mode === 'off') return 'none (host.sandbox "off")';
  if (!support.available) return `none: ${support.problem} (the sandbox is preferred here, not required)`;
  const network = allow.length > 0 ? `network only to ${allow.join(', ')}, through a recording proxy${heldKey ? ' that holds its API key' : ''}` : 'no network';
  return `bubblewrap, ${support.setpriv ? `uid ${agentUid(taskId)}, at most ${maxProcesses} processes` : "the worker's uid in a user namespace"}; ${network}`;
}

/** The sandbox this run gets, or the refusal when it is required and this host has none. */
export function sandboxFor(mode: SandboxMode, agentName: string, support: SandboxSupport = detectSandbox()): Extract<SandboxSupport, { available: true }> | undefined {
  if (mode === 'off') return undefined;
  if (support.available) return support;
  if (mode === 'preferred') return undefined;
  throw nonRetryable(
    FailureType.AgentMisconfigured,
    `agent "${agentName}" must run sandboxed (host.sandbox "required", the default for a CLI agent) and this host cannot: ${support.problem}. Fix: ${support.fix}; or set SWARM_SANDBOX=preferred to run it unsandboxed where no sandbox exists`,
  );
}
