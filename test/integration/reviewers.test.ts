// The review step against real reviewer processes: the scripted reviewer and a few broken ones.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heavySlots } from '../../activities/host/capacity.ts';
import { sandboxSettings } from '../../activities/agents/sandboxed.ts';
import { detectSandbox } from '../../activities/agents/sandbox.ts';
import { createReviewActivities } from '../../activities/review/index.ts';
import { ConfigSchema } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import type { ReviewerResult } from '../../workflows/task/types.ts';

const NODE = process.execPath;
const SCRIPTED = join(PROJECT_ROOT, 'activities', 'review', 'scripted-reviewer.mjs');
const HEAD = 'c'.repeat(40);
const DIFF = 'diff --git a/src/db.ts b/src/db.ts\n+const q = "SELECT * FROM users WHERE id = " + id;\n';

// The host's sandbox as production gives it (a command reviewer prefers it): read-only, no state folder, no network but its proxy.
const stateDir = mkdtempSync(join(tmpdir(), 'swarm-reviewers-state-'));
const { runReviewers } = createReviewActivities({ heavySlots: heavySlots(4), sandbox: sandboxSettings(stateDir, ConfigSchema.shape.host.parse(undefined)) });
let dir: string;

function findingsFile(name: string, findings: unknown[]): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ findings }));
  return file;
}

