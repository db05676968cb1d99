// Step 7 -> 8: the Definition of Done, item by item, from what the monitor observed. A verdict
// counts only for the PR's current head: a green run on an older commit verifies nothing.
import type { CiVerdict, DefinitionOfDone, DodItem, Mergeability, PullRequest, ReviewVerdict } from '../task/types.ts';
import type { UiEvidence } from './gates.ts';
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
}

export function definitionOfDone(input: DodInput): DefinitionOfDone {
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
