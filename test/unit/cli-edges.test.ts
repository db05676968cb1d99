// The CLI at its edges, with no stack running: it says where it looked and how to fix it, its exit
// codes say whether anything is up, and its flags take what a user types.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { specFromOptions } from '../../client/commands/tasks.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { swarm } from '../harness/stack-process.ts';
import { tempDir } from '../harness/paths.ts';

const down = () => ({ ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', SWARM_STATE_DIR: tempDir('cli-state') });

describe('the swarm CLI with no stack', () => {
  it('a command names the address it tried, where that came from, and the fix', () => {
    const res = swarm(down(), 'tasks');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no Temporal server answers at 127.0.0.1:1 (TEMPORAL_ADDRESS)');
    expect(res.stderr).toContain('Start the stack with `npm start`');
  });

  it('swarm status exits 1 when what it reports is down', () => {
    const res = swarm(down(), 'status');
    expect(res.stdout).toContain('Temporal   127.0.0.1:1 [default]  DOWN');
    expect(res.code).toBe(1);
  });

  it('swarm --version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    const res = swarm(down(), '--version');
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe(version);
  });
});

describe('--repo', () => {
  it('keeps a GitHub owner/name and makes a local path absolute', () => {
    expect(specFromOptions({ repo: 'octo-org/calc' }).repository).toBe('octo-org/calc');
    expect(specFromOptions({ repo: 'projects/calc/' }).repository).toBe(resolve('projects/calc/'));
    expect(specFromOptions({ repo: '.' }).repository).toBe(process.cwd());
  });
});
