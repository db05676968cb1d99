/**
 * The environment of a command the worker runs for someone else (a repository's CI or install, a
 * reviewer): PATH, HOME and LANG only. The worker's own env holds secrets (database URL, tokens).
 */
export function minimalEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG'] as const) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}
