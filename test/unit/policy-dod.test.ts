import { describe, expect, it } from '@jest/globals';
import { definitionOfDone, type DodInput } from '../../workflows/policy/definition-of-done.ts';
import type { DodItem, PullRequest, ReviewerResult } from '../../workflows/task/types.ts';

const HEAD = 'a'.repeat(40);
const OLD = 'b'.repeat(40);

const pr: PullRequest = { number: 7, branch: 'swarm/t', base: 'main', headSha: HEAD, state: 'open', title: 't', body: '', url: 'local://pr/7' };
const reviewer = (name: string, over: Partial<ReviewerResult> = {}): ReviewerResult => ({ reviewer: name, status: 'ok', findings: [], ...over });

/** Everything green at HEAD, not yet approved. */
const green = (): DodInput => ({
  pr,
  mergeability: { mergeable: true, behindBy: 0, conflicts: [] },
  ci: { headSha: HEAD, status: 'passed', checks: [{ name: 'unit', status: 'passed', exitCode: 0, durationMs: 10, outputFile: '/tmp/unit.log', outputTail: '' }] },
  ciConfigured: true,
  review: { headSha: HEAD, results: [reviewer('codex'), reviewer('claude')] },
  uiEvidence: { headSha: HEAD, required: false, satisfied: true, detail: 'no changes under the UI paths' },
  approved: false,
});

const itemOf = (input: DodInput, key: DodItem['key']): DodItem => definitionOfDone(input).items.find((i) => i.key === key)!;

