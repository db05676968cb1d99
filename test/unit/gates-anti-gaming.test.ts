// Rules 1 and 2 of the policy gate over parsed diffs: what counts as removing or disabling a test,
// lowering coverage, or editing the gates, and the look-alikes that must not count.
import { describe, expect, it } from '@jest/globals';
import { coverageHits, gateHits, isTestFile, testHits } from '../../activities/gates/anti-gaming.ts';
import { secretHits } from '../../activities/gates/secrets.ts';
import type { DiffFile } from '../../activities/gates/unified-diff.ts';

/** A changed file whose added lines start at line 10 and removed ones at line 20. */
function file(path: string, { added = [], removed = [], status = 'modified', oldPath }: { added?: string[]; removed?: string[]; status?: DiffFile['status']; oldPath?: string } = {}): DiffFile {
  return { path, status, oldPath, added: added.map((text, i) => ({ line: 10 + i, text })), removed: removed.map((text, i) => ({ line: 20 + i, text })) };
}
const noPolicy = { protectedPaths: [], allowPaths: [] };

describe('isTestFile', () => {
  it.each(['test/unit/a.test.ts', 'src/__tests__/a.js', 'src/a.spec.tsx', 'tests/test_api.py', 'pkg/api_test.go', 'src/test/java/FooTest.java', 'conftest.py', 'spec/models/user_spec.rb'])(
    '%s is a test file',
    (path) => expect(isTestFile(path)).toBe(true),
  );
  it.each(['src/latest.ts', 'src/testing-utils/readme.md', 'test/fixtures/data.json', 'contest.py', 'src/attest.go'])('%s is not', (path) => expect(isTestFile(path)).toBe(false));
});

describe('testHits', () => {
  it('flags a deleted test file and a test moved where it no longer runs, not one moved to another test folder', () => {
    const hits = testHits([
      file('test/a.test.ts', { status: 'deleted' }),
      file('src/b.ts.bak', { status: 'renamed', oldPath: 'test/b.test.ts' }),
      file('test/unit/c.test.ts', { status: 'renamed', oldPath: 'test/c.test.ts' }),
      file('src/d.ts', { status: 'deleted' }),
    ]);
    expect(hits).toEqual([
      { rule: 'test_removed', file: 'test/a.test.ts', detail: 'test file deleted' },
      { rule: 'test_removed', file: 'src/b.ts.bak', detail: 'test file test/b.test.ts moved where it no longer runs as a test' },
    ]);
  });

  it.each([
    ['test/a.test.ts', "  it.skip('adds', () => {"],
    ['test/a.test.ts', "xit('adds', () => {"],
    ['test/a.test.ts', "xdescribe('math', () => {"],
    ['test/a.test.ts', "it.only('adds', () => {"],
    ['test/a.test.ts', "describe.only('math', () => {"],
    ['test/a.test.ts', "test.only('adds', () => {"],
    ['test/a.test.ts', "describe.skip('math', () => {"],
    ['test/a.test.ts', "test.skip('adds', () => {"],
    ['test/a.test.ts', "test.todo('adds')"],
    ['test/a.test.ts', "it.skip.each([1])('x %s', () => {})"],
    ['test/a.test.ts', "test.concurrent.skip('adds', async () => {"],
    ['tests/test_api.py', '@pytest.mark.skip(reason="flaky")'],
    ['tests/test_api.py', "@pytest.mark.skipif(sys.platform == 'linux', reason='x')"],
    ['tests/test_api.py', '@pytest.mark.xfail'],
    ['tests/test_api.py', "    pytest.skip('later')"],
    ['src/test/java/FooTest.java', '  @Disabled("later")'],
    ['src/test/java/FooTest.java', '  @Ignore'],
    ['pkg/api_test.go', '\tt.Skip("later")'],
    ['pkg/api_test.go', '\tt.Skipf("later %d", 1)'],
  ])('an added disabler in %s: %s', (path, line) => {
    const hits = testHits([file(path, { added: ['const a = 1;', line] })]);
    expect(hits).toEqual([expect.objectContaining({ rule: 'test_disabled', file: path, line: 11 })]);
  });

  it("quotes the disabling line as evidence with any secret on it masked", () => {
    const token = ['ghp', '_', 'R8tW2qLx9Vb4Zk7Nm3Yc6Hd1Jf5Gs0Pa8Ue2'].join('');
    const [hit] = testHits([file('test/a.test.ts', { added: [`it.skip('calls the API', () => call('${token}'));`] })]);
    expect(hit!.detail).toBe("a skipped, focused or todo JS test: it.skip('calls the API', () => call('ghp_…[redacted 40 chars]'));");
  });

  it('counts only added lines: a removed skip, a moved skip and a skip outside test files are no hit', () => {
    expect(testHits([file('test/a.test.ts', { removed: ["it.skip('adds', () => {"], added: ["it('adds', () => {"] })])).toEqual([]);
    expect(testHits([file('test/a.test.ts', { removed: ["  it.skip('adds', () => {"], added: ["it.skip('adds', () => {"] })])).toEqual([]);
    expect(testHits([file('docs/testing.md', { added: ['Use `it.skip` sparingly.'] }), file('src/skip.ts', { added: ['export const skip = (t) => t.skip'] })])).toEqual([]);
  });

  it('does not mistake names that merely contain the words', () => {
    const added = ["const fit = require('fit');", 'exit(1)', 'const skip = onlyIf(x);', "submit('x')", 'it.skipped = false'];
    expect(testHits([file('test/a.test.ts', { added })])).toEqual([]);
  });
});

