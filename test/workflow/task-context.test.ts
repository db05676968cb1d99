// The business context vault in a full task run on the time-skipping server: notes added through
// the typed client, selected for the prompt, the restricted one's text nowhere the task leaves a
// trace (prompt files, kept logs, the whole history, search attributes and memo, the query state,
// the artifacts, the worker logs) while its constraint and an internal note's text reach the agent.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listArtifacts } from '../../activities/store/artifacts.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { renderDetails } from '../../workflows/task/state.ts';
import { recordHistory } from '../harness/histories.ts';
import { timeSkippingEnv } from '../harness/temporal.ts';
import { createTestbed, eventually, sampleRepo, type ScenarioStep } from '../harness/task-testbed.ts';

const ADD = 'export const add = (a, b) => a + b;\n';
const FILES = { 'calc.mjs': ADD, 'test.mjs': "import assert from 'node:assert';\nimport * as calc from './calc.mjs';\nassert.equal(calc.multiply(4, 5), 20);\n" };
const GOOD: ScenarioStep = { files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply' };

/** The restricted note's customer PII: it must appear nowhere. */
const MARKER = 'wile.e.coyote-7f3a@acme-customer.example';
const CONSTRAINT = 'multiply() must never log its operands (customer amounts are confidential).';
const INTERNAL = 'The calculator module is pure: no I/O, no globals; keep multiply() beside add().';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** Every file below `dir` as text (gzipped ones unpacked), by path. */
function filesBelow(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = readFileSync(path);
    found.set(path, (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
  }
  return found;
}

/** The history as text with every payload decoded: payloads are base64 in the JSON, where a plain search finds nothing. */
function historyText(json: string): string {
  const decoded: string[] = [];
  JSON.parse(json, (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string') decoded.push(Buffer.from(value, 'base64').toString('utf8'));
    return value;
  });
  return `${json}\n${decoded.join('\n')}`;
}

describe('task workflow with the business context vault', () => {
  it('prompts with the internal note and the restricted note\'s constraint; the restricted text reaches no prompt, log, history, attribute or state', async () => {
    const repo = sampleRepo({ files: FILES, ci: [{ name: 'tests', command: 'node test.mjs' }], scenario: [GOOD] });
    const bed = await createTestbed(env);
    const client = SwarmClient.fromClient(env.client, bed.config);
    const logged: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    };
    try {
      await bed.run(async () => {
        const saved = await client.addContextNotes([
          {
            kind: 'customer',
            title: `Complaint from ${MARKER}`,
            body: `The customer ${MARKER} saw their multiply amounts in our logs and complained.`,
            repository: repo,
            sensitivity: 'restricted',
            constraint: CONSTRAINT,
          },
          { kind: 'decision', title: 'The calculator stays pure', body: INTERNAL, repository: repo, paths: ['calc.mjs'], sensitivity: 'internal' },
          { kind: 'incident', title: `Multiply outage traced to ${MARKER}`, body: `Calculator multiply broke for ${MARKER}.`, sensitivity: 'confidential' },
        ]);
        const [restricted, internal, bare] = saved.notes.map((n) => n.id);
        expect(saved.notes.map((n) => n.outcome)).toEqual(['added', 'added', 'added']);
        // Listing through the client carries no note text.
        const listed = await client.listContextNotes({ repository: repo });
        expect(listed.map((n) => n.id).sort()).toEqual([restricted, internal, bare].sort());
        expect(JSON.stringify(listed)).not.toContain('complained');

        await client.startTask({
          id: 'vault',
          repository: repo,
          title: 'Add multiply() to the calculator',
          description: 'Add multiply(a, b) next to add() in the calculator.',
          acceptanceCriteria: ['calc.multiply(4, 5) returns 20'],
          shape: 'backend',
          agent: 'scripted',
          hints: { files: ['calc.mjs'] },
        });
        const waiting = await eventually(() => client.getTask('vault'), (s) => s.status === 'awaiting_approval');
        expect(waiting.context).toMatchObject({ attempt: 1, tier: 'internal', budgetTokens: 1500, withheld: [bare] });
        expect(waiting.context!.notes.map((n) => [n.id, n.as])).toEqual([
          [internal, 'note'],
          [restricted, 'constraint'],
        ]);
        expect(waiting.context!.notes[0]!.why.scope).toEqual(['repository', 'paths']);
        expect(renderDetails(waiting)).toContain(`- ${internal} The calculator stays pure (decision, `);
        expect(renderDetails(waiting)).toContain(`- withheld (above internal, no constraint): ${bare}`);

        // The prompt the agent got: the internal note's text and the constraint, never the restricted text.
        const promptFile = join(bed.config.stateDir, 'tasks', 'vault', 'attempt-1', 'prompt.md');
        const prompt = readFileSync(promptFile, 'utf8');
        expect(prompt).toContain('## Business context');
        expect(prompt).toContain(INTERNAL);
        expect(prompt).toMatch(new RegExp(`## Constraints\\n[\\s\\S]*- ${CONSTRAINT.replace(/[()]/g, '\\$&')}`));
        expect(prompt).not.toContain(MARKER);

        // The spawn receipt records which notes the prompt used and why.
        const receipt = (await listArtifacts(bed.database.db, 'vault')).find((a) => a.key === 'receipt:spawn:1')!;
        expect((receipt.payload.context as { notes: Array<{ id: string }> }).notes.map((n) => n.id)).toEqual([internal, restricted]);

        await client.decide('vault', { decision: 'approve', by: 'alice' });
        expect((await client.result('vault')).status).toBe('merged');

        const handle = env.client.workflow.getHandle('task-vault');
        const history = historyText(historyToJSON(await handle.fetchHistory()));
        expect(history).toContain(CONSTRAINT);
        expect(history).toContain(INTERNAL);
        expect(history).not.toContain(MARKER);
        const described = await handle.describe();
        expect(JSON.stringify({ sa: described.searchAttributes, typed: described.typedSearchAttributes, memo: described.memo, details: described.raw.executionConfig })).not.toContain(MARKER);
        const final = await client.getTask('vault');
        expect(JSON.stringify(final)).not.toContain(MARKER);
        expect(JSON.stringify(await listArtifacts(bed.database.db, 'vault'))).not.toContain(MARKER);

        // Every file the task left on the host (kept prompts and logs included) and the worker logs.
        const files = filesBelow(bed.config.stateDir);
        const prompts = [...files].filter(([path]) => /prompt\.md(\.gz)?$/.test(path));
        expect(prompts.length).toBeGreaterThan(0);
        for (const [, text] of prompts) expect(text).toContain(CONSTRAINT);
        for (const [path, text] of files) expect(`${path}: ${text.includes(MARKER)}`).toBe(`${path}: false`);
        expect(logged.join('')).not.toContain(MARKER);
        await recordHistory(env.client, 'task-vault', 'time-skipping-vault');
      });
    } finally {
      process.stderr.write = write;
      await bed.teardown();
    }
  });
});
