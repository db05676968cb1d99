// The task's full typed state: what the `state` query returns, what continue-as-new carries, and
// what the Web UI's current details and the CLI's registry view are rendered from.
import type { ContextRecord } from '../context/notes.ts';
import type { UiEvidence } from '../policy/gates.ts';
import type { ReviewRounds } from '../policy/review-rounds.ts';
import type { TaskSpec } from './spec.ts';
import type { RedirectInput, SignedDecision } from './messages.ts';
import type {
  AgentCommand,
  AgentFailure,
  AgentOutcome,
  AgentExit,
  EgressRecord,
  AgentSession,
  ApproverIdentity,
  ClassifiedFailure,
  CiVerdict,
  DefinitionOfDone,
  HumanReviews,
  LearnedHint,
  Mergeability,
  PullRequest,
  PolicyGateResult,
  RepoPolicy,
  ReviewVerdict,
  ReviewerSpec,
  Step,
  TaskStatus,
  TokenUsage,
  UiCapture,
  Workspace,
} from './types.ts';

export interface TaskSetup {
  /** The implementing agent (the one retried). */
  agent: AgentCommand;
  /** A handoff route's concept agent and the file it writes, before the first attempt. */
  concept?: { agent: AgentCommand; file: string };
  routingReason: string;
  reviewers: ReviewerSpec[];
  /** Who may decide, with the identities that prove it; a bare name in a task set up before signed decisions. */
  approvers: Array<string | ApproverIdentity>;
  hostQueue: string;
  policy: RepoPolicy;
  /** Milliseconds between approval reminders. */
  reminderIntervalMs: number;
  /** How long a host-bound step waits for its host's worker before a human is told (absent before it was configurable). */
  hostUnansweredTimeout?: string;
  searchAttributes: boolean;
  /** Decisions must be proven (see SIGNED_DECISIONS_PATCH): the rules they are checked by. Absent for a task set up before. */
  decisions?: DecisionRules;
}

/** What a decision is checked against, beside the approvers: fixed at intake from the worker's configuration. */
export interface DecisionRules {
  /** The orchestrator's public key: it signs the Telegram presses its bot relays. */
  orchestratorPublicKey: string;
  requesterMayApprove: boolean;
  maxClockSkewMs: number;
}

export interface AttemptRecord {
  attempt: number;
  startedAt: string;
  endedAt?: string;
  exit?: AgentExit;
  /** Runs of this attempt cut short by a rate limit or a provider fault, each followed by a durable wait and a respawn. */
  interruptions?: Array<{ run: number; failure: AgentFailure; message?: string; waitedMs: number; at: string }>;
  outcome?: 'verified' | 'failed';
  failure?: ClassifiedFailure;
  /** CI runs of this attempt that failed on the CI machine or its network: each waited and ran CI again, no attempt spent. */
  ciFaults?: Array<{ rule: string; waitedMs: number; at: string }>;
  /** Corrections sent because the agent was stuck (see STUCK_INTERVENTION_PATCH), at most two a run. */
  interventions?: StuckIntervention[];
}

/** One correction of a stuck agent, and what became of it. */
export interface StuckIntervention {
  run: number;
  at: string;
  reason: 'repeated_tool_call' | 'repeated_failing_command' | 'idle';
  /** The repeated command or call, and how many times in a row; for `idle`, the minutes nothing moved. */
  what?: string;
  times?: number;
  minutes?: number;
  /** The correction, as the agent got it. */
  message: string;
  /** As for a redirect: typed into the session (`tmux`, delivered at once) or queued in a headless CLI's inbox, delivered once its resumed turn succeeded. */
  delivered: boolean;
  channel?: 'inbox' | 'tmux';
  inbox?: string;
  /**
   * From the agent's first repeat (its CLI event's timestamp where the CLI writes one, as Claude Code
   * does; else when the watch read it, up to 2 s later) to the correction's hand-over to the
   * session: the host's clock up to the verdict, the workflow's after it.
   */
  latencyMs: number;
  /** Where the watch re-armed after it reads the run's events from (it survives a continue-as-new). */
  eventsOffset: number;
}

