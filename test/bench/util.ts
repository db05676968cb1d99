// Small helpers for the bench: scratch folders, statistics, formatting, progress on stderr.
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';

/** Bench scratch space, inside the project (gitignored with the rest of .swarmflow). */
export const BENCH_ROOT = join(PROJECT_ROOT, '.swarmflow', 'bench');

/** A fresh folder under BENCH_ROOT, readable by the `postgres` user (as test/harness/paths.ts tempDir). */
export function benchDir(prefix: string): string {
  mkdirSync(BENCH_ROOT, { recursive: true });
  chmodSync(BENCH_ROOT, 0o755);
  const dir = mkdtempSync(join(BENCH_ROOT, `${prefix}-`));
  chmodSync(dir, 0o755);
  return dir;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile, p in 0..100. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const max = (values: number[]): number => (values.length === 0 ? NaN : Math.max(...values));
export const min = (values: number[]): number => (values.length === 0 ? NaN : Math.min(...values));

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
export const millis = (ms: number): string => `${Math.round(ms)} ms`;
export const mb = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MB`;
export const toMb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
export const round = (ms: number): number => Math.round(ms);

/** Progress lines go to stderr, so that stdout holds only the results (text, or one JSON object). */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects after `ms` with `what` in the message; the timer does not keep the process alive. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result in ${seconds(ms)}`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
