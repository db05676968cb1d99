// The CLI's start as a shell sees it: spawn to exit of `swarmflow --help` and `--version` (the
// compiled CLI in dist/, through bin/swarmflow.mjs with its build check), and of `node -e 0`, the
// floor any Node CLI pays.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { progress } from './util.ts';

export interface CliStartResult {
  runs: number;
  nodeMs: number[];
  helpMs: number[];
  versionMs: number[];
}

function timed(args: string[]): number {
  const started = performance.now();
  const res = spawnSync(process.execPath, args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`node ${args.join(' ')} exited ${res.status}: ${res.stderr}`);
  return performance.now() - started;
}

export function benchCliStart({ runs = 10 }: { runs?: number } = {}): CliStartResult {
  const cli = join(PROJECT_ROOT, 'bin', 'swarmflow.mjs');
  progress(`cli start: ${runs} runs each of node -e 0, swarmflow --help, swarmflow --version`);
  const times = (args: string[]) => Array.from({ length: runs }, () => timed(args));
  return { runs, nodeMs: times(['-e', '0']), helpMs: times([cli, '--help']), versionMs: times([cli, '--version']) };
}