export interface Decision {
  decision: 'approve' | 'reject';
  by: string;
  comment?: string;
  at: string;
  /** How the decider proved it was them (absent for a task set up before signed decisions). */
  channel?: 'key' | 'github' | 'telegram';
  /** The PR head decided on. */
  headSha?: string;
  /** The decider's signature (channel key) or the orchestrator's over their Telegram press: the evidence carries it. */
  signed?: SignedDecision;
  /** The GitHub review that approved (channel github). */
  review?: { login: string; id?: number };
}

/**
 * A redirect and what became of it. `delivered`: the agent has it, `channel` says how: typed into
 * its session (`tmux`), resumed with by its headless CLI (`inbox`), or in the prompt a later run
 * started on (`prompt`, that run in `carriedTo`). `waiting` while not yet: queued in the running
 * CLI's inbox (as `inbox`), or for the next run or attempt.
 */
export interface RedirectRecord extends RedirectInput {
  at: string;
  delivered: boolean;
  channel?: 'inbox' | 'tmux' | 'prompt';
  waiting?: 'inbox' | 'next_run';
  inbox?: string;
  carriedTo?: { attempt: number; run: number };
}

export interface TaskState {
  spec: TaskSpec;
  /**
   * What this start of the task keeps its records under (artifacts, spawns, kept logs): the first
   * run id of its workflow chain, so a task id started again after a failed run keeps both runs'
   * records apart. Absent for tasks started before it existed (their records are under the id alone).
   */
  runKey?: string;
  status: TaskStatus;
  step: Step;
  startedAt: string;
  completedAt?: string;
  setup?: TaskSetup;
  /** The local repository task worktrees are made from (the repository itself, or a mirror). */
  checkout?: string;
  workspace?: Workspace;
  session?: AgentSession;
  /** 1-based number of the current attempt. */
  attempt: number;
  /** Attempts allowed so far: the spec's limit plus one for each human `retry`. */
  attemptLimit: number;
  attempts: AttemptRecord[];
  /** What the retry memory offered the attempt's prompt: hints that fixed the same class on the same paths in other tasks. */
  learned?: { attempt: number; hints: LearnedHint[] };
  /** The handoff's concept run, once it ended (its commits stay on the branch). */
  concept?: { agent: string; file: string; commits: number; outcome?: AgentOutcome; at: string };
  /** The run of attempt 1 the concept agent runs: 1, or later once a rate limit or fault respawned it. */
  conceptRun?: number;
  /** Every redirect and what became of it. */
  redirects?: RedirectRecord[];
  /** Tokens and cost over every run of every attempt, as the agents' adapters reported them. */
  usage?: TokenUsage & { costUsd: number; runs: number };
  /** The business context the latest prompt carries: which notes, why, their tokens; never a note's text. */
  context?: ContextRecord;
  /** Guidance from a human `retry`, injected into the next prompt. */
  guidance?: string;
  checks: {
    sessionAlive?: boolean;
    /** The spawn waits for room on the host: its agent cap or memory headroom. */
    spawnHold?: { reason: 'agent_cap' | 'low_memory'; detail: string; since: string };
    /** CI runs again at the same head: its last failure was the CI machine's, not the code's. */
    ciRerun?: boolean;
    pr?: PullRequest;
    mergeability?: Mergeability;
    ci?: CiVerdict;
    review?: ReviewVerdict;
    humanReviews?: HumanReviews;
    uiEvidence?: UiEvidence;
    /** The anti-gaming and secret gate at the collected head, before it was pushed. */
    policyGate?: PolicyGateResult;
    /** How many heads the policy gate failed: the first goes back to the agent, the next to a human. */
    policyGateFailures?: number;
    /** The orchestrator's screenshots of the UI paths' change, base against head. */
    uiCapture?: UiCapture;
    checkedAt?: string;
  };
  /** The task runs with the evidence plane (see OBJECTIVE_EVIDENCE_PATCH): the runbook's DoD with evidence. */
  evidencePlane?: boolean;
  /** The review rounds so far: open findings (merged, fingerprinted), fixed ones, rounds with blocking findings. */
  reviewRounds?: ReviewRounds;
  dod?: DefinitionOfDone;
  decision?: Decision;
  /** GitHub approvals already refused (login@commit): each is noted once. */
  refusedReviews?: string[];
  /** The head that approvers were asked to approve, and when they were last reminded (epoch ms). */
  approval?: { headSha: string; requestedAt: string; lastReminderAt: number };
  merge?: { sha: string; at: string };
  /** Whether the server has the project's search attributes, known from intake's start (setup has it too, once intake is done). */
  searchAttributes?: boolean;
  /** Why the task waits for a human (the escalation's blocker), while it does. */
  blocker?: string;
  /** How the task ended: the step it ended at (the last one it completed, for a merge) and why. */
  outcome?: { status: TaskStatus; step: Step; summary: string };
  /**
   * The signed evidence chain (SIGNED_EVIDENCE_PATCH): how many links the workflow wrote, the last
   * one's digest, and how many of this task's records waited in the host's spool at the last write.
   */
  evidence?: { seq: number; head?: string; spooled?: number };
  /** Human-readable log of what happened, newest last (bounded). */
  notes: string[];
  continuedAsNew: number;
}

