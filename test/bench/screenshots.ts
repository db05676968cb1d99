// The UI gate's capture, measured: wall time of captureScreenshots over the two-route sample site
// (preview started twice, Chromium launched once, 4 screenshots, 2 diffs), and Chromium's peak
// memory while it runs: the RSS of the browser's process tree (every chromium process below this
// one), summed per sample every 50 ms, the largest sum kept; and the same for PSS, which counts
// the pages the chromium processes share once (the RSS sum counts them in each process).
import { captureScreenshots } from '../../activities/gates/screenshots/index.ts';
import type { UiCapture } from '../../workflows/task/types.ts';
import { SITE_PREVIEW, sitePage, siteRepo } from '../harness/ui-site.ts';
import { descendants, pssBytes } from './proc-memory.ts';
import { benchDir, progress } from './util.ts';
import { readFileSync, rmSync } from 'node:fs';

export interface ScreenshotsResult {
  runs: number;
  wallMs: number[];
  chromiumPeakRss: number[];
  chromiumPeakPss: number[];
  chromiumProcesses: number[];
  diffRatios: Array<Record<string, number>>;
  /** With --keep: the last capture's folder. */
  evidenceDir: string;
}

/** Summed VmRSS and PSS of the chromium processes below this one, bytes; and how many there were. */
function chromiumMemory(): { rss: number; pss: number; count: number } {
  let rss = 0;
  let pss = 0;
  let count = 0;
  for (const [pid, stat] of descendants(process.pid)) {
    if (!stat.comm.startsWith('chrom')) continue;
    try {
      rss += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      pss += pssBytes(pid);
      count++;
    } catch {
      // exited between the scan and the read
    }
  }
  return { rss, pss, count };
}

export async function benchScreenshots({ runs = 3, keep }: { runs?: number; keep: boolean }): Promise<ScreenshotsResult> {
  const repo = siteRepo({ 'site/index.html': sitePage('Home', '<h1 style="color:#222">Welcome back</h1><button style="background:#c33;color:#fff;padding:12px 24px;border:0">Sign in</button>') });
  const stateDir = benchDir('screenshots');
  const result: ScreenshotsResult = { runs, wallMs: [], chromiumPeakRss: [], chromiumPeakPss: [], chromiumProcesses: [], diffRatios: [], evidenceDir: '' };
  for (let run = 1; run <= runs; run++) {
    progress(`screenshots: capture ${run} of ${runs} (2 routes, base and head)`);
    const peak = { rss: 0, pss: 0, processes: 0 };
    const timer = setInterval(() => {
      const now = chromiumMemory();
      peak.rss = Math.max(peak.rss, now.rss);
      peak.pss = Math.max(peak.pss, now.pss);
      peak.processes = Math.max(peak.processes, now.count);
    }, 50);
    const started = performance.now();
    let capture: UiCapture;
    try {
      capture = await captureScreenshots({ taskId: 'bench-ui', runKey: `run-${run}`, baseSha: repo.baseSha, headSha: repo.headSha, base: repo.base, head: repo.head, preview: SITE_PREVIEW }, stateDir);
    } finally {
      clearInterval(timer);
    }
    result.wallMs.push(performance.now() - started);
    result.chromiumPeakRss.push(peak.rss);
    result.chromiumPeakPss.push(peak.pss);
    result.chromiumProcesses.push(peak.processes);
    if (capture.status !== 'captured') throw new Error(`the capture failed: ${capture.failure.reason}\n${capture.failure.outputTail}`);
    result.diffRatios.push(Object.fromEntries(capture.routes.map((r) => [r.route, r.diffRatio])));
    if (keep) result.evidenceDir = capture.dir;
  }
  if (!keep) rmSync(stateDir, { recursive: true, force: true });
  return result;
}
