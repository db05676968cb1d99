// The policy gate on a real repository: one real commit per rule on a branch of its own, judged
// from git's own diff against the merge-base (no hand-written diff), with the file and line of
// each hit; and the changes that must pass (a test moved to another test folder, a skip removed).
import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { policyGate } from '../../activities/gates/index.ts';
import { git, revParse } from '../../activities/git.ts';
import type { PolicyGateResult } from '../../workflows/task/types.ts';
import { tempDir } from '../harness/paths.ts';

const MATH_TEST = `const { add } = require('../src/math.js');

describe('add', () => {
  it('adds', () => {
    expect(add(1, 2)).toBe(3);
  });
});
`;
const SKIPPED_TEST = `describe('later', () => {
  it.skip('is not ready', () => {
    expect(true).toBe(true);
  });
});
`;
const JEST_CONFIG = `module.exports = {
  testMatch: ['**/test/**/*.test.js'],
  coverageThreshold: {
    global: { lines: 90, branches: 80 },
  },
};
`;
const PACKAGE = { name: 'app', scripts: { test: 'jest --coverage', build: 'node build.js' }, devDependencies: { jest: '^30.0.0' } };
const PY_TEST = `import pytest


def test_api():
    assert 1 + 1 == 2
`;

let repo: string;

/** A branch from main with one commit: files written, or deleted for null. Returns its head. */
async function change(branch: string, files: Record<string, string | null>, from = 'main'): Promise<string> {
  await git(repo, ['checkout', '-q', '-b', branch, from]);
  try {
    for (const [path, content] of Object.entries(files)) {
      const file = join(repo, path);
      if (content === null) rmSync(file);
      else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
    }
    await git(repo, ['add', '-A']);
    await git(repo, ['commit', '-q', '-m', branch]);
    return (await revParse(repo, 'HEAD'))!;
  } finally {
    await git(repo, ['checkout', '-q', 'main']);
  }
}

const gate = (headSha: string, policy = {}) => policyGate({ checkout: repo, base: 'main', headSha, policy });