export function initialState(spec: TaskSpec, now: string): TaskState {
  return {
    spec,
    status: 'running',
    step: 'intake',
    startedAt: now,
    attempt: 1,
    attemptLimit: spec.limits.maxAttempts,
    attempts: [],
    checks: {},
    notes: [],
    continuedAsNew: 0,
  };
}

/** One line for the notes: how a CLI's run ended, by its adapter's reading. */
export function describeOutcome(o: AgentOutcome): string {
  const cost = o.cost ? `, $${o.cost.usd.toFixed(4)}${o.cost.source === 'price_table' ? ' (price table)' : ''}` : '';
  const tokens = `${o.usage.inputTokens} input / ${o.usage.outputTokens} output tokens${cost}`;
  return o.status === 'finished' ? `${o.status}, ${tokens}` : `failed (${o.failure ?? 'error'}: ${o.message ?? 'no message'}), ${tokens}`;
}

/** A sandboxed run's network in one line: how much it asked for, and what was refused (the receipt has it all). */
export function describeEgress(e: EgressRecord): string {
  const refused = e.destinations.filter((d) => !d.allowed).map((d) => d.destination);
  const shown = refused.length > 5 ? `${refused.slice(0, 5).join(', ')} and ${refused.length - 5} more` : refused.join(', ');
  return `network: ${e.requests} request(s) through its proxy${e.refused > 0 ? `, ${e.refused} refused (${shown}${e.moreDestinations ? ', …' : ''})` : ', none refused'}`;
}

/** How a stuck agent's verdict reads in the notes and the details. */
export function describeStuck(i: Pick<StuckIntervention, 'reason' | 'what' | 'times' | 'minutes'>): string {
  if (i.reason === 'idle') return `nothing moved for ${i.minutes} minutes`;
  return `${i.reason === 'repeated_failing_command' ? 'ran the failing command' : 'made the tool call'} \`${i.what}\` ${i.times} times in a row`;
}

/** The current attempt's corrections of a stuck agent, for the operator. */
function interventionLines(state: TaskState): string[] {
  const interventions = state.attempts.find((a) => a.attempt === state.attempt)?.interventions ?? [];
  return interventions.map((i) => {
    const how = i.delivered ? `delivered (${i.channel ?? 'session'})` : i.channel === 'inbox' ? 'queued: its session resumes with it' : 'not delivered';
    return `- stuck agent corrected at ${i.at} (run ${i.run}): it ${describeStuck(i)}; ${how}, ${i.latencyMs} ms after its first repeat`;
  });
}

const MAX_NOTES = 50;

export function note(state: TaskState, at: string, text: string): void {
  state.notes.push(`${at} ${text}`);
  if (state.notes.length > MAX_NOTES) state.notes.splice(0, state.notes.length - MAX_NOTES);
}

const STEP_LABELS: Array<[Step, string]> = [
  ['intake', '1. Intake & scope'],
  ['prompt', '2. Prompt synthesis'],
  ['spawn', '3. Spawn agent'],
  ['monitor', '4. Monitor'],
  ['pr', '5. Pull request, synced with base'],
  ['review', '6. CI run, then review by other models'],
  ['gates', '7. Gates: CI verdict, screenshots, policy, Definition of Done'],
  ['human_gate', '8. Human approval, merge, cleanup'],
];

/**
 * Each step's mark: completed ✅, running ▶️, waiting for a human ✋, where the task failed ❌ or
 * was stopped ⏹️, not reached ⬜; the step it stopped or waits at carries why.
 */
