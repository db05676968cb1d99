// Step 7 -> 8: the Definition of Done, item by item, from what the monitor observed. A verdict
// counts only for the PR's current head: a green run on an older commit verifies nothing.
import type { CiVerdict, DefinitionOfDone, DodItem, Evidence, Mergeability, PolicyGateResult, PullRequest, ReviewVerdict, UiCapture } from '../task/types.ts';
import { criteriaCoverage } from './criteria.ts';
import type { UiEvidence } from './gates.ts';
import { blockingFindings, type ReviewRounds, type Severity } from './review-rounds.ts';
import { listOf, shortSha } from './text.ts';

export interface DodInput {
  pr?: PullRequest;
  mergeability?: Mergeability;
  ci?: CiVerdict;
  /** Whether the repository configures CI checks: `no_checks` is green only when it does not. */
  ciConfigured: boolean;
  review?: ReviewVerdict;
  uiEvidence?: UiEvidence;
  approved: boolean;
  /** The task branch's head, when known: a PR at another head has not been pushed to. */
  headSha?: string;
  /** With the evidence plane: the runbook's list item by item, each with its evidence. */
  evidence?: EvidenceInput;
}

export interface EvidenceInput {
  acceptanceCriteria: string[];
  policyGate?: PolicyGateResult;
  uiCapture?: UiCapture;
  reviewRounds?: ReviewRounds;
  /** The severities that block (the repository's review rule). */
  block: Severity[];
  approvedBy?: string;
}

export function definitionOfDone(input: DodInput): DefinitionOfDone {
  if (input.evidence) return runbookDefinitionOfDone(input, input.evidence);
  const head = input.pr?.headSha;
  const items: DodItem[] = [
    prItem(input.pr, input.headSha),
    syncItem(input.mergeability),
    forgeRulesItem(input.mergeability),
    ciItem(input.ci, head, input.ciConfigured),
    reviewItem(input.review, head),
    uiItem(input.uiEvidence, head),
    item('human_approved', 'Human approved', input.approved, input.approved ? 'approved' : 'waiting for an approver'),
  ];
  return { readyForApproval: items.every((i) => i.ok || i.key === 'human_approved'), items };
}

function item(key: DodItem['key'], label: string, ok: boolean, detail: string): DodItem {
  return { key, label, ok, detail };
}

function prItem(pr: PullRequest | undefined, branchHead: string | undefined): DodItem {
  const label = 'PR exists, branch pushed';
  if (!pr) return item('pr_exists', label, false, 'no pull request yet');
  if (pr.state === 'closed') return item('pr_exists', label, false, `PR #${pr.number} is closed`);
  if (branchHead && branchHead !== pr.headSha) {
    return item('pr_exists', label, false, `PR #${pr.number} is at ${shortSha(pr.headSha)} but the branch is at ${shortSha(branchHead)}: not pushed`);
  }
  return item('pr_exists', label, true, `PR #${pr.number} (${pr.state}) at ${shortSha(pr.headSha)}`);
}

function syncItem(m: Mergeability | undefined): DodItem {
  const label = 'In sync with the base';
  if (!m) return item('synced_with_base', label, false, 'not checked yet');
  if (m.conflicts.length > 0) return item('synced_with_base', label, false, `conflicts with the base in ${listOf(m.conflicts)}`);
  if (!m.mergeable) return item('synced_with_base', label, false, 'not mergeable into the base');
  if (m.behindBy > 0) return item('synced_with_base', label, false, `behind the base by ${m.behindBy} commit(s)`);
  return item('synced_with_base', label, true, 'up to date with the base and mergeable');
}

/** The forge's own merge rules (GitHub branch protection and rulesets): a blocked PR is not ready. */
function forgeRulesItem(m: Mergeability | undefined): DodItem {
  const label = "The forge's merge rules are met";
  if (!m) return item('forge_rules', label, false, 'not checked yet');
  const blockedBy = m.blockedBy ?? [];
  if (blockedBy.length > 0) return item('forge_rules', label, false, `the forge still requires: ${blockedBy.join('; ')}`);
  return item('forge_rules', label, true, 'nothing else required by the forge');
}

/** Why a verdict for `verdictSha` does not count at `head`, if it does not. */
function staleness(what: string, verdictSha: string, head: string | undefined): string | undefined {
  if (!head) return `${what}: no PR head to verify yet`;
  return verdictSha === head ? undefined : `${what} ran at ${shortSha(verdictSha)}, not at the PR head ${shortSha(head)}`;
}

