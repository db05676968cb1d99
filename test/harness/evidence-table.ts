// The evidence table (test/fixtures/evidence/table.json): real-format CI logs, agent transcripts,
// diffs and conflicts, each with the class, files and tests a careful lead would name. Shared by
// the golden test and the accuracy script, so both read the same cases the same way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyEvidence, type EvidenceClassification, type EvidenceInput, type EvidenceKind, type TaskScope } from '../../workflows/policy/evidence/classify.ts';
import { injection } from '../../workflows/policy/evidence/playbook.ts';
import type { AgentCli } from '../../workflows/policy/evidence/steps.ts';
export const EVIDENCE_DIR = fileURLToPath(new URL('../fixtures/evidence/', import.meta.url));

/** A case as stored: logs and transcripts by file name. */
interface StoredCase {
  name: string;
  note?: string;
  input: Omit<EvidenceInput, 'checks' | 'transcript'> & { checks?: { name: string; log: string }[]; transcript?: { cli: AgentCli; file: string } };
  expect: { kind: EvidenceKind; files: string[]; tests: string[] };
}

export interface EvidenceCase {
  name: string;
  note?: string;
  input: EvidenceInput;
  scope: TaskScope;
  expect: StoredCase['expect'];
}

const NO_SCOPE: TaskScope = { files: [], interfaces: [], expectedTests: [] };

export function evidenceCases(): EvidenceCase[] {
  const stored = JSON.parse(readFileSync(join(EVIDENCE_DIR, 'table.json'), 'utf8')) as StoredCase[];
  return stored.map(({ name, note, input, expect }) => {
    const { checks, transcript, ...rest } = input;
    const loaded: EvidenceInput = { ...rest };
    if (checks) loaded.checks = checks.map((c) => ({ name: c.name, output: readFileSync(join(EVIDENCE_DIR, 'logs', c.log), 'utf8') }));
    if (transcript) {
      const lines = readFileSync(join(EVIDENCE_DIR, 'transcripts', transcript.file), 'utf8').split('\n').filter(Boolean);
      loaded.transcript = { cli: transcript.cli, events: lines.map((l) => JSON.parse(l) as unknown) };
    }
    return { name, note, input: loaded, scope: input.scope ?? NO_SCOPE, expect };
  });
}

/** What the golden file holds for a case: the class, the rule that decided, its facts and the injection. */
export function goldenOf(c: EvidenceCase): { classification: EvidenceClassification; injection: string } {
  const classification = classifyEvidence(c.input);
  return { classification, injection: injection({ classification, scope: c.scope }) };
}

/** Cases classified as the table expects (class, files and tests all equal). */
export function accuracy(cases: EvidenceCase[]): { right: number; total: number; wrong: string[] } {
  const wrong = cases
    .filter((c) => {
      const got = classifyEvidence(c.input);
      return got.kind !== c.expect.kind || JSON.stringify(got.files) !== JSON.stringify(c.expect.files) || JSON.stringify(got.tests) !== JSON.stringify(c.expect.tests);
    })
    .map((c) => c.name);
  return { right: cases.length - wrong.length, total: cases.length, wrong };
}
