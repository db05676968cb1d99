import { describe, expect, it } from '@jest/globals';
import { EVIDENCE_LIMITS, conceptPrompt, synthesizePrompt } from '../../workflows/policy/prompt.ts';
import { parseTaskSpec } from '../../workflows/task/spec.ts';
import type { ClassifiedFailure, FailureEvidence, FailureKind } from '../../workflows/task/types.ts';

const spec = parseTaskSpec({
  id: 'custom-templates',
  repository: '/srv/repos/app',
  title: 'Reusable customer configuration templates',
  description: 'Customers re-enter the same configuration for every workspace. Let them save and reuse it.',
  acceptanceCriteria: ['POST /templates stores a template', 'GET /templates/:id returns 404 for an unknown id'],
  shape: 'backend',
  hints: {
    files: ['src/api/templates.ts'],
    interfaces: ['interface Template { id: string; config: Config }'],
    expectedTests: ['test/api/templates.test.ts'],
  },
});

const failure = (kind: FailureKind, evidence: Partial<FailureEvidence>): ClassifiedFailure => ({
  kind,
  evidence: { source: 'ci', summary: 'failed', details: [], files: [], ...evidence },
});

describe('synthesizePrompt', () => {
  it('carries the task, its acceptance criteria, hints and constraints', () => {
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 1, failures: [] });
    expect(prompt).toMatch(/^# Reusable customer configuration templates\n/);
    expect(prompt).toContain(spec.description);
    // Each criterion by its id, which the agent is asked to name its tests with (the DoD maps them).
    spec.acceptanceCriteria.forEach((c, i) => expect(prompt).toContain(`- AC${i + 1}: ${c}`));
    expect(prompt).toContain('Name the test that proves each criterion with its id');
    expect(prompt).toContain('`src/api/templates.ts`');
    expect(prompt).toContain('interface Template { id: string; config: Config }');
    expect(prompt).toContain('test/api/templates.test.ts');
    expect(prompt).toMatch(/only in this worktree/);
    expect(prompt).toMatch(/Commit your work/);
    expect(prompt).toMatch(/Run the repository's tests/);
    expect(prompt).toMatch(/Do not weaken, skip/);
  });

  it('points the implementer of a handoff at the committed concept, and only then', () => {
    const prompt = synthesizePrompt({ spec, agent: 'claude', attempt: 1, failures: [], concept: { file: 'docs/concepts/custom-templates.md', by: 'gemini' } });
    expect(prompt).toContain('## Concept');
    expect(prompt).toContain('written by gemini, is committed at `docs/concepts/custom-templates.md`');
    expect(synthesizePrompt({ spec, agent: 'claude', attempt: 1, failures: [] })).not.toContain('## Concept');
  });

  it("asks the concept agent for the concept file alone, with the task's goal", () => {
    const prompt = conceptPrompt({ spec, agent: 'gemini', file: 'docs/concepts/custom-templates.md' });
    expect(prompt).toContain(spec.description);
    expect(prompt).toContain('Write the concept as Markdown in `docs/concepts/custom-templates.md` and commit that file');
    expect(prompt).toContain('Do not implement it');
    expect(prompt).not.toMatch(/Run the repository's tests/);
  });

  it('leaves out an empty hints section', () => {
    const bare = parseTaskSpec({ ...spec, hints: {} });
    expect(synthesizePrompt({ spec: bare, agent: 'codex', attempt: 1, failures: [] })).not.toContain('## Hints');
  });

  it('says nothing about failures on the first attempt', () => {
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 1, failures: [failure('test_regression', { summary: 'stale failure' })] });
    expect(prompt).not.toContain('stale failure');
    expect(prompt).not.toContain('previous attempt');
  });

  it('injects only the last failure on a retry', () => {
    const failures = [failure('missing_constraint', { summary: 'FIRST lint failed' }), failure('test_regression', { summary: 'SECOND tests failed' })];
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 3, failures });
    expect(prompt).toContain('SECOND tests failed');
    expect(prompt).not.toContain('FIRST');
  });

  it('gives a context gap the files it lacked', () => {
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 2, failures: [failure('context_gap', { source: 'conflict', summary: 'merging main conflicts', files: ['src/api/router.ts'] })] });
    expect(prompt).toMatch(/lacked context/);
    expect(prompt).toContain('`src/api/router.ts`');
  });

  it('restates the goal after a wrong direction, with what was wrong', () => {
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 2, failures: [failure('wrong_direction', { source: 'agent_exit', summary: 'the agent exited without committing anything' })] });
    expect(prompt).toMatch(/wrong direction\. The goal, restated: Reusable customer configuration templates/);
    expect(prompt).toContain('the agent exited without committing anything');
  });

  it('names the violated constraint', () => {
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 2, failures: [failure('missing_constraint', { source: 'review', summary: '1 critical finding', details: ['src/db.ts:12 SQL injection'] })] });
    expect(prompt).toMatch(/violated a constraint/);
    expect(prompt).toContain('src/db.ts:12 SQL injection');
  });

  it("keeps only the end of failing checks' output, and only a few of them", () => {
    const log = `${'START-OF-LOG\n'}${'noise\n'.repeat(50_000)}Expected 404, received 500`;
    const details = Array.from({ length: 8 }, (_, i) => `check-${i}:\n${log}`);
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 2, failures: [failure('test_regression', { summary: 'CI failed', details })] });
    expect(prompt).toContain('Expected 404, received 500');
    expect(prompt).not.toContain('START-OF-LOG');
    expect(prompt.match(/Expected 404, received 500/g)).toHaveLength(EVIDENCE_LIMITS.details);
    expect(prompt.length).toBeLessThan(12_000);
  });

  it('caps the files it lists', () => {
    const files = Array.from({ length: 50 }, (_, i) => `src/f${i}.ts`);
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 2, failures: [failure('context_gap', { source: 'conflict', files })] });
    expect(prompt).toContain(`src/f${EVIDENCE_LIMITS.files - 1}.ts`);
    expect(prompt).not.toContain(`src/f${EVIDENCE_LIMITS.files}.ts`);
  });

  it('fences output so that backticks in it cannot end the block', () => {
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 2, failures: [failure('test_regression', { details: ['tests:\n```\nnot the end'] })] });
    expect(prompt).toContain('````\ntests:\n```\nnot the end\n````');
  });
});