function ciItem(ci: CiVerdict | undefined, head: string | undefined, ciConfigured: boolean): DodItem {
  const label = 'CI passed';
  if (!ci) return item('ci_passed', label, false, 'CI has not run yet');
  const stale = staleness('CI', ci.headSha, head);
  if (stale) return item('ci_passed', label, false, stale);
  const names = (passed: boolean) => listOf(ci.checks.filter((c) => (c.status === 'passed') === passed).map((c) => c.name));
  switch (ci.status) {
    case 'passed':
      return item('ci_passed', label, true, `passed at ${shortSha(ci.headSha)}: ${names(true)}`);
    case 'failed':
      return item('ci_passed', label, false, `failed at ${shortSha(ci.headSha)}: ${names(false)}`);
    case 'no_checks':
      // "No checks yet" is never green; only a repository that configures none passes without any.
      return ciConfigured
        ? item('ci_passed', label, false, `no checks have run at ${shortSha(ci.headSha)} yet`)
        : item('ci_passed', label, true, 'the repository configures no CI checks');
    case 'pending':
      return item('ci_passed', label, false, `still running at ${shortSha(ci.headSha)}${ci.summary ? `: ${ci.summary}` : ''}`);
  }
}

function reviewItem(review: ReviewVerdict | undefined, head: string | undefined): DodItem {
  const label = 'Reviews passed';
  if (!review) return item('reviews_passed', label, false, 'review has not run yet');
  const stale = staleness('review', review.headSha, head);
  if (stale) return item('reviews_passed', label, false, stale);
  const failed = review.results.filter((r) => r.status === 'failed');
  if (failed.length > 0) return item('reviews_passed', label, false, `reviewer(s) failed: ${failed.map((r) => `${r.reviewer} (${r.error ?? 'no reply'})`).join('; ')}`);
  const findings = review.results.flatMap((r) => r.findings.map((f) => ({ ...f, reviewer: r.reviewer })));
  const critical = findings.filter((f) => f.severity === 'critical');
  if (critical.length > 0) {
    return item('reviews_passed', label, false, `${critical.length} critical finding(s): ${listOf(critical.map((f) => `${f.file}:${f.line} (${f.reviewer})`), 3)}`);
  }
  if (review.results.length === 0) return item('reviews_passed', label, true, 'no reviewers configured');
  const others = findings.length > 0 ? `, ${findings.length} non-critical finding(s)` : '';
  return item('reviews_passed', label, true, `${listOf(review.results.map((r) => r.reviewer))} passed${others}`);
}

function uiItem(ui: UiEvidence | undefined, head: string | undefined): DodItem {
  const label = 'UI changes carry screenshot evidence';
  if (!ui) return item('ui_evidence', label, false, 'not checked yet');
  const stale = staleness('the UI evidence check', ui.headSha, head);
  if (stale) return item('ui_evidence', label, false, stale);
  return item('ui_evidence', label, !ui.required || ui.satisfied, ui.detail);
}

/**
 * The runbook's Definition of Done, exactly its list and in its order (plus the forge's own merge
 * rules, which the runbook's "mergeable" implies): every item names its evidence and its
 * terminal-contract check.
 */
function runbookDefinitionOfDone(input: DodInput, e: EvidenceInput): DefinitionOfDone {
  const head = input.pr?.headSha;
  const withEvidence = (i: DodItem, check: string, evidence: Evidence[] = []): DodItem => ({ ...i, check, evidence });
  const ci = input.ci && input.ci.headSha === head ? input.ci : undefined;
  const ciEvidence = (ci?.checks ?? []).map((c): Evidence => ({ kind: 'ci', ref: `${c.name}: ${c.detailsUrl ?? c.outputFile ?? c.status}` }));
  const pr = input.pr;
  const items: DodItem[] = [
    withEvidence({ ...prItem(pr, input.headSha), label: 'PR exists and branch is pushed' }, 'prCreated', pr ? [{ kind: 'pr', ref: pr.url }] : []),
    withEvidence({ ...syncItem(input.mergeability), label: 'Branch is synchronized with the latest base' }, 'branchSynced', pr ? [{ kind: 'pr', ref: `${pr.url} (base ${pr.base})` }] : []),
    { ...forgeRulesItem(input.mergeability), evidence: [] },
    withEvidence({ ...ciItem(input.ci, head, input.ciConfigured), label: 'CI gates pass' }, 'ciPassed', ciEvidence),
    lintItem(ci),
    ...reviewerItems(input.review, head, e),
    withEvidence({ ...uiItem(input.uiEvidence, head), label: 'UI changes include screenshot evidence (taken by the orchestrator)' }, 'screenshotsIncluded', screenshotEvidence(e.uiCapture, head)),
    policyItem(e.policyGate),
    withEvidence(item('human_approved', 'A human approves the final merge', input.approved, input.approved ? `approved by ${e.approvedBy ?? 'an approver'}` : 'waiting for an approver'), 'humanApproved', input.approved && e.approvedBy ? [{ kind: 'approval', ref: e.approvedBy }] : []),
  ];
  return {
    readyForApproval: items.every((i) => i.ok || i.key === 'human_approved'),
    items,
    criteria: criteriaCoverage({ criteria: e.acceptanceCriteria, ci, review: input.review?.headSha === head ? input.review : undefined, uiCapture: e.uiCapture?.headSha === head ? e.uiCapture : undefined }),
  };
}