describe('coverageHits', () => {
  it('flags a lowered jest threshold at the added line, not a raised one', () => {
    const lowered = file('jest.config.js', { removed: ['    global: { lines: 90, branches: 80 },'], added: ['    global: { lines: 70, branches: 85 },'] });
    expect(coverageHits([lowered])).toEqual([{ rule: 'coverage_lowered', file: 'jest.config.js', line: 10, detail: 'coverage threshold lines lowered from 90 to 70' }]);
  });

  it.each([
    ['package.json', '"test": "c8 --check-coverage --lines 90 node --test"', '"test": "c8 --check-coverage --lines 50 node --test"', 'lines lowered from 90 to 50'],
    ['package.json', '"test": "c8 --check-coverage --lines 90 node --test"', '"test": "c8 --lines 90 node --test"', 'check_coverage 1 removed'],
    ['.nycrc.json', '"check-coverage": true,', '"check-coverage": false,', 'check_coverage lowered from 1 to 0'],
    ['pytest.ini', 'addopts = --cov=app --cov-fail-under=85', 'addopts = --cov=app --cov-fail-under=60', 'fail_under lowered from 85 to 60'],
    ['.coveragerc', 'fail_under = 90', 'fail_under = 80', 'fail_under lowered from 90 to 80'],
    ['pyproject.toml', 'fail_under = 90', '', 'fail_under 90 removed'],
  ])('%s: %s -> %s', (path, before, after, detail) => {
    const hits = coverageHits([file(path, { removed: [before], added: after ? [after] : [] })]);
    expect(hits).toHaveLength(1);
    expect(hits[0]!.detail).toContain(detail);
  });

  it('ignores numbers that are no coverage setting and files that hold no coverage configuration', () => {
    expect(coverageHits([file('.eslintrc.json', { removed: ['"max-lines": 300'], added: ['"max-lines": 100'] })])).toEqual([]);
    expect(coverageHits([file('src/report.ts', { removed: ['const lines = 90;'], added: ['const lines = 10;'] })])).toEqual([]);
  });
});

