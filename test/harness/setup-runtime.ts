// Every suite: Temporal's runtime logs only warnings, so test output shows what matters.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed in this module registry.
}
