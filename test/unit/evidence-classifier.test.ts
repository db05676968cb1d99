// The evidence classifier on the evidence table (test/fixtures/evidence/table.json): each case's
// class, files and tests as a careful lead would name them (hand-written in the table), and the
// whole classification and the injected prompt text in golden files (golden/<case>.json and
// golden/<case>.md, the text as the agent reads it).
// UPDATE_GOLDEN=1 rewrites the golden files; read the diff before committing it.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accuracy, EVIDENCE_DIR, evidenceCases, goldenOf } from '../harness/evidence-table.ts';
import { classifyEvidence } from '../../workflows/policy/evidence/classify.ts';
import { INJECTION_LIMIT, injection } from '../../workflows/policy/evidence/playbook.ts';
import { parseCiOutput } from '../../workflows/policy/evidence/runners/index.ts';
import { MAX_FAILURES } from '../../workflows/policy/evidence/types.ts';

const cases = evidenceCases();
const golden = (name: string, ext: 'json' | 'md') => join(EVIDENCE_DIR, 'golden', `${name}.${ext}`);

describe('the evidence table', () => {
  it('holds at least 30 cases, the hard ones among them, each with its golden file', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    const names = cases.map((c) => c.name);
    for (const hard of ['lint-inside-test-check', 'jest-snapshot-only', 'tsc-error-in-test-file', 'jest-timeout-flaky-looking', 'empty-output-test-check']) expect(names).toContain(hard);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: class, files and tests as expected, classification and injection as in its golden file', (_name, c) => {
    const got = goldenOf(c);
    expect({ kind: got.classification.kind, files: got.classification.files, tests: got.classification.tests }).toEqual(c.expect);
    const [json, md] = [golden(c.name, 'json'), golden(c.name, 'md')];
    if (process.env.UPDATE_GOLDEN === '1') {
      writeFileSync(json, `${JSON.stringify(got.classification, null, 2)}\n`);
      writeFileSync(md, got.injection);
    }
    // A case without its golden files fails: goldens are written on purpose, never by default.
    expect(existsSync(json) && existsSync(md)).toBe(true);
    expect(got.classification).toEqual(JSON.parse(readFileSync(json, 'utf8')));
    expect(got.injection).toBe(readFileSync(md, 'utf8'));
  });

  it('classifies every case as expected (the accuracy the closing note reports)', () => {
    const result = accuracy(cases);
    process.stdout.write(`evidence classifier accuracy: ${result.right}/${result.total}\n`);
    expect(result.wrong).toEqual([]);
  });

  it('spends no attempt on infrastructure and injects nothing for it', () => {
    for (const c of cases.filter((c) => c.expect.kind === 'infrastructure')) {
      const { classification, injection: text } = goldenOf(c);
      expect(classification.spendsAttempt).toBe(false);
      expect(text).toBe('');
    }
    for (const c of cases.filter((c) => c.expect.kind !== 'infrastructure')) expect(goldenOf(c).classification.spendsAttempt).toBe(true);
  });
});

describe('classifyEvidence is deterministic and bounded', () => {
  it('gives the same classification and injection for the same input, run after run', () => {
    for (const c of cases) expect(JSON.stringify(goldenOf(c))).toBe(JSON.stringify(goldenOf(c)));
  });

  it('handles a 5 MB log, capping failures and the injection', () => {
    const block = readFileSync(join(EVIDENCE_DIR, 'logs', 'jest-assertion.log'), 'utf8');
    const big = block.repeat(Math.ceil((5 * 1024 * 1024) / block.length));
    expect(big.length).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    const classification = classifyEvidence({ source: 'ci', summary: 'tests failed', checks: [{ name: 'test', output: big }] });
    const text = injection({ classification, scope: { files: [], interfaces: [], expectedTests: [] } });
    expect(classification.kind).toBe('test_regression');
    expect(classification.failures).toHaveLength(MAX_FAILURES);
    expect(text.length).toBeLessThanOrEqual(INJECTION_LIMIT);
    expect(text).toContain('(and 45 more)');
  });

  // A quadratic parse of this line would take hours, not the minute allowed here (no timed assertion: speed belongs in benchmarks).
  it('keeps a log that is one endless line from costing quadratic time', () => {
    const line = `src/a.ts${'.x'.repeat(2_500_000)}`;
    expect(parseCiOutput(line, 'lint')).toEqual([]);
  }, 60_000);

  it('keeps the injection under its limit however long the evidence', () => {
    const long = 'x'.repeat(50_000);
    const classification = classifyEvidence({ source: 'gates', summary: 'gates failed', details: Array.from({ length: 40 }, () => long) });
    const text = injection({ classification, scope: { files: Array.from({ length: 100 }, (_, i) => `src/f${i}.ts`), interfaces: [long], expectedTests: [long] } });
    expect(classification.kind).toBe('missing_constraint');
    expect(text.length).toBeLessThanOrEqual(INJECTION_LIMIT);
  });
});
