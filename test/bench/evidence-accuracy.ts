// `npx tsx test/bench/evidence-accuracy.ts`: the evidence classifier's accuracy on the evidence
// table (cases whose class, files and tests are all as expected / cases). Pure: no servers.
import { accuracy, evidenceCases } from '../harness/evidence-table.ts';

const { right, total, wrong } = accuracy(evidenceCases());
console.log(`evidence classifier: ${right}/${total} cases as expected (${((100 * right) / total).toFixed(1)}%)`);
for (const name of wrong) console.log(`  wrong: ${name}`);
process.exitCode = wrong.length === 0 ? 0 : 1;