describe('on hostile lines', () => {
  it('every rule stays linear: a 100,000-character line of near-matches is judged in well under a second', () => {
    const lines = ['token'.repeat(20_000), `lines${' '.repeat(100_000)}`, 'eyJ'.repeat(33_000), 'it.'.repeat(33_000), `password${'a'.repeat(100_000)}`, 'a'.repeat(100_000)];
    const started = performance.now();
    const files = lines.map((text) => file('test/a.test.js', { added: [text], removed: [text.slice(1)] }));
    testHits(files);
    coverageHits(files.map((f) => ({ ...f, path: 'jest.config.js' })));
    secretHits(files);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('gateHits', () => {
  it('flags every kind of gate file, a protected path, and what the policy allows not', () => {
    const files = [
      file('swarmflow.repo.json', { added: ['{"ci": []}'] }),
      file('.github/workflows/ci.yml', { added: ['    - run: true'] }),
      file('packages/web/tsconfig.json', { added: ['"strict": false'] }),
      file('eslint.config.js', { status: 'deleted' }),
      file('AGENTS.md', { added: ['Tests are optional.'] }),
      file('src/payments/charge.ts', { added: ['x'] }),
      file('src/payments/README.md', { added: ['x'] }),
      file('.github/workflows/docs.yml', { added: ['x'] }),
      file('src/app.ts', { added: ['x'] }),
    ];
    const hits = gateHits(files, [], { protectedPaths: ['src/payments/**'], allowPaths: ['.github/workflows/docs.yml', 'src/payments/*.md'] });
    expect(hits).toEqual([
      { rule: 'gate_edited', file: 'swarmflow.repo.json', line: 10, detail: 'policy file modified' },
      { rule: 'gate_edited', file: '.github/workflows/ci.yml', line: 10, detail: 'ci file modified' },
      { rule: 'gate_edited', file: 'packages/web/tsconfig.json', line: 10, detail: 'types file modified' },
      { rule: 'gate_edited', file: 'eslint.config.js', line: undefined, detail: 'lint file deleted' },
      { rule: 'gate_edited', file: 'AGENTS.md', line: 10, detail: 'agent instructions file modified' },
      { rule: 'protected_path', file: 'src/payments/charge.ts', line: 10, detail: 'protected path modified' },
    ]);
  });

  it('a gate file renamed away is still an edit of it', () => {
    const hits = gateHits([file('old/jest.config.js.txt', { status: 'renamed', oldPath: 'jest.config.js' })], [], noPolicy);
    expect(hits).toEqual([{ rule: 'gate_edited', file: 'old/jest.config.js.txt', line: undefined, detail: 'tests file renamed from jest.config.js' }]);
  });

  it('in package.json only gate scripts and gate tool fields count, not dependencies or other scripts', () => {
    const before = JSON.stringify({ scripts: { test: 'jest', build: 'tsc' }, dependencies: { a: '1' } }, null, 2);
    const deps = JSON.stringify({ scripts: { test: 'jest', build: 'tsc -b', dev: 'vite' }, dependencies: { a: '1', b: '2' } }, null, 2);
    const depsFile = file('package.json', { added: ['    "build": "tsc -b",'] });
    expect(gateHits([depsFile], [{ path: 'package.json', before, after: deps }], noPolicy)).toEqual([]);

    const weakened = JSON.stringify({ scripts: { test: 'true', build: 'tsc', 'test:unit': 'jest' }, jest: { bail: true }, dependencies: { a: '1' } }, null, 2);
    const weakenedFile = file('package.json', { added: ['  "jest": { "bail": true },', '    "test": "true",'] });
    expect(gateHits([weakenedFile], [{ path: 'package.json', before, after: weakened }], noPolicy)).toEqual([
      { rule: 'gate_edited', file: 'package.json', line: 10, detail: 'gate settings changed: jest, scripts.test, scripts.test:unit' },
    ]);
  });

  it('in pyproject.toml only the gate tools\' tables count', () => {
    const before = '[project]\nname = "app"\ndependencies = []\n\n[tool.pytest.ini_options]\naddopts = "-q"\n';
    const deps = '[project]\nname = "app"\ndependencies = ["requests"]\n\n[tool.pytest.ini_options]\naddopts = "-q"\n';
    const changed = file('pyproject.toml', { added: ['dependencies = ["requests"]'] });
    expect(gateHits([changed], [{ path: 'pyproject.toml', before, after: deps }], noPolicy)).toEqual([]);
    const weakened = `${deps.replace('"-q"', '"-q -k not_slow"')}\n[tool.mypy]\nignore_errors = true\n`;
    const hits = gateHits([changed], [{ path: 'pyproject.toml', before, after: weakened }], noPolicy);
    expect(hits.map((h) => h.detail)).toEqual(['gate settings changed: tool.mypy, tool.pytest.ini_options']);
  });
});
