// The policy gate's hits as the failure the workflow hands back to the agent (source 'gates',
// hence missing_constraint): one detail per rule, each hit as file:line and what was found, so
// the next attempt's prompt says exactly what to undo (the summary is short: the prompt clips it). Secrets arrive masked from the activity.
import type { FailureEvidence, PolicyGateResult, PolicyRule } from '../task/types.ts';
import { listOf, shortSha } from './text.ts';

/** Per rule: how a human names it, and what the agent must do about it. */
const RULES: Record<PolicyRule, { label: string; undo: string }> = {
  test_removed: { label: 'tests removed', undo: 'restore the deleted tests (move a test only to a path where it still runs)' },
  test_disabled: { label: 'tests disabled', undo: 'remove the added skip/only/todo/xfail markers and make the tests pass instead' },
  coverage_lowered: { label: 'coverage thresholds lowered', undo: 'put the coverage thresholds back and cover the code' },
  gate_edited: { label: 'gate definitions edited', undo: 'leave CI, lint/type/test configuration, the policy file and the agent instructions as the base has them' },
  protected_path: { label: 'protected paths changed', undo: 'revert the changes to the protected paths' },
  secret: { label: 'secrets added', undo: 'remove the secret from the change (read it from the environment) — it must be considered leaked' },
};
/** The prompt keeps the first 5 details: a secret first, a lowered threshold (whose file is also an edited gate) last. */
const ORDER: PolicyRule[] = ['secret', 'gate_edited', 'protected_path', 'test_removed', 'test_disabled', 'coverage_lowered'];

/** The failure for a failed gate; undefined when it passed. */
export function policyGateEvidence(result: PolicyGateResult): FailureEvidence | undefined {
  if (result.status === 'passed') return undefined;
  const rules = ORDER.filter((rule) => result.hits.some((h) => h.rule === rule));
  const counted = rules.map((rule) => `${RULES[rule].label}: ${result.hits.filter((h) => h.rule === rule).length}`);
  const more = result.omittedHits > 0 ? `, ${result.omittedHits} more hits not listed` : '';
  return {
    source: 'gates',
    summary: `The change at ${shortSha(result.headSha)} weakens the repository's gates (${listOf(counted, 6)})${more}: undo exactly what is listed.`,
    details: rules.map((rule) =>
      [`${RULES[rule].label}: ${RULES[rule].undo}`, ...result.hits.filter((h) => h.rule === rule).map((h) => `${h.file}${h.line === undefined ? '' : `:${h.line}`}: ${h.detail}`)].join('\n'),
    ),
    files: [...new Set(result.hits.map((h) => h.file))],
  };
}
