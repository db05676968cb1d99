// The wall time of `npm test` (bootstrap, lint, typecheck, jest), spawned once with its output
// captured rather than inherited; only its summary lines are kept.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { exited, tail } from '../../lib/process.ts';
import { stripAnsi } from '../../workflows/policy/text.ts';

export interface NpmTestResult {
  wallMs: number;
  exitCode: number | null;
  /** Jest's "Tests:" and "Test Suites:" lines, when it got that far. */
  tests?: string;
  suites?: string;
  /** The last lines of output, when it failed. */
  outputTail?: string;
}

export async function benchNpmTest(env: NodeJS.ProcessEnv): Promise<NpmTestResult> {
  const output = tail(40);
  let all = '';
  const started = performance.now();
  const child = spawn('npm', ['test'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (d: Buffer) => {
    output.push(d);
    all += d.toString();
    if (all.length > 2_000_000) all = all.slice(-1_000_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  await exited(child);
  const wallMs = performance.now() - started;
  const plain = stripAnsi(all);
  const line = (prefix: string) => new RegExp(`^${prefix}\\s+(.*)$`, 'm').exec(plain)?.[1]?.trim();
  return {
    wallMs,
    exitCode: child.exitCode,
    tests: line('Tests:'),
    suites: line('Test Suites:'),
    outputTail: child.exitCode === 0 ? undefined : output.text(),
  };
}
