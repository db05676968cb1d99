import { ConfigError } from '../../lib/config.ts';

/** The problems a configuration load refused with; fails the test when it loaded, or threw something else. */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
