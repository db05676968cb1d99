// Rules 1 and 2 of the policy gate, over the diff of the task branch against its merge-base:
// tests removed or disabled (only what the change adds or deletes counts: a removed `.skip` is
// good), coverage thresholds lowered, and the gates' own definitions or protected paths edited.
// Pure and deterministic: the host activity (index.ts) gives it git's diff and the manifests' texts.
import type { PolicyHit, RepoPolicy } from '../../workflows/task/types.ts';
import { changedGateParts, gateFileKind, manifestOf } from './gate-files.ts';
import { matchesAny } from './paths.ts';
import { excerptOf } from './secrets.ts';
import type { DiffFile, DiffLine } from './unified-diff.ts';

/** Where tests live, by folder or by file name, in the languages swarmflow's users write. */
const TEST_PATHS = [
  '**/__tests__/**',
  '**/test/**',
  '**/tests/**',
  '**/spec/**',
  '**/e2e/**',
  '*.test.*',
  '*.spec.*',
  '*.e2e.*',
  'test_*.py',
  '*_test.py',
  'conftest.py',
  '*_test.go',
  '*Test.java',
  '*Tests.java',
  '*IT.java',
  '*Test.kt',
  '*Tests.kt',
  '*_spec.rb',
];
/** Only code counts as a test file: deleting a fixture's data is not deleting a test. */
const CODE_FILE = /\.(?:[cm]?[jt]sx?|py|go|java|kt|rb|rs|cs|php|swift|scala|ex|exs)$/;

export const isTestFile = (path: string) => CODE_FILE.test(path) && matchesAny(path, TEST_PATHS);

