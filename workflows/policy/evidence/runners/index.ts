// Which runner printed a CI log, and its failures. One check's log can hold several runners
// (`npm test` running eslint, then tsc, then jest): every runner whose signature appears is
// parsed, in the order its output appears. The check's name only helps when no signature does.
import { stripAnsi } from '../../text.ts';
import type { ParsedFailure, Runner, RunnerReport } from '../types.ts';
import { detectEslint, parseEslint } from './eslint.ts';
import { detectGoTest, parseGoTest } from './go-test.ts';
import { detectJest, parseJest } from './jest.ts';
import { detectNodeTest, parseNodeTest } from './node-test.ts';
import { detectPytest, parsePytest } from './pytest.ts';
import { detectRuff, parseRuff } from './ruff.ts';
import { detectTsc, parseTsc } from './tsc.ts';
import { detectVitest, parseVitest } from './vitest.ts';

interface Parser {
  detect(text: string): boolean;
  parse(text: string, root?: string): ParsedFailure[];
  /** Where its output starts in a log, to order several runners as they ran. */
  marker: RegExp;
  /** Check names that suggest it: `pytest`, `go test`, `typecheck`. */
  hint: RegExp;
}

// Vitest before jest: both print FAIL lines, only vitest prints `>` paths and `⎯` rules.
const PARSERS: Record<Runner, Parser> = {
  vitest: { detect: detectVitest, parse: parseVitest, marker: /^\s*RUN\s+v\d|^\s*FAIL\s+\S+\s+>/m, hint: /vitest/i },
  jest: { detect: detectJest, parse: parseJest, marker: /^\s*(?:FAIL|PASS)\s+\S/m, hint: /jest/i },
  'node-test': { detect: detectNodeTest, parse: parseNodeTest, marker: /^TAP version|^\s*[✖✔▶] /m, hint: /node[:\s-]?test/i },
  pytest: { detect: detectPytest, parse: parsePytest, marker: /^=+ test session starts|^(?:FAILED|ERROR) \S+\.py/m, hint: /pytest/i },
  'go-test': { detect: detectGoTest, parse: parseGoTest, marker: /^=== RUN|^\s*--- FAIL|^(?:FAIL|ok)\s+\S+\s/m, hint: /\bgo\b/i },
  tsc: { detect: detectTsc, parse: parseTsc, marker: /error TS\d+:/m, hint: /\btsc\b|type-?check|types/i },
  eslint: { detect: detectEslint, parse: parseEslint, marker: /^✖ \d+ problems?|\[(?:Error|Warning)/m, hint: /eslint|\blint\b/i },
  ruff: { detect: detectRuff, parse: parseRuff, marker: /^\S+\.pyi?:\d+:\d+: [A-Z]+\d+|^Found \d+ errors?\./m, hint: /ruff/i },
};

/** Runners a log came from, in order of appearance (the check's name decides only when none is recognised). */
export function detectRunners(text: string, checkName = ''): Runner[] {
  const found = (Object.keys(PARSERS) as Runner[]).filter((r) => PARSERS[r].detect(text));
  // Vitest's output also matches jest's FAIL lines.
  const runners = found.includes('vitest') ? found.filter((r) => r !== 'jest') : found;
  if (runners.length > 0) return runners.sort((a, b) => position(text, a) - position(text, b) || a.localeCompare(b));
  const hinted = (Object.keys(PARSERS) as Runner[]).find((r) => PARSERS[r].hint.test(checkName));
  return hinted ? [hinted] : [];
}

const position = (text: string, runner: Runner) => {
  const at = text.search(PARSERS[runner].marker);
  return at < 0 ? text.length : at;
};

const MAX_LINE = 2_000;

/** Each recognised runner's failures, escapes stripped; a runner that printed none is left out. */
export function parseCiOutput(raw: string, checkName = '', root?: string): RunnerReport[] {
  // Lines capped: a minified bundle or a base64 blob on one line must not cost a parser quadratic time.
  const text = stripAnsi(raw)
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => (line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line))
    .join('\n');
  return detectRunners(text, checkName)
    .map((runner) => ({ runner, failures: PARSERS[runner].parse(text, root) }))
    .filter((report) => report.failures.length > 0);
}