/** The runbook's `npm run lint passes`: the repository's CI checks named for lint, at the head. */
function lintItem(ci: CiVerdict | undefined): DodItem {
  const label = 'Lint passes';
  const lint = (ci?.checks ?? []).filter((c) => /lint/i.test(c.name));
  const evidence = lint.map((c): Evidence => ({ kind: 'ci', ref: `${c.name}: ${c.detailsUrl ?? c.outputFile ?? c.status}` }));
  const base = { key: 'lint_passed' as const, label, check: 'lintPassed', evidence };
  if (!ci) return { ...base, ok: false, detail: 'CI has not run at the PR head yet' };
  if (lint.length === 0) return { ...base, ok: ci.status === 'passed' || ci.status === 'no_checks', detail: 'the repository configures no lint check (a CI check named "lint" makes this item its own)' };
  const failed = lint.filter((c) => c.status !== 'passed');
  return failed.length > 0 ? { ...base, ok: false, detail: `failed: ${listOf(failed.map((c) => c.name))}` } : { ...base, ok: true, detail: `passed: ${listOf(lint.map((c) => c.name))}` };
}

/** One item per reviewer (its `<name>ReviewPassed`): it ran at the head and none of its findings blocks. */
function reviewerItems(review: ReviewVerdict | undefined, head: string | undefined, e: EvidenceInput): DodItem[] {
  const camel = (slug: string) => slug.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  if (!review) return [{ ...item('reviews_passed', 'Review gates pass', false, 'review has not run yet'), evidence: [] }];
  const stale = staleness('review', review.headSha, head);
  if (stale) return [{ ...item('reviews_passed', 'Review gates pass', false, stale), evidence: [] }];
  if (review.results.length === 0) return [{ ...item('reviews_passed', 'Review gates pass', true, 'no reviewers configured'), evidence: [] }];
  const blocking = e.reviewRounds?.headSha === review.headSha ? blockingFindings(e.reviewRounds, e.block) : [];
  return review.results.map((r): DodItem => {
    const label = `Review gate passes: ${r.reviewer}`;
    const base = { key: 'reviews_passed' as const, label, reviewer: r.reviewer, check: `${camel(r.reviewer)}ReviewPassed`, evidence: [{ kind: 'review' as const, ref: `verification:review:${review.headSha}` }] };
    if (r.status === 'failed') return { ...base, ok: false, detail: `failed: ${r.error ?? 'no reply'}` };
    const mine = blocking.filter((f) => f.reviewers.includes(r.reviewer));
    if (mine.length > 0) return { ...base, ok: false, detail: `${mine.length} blocking finding(s): ${listOf(mine.map((f) => `${f.file}:${f.line}`), 3)}` };
    return { ...base, ok: true, detail: `passed at ${shortSha(review.headSha)}${r.findings.length > 0 ? ` with ${r.findings.length} non-blocking finding(s)` : ', no findings'}` };
  });
}

function screenshotEvidence(capture: UiCapture | undefined, head: string | undefined): Evidence[] {
  if (!capture || capture.headSha !== head || capture.status !== 'captured') return [];
  return capture.routes.flatMap((r) => [
    { kind: 'screenshot' as const, ref: `${r.route} after: ${r.after}` },
    { kind: 'screenshot' as const, ref: `${r.route} diff (${r.diffPixels} px): ${r.diff}` },
  ]);
}

/**
 * The anti-gaming and secret gate, as it judged the agent's last head before it was pushed (it
 * runs on every verification; a later sync with the base adds only the base's commits).
 */
function policyItem(gate: PolicyGateResult | undefined): DodItem {
  const label = 'Policy and verifiability checks are green (anti-gaming, secrets)';
  const base = { key: 'policy_checks' as const, label, check: 'policyChecksPassed', evidence: gate ? [{ kind: 'policy' as const, ref: `verification:policy:${gate.headSha}` }] : [] };
  if (!gate) return { ...base, ok: false, detail: 'the policy gate has not run yet' };
  if (gate.status === 'failed') return { ...base, ok: false, detail: `${gate.hits.length + gate.omittedHits} hit(s): ${listOf(gate.hits.map((h) => `${h.rule} ${h.file}${h.line === undefined ? '' : `:${h.line}`}`), 3)}` };
  return { ...base, ok: true, detail: `no test removed or disabled, no gate edited, no secret added since ${shortSha(gate.mergeBaseSha)}` };
}

/** The runbook's terminal contract: `checks` by each item's name (prCreated, ciPassed, codexReviewPassed, …). */
export function contractChecks(dod: DefinitionOfDone): Record<string, boolean> {
  return Object.fromEntries(dod.items.flatMap((i) => (i.check ? [[i.check, i.ok]] : [])));
}
