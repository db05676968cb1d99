#!/usr/bin/env node
// A reviewer for demos and tests: reads the diff on stdin and prints the findings of a JSON file
// (`{"findings": [...]}`). A finding with `"whenDiffContains": "text"` is printed only when the
// diff contains that text, so a test can fail a first attempt and pass the fix. With
// `--malformed` instead of a file it prints invalid JSON, like a broken model reply.
//
//   node scripted-reviewer.mjs findings.json < diff
import { readFileSync } from 'node:fs';

const source = process.argv[2];
if (!source) {
  console.error('usage: scripted-reviewer.mjs <findings.json | --malformed>  (the diff on stdin)');
  process.exit(2);
}

let diff = '';
for await (const chunk of process.stdin) diff += chunk;

if (source === '--malformed') {
  process.stdout.write('{"findings": [ this is not json');
} else {
  /** @type {{ findings: Array<{ whenDiffContains?: string }> }} */
  const { findings } = JSON.parse(readFileSync(source, 'utf8'));
  const emitted = findings
    .filter((f) => f.whenDiffContains === undefined || diff.includes(f.whenDiffContains))
    .map(({ whenDiffContains: _condition, ...finding }) => finding);
  process.stdout.write(`${JSON.stringify({ findings: emitted })}\n`);
}
