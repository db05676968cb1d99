// What the evidence parsers read out of raw output: plain data, so a classification can be
// recorded in workflow state and compared in golden files.

export const RUNNERS = ['jest', 'vitest', 'node-test', 'pytest', 'go-test', 'tsc', 'eslint', 'ruff'] as const;
export type Runner = (typeof RUNNERS)[number];

/** One failing test or one reported problem, as the runner printed it. */
export interface ParsedFailure {
  /** The test's full name (suite › test), for test runners. */
  test?: string;
  /** Repository-relative where the runner printed it so. */
  file?: string;
  line?: number;
  /** The first line of the error: what a human reads first. */
  message: string;
  /** The assertion's detail (expected/received, a snapshot diff, a compiler's elaboration). */
  assertion?: string;
  /** The broken rule for lint and type checkers: `TS2322`, `no-unused-vars`, `F401`. */
  rule?: string;
  /** The source lines the runner showed around the failure (a code frame), when it showed any. */
  frame?: string;
}

export interface RunnerReport {
  runner: Runner;
  failures: ParsedFailure[];
}

/** Runners whose failures are failing tests; the others report broken rules (types, lint). */
export const TEST_RUNNERS: readonly Runner[] = ['jest', 'vitest', 'node-test', 'pytest', 'go-test'];

/** A parser never reports more than this many failures: the next prompt names a few, not all. */
export const MAX_FAILURES = 50;