beforeAll(async () => {
  repo = tempDir('anti-gaming');
  await git(repo, ['init', '-q', '-b', 'main']);
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(PACKAGE, null, 2)}\n`,
    'jest.config.js': JEST_CONFIG,
    'swarmflow.repo.json': `${JSON.stringify({ ci: [{ name: 'test', command: 'npm test' }] }, null, 2)}\n`,
    '.github/workflows/ci.yml': 'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n',
    'AGENTS.md': '# Rules\n\nEvery change comes with tests.\n',
    'src/math.js': 'exports.add = (a, b) => a + b;\n',
    'src/payments/charge.js': 'exports.charge = () => 0;\n',
    'test/math.test.js': MATH_TEST,
    'test/skipped.test.js': SKIPPED_TEST,
    'test/naïve name.test.js': MATH_TEST,
    'tests/test_api.py': PY_TEST,
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-q', '-m', 'initial']);
});

const hitsOf = (result: PolicyGateResult) => result.hits.map(({ rule, file, line }) => ({ rule, file, line }));

describe('policyGate on real commits', () => {
  it('rule 1: a deleted test file (also one whose name git quotes)', async () => {
    const result = await gate(await change('delete-tests', { 'test/math.test.js': null, 'test/naïve name.test.js': null }));
    expect(result.status).toBe('failed');
    expect(hitsOf(result)).toEqual([
      { rule: 'test_removed', file: 'test/math.test.js', line: undefined },
      { rule: 'test_removed', file: 'test/naïve name.test.js', line: undefined },
    ]);
  });

  it('rule 1: an added it.skip, at its line', async () => {
    const result = await gate(await change('add-skip', { 'test/math.test.js': MATH_TEST.replace("  it('adds'", "  it.skip('adds'") }));
    expect(hitsOf(result)).toEqual([{ rule: 'test_disabled', file: 'test/math.test.js', line: 4 }]);
    expect(result.hits[0]!.detail).toContain("it.skip('adds'");
  });

  it('rule 1: an added pytest skip marker, at its line', async () => {
    const result = await gate(await change('pytest-skip', { 'tests/test_api.py': PY_TEST.replace('def test_api', '@pytest.mark.skip(reason="flaky")\ndef test_api') }));
    expect(hitsOf(result)).toEqual([{ rule: 'test_disabled', file: 'tests/test_api.py', line: 4 }]);
  });

  it('rule 1: a lowered jest coverage threshold (the config edit is also a gate edit)', async () => {
    const result = await gate(await change('lower-coverage', { 'jest.config.js': JEST_CONFIG.replace('lines: 90', 'lines: 50') }));
    expect(hitsOf(result)).toEqual([
      { rule: 'coverage_lowered', file: 'jest.config.js', line: 4 },
      { rule: 'gate_edited', file: 'jest.config.js', line: 4 },
    ]);
    expect(result.hits[0]!.detail).toBe('coverage threshold lines lowered from 90 to 50');
  });

  it('rule 2: the policy file, a CI workflow and the agents\' instructions edited', async () => {
    const result = await gate(
      await change('edit-gates', {
        'swarmflow.repo.json': `${JSON.stringify({ ci: [{ name: 'test', command: 'true' }] }, null, 2)}\n`,
        '.github/workflows/ci.yml': 'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo skipped\n',
        'AGENTS.md': '# Rules\n\nTests are optional.\n',
      }),
    );
    expect(hitsOf(result)).toEqual([
      { rule: 'gate_edited', file: '.github/workflows/ci.yml', line: 6 },
      { rule: 'gate_edited', file: 'AGENTS.md', line: 3 },
      { rule: 'gate_edited', file: 'swarmflow.repo.json', line: 5 },
    ]);
  });

  it('rule 2: package.json\'s test script weakened, at the script\'s line; a new dependency alone passes', async () => {
    const weakened = { ...PACKAGE, scripts: { ...PACKAGE.scripts, test: 'true' } };
    const result = await gate(await change('weaken-script', { 'package.json': `${JSON.stringify(weakened, null, 2)}\n` }));
    expect(hitsOf(result)).toEqual([{ rule: 'gate_edited', file: 'package.json', line: 4 }]);
    expect(result.hits[0]!.detail).toBe('gate settings changed: scripts.test');

    const withDependency = { ...PACKAGE, dependencies: { lodash: '^4.17.21' } };
    expect(await gate(await change('add-dependency', { 'package.json': `${JSON.stringify(withDependency, null, 2)}\n` }))).toMatchObject({ status: 'passed', hits: [] });
  });

  it('rule 2: a protected path, unless the policy allows it', async () => {
    const head = await change('edit-payments', { 'src/payments/charge.js': 'exports.charge = () => 1;\n' });
    expect(hitsOf(await gate(head, { protectedPaths: ['src/payments/'] }))).toEqual([{ rule: 'protected_path', file: 'src/payments/charge.js', line: 1 }]);
    expect(await gate(head, { protectedPaths: ['src/payments/'], allowPaths: ['src/payments/charge.js'] })).toMatchObject({ status: 'passed' });
    expect(await gate(head)).toMatchObject({ status: 'passed' });
  });

  it('rule 3: a secret on an added line, with the value masked in the evidence', async () => {
    // Assembled here so that this file holds no token literal.
    const token = ['ghp', '_', 'R8tW2qLx9Vb4Zk7Nm3Yc6Hd1Jf5Gs0Pa8Ue2'].join('');
    const result = await gate(await change('leak-secret', { 'src/config.js': `module.exports = {\n  url: 'https://api.github.com',\n  token: '${token}',\n};\n` }));
    expect(hitsOf(result)).toEqual([{ rule: 'secret', file: 'src/config.js', line: 3 }]);
    expect(result.hits[0]!.detail).toMatch(/^github_token: token: 'ghp_…\[redacted 40 chars\]',$/);
    expect(JSON.stringify(result)).not.toContain(token.slice(4));
  });

  it('passes a test moved to another test folder (git sees a rename) and a removed skip', async () => {
    await git(repo, ['checkout', '-q', '-b', 'move-tests', 'main']);
    mkdirSync(join(repo, 'test/unit'), { recursive: true });
    await git(repo, ['mv', 'test/math.test.js', 'test/unit/math.test.js']);
    writeFileSync(join(repo, 'test/skipped.test.js'), SKIPPED_TEST.replace('it.skip(', 'it('));
    await git(repo, ['commit', '-q', '-am', 'move and unskip']);
    const head = (await revParse(repo, 'HEAD'))!;
    await git(repo, ['checkout', '-q', 'main']);
    const { stdout } = await git(repo, ['diff', '--name-status', '-M', `main...${head}`]);
    expect(stdout).toMatch(/^R100\ttest\/math\.test\.js\ttest\/unit\/math\.test\.js$/m);
    expect(await gate(head)).toMatchObject({ status: 'passed', hits: [], omittedHits: 0 });
  });

  it('judges only the branch\'s own change: the base moving on (deleting a test) after the branch started is not the agent\'s', async () => {
    const head = await change('unrelated', { 'src/math.js': 'exports.add = (a, b) => b + a;\n' });
    await change('base-moves', { 'test/skipped.test.js': null });
    await git(repo, ['branch', '-q', 'base-ahead', 'base-moves']);
    const result = await policyGate({ checkout: repo, base: 'base-ahead', headSha: head, policy: {} });
    expect(result).toMatchObject({ status: 'passed', mergeBaseSha: (await revParse(repo, 'main'))! });
  });

  it('reads the diff with no program of the repository\'s config running and no config changing what it reads', async () => {
    const marker = join(tempDir('anti-gaming-marker'), 'ran');
    const tool = join(dirname(marker), 'tool.sh');
    writeFileSync(tool, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const head = await change('hostile-config', { 'test/math.test.js': null });
    for (const [key, value] of [['diff.external', tool], ['core.fsmonitor', tool], ['diff.noprefix', 'true'], ['diff.renames', 'false'], ['core.hooksPath', dirname(tool)]]) {
      await git(repo, ['config', key!, value!]);
    }
    try {
      expect(hitsOf(await gate(head))).toEqual([{ rule: 'test_removed', file: 'test/math.test.js', line: undefined }]);
      expect(existsSync(marker)).toBe(false);
    } finally {
      for (const key of ['diff.external', 'core.fsmonitor', 'diff.noprefix', 'diff.renames', 'core.hooksPath']) await git(repo, ['config', '--unset', key]);
    }
  });

  it('refuses a missing base or head as InvalidInput', async () => {
    await expect(policyGate({ checkout: repo, base: 'nope', headSha: 'a'.repeat(40), policy: {} })).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    await expect(policyGate({ checkout: repo, base: 'main', headSha: 'a'.repeat(40), policy: {} })).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/does not exist/) });
    await expect(policyGate({ checkout: repo, base: 'main', headSha: 'HEAD', policy: {} })).rejects.toMatchObject({ type: 'InvalidInput' });
  });
});
