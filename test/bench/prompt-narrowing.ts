// `npx tsx test/bench/prompt-narrowing.ts`: a retry's prompt before and after the playbook, on the
// evidence table's CI cases. Before: the old path (the check's last 40 lines, clipped, under the
// class's remedy text). After: the class's injection (EVIDENCE_PLAYBOOK_PATCH). Prints the sizes
// and how often the prompt names what failed (the failing tests or broken rules' files).
import { classifyFailure } from '../../workflows/policy/classify.ts';
import { synthesizePrompt } from '../../workflows/policy/prompt.ts';
import { parseTaskSpec } from '../../workflows/task/spec.ts';
import type { ClassifiedFailure } from '../../workflows/task/types.ts';
import { evidenceCases, goldenOf } from '../harness/evidence-table.ts';

const spec = parseTaskSpec({ id: 'bench', repository: '/tmp/bench', title: 'A task', description: 'Do the thing.', acceptanceCriteria: ['it works'], shape: 'backend' });
const tail40 = (text: string) => text.trimEnd().split('\n').slice(-40).join('\n');
const prompt = (failure: ClassifiedFailure) => synthesizePrompt({ spec, agent: 'codex', attempt: 2, failures: [failure] });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const rows = evidenceCases()
  .filter((c) => c.input.source === 'ci' && c.input.checks?.length)
  .map((c) => {
    const details = c.input.checks!.map((k) => `${k.name}:\n${tail40(k.output)}`);
    const evidence = { source: 'ci' as const, summary: c.input.summary, details, files: [] };
    const before = prompt(classifyFailure(evidence));
    const { classification, injection } = goldenOf(c);
    const after = prompt({ kind: classification.kind === 'infrastructure' ? 'test_regression' : classification.kind, evidence, playbook: { kind: classification.kind, rule: classification.rule, files: classification.files, tests: classification.tests, injection, title: '', digest: '' } });
    const named = (text: string) => [...c.expect.tests, ...c.expect.files].every((x) => text.includes(x));
    const raw = c.input.checks!.reduce((n, k) => n + k.output.length, 0);
    return { name: c.name, raw, before: before.length, after: after.length, namedBefore: named(before), namedAfter: named(after) };
  });

console.log(`retry prompts on ${rows.length} CI cases of the evidence table (characters):`);
console.log(`  raw CI output   median ${median(rows.map((r) => r.raw))}, max ${Math.max(...rows.map((r) => r.raw))}`);
console.log(`  before (tail)   median ${median(rows.map((r) => r.before))}, max ${Math.max(...rows.map((r) => r.before))}; names every failing test/file in ${rows.filter((r) => r.namedBefore).length}/${rows.length}`);
console.log(`  after (playbook) median ${median(rows.map((r) => r.after))}, max ${Math.max(...rows.map((r) => r.after))}; names every failing test/file in ${rows.filter((r) => r.namedAfter).length}/${rows.length}`);