async function review(command: string[], { diff = DIFF, timeoutMs = 10_000 } = {}): Promise<ReviewerResult> {
  const verdict = await runReviewers({ taskId: 'review-test', headSha: HEAD, diff, reviewers: [{ name: 'r', command, timeoutMs }], cwd: dir });
  expect(verdict.headSha).toBe(HEAD);
  return verdict.results[0]!;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarm-reviewers-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

describe('runReviewers', () => {
  it('runs a reviewer in the sandbox, read-only: the checkout cannot be written, the state folder and the host\'s ports are out of reach, and its reply still counts', async () => {
    writeFileSync(join(stateDir, 'secret.key'), 'KEY\n');
    const server = createServer((_req, res) => res.end('host service'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const probe = String.raw`
const fs = require('node:fs');
const net = require('node:net');
const attempt = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
const seen = { writeCheckout: attempt(() => fs.writeFileSync('planted.txt', 'x')), readState: attempt(() => fs.readFileSync(process.argv[1] + '/secret.key')) };
const s = net.connect({ host: '127.0.0.1', port: Number(process.argv[2]) });
s.on('connect', () => done('connected'));
s.on('error', (e) => done(e.code));
function done(port) { s.destroy(); seen.hostPort = port; console.log(JSON.stringify({ findings: [{ severity: 'minor', file: 'src/db.ts', line: 2, message: JSON.stringify(seen) }] })); }
`;
    try {
      const result = await review([NODE, '-e', probe, stateDir, String(port)]);
      expect(result.status).toBe('ok');
      const seen = JSON.parse(result.findings[0]!.message) as Record<string, string>;
      expect(seen).toMatchObject({ readState: 'ENOENT', hostPort: 'ECONNREFUSED' });
      // EACCES as its own uid (the worker is root), EROFS in the worker's: the checkout is bound read-only either way.
      expect(['EROFS', 'EACCES']).toContain(seen.writeCheckout);
      expect(existsSync(join(dir, 'planted.txt'))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('returns the findings of a reviewer that answers well', async () => {
    const minor = { severity: 'minor', file: 'src/db.ts', line: 2, message: 'name the query' };
    expect(await review([NODE, SCRIPTED, findingsFile('ok', [minor])])).toEqual({ reviewer: 'r', status: 'ok', findings: [minor] });
    expect(await review([NODE, SCRIPTED, findingsFile('none', [])])).toEqual({ reviewer: 'r', status: 'ok', findings: [] });
  });

  it('returns a critical finding as such', async () => {
    const result = await review([NODE, SCRIPTED, findingsFile('critical', [{ severity: 'critical', file: 'src/db.ts', line: 2, message: 'SQL injection' }])]);
    expect(result.status).toBe('ok');
    expect(result.findings).toEqual([{ severity: 'critical', file: 'src/db.ts', line: 2, message: 'SQL injection' }]);
  });

  it('emits a conditional finding only while the diff contains its text', async () => {
    const file = findingsFile('conditional', [{ severity: 'critical', file: 'src/db.ts', line: 2, message: 'SQL injection', whenDiffContains: '" + id' }]);
    expect((await review([NODE, SCRIPTED, file])).findings).toEqual([{ severity: 'critical', file: 'src/db.ts', line: 2, message: 'SQL injection' }]);
    const fixed = 'diff --git a/src/db.ts b/src/db.ts\n+const q = sql`SELECT * FROM users WHERE id = ${id}`;\n';
    expect(await review([NODE, SCRIPTED, file], { diff: fixed })).toEqual({ reviewer: 'r', status: 'ok', findings: [] });
  });

  it('reports a reply that is not JSON as a failed reviewer', async () => {
    const result = await review([NODE, SCRIPTED, '--malformed']);
    expect(result).toMatchObject({ status: 'failed', findings: [] });
    expect(result.error).toMatch(/^reply is not JSON/);
  });

  it('reports a reply that breaks the findings schema with the exact field', async () => {
    const result = await review([NODE, SCRIPTED, findingsFile('bad-severity', [{ severity: 'blocker', file: 'src/db.ts', line: 2, message: 'x' }])]);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^malformed reply: findings\[0\]\.severity: .*"critical"\|"major"\|"minor"/);
    const escaping = await review([NODE, SCRIPTED, findingsFile('bad-path', [{ severity: 'major', file: '../etc/passwd', line: -1, message: 'x' }])]);
    expect(escaping.error).toMatch(/findings\[0\]\.file: .*; findings\[0\]\.line: /);
  });

  it('reports a reviewer that exits non-zero, with what it said', async () => {
    const result = await review([NODE, '-e', 'console.error("model quota exceeded"); process.exit(1)']);
    expect(result).toEqual({ reviewer: 'r', status: 'failed', findings: [], error: 'exited with code 1: model quota exceeded' });
  });

  it('stops a runaway reviewer and keeps its error short', async () => {
    expect(await review([NODE, '-e', 'process.stdout.write("x".repeat(5_000_000))'])).toMatchObject({ status: 'failed', error: 'wrote more than 2000000 bytes' });
    const noisy = await review([NODE, '-e', 'console.error("e".repeat(100_000)); process.exit(2)']);
    expect(noisy.error!.length).toBeLessThan(600);
  });

  it('reports a reviewer that does not start', async () => {
    const result = await review(['/nonexistent/reviewer-cli']);
    expect(result).toMatchObject({ status: 'failed', error: expect.stringContaining('ENOENT') });
  });

  it('stops a reviewer that hangs past its timeout', async () => {
    const started = Date.now();
    const result = await review([NODE, '-e', 'setInterval(() => {}, 1000)'], { timeoutMs: 500 });
    expect(result).toEqual({ reviewer: 'r', status: 'failed', findings: [], error: 'timed out after 500 ms' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("does not pass the worker's secrets to a reviewer", async () => {
    process.env.SWARM_TEST_REVIEWER_SECRET = 'hunter2';
    try {
      const printEnv = 'console.log(JSON.stringify({ findings: [{ severity: "minor", file: "env", line: 0, message: JSON.stringify(process.env) }] }))';
      const env = JSON.parse((await review([NODE, '-e', printEnv])).findings[0]!.message) as Record<string, string>;
      // In its sandbox (here, where bubblewrap is): its proxy, the checkout named safe to git, and bwrap's PWD too; nothing of the worker's.
      const safeClone = process.getuid?.() === 0 ? ['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0'] : [];
      const sandboxed = [...safeClone, 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'PWD', 'http_proxy', 'https_proxy', 'no_proxy'];
      expect(detectSandbox()).toMatchObject({ available: true });
      expect(Object.keys(env).sort()).toEqual([...sandboxed, 'HOME', 'LANG', 'PATH'].filter((k) => k !== 'LANG' || process.env.LANG !== undefined).sort());
      expect(JSON.stringify(env)).not.toContain('hunter2');
    } finally {
      delete process.env.SWARM_TEST_REVIEWER_SECRET;
    }
  });

  it('runs every reviewer: one broken reviewer does not hide the others', async () => {
    const critical = { severity: 'critical', file: 'src/db.ts', line: 2, message: 'SQL injection' };
    const verdict = await runReviewers({
      taskId: 'review-test',
      headSha: HEAD,
      diff: DIFF,
      cwd: dir,
      reviewers: [
        { name: 'codex', command: [NODE, SCRIPTED, findingsFile('multi', [critical])], timeoutMs: 10_000 },
        { name: 'gemini', command: [NODE, SCRIPTED, '--malformed'], timeoutMs: 10_000 },
      ],
    });
    expect(verdict.results.map((r) => [r.reviewer, r.status])).toEqual([
      ['codex', 'ok'],
      ['gemini', 'failed'],
    ]);
    expect(verdict.results[0]!.findings).toEqual([critical]);
  });
});
