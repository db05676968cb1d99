// The gate-definition files: which paths define gates, and the head's manifest with the base's
// gates put back (what the local forge's CI runs), keeping the head's dependencies.
import { describe, expect, it } from '@jest/globals';
import { changedGateParts, gateFileKind, withBaseGates } from '../../activities/gates/gate-files.ts';
import { matchesGlob } from '../../activities/gates/paths.ts';

describe('matchesGlob', () => {
  it.each([
    ['src/payments/a/b.ts', 'src/payments/**', true],
    ['src/payments', 'src/payments/**', false],
    ['src/payments/a.ts', 'src/payments/', true],
    ['lib/src/payments/a.ts', 'src/payments/', false],
    ['src/a.ts', 'src/*.ts', true],
    ['src/x/a.ts', 'src/*.ts', false],
    ['deep/down/Jenkinsfile', 'Jenkinsfile', true],
    ['a/b/c.sql', '**/*.sql', true],
    ['c.sql', '**/*.sql', true],
    ['a.b', 'a?b', true],
    ['a/b', 'a?b', false],
    ['src/a+b.ts', 'src/a+b.ts', true],
  ])('%s against %s: %s', (path, pattern, expected) => expect(matchesGlob(path, pattern)).toBe(expected));
});

describe('gateFileKind', () => {
  it.each([
    ['swarmflow.repo.json', 'policy'],
    ['.github/workflows/ci.yml', 'ci'],
    ['.gitlab-ci.yml', 'ci'],
    ['.circleci/config.yml', 'ci'],
    ['Jenkinsfile', 'ci'],
    ['eslint.config.js', 'lint'],
    ['web/.eslintrc.cjs', 'lint'],
    ['.prettierrc', 'lint'],
    ['tsconfig.json', 'types'],
    ['packages/a/tsconfig.build.json', 'types'],
    ['jest.config.js', 'tests'],
    ['vitest.config.ts', 'tests'],
    ['pytest.ini', 'tests'],
    ['tox.ini', 'tests'],
    ['.coveragerc', 'tests'],
    ['AGENTS.md', 'agent_instructions'],
    ['services/api/CLAUDE.md', 'agent_instructions'],
    ['.cursor/rules/style.mdc', 'agent_instructions'],
  ])('%s is a %s gate file', (path, kind) => expect(gateFileKind(path)).toBe(kind));
  it.each(['src/jest.ts', 'docs/agents.md', 'package.json', 'pyproject.toml', 'github/workflows/x.yml', 'tsconfig.ts'])('%s is none', (path) => expect(gateFileKind(path)).toBeUndefined());
});

describe('withBaseGates', () => {
  it('package.json: the head with the base\'s scripts and gate fields, dependencies kept', () => {
    const base = JSON.stringify({ name: 'app', scripts: { test: 'jest' }, jest: { testTimeout: 5000 }, dependencies: { a: '1' } });
    const head = JSON.stringify({ name: 'app', scripts: { test: 'true', dev: 'vite' }, c8: { lines: 0 }, dependencies: { a: '1', b: '2' } });
    const merged: unknown = JSON.parse(withBaseGates('package.json', head, base));
    expect(merged).toEqual({ name: 'app', scripts: { test: 'jest' }, jest: { testTimeout: 5000 }, dependencies: { a: '1', b: '2' } });
    expect(changedGateParts('package.json', base, JSON.stringify(merged))).toEqual([]);
  });

  it('pyproject.toml: the head\'s tables with the base\'s gate tables', () => {
    const base = '[project]\nname = "app"\n\n[tool.pytest.ini_options]\naddopts = "--cov-fail-under=90"\n\n[tool.coverage.report]\nfail_under = 90\n';
    const head = '[project]\nname = "app"\ndependencies = ["requests"]\n\n[tool.pytest.ini_options]\naddopts = "-k not slow"\n';
    const merged = withBaseGates('pyproject.toml', head, base);
    expect(merged).toContain('dependencies = ["requests"]');
    expect(merged).toContain('addopts = "--cov-fail-under=90"');
    expect(merged).toContain('[tool.coverage.report]\nfail_under = 90');
    expect(merged).not.toContain('not slow');
    expect(changedGateParts('pyproject.toml', base, merged)).toEqual([]);
  });

  it('setup.cfg: a gate section the head added and the base lacks goes', () => {
    const base = '[metadata]\nname = app\n';
    const head = '[metadata]\nname = app\n\n[tool:pytest]\naddopts = --deselect tests/test_a.py\n';
    expect(withBaseGates('setup.cfg', head, base)).toBe('[metadata]\nname = app\n\n');
  });
});