/** What disables or narrows a test run, by language; each matched on one added line of a test file. */
const DISABLERS: ReadonlyArray<{ what: string; pattern: RegExp }> = [
  { what: 'a skipped, focused or todo JS test', pattern: /\b(?:it|test|describe|context|suite|specify|bench)(?:\.(?:concurrent|each|serial))*\.(?:skip|only|todo|fixme|skipIf|runIf)\b/ },
  { what: 'a skipped or focused JS test', pattern: /(?<![\w.$])(?:xit|xtest|xdescribe|xcontext|xspecify|xsuite|fit|fdescribe|ftest)\s*\(/ },
  { what: 'a skipped pytest test', pattern: /@pytest\.mark\.(?:skip|skipif|xfail)\b|\bpytest\.(?:skip|xfail|importorskip)\s*\(/ },
  { what: 'a skipped unittest test', pattern: /@unittest\.(?:skip|skipIf|skipUnless|expectedFailure)\b|\bself\.skipTest\s*\(/ },
  { what: 'a disabled JUnit test', pattern: /@(?:Disabled|Ignore)\b/ },
  { what: 'a skipped Go test', pattern: /\b[tb]\.Skip(?:Now|f)?\s*\(/ },
  { what: 'an ignored Rust test', pattern: /#\[ignore\b/ },
];

const normalised = (text: string) => text.trim().replace(/\s+/g, ' ');

/** Added lines that were not merely moved: a line removed from the same file and added back is no change. */
function reallyAdded(file: DiffFile): DiffLine[] {
  const removed = new Map<string, number>();
  for (const l of file.removed) removed.set(normalised(l.text), (removed.get(normalised(l.text)) ?? 0) + 1);
  return file.added.filter((l) => {
    const left = removed.get(normalised(l.text)) ?? 0;
    if (left === 0) return true;
    removed.set(normalised(l.text), left - 1);
    return false;
  });
}

export function testHits(files: readonly DiffFile[]): PolicyHit[] {
  const hits: PolicyHit[] = [];
  for (const file of files) {
    const before = file.oldPath ?? file.path;
    if (file.status === 'deleted' && isTestFile(file.path)) hits.push({ rule: 'test_removed', file: file.path, detail: 'test file deleted' });
    else if (file.status === 'renamed' && isTestFile(before) && !isTestFile(file.path)) {
      hits.push({ rule: 'test_removed', file: file.path, detail: `test file ${before} moved where it no longer runs as a test` });
    }
    if (file.status === 'deleted' || !isTestFile(file.path)) continue;
    for (const line of reallyAdded(file)) {
      const disabler = DISABLERS.find((d) => d.pattern.test(line.text));
      if (disabler) hits.push({ rule: 'test_disabled', file: file.path, line: line.line, detail: `${disabler.what}: ${excerptOf(normalised(line.text))}` });
    }
  }
  return hits;
}

// ---- coverage thresholds ----

/** `lines: 80`, `"branches": 90`, `--lines 80`, `--cov-fail-under=85`, `fail_under = 90`: a key and its number. */
// Bounded repetitions, so that no agent-written line makes the scan quadratic.
const THRESHOLD = /(?<![\w-])(?:--)?(cov-fail-under|fail[_-]under|lines|branches|functions|statements)["']?[ \t]{0,8}[:=\s][ \t]{0,8}["']?(\d{1,3}(?:\.\d{1,4})?)/g;
/** `--check-coverage`, `check-coverage: true`, `"checkCoverage": false`: whether a threshold is enforced at all (1 or 0). */
const CHECK_COVERAGE = /(?<![\w-])(?:--)?(?:check-coverage|checkCoverage)(?:["']?[ \t]{0,8}[:=][ \t]{0,8}["']?(true|false))?/g;

function thresholds(lines: readonly DiffLine[]): Map<string, Array<{ value: number; line: number }>> {
  const out = new Map<string, Array<{ value: number; line: number }>>();
  const add = (key: string, value: number, line: number) => out.set(key, [...(out.get(key) ?? []), { value, line }]);
  for (const { text, line } of lines) {
    for (const m of text.matchAll(THRESHOLD)) add(m[1]!.replace(/^cov-/, '').replace('-', '_'), Number(m[2]), line);
    for (const m of text.matchAll(CHECK_COVERAGE)) add('check_coverage', m[1] === 'false' ? 0 : 1, line);
  }
  return out;
}

/** Whether coverage is configured in this file: test and CI configuration, and the manifests. */
const mayHoldCoverage = (path: string) => manifestOf(path) !== undefined || ['tests', 'ci'].includes(gateFileKind(path) ?? '');

export function coverageHits(files: readonly DiffFile[]): PolicyHit[] {
  const hits: PolicyHit[] = [];
  for (const file of files) {
    if (file.status === 'deleted' || !mayHoldCoverage(file.path)) continue;
    const removed = thresholds(file.removed);
    const added = thresholds(file.added);
    for (const [key, before] of removed) {
      // Paired lowest to lowest: a threshold lowered anywhere shows as a lower value in some pair.
      const olds = [...before].sort((a, b) => a.value - b.value);
      const news = [...(added.get(key) ?? [])].sort((a, b) => a.value - b.value);
      olds.forEach((old, i) => {
        const now = news[i];
        if (!now) hits.push({ rule: 'coverage_lowered', file: file.path, detail: `coverage threshold ${key} ${old.value} removed (line ${old.line} on the base)` });
        else if (now.value < old.value) hits.push({ rule: 'coverage_lowered', file: file.path, line: now.line, detail: `coverage threshold ${key} lowered from ${old.value} to ${now.value}` });
      });
    }
  }
  return hits;
}

// ---- the gates' own definitions, and protected paths ----

export interface ManifestVersions {
  path: string;
  /** The file's text on the merge-base and on the head; undefined where it does not exist. */
  before?: string;
  after?: string;
}

/** The first added line naming one of these keys (a JSON key in quotes), else the file's first added line. */
function lineOf(file: DiffFile, keys: string[]): number | undefined {
  const named = file.added.find((l) => keys.some((k) => l.text.includes(`"${k}"`)));
  return (named ?? file.added[0])?.line;
}

export function gateHits(files: readonly DiffFile[], manifests: readonly ManifestVersions[], policy: Pick<RepoPolicy, 'protectedPaths' | 'allowPaths'>): PolicyHit[] {
  const hits: PolicyHit[] = [];
  for (const file of files) {
    const paths = [...new Set([file.oldPath, file.path].filter((p): p is string => p !== undefined))];
    if (paths.every((p) => matchesAny(p, policy.allowPaths))) continue;
    const what = file.status === 'renamed' ? `renamed from ${file.oldPath}` : file.status;
    const line = file.status === 'deleted' ? undefined : file.added[0]?.line;
    const kind = paths.map(gateFileKind).find((k) => k !== undefined);
    const manifest = manifestOf(file.path);
    if (kind) hits.push({ rule: 'gate_edited', file: file.path, line, detail: `${kind.replace('_', ' ')} file ${what}` });
    else if (manifest) {
      const versions = manifests.find((m) => m.path === file.path);
      const parts = changedGateParts(manifest, versions?.before, versions?.after);
      if (parts.length > 0) {
        const keys = parts.map((p) => p.replace(/^scripts\./, ''));
        hits.push({ rule: 'gate_edited', file: file.path, line: lineOf(file, keys), detail: `gate settings changed: ${parts.join(', ')}` });
      }
    }
    if (!kind && paths.some((p) => matchesAny(p, policy.protectedPaths))) hits.push({ rule: 'protected_path', file: file.path, line, detail: `protected path ${what}` });
  }
  return hits;
}
