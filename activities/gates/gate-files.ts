// The files that define a repository's gates: its policy file, its CI, its lint/type/test
// configuration and its agents' instructions. Rule 2 of the anti-gaming gate flags their edit, and
// the local forge's CI puts the base's version of each back before it runs the checks. Three
// manifests hold gates beside ordinary content (dependencies, metadata): there only the gate
// sections count, so adding a dependency is not a gate edit and CI keeps the head's dependencies.
import { matchesAny } from './paths.ts';

export type GateKind = 'policy' | 'ci' | 'lint' | 'types' | 'tests' | 'agent_instructions';

/** Patterns as paths.ts reads them: without a `/` a file name in any folder. */
export const GATE_FILES: Readonly<Record<GateKind, readonly string[]>> = {
  policy: ['swarmflow.repo.json'],
  ci: [
    '.github/workflows/**',
    '.github/actions/**',
    '.gitlab-ci.yml',
    '.gitlab/ci/**',
    '.circleci/**',
    'Jenkinsfile',
    'azure-pipelines.yml',
    '.azure-pipelines/**',
    '.travis.yml',
    'bitbucket-pipelines.yml',
    '.buildkite/**',
    '.drone.yml',
    '.woodpecker.yml',
    '.woodpecker/**',
    '.pre-commit-config.yaml',
    '.husky/**',
    'lefthook.yml',
  ],
  lint: [
    'eslint.config.*',
    '.eslintrc',
    '.eslintrc.*',
    '.eslintignore',
    '.prettierrc',
    '.prettierrc.*',
    'prettier.config.*',
    '.prettierignore',
    'biome.json',
    'biome.jsonc',
    '.stylelintrc*',
    '.flake8',
    '.pylintrc',
    'pylintrc',
    'ruff.toml',
    '.ruff.toml',
    '.golangci.yml',
    '.golangci.yaml',
    '.rubocop.yml',
    'rustfmt.toml',
    'clippy.toml',
  ],
  types: ['tsconfig.json', 'tsconfig.*.json', 'jsconfig.json', 'mypy.ini', '.mypy.ini', 'pyrightconfig.json'],
  tests: [
    'jest.config.*',
    'vitest.config.*',
    'vitest.workspace.*',
    'karma.conf.*',
    '.mocharc*',
    'playwright.config.*',
    'cypress.config.*',
    'pytest.ini',
    'tox.ini',
    'noxfile.py',
    '.coveragerc',
    '.nycrc',
    '.nycrc.*',
    '.c8rc',
    '.c8rc.*',
    'codecov.yml',
    '.codecov.yml',
  ],
  agent_instructions: [
    'AGENTS.md',
    'AGENTS.override.md',
    'CLAUDE.md',
    'CLAUDE.local.md',
    'GEMINI.md',
    '.cursorrules',
    '.cursor/rules/**',
    '.windsurfrules',
    '.clinerules',
    '.github/copilot-instructions.md',
    '.claude/**',
    '.gemini/**',
    '.codex/**',
    '.mcp.json',
  ],
};

/** The kind of gate a whole file defines, if any. */
export function gateFileKind(path: string): GateKind | undefined {
  return (Object.keys(GATE_FILES) as GateKind[]).find((kind) => matchesAny(path, GATE_FILES[kind]));
}

// ---- manifests: gates beside dependencies ----

/** package.json: npm scripts of these names (and their pre/post hooks) run the gates. */
const GATE_SCRIPT = /^(?:pre|post)?(?:lint|test|tests|typecheck|type-check|types|tsc|check|coverage|format|ci|verify|validate|e2e|jest|vitest|eslint|prettier)(?:[:._-].*)?$/;
/** package.json fields that configure a gate tool inline. */
const PACKAGE_GATE_FIELDS = ['jest', 'eslintConfig', 'prettier', 'nyc', 'c8', 'vitest', 'mocha', 'ava', 'lint-staged', 'husky'];
/** pyproject.toml tables (and their sub-tables) that configure a gate tool. */
const PYPROJECT_GATE_TABLE = /^tool\.(?:pytest|coverage|mypy|ruff|black|isort|pylint|pyright|flake8|tox|pytype|bandit)(?:\.|$)/;
/** setup.cfg sections that configure a gate tool. */
const SETUP_CFG_GATE_SECTION = /^(?:tool:pytest|coverage:.*|flake8|mypy(?:-.*)?|isort|pylint.*|pycodestyle|pydocstyle)$/;

