// The UI gate's capture, measured: wall time of captureScreenshots over the two-route sample site
// (preview started twice, Chromium launched once, 4 screenshots, 2 diffs), and Chromium's peak
// memory while it runs: the RSS of the browser's process tree (every chromium process below this
// one), summed per sample every 50 ms, the largest sum kept.
import { captureScreenshots } from '../../activities/gates/screenshots/index.ts';
import type { UiCapture } from '../../workflows/task/types.ts';
import { SITE_PREVIEW, sitePage, siteRepo } from '../harness/ui-site.ts';
import { descendants } from './proc-memory.ts';
import { benchDir, progress } from './util.ts';
import { readFileSync, rmSync } from 'node:fs';

export interface ScreenshotsResult {
  runs: number;
  wallMs: number[];
  chromiumPeakRss: number[];
  chromiumProcesses: number[];
  diffRatios: Array<Record<string, number>>;
  evidenceDir: string;
}

/** Summed VmRSS of the chromium processes below this one, bytes; and how many there were. */
function chromiumRss(): { bytes: number; count: number } {
  let bytes = 0;
  let count = 0;
  for (const [pid, stat] of descendants(process.pid)) {
    if (!stat.comm.startsWith('chrom')) continue;
    try {
      bytes += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      count++;
    } catch {
      // exited between the scan and the read
    }
  }
  return { bytes, count };
}

export async function benchScreenshots({ runs = 3, keep }: { runs?: number; keep: boolean }): Promise<ScreenshotsResult> {
  const repo = siteRepo({ 'site/index.html': sitePage('Home', '<h1 style="color:#222">Welcome back</h1><button style="background:#c33;color:#fff;padding:12px 24px;border:0">Sign in</button>') });
  const stateDir = benchDir('screenshots');
  const result: ScreenshotsResult = { runs, wallMs: [], chromiumPeakRss: [], chromiumProcesses: [], diffRatios: [], evidenceDir: '' };
  for (let run = 1; run <= runs; run++) {
    progress(`screenshots: capture ${run} of ${runs} (2 routes, base and head)`);
    let peak = 0;
    let processes = 0;
    const timer = setInterval(() => {
      const now = chromiumRss();
      peak = Math.max(peak, now.bytes);
      processes = Math.max(processes, now.count);
    }, 50);
    const started = performance.now();
    let capture: UiCapture;
    try {
      capture = await captureScreenshots({ taskId: 'bench-ui', runKey: `run-${run}`, baseSha: repo.baseSha, headSha: repo.headSha, base: repo.base, head: repo.head, preview: SITE_PREVIEW }, stateDir);
    } finally {
      clearInterval(timer);
    }
    result.wallMs.push(performance.now() - started);
    result.chromiumPeakRss.push(peak);
    result.chromiumProcesses.push(processes);
    if (capture.status !== 'captured') throw new Error(`the capture failed: ${capture.failure.reason}\n${capture.failure.outputTail}`);
    result.diffRatios.push(Object.fromEntries(capture.routes.map((r) => [r.route, r.diffRatio])));
    result.evidenceDir = capture.dir;
  }
  if (!keep) rmSync(stateDir, { recursive: true, force: true });
  return result;
}
