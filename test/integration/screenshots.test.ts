// The UI gate's screenshots, taken for real: a sample site in a real git repository, its preview
// server started on base and head worktrees, real headless Chromium, real PNGs and pixel counts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { MAX_PAGE_HEIGHT } from '../../activities/gates/screenshots/browser.ts';
import { captureScreenshots, type CaptureScreenshotsInput } from '../../activities/gates/screenshots/index.ts';
import { freePort, isPortFree } from '../../lib/ports.ts';
import { isAlive } from '../../lib/process.ts';
import type { UiCapture } from '../../workflows/task/types.ts';
import { until } from '../harness/agents.ts';
import { tempDir } from '../harness/paths.ts';
import { SITE_PREVIEW, SITE_SERVER, siteRepo, sitePage as page, type SiteRepo } from '../harness/ui-site.ts';

let beacon: Server;
let beaconHits = 0;
let beaconPort: number;

beforeAll(async () => {
  // A service of the host's the PR's page tries to reach: the browser must not let it.
  beaconPort = await freePort();
  beacon = createServer((_req, res) => {
    beaconHits++;
    res.end();
  });
  await new Promise<void>((resolve) => beacon.listen(beaconPort, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => beacon.close(() => resolve())));

function input({ baseSha, headSha, base, head }: SiteRepo, preview: Partial<typeof SITE_PREVIEW> = {}): CaptureScreenshotsInput {
  return { taskId: 'ui-change', runKey: 'run-1', baseSha, headSha, base, head, preview: { ...SITE_PREVIEW, ...preview } };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const servedPort = (log: string) => Number(/serving on (\d+)/.exec(readFileSync(log, 'utf8'))?.[1]);

describe('captureScreenshots', () => {
  it('captures base and head in Chromium: a changed page differs, an unchanged one does not, and the PNGs are what the record says', async () => {
    const stateDir = tempDir('ui-state');
    const repo = siteRepo({
      'site/index.html': page(
        'Home',
        `<h1 style="color:#222">Welcome back</h1><button style="background:#c33;color:#fff;padding:12px 24px;border:0">Sign in</button><img src="http://127.0.0.1:${beaconPort}/beacon.png">`,
      ),
      // A new page, far taller than the screenshot's limit.
      'site/tall.html': page('Tall', '<div style="height:20000px;background:linear-gradient(#fff,#36c)">tall</div>'),
    });
    const capture = await captureScreenshots(input(repo), stateDir);

    expect(capture).toMatchObject({ status: 'captured', taskId: 'ui-change', runKey: 'run-1', headSha: repo.headSha, baseSha: repo.baseSha });
    const dir = join(stateDir, 'evidence', 'ui-change', repo.headSha);
    expect(capture.dir).toBe(dir);
    if (capture.status !== 'captured') throw new Error('not captured');
    const [home, about] = capture.routes;
    expect(capture.routes.map((r) => r.route)).toEqual(['/', '/about.html']);
    expect(home!.diffPixels).toBeGreaterThan(100);
    expect(home!.diffRatio).toBeGreaterThan(0);
    expect(home!.diffRatio).toBeLessThan(0.5);
    expect(about!.diffPixels).toBe(0);
    expect(about!.diffRatio).toBe(0);
    for (const route of capture.routes) {
      expect(route.httpStatus).toEqual({ before: 200, after: 200 });
      for (const which of ['before', 'after', 'diff'] as const) {
        const file = route[which];
        expect(file.startsWith(`${dir}/`)).toBe(true);
        const png = PNG.sync.read(readFileSync(file));
        expect([png.width, png.height]).toEqual([route.width, route.height]);
        expect(route.sha256[which]).toBe(sha256(file));
      }
      expect(route.width).toBe(800);
      expect(route.height).toBe(600);
    }
    expect(JSON.parse(readFileSync(join(dir, 'capture.json'), 'utf8'))).toEqual(capture);
    // The page's request to another local service was refused by the browser.
    expect(beaconHits).toBe(0);
    // Both preview servers are gone: their ports are free again.
    for (const side of ['base', 'head']) {
      const port = servedPort(join(dir, `${side}.preview.log`));
      expect(port).toBeGreaterThan(0);
      expect(await isPortFree(port)).toBe(true);
    }

    // Taken again at the same head, the folder holds that capture only. The new page: a 404 on the
    // base, cut at the height limit on the head, the sizes' difference counted as changed.
    const again = await captureScreenshots(input(repo, { routes: ['/tall.html'] }), stateDir);
    if (again.status !== 'captured') throw new Error('not captured');
    expect(again.routes).toEqual([expect.objectContaining({ route: '/tall.html', httpStatus: { before: 404, after: 200 }, width: 800, height: MAX_PAGE_HEIGHT })]);
    expect(PNG.sync.read(readFileSync(again.routes[0]!.before)).height).toBe(600);
    expect(again.routes[0]!.diffRatio).toBeGreaterThan(0.9);
    expect(existsSync(home!.after)).toBe(false);
  }, 120_000);

  it('reports a preview that exits, with its output, as a failed capture', async () => {
    const repo = siteRepo({ 'site/index.html': page('Home', '<h1>changed</h1>') });
    const capture = await captureScreenshots(input(repo, { command: 'echo "Error: Cannot find module express" >&2; exit 1' }), tempDir('ui-state'));
    expect(capture).toMatchObject({ status: 'failed', failure: { side: 'base' } });
    const { failure } = capture as Extract<UiCapture, { status: 'failed' }>;
    expect(failure.reason).toBe('the preview command exited with code 1 before /health answered');
    expect(failure.outputTail).toContain('Error: Cannot find module express');
    expect(readFileSync(failure.logFile, 'utf8')).toContain('Cannot find module express');
  }, 60_000);

  it('fails the side whose readyPath never answers 2xx/3xx within the timeout, and kills its server', async () => {
    // The head breaks the health check: the base captures, the head never becomes ready.
    const repo = siteRepo({ 'server.mjs': SITE_SERVER.replace("return res.end('ok')", 'return res.writeHead(500).end()') });
    const started = performance.now();
    const capture = await captureScreenshots(input(repo, { command: 'echo $$ > "$PWD/preview.pid"; exec node server.mjs', timeoutMs: 2_000 }), tempDir('ui-state'));
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(capture).toMatchObject({ status: 'failed', failure: { side: 'head' } });
    const { failure } = capture as Extract<UiCapture, { status: 'failed' }>;
    expect(failure.reason).toMatch(/^\/health did not answer 2xx or 3xx within 2000 ms on port \d+ \(last: HTTP 500\)$/);
    expect(failure.outputTail).toMatch(/serving on \d+/);
    const pid = Number(readFileSync(join(repo.head.cwd, 'preview.pid'), 'utf8'));
    expect(isAlive(pid)).toBe(false);
  }, 60_000);

  it('stops at once when the activity is cancelled mid-capture: browser closed, preview killed, nothing half-written kept', async () => {
    // The head's server never answers /slow (the base's says 404): the capture is cancelled while Chromium waits for it.
    const slow = SITE_SERVER.replace("if (path === '/health')", "if (path === '/slow') return (await import('node:fs')).writeFileSync('slow-request', '');\n  if (path === '/health')");
    const repo = siteRepo({ 'server.mjs': slow });
    const stateDir = tempDir('ui-state');
    const env = new MockActivityEnvironment();
    const capturing = env.run(captureScreenshots, input(repo, { command: 'echo $$ > "$PWD/preview.pid"; exec node server.mjs', routes: ['/slow'] }), stateDir);
    await until('Chromium to ask the head for /slow', () => existsSync(join(repo.head.cwd, 'slow-request')), 30_000);
    const cancelledAt = performance.now();
    env.cancel();
    await expect(capturing).rejects.toBeInstanceOf(CancelledFailure);
    expect(performance.now() - cancelledAt).toBeLessThan(5_000);
    for (const side of [repo.base, repo.head]) expect(isAlive(Number(readFileSync(join(side.cwd, 'preview.pid'), 'utf8')))).toBe(false);
    expect(readdirSync(join(stateDir, 'evidence', 'ui-change'))).toEqual([]);
  }, 60_000);

  it('refuses a checkout that is not at the SHA it is given', async () => {
    const repo = siteRepo({ 'site/index.html': page('Home', '<h1>changed</h1>') });
    await expect(captureScreenshots({ ...input(repo), head: repo.base }, tempDir('ui-state'))).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
      message: expect.stringContaining(`is at ${repo.baseSha}, not ${repo.headSha}`),
    });
  });

  it('says how to install Chromium when there is none', async () => {
    const repo = siteRepo({ 'site/index.html': page('Home', '<h1>changed</h1>') });
    const saved = { PATH: process.env.PATH, SWARM_CHROMIUM: process.env.SWARM_CHROMIUM };
    process.env.PATH = '/nonexistent';
    delete process.env.SWARM_CHROMIUM;
    try {
      await expect(captureScreenshots(input(repo), tempDir('ui-state'))).rejects.toMatchObject({
        type: 'HostToolMissing',
        nonRetryable: true,
        message: expect.stringContaining('apt-get install --no-install-recommends chromium (Debian/Ubuntu, as root), or set SWARM_CHROMIUM'),
      });
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.SWARM_CHROMIUM !== undefined) process.env.SWARM_CHROMIUM = saved.SWARM_CHROMIUM;
    }
  });
});
