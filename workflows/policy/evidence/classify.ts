// The failure classes from parsed evidence (CI output, the agent's transcript, the diff against
// the hinted scope, a conflict with the base), in this order; the first rule that holds decides:
//   1. the agent CLI's provider failed (rate limit, auth, 5xx)           -> infrastructure
//   2. a conflict with the base                                          -> context_gap
//   3. most changed files far outside the hinted scope (scope.ts)        -> wrong_direction
//   4. ci: a test runner reported a failing test                         -> test_regression
//          else a type checker or linter reported a broken rule          -> missing_constraint
//          else a test runner failed without a test (a suite that did
//          not load, a package that did not compile)                     -> test_regression
//          else nothing parsed, and the log shows the CI machine or its
//          network failing (runner lost, registry unreachable, no disk)  -> infrastructure
//          else the check's name decides, as classifyFailure does
//   5. agent_exit: the transcript shows missing context (transcript.ts)  -> context_gap
//          else as classifyFailure does (its words, else wrong_direction)
//   6. review, gates, human: as classifyFailure does
// Infrastructure spends no attempt: the same attempt runs again once the fault has passed.
// Failing tests win over lint in one check: a test that fails is what the next attempt must fix.
import { classifyFailure } from '../classify.ts';
import { stripAnsi } from '../text.ts';
import type { AgentFailure, FailureEvidence, FailureKind } from '../../task/types.ts';
import { parseCiOutput } from './runners/index.ts';
import { readScope, scopePaths, type ScopeReading } from './scope.ts';
import type { AgentCli } from './steps.ts';
import { missingContext, type MissingContextSign } from './transcript.ts';
import { TEST_RUNNERS, type ParsedFailure, type Runner } from './types.ts';

export interface TaskScope {
  files: string[];
  interfaces: string[];
  expectedTests: string[];
}

export interface BaseCommit {
  sha: string;
  subject: string;
  files?: string[];
}

export interface EvidenceInput {
  source: FailureEvidence['source'];
  summary: string;
  /** Failed CI checks with their raw output (escapes and all). */
  checks?: { name: string; output: string }[];
  /** The agent's events, as its CLI printed them. */
  transcript?: { cli: AgentCli; events: unknown[] };
  /** The adapter's reading of a failed run (activities/agents/adapters/failure.ts). */
  agentFailure?: AgentFailure;
  /** The attempt's changed files (the PR's diff against the base). */
  changedFiles?: string[];
  scope?: TaskScope;
  /** A conflict with the base: the conflicted files and the base's commits since the branch point. */
  conflict?: { files: string[]; baseCommits: BaseCommit[] };
  /** Review findings, gate problems, the operator's guidance, an agent's last words. */
  details?: string[];
  /** The checkout's absolute path, to make the runners' absolute paths relative. */
  root?: string;
}

export type EvidenceKind = FailureKind | 'infrastructure';

export interface LocatedFailure extends ParsedFailure {
  runner: Runner;
  check: string;
}

export interface EvidenceClassification {
  kind: EvidenceKind;
  source: FailureEvidence['source'];
  spendsAttempt: boolean;
  /** The rule that decided, in words: for the task's history and the operator. */
  rule: string;
  /** The failures behind the class (for test_regression the tests, for missing_constraint the rules). */
  failures: LocatedFailure[];
  files: string[];
  tests: string[];
  missing: MissingContextSign[];
  scope?: ScopeReading;
  conflict?: { files: string[]; baseCommits: BaseCommit[] };
  details: string[];
}

const PROVIDER_FAULTS: readonly AgentFailure[] = ['rate_limited', 'auth', 'server_error'];

/** The CI machine or its network, not the code: GitHub Actions' and npm/pip/go's words for it. */
const CI_INFRASTRUCTURE =
  /The runner has received a shutdown signal|lost communication with the server|The operation was canceled|No space left on device|\bENOSPC\b|npm (?:ERR!|error) (?:code )?(?:ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|E5\d\d|E429)\b|npm (?:ERR!|error) network|getaddrinfo (?:EAI_AGAIN|ENOTFOUND)|Could not resolve host|TLS handshake timeout|toomanyrequests|dial tcp .*: i\/o timeout|Temporary failure in name resolution/i;

