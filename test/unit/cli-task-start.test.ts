// `swarm task start`: a spec from a file and/or flags, refused field by field before anything runs.
import { describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueReference, specFromOptions } from '../../client/commands/tasks.ts';
import { parseTaskSpec } from '../../workflows/task/spec.ts';
import { tempDir } from '../harness/paths.ts';
import { swarm } from '../harness/stack-process.ts';

describe('swarm task start', () => {
  it('builds a spec from a file with flags on top', () => {
    const file = join(tempDir('spec'), 'spec.json');
    writeFileSync(file, JSON.stringify({ id: 'from-file', repository: '/srv/repo', title: 'T', description: 'D', acceptanceCriteria: ['a'], shape: 'bug', limits: { maxAttempts: 2 } }));
    const spec = parseTaskSpec(specFromOptions({ spec: file, id: 'from-flags', criterion: ['one', 'two'], monitorInterval: '5m', hintFile: ['src/a.ts'], priority: 'hotfix' }));
    expect(spec).toMatchObject({ id: 'from-flags', repository: '/srv/repo', shape: 'bug', acceptanceCriteria: ['one', 'two'], limits: { maxAttempts: 2, monitorInterval: '5m' }, hints: { files: ['src/a.ts'] }, priority: 'hotfix' });
  });

  it('refuses an invalid spec naming every bad field, exit 2, without needing a server', () => {
    const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', SWARM_STATE_DIR: tempDir('cli-state') };
    const res = swarm(env, 'task', 'start', '--id', 'Bad Id!', '--repo', '--upload-pack=touch x', '--title', 'ok', '--description', 'ok', '--shape', 'frontend', '--priority', 'urgent');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('invalid task spec:');
    expect(res.stderr).toMatch(/- id: a slug/);
    expect(res.stderr).toContain('- priority: a priority: one of hotfix, high, normal, low, canary');
    expect(res.stderr).toMatch(/- acceptanceCriteria: /);
    expect(res.stderr).toMatch(/- shape: /);
    expect(res.stderr).toMatch(/- repository: /);
  });

  it('refuses an agent the configuration does not have, before anything starts', () => {
    const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', SWARM_STATE_DIR: tempDir('cli-state') };
    const res = swarm(env, 'task', 'start', '--id', 'ok', '--repo', '/srv/repo', '--title', 'T', '--description', 'D', '--criterion', 'c', '--shape', 'bug', '--agent', 'nope');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('- agent: agent "nope" ("nope" was requested by the spec) is not configured; configured agents: "scripted", "codex", "claude", "gemini"');
  });

  it('refuses a description holding a NUL byte, naming the field', () => {
    const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', SWARM_STATE_DIR: tempDir('cli-state') };
    const file = join(tempDir('spec'), 'nul.json');
    writeFileSync(file, JSON.stringify({ id: 'nul', repository: '/srv/repo', title: 'T', description: 'before\u0000after', acceptanceCriteria: ['a\u0000'], shape: 'bug' }));
    const res = swarm(env, 'task', 'start', '--spec', file);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/- description: no control characters/);
    expect(res.stderr).toMatch(/- acceptanceCriteria\.0: no control characters/);
  });

  it('--from-issue takes owner/name#N only, and no other spec option, exit 2 before connecting', () => {
    expect(issueReference('acme/shop#42')).toEqual({ repository: 'acme/shop', number: 42 });
    for (const bad of ['acme/shop', 'acme/shop#0', '#42', 'acme/shop#4x', '/srv/repo#3', 'a/b/c#1']) expect(() => issueReference(bad)).toThrow(/--from-issue must name a GitHub issue as owner\/name#number/);
    const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', SWARM_STATE_DIR: tempDir('cli-state') };
    const bad = swarm(env, 'task', 'start', '--from-issue', 'acme/shop');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from-issue must name a GitHub issue as owner/name#number, e.g. acme/shop#42 (got "acme/shop")');
    const mixed = swarm(env, 'task', 'start', '--from-issue', 'acme/shop#42', '--title', 'T', '--hint-file', 'a.ts');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--from-issue takes the whole spec from the issue; drop --title, --hint-file');
  });
});