describe('definitionOfDone', () => {
  it('lists the seven items in order, each with a detail', () => {
    const dod = definitionOfDone(green());
    expect(dod.items.map((i) => i.key)).toEqual(['pr_exists', 'synced_with_base', 'forge_rules', 'ci_passed', 'reviews_passed', 'ui_evidence', 'human_approved']);
    for (const i of dod.items) expect(i.detail.length).toBeGreaterThan(0);
  });

  it('is ready for approval when everything but the approval is met, and complete once approved', () => {
    const waiting = definitionOfDone(green());
    expect(waiting.readyForApproval).toBe(true);
    expect(waiting.items.filter((i) => !i.ok).map((i) => i.key)).toEqual(['human_approved']);
    expect(definitionOfDone({ ...green(), approved: true }).items.every((i) => i.ok)).toBe(true);
  });

  it('is not ready while any item other than the approval is unmet', () => {
    expect(definitionOfDone({ ...green(), mergeability: undefined, approved: true }).readyForApproval).toBe(false);
  });

  it('needs an open PR at the branch head', () => {
    expect(itemOf({ ...green(), pr: undefined }, 'pr_exists')).toMatchObject({ ok: false, detail: 'no pull request yet' });
    expect(itemOf({ ...green(), pr: { ...pr, state: 'closed' } }, 'pr_exists').ok).toBe(false);
    expect(itemOf({ ...green(), headSha: OLD }, 'pr_exists')).toMatchObject({ ok: false, detail: expect.stringContaining('not pushed') });
    expect(itemOf({ ...green(), headSha: HEAD }, 'pr_exists').ok).toBe(true);
  });

  it('counts no verdict without a PR', () => {
    const dod = definitionOfDone({ ...green(), pr: undefined });
    for (const key of ['ci_passed', 'reviews_passed', 'ui_evidence'] as const) {
      expect(dod.items.find((i) => i.key === key)).toMatchObject({ ok: false, detail: expect.stringContaining('no PR head') });
    }
  });

  it('needs the branch mergeable and not behind the base', () => {
    expect(itemOf({ ...green(), mergeability: { mergeable: true, behindBy: 2, conflicts: [] } }, 'synced_with_base')).toMatchObject({ ok: false, detail: 'behind the base by 2 commit(s)' });
    expect(itemOf({ ...green(), mergeability: { mergeable: false, behindBy: 1, conflicts: ['src/a.ts'] } }, 'synced_with_base')).toMatchObject({ ok: false, detail: expect.stringContaining('src/a.ts') });
  });

  it("is not ready while the forge still requires something, and says what", () => {
    const blocked = definitionOfDone({ ...green(), mergeability: { mergeable: true, behindBy: 0, conflicts: [], blockedBy: ['1 approving review (0 given)'] } });
    expect(blocked.readyForApproval).toBe(false);
    expect(blocked.items.find((i) => i.key === 'forge_rules')).toMatchObject({ ok: false, detail: 'the forge still requires: 1 approving review (0 given)' });
    expect(itemOf({ ...green(), mergeability: { mergeable: true, behindBy: 0, conflicts: [], blockedBy: [] } }, 'forge_rules').ok).toBe(true);
  });

  it('needs CI passed at the PR head', () => {
    const base = green();
    expect(itemOf({ ...base, ci: undefined }, 'ci_passed').ok).toBe(false);
    expect(itemOf({ ...base, ci: { ...base.ci!, status: 'failed', checks: [{ ...base.ci!.checks[0]!, status: 'failed' }] } }, 'ci_passed')).toMatchObject({ ok: false, detail: expect.stringContaining('unit') });
    expect(itemOf({ ...base, ci: { ...base.ci!, headSha: OLD } }, 'ci_passed')).toMatchObject({ ok: false, detail: expect.stringContaining('not at the PR head') });
    expect(itemOf({ ...base, ci: { ...base.ci!, status: 'pending', summary: 'waiting for build' } }, 'ci_passed')).toMatchObject({ ok: false, detail: expect.stringContaining('still running') });
  });

  it('counts "no checks" as passed only when the repository configures none', () => {
    const noChecks = { headSha: HEAD, status: 'no_checks' as const, checks: [] };
    expect(itemOf({ ...green(), ci: noChecks, ciConfigured: false }, 'ci_passed').ok).toBe(true);
    expect(itemOf({ ...green(), ci: noChecks, ciConfigured: true }, 'ci_passed')).toMatchObject({ ok: false, detail: expect.stringContaining('no checks have run') });
  });

  it('needs every reviewer to have answered, at the PR head, with no critical finding', () => {
    const base = green();
    const minor = { severity: 'minor' as const, file: 'src/a.ts', line: 1, message: 'naming' };
    const critical = { severity: 'critical' as const, file: 'src/db.ts', line: 12, message: 'SQL injection' };
    expect(itemOf({ ...base, review: undefined }, 'reviews_passed').ok).toBe(false);
    expect(itemOf({ ...base, review: { ...base.review!, headSha: OLD } }, 'reviews_passed')).toMatchObject({ ok: false, detail: expect.stringContaining('not at the PR head') });
    expect(itemOf({ ...base, review: { headSha: HEAD, results: [reviewer('codex'), reviewer('gemini', { status: 'failed', error: 'malformed reply: findings[0].severity' })] } }, 'reviews_passed')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('gemini (malformed reply: findings[0].severity)'),
    });
    expect(itemOf({ ...base, review: { headSha: HEAD, results: [reviewer('codex', { findings: [minor, critical] })] } }, 'reviews_passed')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('1 critical finding(s): src/db.ts:12 (codex)'),
    });
    expect(itemOf({ ...base, review: { headSha: HEAD, results: [reviewer('codex', { findings: [minor] })] } }, 'reviews_passed')).toMatchObject({ ok: true, detail: 'codex passed, 1 non-critical finding(s)' });
    expect(itemOf({ ...base, review: { headSha: HEAD, results: [] } }, 'reviews_passed')).toMatchObject({ ok: true, detail: 'no reviewers configured' });
  });

  it('needs screenshot evidence for UI changes at the PR head', () => {
    const missing = { headSha: HEAD, required: true, satisfied: false, detail: 'UI changes (web/a.tsx) need screenshot evidence' };
    expect(itemOf({ ...green(), uiEvidence: missing }, 'ui_evidence')).toMatchObject({ ok: false, detail: missing.detail });
    expect(itemOf({ ...green(), uiEvidence: { ...missing, satisfied: true } }, 'ui_evidence').ok).toBe(true);
    expect(itemOf({ ...green(), uiEvidence: { ...missing, satisfied: true, headSha: OLD } }, 'ui_evidence').ok).toBe(false);
    expect(itemOf({ ...green(), uiEvidence: undefined }, 'ui_evidence').ok).toBe(false);
  });
});
