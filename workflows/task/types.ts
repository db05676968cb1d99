// Types that cross the workflow/activity boundary for one task. Plain data only (payloads are
// JSON): no classes, no Dates (ISO strings), no functions.
import { z } from 'zod';
import { RepoRelativePath } from './spec.ts';

/** The 8 steps, in order, plus the terminal bookkeeping. */
export const STEPS = ['intake', 'prompt', 'spawn', 'monitor', 'pr', 'review', 'gates', 'human_gate'] as const;
export type Step = (typeof STEPS)[number] | 'cleanup' | 'done';

export type TaskStatus =
  | 'running' // steps 1-7 in progress
  | 'awaiting_approval' // Definition of Done met, waiting for a human
  | 'needs_human' // attempts exhausted or a blocker only a human can lift
  | 'merged'
  | 'rejected'
  | 'aborted'
  | 'failed';

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['merged', 'rejected', 'aborted', 'failed'];

// ---- failure classification (the runbook's retry strategy) ----

export const FAILURE_KINDS = ['context_gap', 'wrong_direction', 'missing_constraint', 'test_regression'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** What went wrong in one attempt, as evidence the next prompt can carry (already narrowed). */
export interface FailureEvidence {
  /** What the orchestrator observed. */
  source: 'agent_exit' | 'ci' | 'review' | 'conflict' | 'gates' | 'human';
  summary: string;
  /** Short excerpts only (failing check output tail, the finding, conflicted files). */
  details: string[];
  files: string[];
}

export interface ClassifiedFailure {
  kind: FailureKind;
  evidence: FailureEvidence;
  /** The evidence classifier's reading and what the next prompt gets (EVIDENCE_PLAYBOOK_PATCH); absent before it. */
  playbook?: PlaybookVerdict;
}

/** What the host's evidence activity returns: small, bounded, and so safe in the workflow's history. */
export interface PlaybookVerdict {
  kind: FailureKind | 'infrastructure';
  /** The rule that decided, in words. */
  rule: string;
  files: string[];
  tests: string[];
  /** The playbook's text for the next prompt (at most INJECTION_LIMIT characters); empty for infrastructure. */
  injection: string;
  /** The injection's heading, for the escalation's list of what was tried. */
  title: string;
  /** sha256 of the normalized evidence (the class and its parsed facts, not the raw log with its timings). */
  digest: string;
}

/** A retry of another task that fixed the same class of failure on overlapping paths (the retry memory). */
export interface LearnedHint {
  taskId: string;
  attempt: number;
  kind: string;
  title: string;
  injection: string;
  /** The paths both retries touched. */
  paths: string[];
}

// ---- agents (host queue) ----

/** How an agent is run: any argv, or one of the pinned agent CLIs through its adapter. */
export const AGENT_KINDS = ['command', 'codex', 'claude', 'gemini'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

export interface AgentCommand {
  name: string;
  /** Absent in tasks started before the CLI adapters: `command`. */
  kind?: AgentKind;
  /** argv, never run through a shell; for a CLI, its binary. */
  command: string[];
  /** Extra env var names passed through to the agent on top of the fixed allow-list. */
  passEnv: string[];
  /** CLIs only: the model, the endpoint override, extra flags and how it runs. */
  model?: string;
  /** `headless`: JSON events, structured outcome. `interactive`: the TUI, for operators who attach. */
  mode?: 'headless' | 'interactive';
  /** The worker's env var holding this agent's API key; handed to the agent under the CLI's own name. */
  apiKeyEnv?: string;
  baseUrl?: string;
  args?: string[];
  /** How often the CLI retries a failed model request itself; its own default when unset. */
  retries?: number;
}

/**
 * Why an agent run failed, as its adapter read it from the CLI's events and exit code.
 * `server_error` is the provider's side: a 5xx, a timeout, or a connection that dropped.
 */
export const AGENT_FAILURES = ['rate_limited', 'auth', 'server_error', 'error'] as const;
export type AgentFailure = (typeof AGENT_FAILURES)[number];

export interface TokenUsage {
  inputTokens: number;
  /** Part of inputTokens served from the provider's cache. */
  cachedInputTokens: number;
  outputTokens: number;
}

/** What a CLI's adapter reports for one run of an attempt. */
export interface AgentOutcome {
  status: 'finished' | 'failed';
  failure?: AgentFailure;
  /** The CLI's final message or error, shortened. */
  message?: string;
  /** The agent's own session id: a correction or a respawn resumes it. */
  sessionId?: string;
  usage: TokenUsage;
  /** From the CLI where it reports one (Claude), else from the price table; absent when the model has no price. */
  cost?: { usd: number; source: 'cli' | 'price_table' };
  /** The provider's Retry-After, when it gave one. */
  retryAfterMs?: number;
}

export interface Workspace {
  worktree: string;
  branch: string;
  baseSha: string;
  /** A free port allocated to the task, exported to its agent as SWARM_PORT. */
  port: number;
  bootstrap: BootstrapResult;
}

/** What the repository asks for in a new worktree (swarmflow.repo.json `bootstrap`). */
export interface WorkspaceBootstrap {
  /** Files copied from the repository's working tree (e.g. `.env`): they are not in git. */
  envFiles: string[];
  install?: { command: string; timeoutMs: number };
  /** What a sandboxed install may reach (the package registries), wider than the agent's network.allow; absent before it existed. */
  network?: { allow: string[] };
}

export interface BootstrapResult {
  copied: string[];
  /** Listed env files this host does not have: reported, not fatal. */
  missing: string[];
  install?: { exitCode: number; durationMs: number; logFile: string; egress?: EgressRecord };
}

export interface AgentSession {
  session: string;
  attempt: number;
  /** 1 for the attempt's first run; each respawn after a rate limit or provider fault adds one. Absent before those existed: 1. */
  run?: number;
  promptFile: string;
  logFile: string;
  exitFile: string;
  /** The folder this start of the task keeps each attempt's log, events and prompt in once its run ended (`attempt-<n>/…gz`); absent before kept logs. */
  keptLogs?: string;
  startedAt: string;
  /** What isolates the agent: `bubblewrap, uid 212345; …`, or `none: <why>` (activities/agents/sandbox.ts). Absent before sandboxes. */
  isolation?: string;
}

export interface AgentExit {
  /** null when the session vanished without recording an exit code. */
  exitCode: number | null;
  /** Commits on the task branch beyond the base. */
  commits: number;
  headSha: string;
  /** The last lines of the agent's output. */
  logTail: string;
  /** CLI agents in headless mode: what their events say. */
  outcome?: AgentOutcome;
  /** Headless CLI agents: the redirects queued in the run's inbox, and whether its session was resumed with each. */
  redirects?: RedirectReceipt[];
  /** A sandboxed run: every destination it asked its egress proxy for, let through or refused. */
  egress?: EgressRecord;
}

/** What a sandboxed run asked the network for (activities/agents/egress): part of its receipt. */
export interface EgressRecord {
  requests: number;
  refused: number;
  destinations: Array<{ destination: string; allowed: boolean; count: number; reason?: string; error?: string }>;
  /** Destinations past the first 50, not listed. */
  moreDestinations?: number;
}

export interface RedirectReceipt {
  /** The name sendToSession gave it in the inbox. */
  id: string;
  /** Its resumed turn ran and succeeded; else the next run carries it. */
  delivered: boolean;
}

// ---- forge (local for now; GitHub arrives in its own issue) ----

export interface PullRequest {
  number: number;
  branch: string;
  base: string;
  headSha: string;
  state: 'open' | 'merged' | 'closed';
  title: string;
  body: string;
  url: string;
}

export interface Mergeability {
  mergeable: boolean;
  /** Commits on the base the branch does not have yet. */
  behindBy: number;
  conflicts: string[];
  /** The PR head this was computed at (absent from records made before it was kept). */
  headSha?: string;
  /** What the forge still requires before it merges (GitHub: a blocked PR's unmet rules, in words); absent or empty when nothing. */
  blockedBy?: string[];
}

export interface SyncResult {
  status: 'up_to_date' | 'synced' | 'conflict';
  headSha: string;
  conflicts: string[];
}

/** Step 5 in one host call (see PR_IN_ONE_CALL_PATCH): the PR pushed, opened or read, synced with its base. */
export type PrSync =
  /** Someone else pushed to the task branch and the agent's commits do not build on theirs. */
  | { status: 'diverged'; detail: string }
  /** Merging the base into the branch conflicts: `pr` as opened, before the merge. */
  | { status: 'conflict'; pr: PullRequest; conflicts: string[] }
  /** `pr` read back at its synced head, with its mergeability there. */
  | { status: 'synced'; pr: PullRequest; mergeability: Mergeability };

export interface CiCheck {
  name: string;
  /** `pending`: a forge's check still running, or required and not reported yet. */
  status: 'passed' | 'failed' | 'timed_out' | 'pending';
  exitCode: number | null;
  durationMs: number;
  /** Where the full output is kept. */
  outputFile: string;
  outputTail: string;
  /** A forge's own words and link for the check (GitHub: the conclusion and the run's page). */
  conclusion?: string;
  detailsUrl?: string | null;
}

export interface CiVerdict {
  headSha: string;
  /** `pending` is a wait, never green: checks still run, or none has reported yet (GitHub). */
  status: 'passed' | 'failed' | 'no_checks' | 'pending';
  checks: CiCheck[];
  /** Why it is pending or failed, in words, where the forge says more than the checks do. */
  summary?: string;
}

export interface ChangedFiles {
  headSha: string;
  files: Array<{ path: string; status: 'added' | 'modified' | 'deleted' | 'renamed' }>;
}

// ---- review ----

export const FindingSchema = z.object({
  severity: z.enum(['critical', 'major', 'minor']),
  file: RepoRelativePath,
  line: z.number().int().min(0),
  message: z.string().min(1).max(4_000),
});
export const FindingsReplySchema = z.object({ findings: z.array(FindingSchema).max(200) });
export type Finding = z.infer<typeof FindingSchema>;

/** The runbook's three review focuses; a reviewer's focus may also be free text. */
export const REVIEW_FOCUSES = ['edge-cases', 'security-scalability', 'correctness'] as const;

/** A reviewer that is an argv: it reads the diff on stdin and prints `{"findings": [...]}`. */
export interface CommandReviewer {
  name: string;
  /** Absent in tasks started before the CLI reviewers. */
  kind?: 'command';
  command: string[];
  timeoutMs: number;
}

/** A reviewer that is a pinned agent CLI, run read-only on a clean checkout of the PR head. */
export interface CliReviewer {
  name: string;
  kind: Exclude<AgentKind, 'command'>;
  /** One of REVIEW_FOCUSES, or free text: what this reviewer looks for. */
  focus: string;
  model: string;
  /** The CLI binary; the pinned one when a bare name. */
  binary: string;
  /** The worker's env var holding the key; the CLI's own name when unset. */
  apiKeyEnv?: string;
  baseUrl?: string;
  args?: string[];
  /** How often the CLI itself retries a failed model request; the CLI's default when unset. */
  retries?: number;
  timeoutMs: number;
}

export type ReviewerSpec = CommandReviewer | CliReviewer;

export interface ReviewerResult {
  reviewer: string;
  status: 'ok' | 'failed';
  findings: Finding[];
  /** Why a reviewer failed (malformed reply, non-zero exit, timeout, rate limited). */
  error?: string;
  /** CLI reviewers: the tokens of all its tries (a rate-limited try counts too). */
  usage?: TokenUsage;
  /** CLI reviewers: from the CLI (Claude) or the price table; absent when the model has no price. */
  costUsd?: number;
  /** A sandboxed reviewer: what it asked the network for. */
  egress?: EgressRecord;
}

export interface ReviewVerdict {
  headSha: string;
  results: ReviewerResult[];
}

/** A reviewer passes when it answered and found nothing critical (what blocks the Definition of Done). */
export const reviewerPassed = (result: ReviewerResult): boolean => result.status === 'ok' && !result.findings.some((f) => f.severity === 'critical');

/** The runbook's `checks` entries: `<name>ReviewPassed` per reviewer, its slug in camelCase (`codex` -> codexReviewPassed). */
export function reviewChecks(verdict: ReviewVerdict): Record<string, boolean> {
  const camel = (slug: string) => slug.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return Object.fromEntries(verdict.results.map((r) => [`${camel(r.reviewer)}ReviewPassed`, reviewerPassed(r)]));
}

// ---- human reviews on the forge ----

export type HumanReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';

export interface HumanReview {
  author: string;
  /** The review's id on the forge (absent in a record from before it was kept). */
  id?: number;
  state: HumanReviewState;
  submittedAt: string;
  commitId: string | null;
  body: string;
  /** The review was made at the head asked about (an older one may be stale). */
  atHead: boolean;
}

export interface HumanReviews {
  /** Each human's standing review, by author: their latest decisive one, else their latest comment. */
  reviews: HumanReview[];
  /** Some human's standing review requests changes. */
  changesRequested: boolean;
}

// ---- repository policy (swarmflow.repo.json on the base branch) ----

export interface RepoPolicy {
  ci: Array<{ name: string; command: string; timeoutMs: number }>;
  /** Path prefixes whose change needs screenshot evidence. */
  uiPaths: string[];
  /** Which review severities block; absent in a policy recorded before it existed (critical). */
  review?: { block: Array<Finding['severity']> };
  bootstrap: WorkspaceBootstrap;
  /** Globs the agent must not change (the anti-gaming gate flags a change), beside the built-in gate files. */
  protectedPaths: string[];
  /** Globs the owner allows the agent to change although they are gate files or protected paths. */
  allowPaths: string[];
  /** How to serve the site for the orchestrator's screenshots; absent when the repository has none. */
  preview?: PreviewPolicy;
  /** What a sandboxed agent may reach beyond its model endpoint (package registries), `host:port`; absent in a policy recorded before it existed. */
  network?: { allow: string[] };
}

// ---- the policy gate (anti-gaming and secrets, over the task branch's diff) ----

export type PolicyRule =
  /** A test file deleted, or moved where it no longer runs as a test. */
  | 'test_removed'
  /** An added skip/only/todo/xfail/@Disabled/t.Skip. */
  | 'test_disabled'
  /** A coverage threshold lowered or removed. */
  | 'coverage_lowered'
  /** A file that defines the gates (policy, CI, lint/type/test config, agent instructions) changed. */
  | 'gate_edited'
  /** A path the repository policy protects changed. */
  | 'protected_path'
  /** An added line holds what looks like a secret (the evidence is masked). */
  | 'secret';

export interface PolicyHit {
  rule: PolicyRule;
  /** Repository-relative path on the head (for a deleted file, the path it had). */
  file: string;
  /** Line on the head, when the hit is an added line. */
  line?: number;
  /** What was found; for a secret, a masked excerpt, never the value. */
  detail: string;
}

export interface PolicyGateResult {
  status: 'passed' | 'failed';
  /** The commits compared: the merge-base with the base and the head judged. */
  mergeBaseSha: string;
  headSha: string;
  /** At most 100, in rule order (tests, coverage, gates, secrets). */
  hits: PolicyHit[];
  /** Hits beyond those listed. */
  omittedHits: number;
}

/** swarmflow.repo.json `preview`: a server the orchestrator starts on a base and a head checkout. */
export interface PreviewPolicy {
  /** Run with `sh -c`; it finds its port in SWARM_PORT (and PORT). */
  command: string;
  /** Polled until it answers 2xx or 3xx. */
  readyPath: string;
  /** The paths captured on both sides, in order. */
  routes: string[];
  /** How long the server gets to answer readyPath. */
  timeoutMs: number;
  viewport: { width: number; height: number };
}

// ---- the orchestrator's screenshots (the UI gate's evidence) ----

/** One route, captured at the base and at the head, and the pixels between them. */
export interface RouteCapture {
  route: string;
  /** Absolute paths of the PNGs on the host that took them. */
  before: string;
  after: string;
  diff: string;
  /** Pixels that differ; a size change counts every pixel outside the common area. */
  diffPixels: number;
  /** diffPixels / (width × height). */
  diffRatio: number;
  /** The compared canvas: the larger of the two screenshots in each dimension. */
  width: number;
  height: number;
  /** Hex sha256 of each PNG's bytes, so a signature over this record covers the images. */
  sha256: { before: string; after: string; diff: string };
  /** The HTTP status each side answered the route with (null: no response). */
  httpStatus: { before: number | null; after: number | null };
}

interface UiCaptureOf {
  taskId: string;
  runKey?: string;
  headSha: string;
  baseSha: string;
  /** The folder holding the PNGs, the preview logs and capture.json. */
  dir: string;
  viewport: { width: number; height: number };
  durationMs: number;
}

/** A preview that did not start, or a route its browser could not load. */
export interface PreviewFailure {
  side: 'base' | 'head';
  reason: string;
  /** The last lines the preview command printed. */
  outputTail: string;
  logFile: string;
}

export type UiCapture = (UiCaptureOf & { status: 'captured'; routes: RouteCapture[] }) | (UiCaptureOf & { status: 'failed'; failure: PreviewFailure });

// ---- the Definition of Done ----

export interface DodItem {
  key: 'pr_exists' | 'synced_with_base' | 'forge_rules' | 'ci_passed' | 'lint_passed' | 'reviews_passed' | 'ui_evidence' | 'policy_checks' | 'human_approved';
  label: string;
  ok: boolean;
  detail: string;
  /** A per-reviewer review item: the reviewer it is for. */
  reviewer?: string;
  /** The runbook's terminal-contract name for it (prCreated, ciPassed, codexReviewPassed, …). */
  check?: string;
  /** Where a human checks it: a PR link, a CI log, a recorded artifact, a screenshot. */
  evidence?: Evidence[];
}

/** A pointer to what backs a claim: a URL, a file on the host, a recorded artifact's key, a check's name. */
export interface Evidence {
  kind: 'pr' | 'ci' | 'review' | 'screenshot' | 'policy' | 'approval' | 'test';
  ref: string;
}

/** One acceptance criterion of the spec, with what covers it (nothing: not covered). */
export interface CriterionCoverage {
  /** AC1, AC2, … in the spec's order: the agent is asked to name its tests with them. */
  id: string;
  text: string;
  covered: boolean;
  evidence: Evidence[];
  /** Reviewers that were given it and raised no finding citing it, and those that did. */
  reviewedBy: string[];
  disputedBy: string[];
}

export interface DefinitionOfDone {
  /** Everything but the human's approval is met: the task may be approved. */
  readyForApproval: boolean;
  items: DodItem[];
  /** The acceptance criteria mapped to their evidence (the evidence plane's DoD; informative, it does not block). */
  criteria?: CriterionCoverage[];
}

// ---- notifications ----

export type NotificationEvent = 'ready_for_approval' | 'approval_reminder' | 'escalated' | 'merged' | 'failed' | 'rejected' | 'aborted';

export interface Notification {
  event: NotificationEvent;
  taskId: string;
  title: string;
  message: string;
  link?: string;
}

// ---- artifacts (intent -> receipt -> verification) ----

export interface ArtifactInput {
  taskId: string;
  /** The task start's TaskState.runKey: absent for tasks started before run keys. */
  runKey?: string;
  /** Unique per task: a retried activity writes the same key and changes nothing. */
  key: string;
  kind: 'intent' | 'receipt' | 'verification';
  step: Step;
  payload: Record<string, unknown>;
  /** Tasks with the signed chain (SIGNED_EVIDENCE_PATCH): where this artifact sits in it. */
  chain?: ChainInput;
}

/** An artifact's place in its task's evidence chain, as the workflow (its only writer) numbers it. */
export interface ChainInput {
  seq: number;
  /** The digest of the envelope at seq - 1; absent for seq 1. */
  previous?: string;
  /** The workflow's time when it wrote the artifact: a retried activity signs the same statement. */
  at: string;
}

/** A step's outcome that only a human can get past: the task escalates with this blocker. */
export interface NeedsHuman {
  needsHuman: string;
  /** A human's retry starts a new attempt (the agent must redo its change), not the same step again. */
  respawn?: boolean;
}

/** An approver and the identities that prove it is them (the configuration's `approvers`). */
export interface ApproverIdentity {
  name: string;
  /** `ed25519:<hex>`: signs this approver's CLI and client decisions. */
  publicKey?: string;
  /** Their APPROVED review at the PR's head approves. */
  github?: string;
  /** Their press of a Telegram button decides. */
  telegram?: number;
}