describe('business context in the prompt', () => {
  const context = [
    { title: 'Templates are per workspace', kind: 'decision', as: 'note' as const, text: 'A template belongs to one workspace.\n\n## Not a prompt heading' },
    { title: 'a restricted customer note', kind: 'customer', as: 'constraint' as const, text: 'Never copy a template\nacross tenants.' },
  ];

  it('adds the notes as a section of their own and the constraints at the end of "## Constraints"', () => {
    const prompt = synthesizePrompt({ spec, agent: 'codex', attempt: 1, failures: [], businessContext: context });
    expect(prompt).toContain('## Business context');
    expect(prompt).toContain('### Templates are per workspace (decision)\n\n```\nA template belongs to one workspace.\n\n## Not a prompt heading\n```');
    // A constraint is a rule only: its note's title or text is not shown.
    expect(prompt).not.toContain('a restricted customer note');
    expect(prompt).toMatch(/## Constraints\n\n(- .*\n)+- Never copy a template across tenants\.\n/);
    expect(prompt.indexOf('## Business context')).toBeLessThan(prompt.indexOf('## Hints'));
  });

  it('changes nothing without business context', () => {
    const plain = synthesizePrompt({ spec, agent: 'codex', attempt: 1, failures: [] });
    expect(synthesizePrompt({ spec, agent: 'codex', attempt: 1, failures: [], businessContext: [] })).toBe(plain);
    expect(plain).not.toContain('## Business context');
    expect(conceptPrompt({ spec, agent: 'gemini', file: 'c.md', businessContext: [] })).toBe(conceptPrompt({ spec, agent: 'gemini', file: 'c.md' }));
  });

  it("gives the concept agent the notes and the constraints too", () => {
    const prompt = conceptPrompt({ spec, agent: 'gemini', file: 'c.md', businessContext: context });
    expect(prompt).toContain('### Templates are per workspace (decision)');
    expect(prompt).toContain('## Constraints\n\n- Never copy a template across tenants.');
    expect(prompt).not.toMatch(/Run the repository's tests/);
  });
});