export type Manifest = 'package.json' | 'pyproject.toml' | 'setup.cfg';
const MANIFESTS: readonly Manifest[] = ['package.json', 'pyproject.toml', 'setup.cfg'];

/** The manifest a path is (by file name, in any folder), if any. */
export const manifestOf = (path: string): Manifest | undefined => MANIFESTS.find((m) => path === m || path.endsWith(`/${m}`));

interface Section {
  name: string;
  text: string;
}

/** An INI or TOML file as its sections, the lines before the first header being the section "". */
function sections(text: string): Section[] {
  const out: Section[] = [{ name: '', text: '' }];
  for (const line of text.split(/(?<=\n)/)) {
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:[#;].*)?$/.exec(line.replace(/\r?\n$/, ''));
    if (header) out.push({ name: header[1]!.replace(/\s*\.\s*/g, '.').replace(/["']/g, ''), text: '' });
    out.at(-1)!.text += line;
  }
  return out;
}

const isGateSection = (manifest: Manifest, name: string) => (manifest === 'pyproject.toml' ? PYPROJECT_GATE_TABLE : SETUP_CFG_GATE_SECTION).test(name);

const asObject = (value: unknown): Record<string, unknown> | undefined =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** A JSON object, or undefined for anything else (absent, invalid, an array). */
function parseJsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Each gate part of a manifest by name (`scripts.test`, `jest`, `tool.pytest.ini_options`), as comparable text. */
function gateParts(manifest: Manifest, text: string | undefined): Map<string, string> {
  const parts = new Map<string, string>();
  if (manifest === 'package.json') {
    const json = parseJsonObject(text) ?? {};
    for (const [name, command] of Object.entries(asObject(json.scripts) ?? {})) if (GATE_SCRIPT.test(name)) parts.set(`scripts.${name}`, JSON.stringify(command));
    for (const field of PACKAGE_GATE_FIELDS) if (field in json) parts.set(field, JSON.stringify(json[field]));
    return parts;
  }
  for (const { name, text: body } of sections(text ?? '')) {
    if (!isGateSection(manifest, name)) continue;
    // Whitespace-only differences are no gate edit.
    const normalised = body.split('\n').slice(1).map((l) => l.trim()).filter(Boolean).join('\n');
    parts.set(name, `${parts.get(name) ?? ''}${normalised}\n`);
  }
  return parts;
}

/** The gate parts a change of this manifest touches: added, removed or changed. */
export function changedGateParts(manifest: Manifest, before: string | undefined, after: string | undefined): string[] {
  const a = gateParts(manifest, before);
  const b = gateParts(manifest, after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((name) => a.get(name) !== b.get(name)).sort();
}

/**
 * The head's manifest with the base's gates: package.json's whole `scripts` (a gate script can
 * call any other) and gate fields, pyproject/setup.cfg's gate sections. Everything else is the head's.
 */
export function withBaseGates(manifest: Manifest, head: string, base: string | undefined): string {
  if (manifest === 'package.json') {
    const headJson = parseJsonObject(head);
    // An unreadable head manifest stays as it is: the check that reads it fails on its own.
    if (!headJson) return head;
    const baseJson = parseJsonObject(base) ?? {};
    const merged: Record<string, unknown> = { ...headJson };
    for (const field of ['scripts', ...PACKAGE_GATE_FIELDS]) {
      if (field in baseJson) merged[field] = baseJson[field];
      else delete merged[field];
    }
    return `${JSON.stringify(merged, null, 2)}\n`;
  }
  const kept = sections(head).filter((s) => !isGateSection(manifest, s.name));
  const fromBase = sections(base ?? '').filter((s) => isGateSection(manifest, s.name));
  const text = kept.map((s) => s.text).join('');
  return fromBase.length === 0 ? text : `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${fromBase.map((s) => s.text).join('')}`;
}