function stepLines(state: TaskState): string[] {
  const order = STEP_LABELS.map(([s]) => s);
  const ended = state.outcome;
  // A task recorded before outcomes were kept is taken as having completed what it passed.
  const at = ended ? order.indexOf(ended.step) : state.step === 'cleanup' || state.step === 'done' ? order.length : order.indexOf(state.step);
  return STEP_LABELS.map(([, label], i) => {
    if (state.status === 'merged' || i < at || at < 0) return `- ✅ ${label}`;
    if (i > at) return `- ⬜ ${label}`;
    if (ended) return `- ${ended.status === 'failed' ? '❌' : '⏹️'} ${label} — ${ended.summary}`;
    if (state.status === 'needs_human') return `- ✋ ${label} — needs a human${state.blocker ? `: ${state.blocker}` : ''}`;
    return `- ▶️ ${label}`;
  });
}

/** The commands that move the task on from where it is, for the operator to copy. */
function nextLines(state: TaskState): string[] {
  const id = state.spec.id;
  if (state.outcome) return [];
  if (state.status === 'needs_human') return ['', '**Next**', `- continue: \`swarmflow retry ${id} "<guidance>"\``, `- or stop: \`swarmflow abort ${id}\``];
  if (state.status === 'awaiting_approval' && state.dod?.readyForApproval) {
    return ['', '**Next**', `- approve: \`swarmflow approve ${id} --by <you>\``, `- or reject: \`swarmflow reject ${id} --by <you> --reason "<why>"\``];
  }
  return ['', '**Next**', `- steer the agent: \`swarmflow redirect ${id} "<message>"\``, `- or stop: \`swarmflow abort ${id}\``];
}

/**
 * The agent's session and where its logs are: the live log until cleanup removes the task's
 * files, and, from the run's end on, the kept copy, which outlives the task.
 */
function sessionLines({ session, step, spec, runKey }: TaskState): string[] {
  if (!session) return [];
  const live = step !== 'cleanup' && step !== 'done';
  const command = `swarmflow logs ${spec.id}${runKey ? ` --run ${runKey}` : ''} --attempt ${session.attempt}${step === 'monitor' ? ' --follow' : ''}`;
  return [
    ...(live || !session.keptLogs ? [`- tmux session \`${session.session}\`, log \`${session.logFile}\``] : []),
    ...(session.keptLogs ? [`- agent logs: \`${command}\`, kept in \`${session.keptLogs}\``] : []),
  ];
}

/** The Definition of Done as Markdown: each item with its evidence, then the criteria mapping (the details, the PR's evidence comment). */
export function definitionOfDoneLines(dod: DefinitionOfDone): string[] {
  const lines = ['**Definition of Done**'];
  for (const item of dod.items) {
    lines.push(`- ${item.ok ? '✅' : '❌'} ${item.label}: ${item.detail}`);
    for (const e of item.evidence ?? []) lines.push(`  - ${e.kind}: ${e.ref}`);
  }
  if (dod.criteria?.length) {
    lines.push('', '**Acceptance criteria → evidence**');
    for (const c of dod.criteria) {
      const reviewed = [...(c.reviewedBy.length ? [`reviewed by ${c.reviewedBy.join(', ')}`] : []), ...(c.disputedBy.length ? [`disputed by ${c.disputedBy.join(', ')}`] : [])];
      lines.push(`- ${c.covered ? '✅' : '⚠️'} ${c.id} ${c.text}: ${c.covered ? c.evidence.map((e) => `${e.kind} ${e.ref}`).join('; ') : 'not covered by a test or screenshot'}${reviewed.length ? ` (${reviewed.join('; ')})` : ''}`);
    }
  }
  return lines;
}