export function classifyEvidence(input: EvidenceInput): EvidenceClassification {
  const base: EvidenceClassification = { kind: 'wrong_direction', source: input.source, spendsAttempt: true, rule: '', failures: [], files: [], tests: [], missing: [], details: input.details ?? [] };
  if (input.agentFailure && PROVIDER_FAULTS.includes(input.agentFailure)) {
    return { ...base, kind: 'infrastructure', spendsAttempt: false, rule: `the agent's provider failed (${input.agentFailure})` };
  }
  if (input.source === 'conflict' || input.conflict) {
    const conflict = input.conflict ?? { files: [], baseCommits: [] };
    return { ...base, kind: 'context_gap', rule: 'the branch conflicts with newer changes on the base', files: conflict.files, conflict };
  }
  const scope = input.scope && input.changedFiles ? readScope(input.changedFiles, scopePaths(input.scope)) : undefined;
  if (scope?.wrongDirection) {
    return { ...base, kind: 'wrong_direction', rule: `${scope.far.length} of ${scope.far.length + scope.near.length + scope.inside.length} changed files are far outside the hinted scope`, files: scope.far, scope };
  }
  const withScope = scope ? { ...base, scope } : base;
  if (input.source === 'ci') return fromChecks(withScope, input);
  if (input.source === 'agent_exit' && input.transcript) {
    const missing = missingContext(input.transcript.cli, input.transcript.events, input.root);
    if (missing.length > 0) {
      const files = missing.filter((m) => m.kind === 'file_not_found' && m.target).map((m) => m.target ?? '');
      return { ...withScope, kind: 'context_gap', rule: "the agent's transcript shows it lacked context", missing, files: [...new Set(files)] };
    }
  }
  return legacy(withScope, input, `as before: the ${input.source} evidence's words`);
}

function fromChecks(base: EvidenceClassification, input: EvidenceInput): EvidenceClassification {
  const checks = input.checks ?? [];
  const failures = checks.flatMap(({ name, output }) => parseCiOutput(output, name, input.root).flatMap((r) => r.failures.map((f) => ({ ...f, runner: r.runner, check: name }))));
  const tests = failures.filter((f) => TEST_RUNNERS.includes(f.runner));
  const named = tests.filter((f) => f.test);
  const rules = failures.filter((f) => !TEST_RUNNERS.includes(f.runner));
  const chosen: [FailureKind, LocatedFailure[], string] | undefined =
    named.length > 0
      ? ['test_regression', named, `${named[0]?.runner ?? ''} reported ${named.length} failing test${named.length === 1 ? '' : 's'}`]
      : rules.length > 0
        ? ['missing_constraint', rules, `${rules[0]?.runner ?? ''} reported ${rules.length} broken rule${rules.length === 1 ? '' : 's'}`]
        : tests.length > 0
          ? ['test_regression', tests, `${tests[0]?.runner ?? ''} failed before running a test`]
          : undefined;
  if (chosen) {
    const [kind, facts, rule] = chosen;
    return { ...base, kind, rule, failures: facts, files: unique(facts.map((f) => f.file)), tests: unique(facts.map((f) => f.test)) };
  }
  if (checks.some((c) => CI_INFRASTRUCTURE.test(c.output))) {
    return { ...base, kind: 'infrastructure', spendsAttempt: false, rule: 'the CI machine or its network failed, not the code' };
  }
  return legacy(base, { ...input, details: checks.map((c) => (c.output.trim() ? `${c.name}:\n${stripAnsi(c.output).slice(-1_500)}` : `${c.name}: failed without printing anything`)) }, "no runner's output recognised: the check's name decides");
}

/** The classifier before parsed evidence, for what it still decides. */
function legacy(base: EvidenceClassification, input: EvidenceInput, rule: string): EvidenceClassification {
  const details = input.details ?? [];
  const { kind } = classifyFailure({ source: input.source, summary: input.summary, details, files: [] });
  return { ...base, kind, rule, details };
}

const unique = (values: (string | undefined)[]) => [...new Set(values.filter((v): v is string => !!v))];
