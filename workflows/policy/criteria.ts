// Each acceptance criterion mapped to the evidence that covers it, deterministically and
// explainably: a CI check whose output names the criterion's id (the agent is asked to name its
// tests AC1, AC2, …), a screenshot of a route the criterion names; reviewers, who were given the
// criteria by id, either raised a finding citing it (disputed) or did not (reviewed). Not blocking:
// what is not covered is shown as such for the human to weigh.
import type { CiVerdict, CriterionCoverage, Evidence, ReviewVerdict, UiCapture } from '../task/types.ts';

/** AC1, AC2, … in the spec's order. */
export const criterionId = (index: number) => `AC${index + 1}`;

export interface CriteriaInput {
  criteria: string[];
  ci?: CiVerdict;
  review?: ReviewVerdict;
  uiCapture?: UiCapture;
}

export function criteriaCoverage({ criteria, ci, review, uiCapture }: CriteriaInput): CriterionCoverage[] {
  return criteria.map((text, index) => {
    const id = criterionId(index);
    const named = new RegExp(`\\b${id}\\b`);
    const tests = (ci?.checks ?? []).flatMap((c): Evidence[] => {
      const line = c.outputTail.split('\n').find((l) => named.test(l));
      return c.status === 'passed' && line ? [{ kind: 'test', ref: `${c.name}: ${line.trim().slice(0, 200)}` }] : [];
    });
    const shots = uiCapture?.status === 'captured' ? uiCapture.routes.filter((r) => r.route !== '/' && text.includes(r.route)).map((r): Evidence => ({ kind: 'screenshot', ref: `${r.route}: ${r.after}` })) : [];
    const ran = (review?.results ?? []).filter((r) => r.status === 'ok');
    const disputedBy = ran.filter((r) => r.findings.some((f) => named.test(f.message))).map((r) => r.reviewer);
    const evidence = [...tests, ...shots];
    return { id, text, covered: evidence.length > 0, evidence, reviewedBy: ran.map((r) => r.reviewer).filter((r) => !disputedBy.includes(r)), disputedBy };
  });
}