/** The PR's evidence comment: the Definition of Done with its evidence and the screenshots' figures at the verified head. */
export function evidenceComment(state: TaskState): string {
  const pr = state.checks.pr!;
  const lines = [`**swarmflow: the evidence for task \`${state.spec.id}\` at ${pr.headSha.slice(0, 12)}**`, '', ...definitionOfDoneLines(state.dod!)];
  const capture = state.checks.uiCapture;
  if (capture?.status === 'captured' && capture.headSha === pr.headSha) {
    lines.push('', `**Screenshots**, taken by the orchestrator (base ${capture.baseSha.slice(0, 12)} → head), kept on host ${state.setup!.hostQueue} in \`${capture.dir}\``, '', '| route | pixels changed | after (sha256) | diff (sha256) |', '|---|---|---|---|');
    for (const r of capture.routes) lines.push(`| \`${r.route}\` | ${r.diffPixels} (${(r.diffRatio * 100).toFixed(2)}%) | ${r.sha256.after.slice(0, 16)} | ${r.sha256.diff.slice(0, 16)} |`);
  }
  lines.push(...chainLines(state));
  return lines.join('\n');
}

/** The signed evidence chain's head: what `swarm verify` checks and `swarm evidence` exports. */
function chainLines(state: TaskState): string[] {
  const chain = state.evidence;
  if (!chain?.head) return [];
  const spooled = chain.spooled ? ` (${chain.spooled} of them in the host's spool: Postgres was unreachable)` : '';
  return ['', `**Evidence chain**: ${chain.seq} signed statement(s)${spooled}, head \`${chain.head}\`; check it with \`swarm verify ${state.spec.id}\`, export it with \`swarm evidence ${state.spec.id} --out bundle.json\``];
}

/** The business context the prompt used: each note, why it was chosen, what it cost; the notes withheld. */
function contextLines(c: ContextRecord): string[] {
  const lines = [`**Business context** of attempt ${c.attempt}: ${c.notes.length} note(s), ${c.usedTokens}/${c.budgetTokens} tokens, agents see up to ${c.tier}`];
  for (const n of c.notes) {
    const why = [...(n.why.scope.length ? [`scope: ${n.why.scope.join(' and ')}`] : []), `rank ${n.why.rank}`, ...(n.why.terms.length ? [`terms: ${n.why.terms.slice(0, 8).join(', ')}`] : [])];
    lines.push(`- ${n.id} ${n.title} (${n.kind}${n.as === 'constraint' ? ', its constraint only' : ''}, ${n.tokens} tokens): ${why.join('; ')}`);
  }
  if (c.withheld.length) lines.push(`- withheld (above ${c.tier}, no constraint): ${c.withheld.join(', ')}`);
  return lines;
}

/** Markdown for the Web UI's "current details": steps with checkmarks, the DoD checklist, links. */
export function renderDetails(state: TaskState): string {
  const lines = [`**${state.spec.title}** — ${state.status.replace('_', ' ')}, attempt ${state.attempt}/${state.attemptLimit}`, '', ...stepLines(state)];
  if (state.outcome) lines.push('', `**Outcome**: ${state.outcome.summary}`);
  if (state.dod) lines.push('', ...definitionOfDoneLines(state.dod));
  if (state.context) lines.push('', ...contextLines(state.context));
  const pr = state.checks.pr;
  lines.push('', '**Links**');
  if (pr) lines.push(`- PR #${pr.number} (${pr.state}) at ${pr.headSha.slice(0, 12)}: ${pr.url}`);
  lines.push(...sessionLines(state));
  if (state.usage) lines.push(`- agent usage: ${state.usage.inputTokens} input / ${state.usage.outputTokens} output tokens, $${state.usage.costUsd.toFixed(4)}`);
  lines.push(...interventionLines(state));
  if (state.concept) lines.push(`- concept by ${state.concept.agent}: \`${state.concept.file}\``);
  if (state.checks.spawnHold) lines.push(`- spawn held since ${state.checks.spawnHold.since}: ${state.checks.spawnHold.detail}`);
  if (state.workspace) lines.push(`- worktree \`${state.workspace.worktree}\` on \`${state.workspace.branch}\``);
  if (state.merge) lines.push(`- merged as ${state.merge.sha}`);
  if (state.evidence?.head) lines.push(`- evidence chain: ${state.evidence.seq} signed link(s), head ${state.evidence.head.slice(0, 19)}${state.evidence.spooled ? `, ${state.evidence.spooled} spooled (Postgres unreachable)` : ''}`);
  lines.push(...nextLines(state));
  const last = state.notes.slice(-3);
  if (last.length) lines.push('', '**Latest**', ...last.map((n) => `- ${n}`));
  return lines.join('\n');
}
