// The UI gate's evidence, taken by the orchestrator: the repository's preview server is started on a
// clean checkout of the base and one of the PR head, each route is captured in headless Chromium
// on both, and the pixels between them are counted. Everything lands in one folder per head
// (`<state>/evidence/<task>/<head>/`), with capture.json, the same record the activity returns.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { asyncLocalStorage } from '@temporalio/activity';
import type { Browser } from 'playwright-core';
import { z } from 'zod';
import { SafeAbsolutePath, Slug } from '../../../workflows/task/spec.ts';
import type { PreviewFailure, PreviewPolicy, RouteCapture, UiCapture } from '../../../workflows/task/types.ts';
import { beat } from '../../activity-context.ts';
import { FailureType, nonRetryable, parseInput } from '../../errors.ts';
import { Sha } from '../../forge/github/inputs.ts';
import { PreviewConfigSchema } from '../../forge/policy.ts';
import { revParse } from '../../git.ts';
import { captureRoutes, chromiumPath, launchBrowser, type RouteShot } from './browser.ts';
import { diffPngs } from './pixel-diff.ts';
import { startPreview } from './preview-server.ts';

export const CaptureScreenshotsInputSchema = z.object({
  taskId: Slug,
  /** The task start's run key: recorded with the capture. */
  runKey: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a Temporal run id').optional(),
  headSha: Sha,
  baseSha: Sha,
  /** Clean checkouts at baseSha and at headSha (made by the caller, never the agent's clone). */
  base: z.object({ cwd: SafeAbsolutePath }),
  head: z.object({ cwd: SafeAbsolutePath }),
  preview: PreviewConfigSchema,
  /** Where the evidence goes; default `<stateDir>/evidence/<taskId>/<headSha>`. */
  outDir: SafeAbsolutePath.optional(),
});
export type CaptureScreenshotsInput = z.input<typeof CaptureScreenshotsInputSchema>;

/** Per route on one side, on top of the preview's start: a generous bound on the preview's whole life. */
const PER_ROUTE_BUDGET_MS = 45_000;

export function createScreenshotActivities({ stateDir }: { stateDir: string }) {
  return {
    captureScreenshots: (input: CaptureScreenshotsInput) => captureScreenshots(input, stateDir),
  };
}

export type ScreenshotActivities = ReturnType<typeof createScreenshotActivities>;

export async function captureScreenshots(raw: CaptureScreenshotsInput, stateDir: string): Promise<UiCapture> {
  const input = parseInput(CaptureScreenshotsInputSchema, raw, 'captureScreenshots');
  const { taskId, runKey, headSha, baseSha, preview } = input;
  const executablePath = chromiumPath();
  for (const [side, sha] of [['base', baseSha], ['head', headSha]] as const) {
    const at = await revParse(input[side].cwd, 'HEAD');
    if (at !== sha) throw nonRetryable(FailureType.InvalidInput, `the ${side} checkout ${input[side].cwd} is at ${at ?? 'no commit'}, not ${sha}`);
  }
  // Absent when called outside an activity (tests, the bench).
  const cancellation = asyncLocalStorage.getStore()?.cancellationSignal;
  const started = performance.now();
  const dir = input.outDir ?? join(stateDir, 'evidence', taskId, headSha);
  // Built beside its place and renamed into it: a reader never sees half of one capture and half of another.
  const work = join(dirname(dir), `.${basename(dir)}.partial-${process.pid}-${Date.now()}`);
  mkdirSync(work, { recursive: true });
  const record = { taskId, ...(runKey && { runKey }), headSha, baseSha, dir, viewport: preview.viewport };
  let browser: Browser | undefined;
  const closeBrowser = () => void browser?.close();
  cancellation?.addEventListener('abort', closeBrowser);
  try {
    browser = await launchBrowser(executablePath);
    const shots: Record<'base' | 'head', RouteShot[]> = { base: [], head: [] };
    for (const side of ['base', 'head'] as const) {
      beat({ capturing: side });
      const taken = await captureSide(browser, { side, cwd: input[side].cwd, preview, dir: work, finalDir: dir, signal: cancellation });
      cancellation?.throwIfAborted();
      if ('failure' in taken) return finish(work, dir, { ...record, status: 'failed', failure: taken.failure, durationMs: elapsed(started) });
      shots[side] = taken.shots;
    }
    const routes = shots.head.map((after, i) => compare(shots.base[i]!, after, dir));
    return finish(work, dir, { ...record, status: 'captured', routes, durationMs: elapsed(started) });
  } catch (err) {
    // A cancelled capture fails in whatever the closed browser was doing: report the cancellation.
    cancellation?.throwIfAborted();
    throw err;
  } finally {
    cancellation?.removeEventListener('abort', closeBrowser);
    await browser?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Starts the side's preview, captures every route, and stops the preview whatever happened. */
async function captureSide(
  browser: Browser,
  { side, cwd, preview, dir, finalDir, signal }: { side: 'base' | 'head'; cwd: string; preview: PreviewPolicy; dir: string; finalDir: string; signal?: AbortSignal },
): Promise<{ shots: RouteShot[] } | { failure: PreviewFailure }> {
  const logName = `${side}.preview.log`;
  const lifetimeMs = preview.timeoutMs + PER_ROUTE_BUDGET_MS * preview.routes.length;
  const started = await startPreview({ preview, cwd, logFile: join(dir, logName), lifetimeMs, signal });
  const logFile = join(finalDir, logName);
  if (!started.ok) return { failure: { side, reason: started.reason, outputTail: started.outputTail, logFile } };
  try {
    const suffix = side === 'base' ? 'before' : 'after';
    const taken = await captureRoutes(browser, { origin: started.preview.origin, routes: preview.routes, viewport: preview.viewport, fileOf: (i) => join(dir, `${routeFileStem(i, preview.routes[i]!)}.${suffix}.png`) });
    if (!taken.ok) return { failure: { side, reason: taken.reason, outputTail: '', logFile } };
    return { shots: taken.shots };
  } finally {
    await started.preview.stop();
  }
}

/** `01-root`, `02-settings_tab_profile`: ordered, unique by index, nothing path-like from the route. */
export function routeFileStem(index: number, route: string): string {
  const slug = route.replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 60) || 'root';
  return `${String(index + 1).padStart(2, '0')}-${slug}`;
}

/** The pixel difference of one route, its diff PNG written beside the shots; paths are those of the final folder. */
function compare(before: RouteShot, after: RouteShot, finalDir: string): RouteCapture {
  const beforePng = readFileSync(before.file);
  const afterPng = readFileSync(after.file);
  const diff = diffPngs(beforePng, afterPng);
  const diffFile = after.file.replace(/\.after\.png$/, '.diff.png');
  writeFileSync(diffFile, diff.png);
  const final = (file: string) => join(finalDir, basename(file));
  return {
    route: after.route,
    before: final(before.file),
    after: final(after.file),
    diff: final(diffFile),
    diffPixels: diff.diffPixels,
    diffRatio: diff.diffPixels / (diff.width * diff.height),
    width: diff.width,
    height: diff.height,
    sha256: { before: sha256(beforePng), after: sha256(afterPng), diff: sha256(diff.png) },
    httpStatus: { before: before.httpStatus, after: after.httpStatus },
  };
}

/** Writes capture.json, then swaps the folder into place (an earlier capture of the same head goes). */
function finish(work: string, dir: string, capture: UiCapture): UiCapture {
  writeFileSync(join(work, 'capture.json'), `${JSON.stringify(capture, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return capture;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const elapsed = (since: number) => Math.round(performance.now() - since);
