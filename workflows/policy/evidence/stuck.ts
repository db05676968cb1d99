// Whether a running agent is stuck, from what the monitor observed of it (timestamps in ms of
// workflow time, oldest first; `now` is the workflow's clock). Stuck means one of:
//   repeated_tool_call        its last `repeats` tool calls were the same tool with the same input;
//   repeated_failing_command  its last `repeats` commands were the same command, all failing, and no
//                             file changed between the first and the last of them;
//   idle                      neither the file-change count nor the output size grew for
//                             `idleMinutes` (the agent may be waiting on something that never comes).
// A stuck agent gets an intervention now, not at the next timer.
export type Observation =
  | { kind: 'tool_call'; atMs: number; tool: string; input: string }
  | { kind: 'command'; atMs: number; command: string; exitCode: number }
  /** Running totals: file changes seen in the worktree, bytes of output the agent has printed. */
  | { kind: 'progress'; atMs: number; fileChanges: number; outputBytes: number };

export interface StuckLimits {
  /** N: identical calls or failing commands in a row. */
  repeats: number;
  /** M: minutes without a file change or new output. */
  idleMinutes: number;
}

export const STUCK_DEFAULTS: StuckLimits = { repeats: 4, idleMinutes: 15 };

export type StuckVerdict =
  | { stuck: false }
  | { stuck: true; reason: 'repeated_tool_call' | 'repeated_failing_command'; what: string; times: number }
  | { stuck: true; reason: 'idle'; sinceMs: number; minutes: number };

export function stuckVerdict(observations: Observation[], nowMs: number, limits: StuckLimits = STUCK_DEFAULTS): StuckVerdict {
  const n = Math.max(2, limits.repeats);
  const calls = observations.filter((o) => o.kind === 'tool_call');
  const lastCalls = calls.slice(-n);
  if (lastCalls.length === n && lastCalls.every((c) => c.tool === lastCalls[0]?.tool && c.input === lastCalls[0]?.input)) {
    return { stuck: true, reason: 'repeated_tool_call', what: `${lastCalls[0]?.tool ?? ''} ${lastCalls[0]?.input ?? ''}`.trim(), times: n };
  }
  const commands = observations.filter((o) => o.kind === 'command');
  const lastCommands = commands.slice(-n);
  const first = lastCommands[0];
  if (first && lastCommands.length === n && lastCommands.every((c) => c.command === first.command && c.exitCode !== 0) && !filesChangedBetween(observations, first.atMs, lastCommands.at(-1)?.atMs ?? first.atMs)) {
    return { stuck: true, reason: 'repeated_failing_command', what: first.command, times: n };
  }
  const sinceMs = lastProgressAt(observations);
  if (sinceMs !== undefined && nowMs - sinceMs >= limits.idleMinutes * 60_000) {
    return { stuck: true, reason: 'idle', sinceMs, minutes: Math.floor((nowMs - sinceMs) / 60_000) };
  }
  return { stuck: false };
}

type Progress = Extract<Observation, { kind: 'progress' }>;
const progressOf = (observations: Observation[]) => observations.filter((o): o is Progress => o.kind === 'progress');

/** Whether the file-change count moved within [fromMs, toMs]. */
function filesChangedBetween(observations: Observation[], fromMs: number, toMs: number): boolean {
  const progress = progressOf(observations);
  const before = progress.filter((p) => p.atMs <= fromMs).at(-1);
  const within = progress.filter((p) => p.atMs > fromMs && p.atMs <= toMs);
  const counts = [before, ...within].filter((p): p is Progress => !!p).map((p) => p.fileChanges);
  return counts.some((c) => c !== counts[0]);
}

/** When a total last moved (a total that dropped means a new run: that is progress too); undefined without two samples. */
function lastProgressAt(observations: Observation[]): number | undefined {
  const progress = progressOf(observations);
  if (progress.length === 0) return undefined;
  let at = progress[0]?.atMs ?? 0;
  for (let i = 1; i < progress.length; i++) {
    const [a, b] = [progress[i - 1], progress[i]];
    if (a && b && (a.fileChanges !== b.fileChanges || a.outputBytes !== b.outputBytes)) at = b.atMs;
  }
  return at;
}

/** A quoted command or call in a correction: one line, short enough to read at a glance. */
const quoted = (text: string, max = 200) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return `\`${line.length > max ? `${line.slice(0, max - 1)}…` : line}\``;
};

/**
 * What the agent is told when it is stuck: what it repeated (or how long nothing moved), and what to
 * do instead. Specific, so the model can see its own loop; short, since it is typed into a session.
 */
export function correctionFor(verdict: Extract<StuckVerdict, { stuck: true }>): string {
  switch (verdict.reason) {
    case 'repeated_failing_command':
      return `swarmflow: you have run ${quoted(verdict.what)} ${verdict.times} times in a row, it failed every time, and no file changed in between: stop repeating it. Read its output, find the cause, change the code (or the command), and only then run it again.`;
    case 'repeated_tool_call':
      return `swarmflow: you have made the same tool call ${verdict.times} times in a row (${quoted(verdict.what)}): its answer will not change. Stop repeating it; use what it returned, or take another approach to the task.`;
    case 'idle':
      return `swarmflow: nothing has moved for ${verdict.minutes} minutes: no file changed and no new output. If a command hangs, stop it and run it with a timeout; if you are waiting for something, it will not come: go on with the task, or say exactly what blocks you.`;
  }
}

/**
 * When a stuck agent first repeated itself: the second of the repeated calls or commands, or for
 * `idle` the moment the quiet reached the limit. The latency of an intervention is measured from it.
 */
export function firstRepeatAt(observations: Observation[], verdict: Extract<StuckVerdict, { stuck: true }>, limits: StuckLimits = STUCK_DEFAULTS): number {
  if (verdict.reason === 'idle') return verdict.sinceMs + limits.idleMinutes * 60_000;
  const kind = verdict.reason === 'repeated_tool_call' ? 'tool_call' : 'command';
  const repeated = observations.filter((o) => o.kind === kind).slice(-verdict.times);
  return (repeated[1] ?? repeated[0])?.atMs ?? 0;
}
