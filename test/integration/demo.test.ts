// `swarm demo` as a user runs it: its own stack, a scripted task to the merge. Its output names
// each change once, with a status and step that can be true together.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { freePort } from '../../lib/ports.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { STEPS } from '../../workflows/task/types.ts';
import { CLI_ENTRY } from '../harness/stack-process.ts';

/** The steps each printed status can be at. */
const POSSIBLE_STEPS: Record<string, readonly string[]> = {
  running: STEPS,
  awaiting_approval: ['human_gate'],
  merged: ['human_gate', 'cleanup', 'done'],
};

describe('swarm demo', () => {
  it('prints each change once, approves once, and only status/step pairs that can happen; on the ports set, its temp folder removed', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, SWARM_TEMPORAL_UI_PORT: String(await freePort()) };
    delete env.TEMPORAL_ADDRESS;
    delete env.DATABASE_URL;
    const demo = spawnSync(process.execPath, [CLI_ENTRY, 'demo'], { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 110_000 });
    expect(demo.stderr).not.toMatch(/error/i);
    expect(demo.status).toBe(0);
    const lines = demo.stdout.split('\n').filter(Boolean);

    expect(lines.filter((line, i) => line === lines[i - 1])).toEqual([]);
    expect(lines.filter((l) => l === 'approving as demo-reviewer…')).toHaveLength(1);
    const pairs = lines.flatMap((l) => {
      const m = /^ {2}\[(\w+)\] step (\w+)/.exec(l);
      return m ? [{ status: m[1]!, step: m[2]! }] : [];
    });
    expect(pairs.length).toBeGreaterThanOrEqual(4);
    expect(pairs.filter(({ status, step }) => !(POSSIBLE_STEPS[status] ?? []).includes(step))).toEqual([]);
    expect(pairs.at(-1)).toEqual({ status: 'merged', step: 'done' });
    expect(demo.stdout).toContain('cleaned up: no worktree, tmux session or branch left behind');
    expect(demo.stdout).toContain(`Web UI: http://127.0.0.1:${env.SWARM_TEMPORAL_UI_PORT}`);
    const repo = /^sample repository: (.+)$/m.exec(demo.stdout)?.[1];
    expect(repo).toBeDefined();
    expect(existsSync(dirname(repo!))).toBe(false);
  }, 120_000);
});
