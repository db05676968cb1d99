// Headless Chromium through playwright-core: the system's Chromium (Debian's `chromium`), never a
// browser playwright downloads. One browser per capture; one context per side, so nothing a page
// stores (cookies, local storage) crosses from the base to the head. A page reaches its preview
// server only: it is the PR's code, and the host's other local services (Temporal, the webhook
// server) are no business of it; it also keeps the pixels free of whatever a CDN serves today.
import { chromium, type Browser } from 'playwright-core';
import { resolveChromium } from '../../../scripts/tools.mjs';
import { FailureType, nonRetryable } from '../../errors.ts';

/** One route's page load; a hung page fails the capture instead of holding the activity. */
const ROUTE_TIMEOUT_MS = 30_000;
/** A full-page screenshot stops here: an endless page must not become a gigabyte PNG. */
export const MAX_PAGE_HEIGHT = 8_000;

/** The Chromium to run: SWARM_CHROMIUM, else `chromium` on PATH; missing is an operator's fix, not a retry. */
export function chromiumPath(): string {
  const found = resolveChromium();
  if (!found.ok) throw nonRetryable(FailureType.HostToolMissing, `${found.reason}: UI screenshots cannot be taken on this host. Fix: ${found.fix}`);
  return found.path;
}

export async function launchBrowser(executablePath: string): Promise<Browser> {
  // playwright passes --no-sandbox by default (chromiumSandbox: false), which running as root needs.
  return chromium.launch({ executablePath, headless: true, timeout: ROUTE_TIMEOUT_MS });
}

export interface RouteShot {
  route: string;
  file: string;
  httpStatus: number | null;
}

export type SideShots = { ok: true; shots: RouteShot[] } | { ok: false; reason: string };

/**
 * Loads each route from `origin` and writes a full-page PNG of it (up to MAX_PAGE_HEIGHT) to the
 * file `fileOf(index)` names. A route the browser cannot load ends the side with the reason.
 */
export async function captureRoutes(
  browser: Browser,
  { origin, routes, viewport, fileOf }: { origin: string; routes: string[]; viewport: { width: number; height: number }; fileOf: (index: number) => string },
): Promise<SideShots> {
  // Scale 1 and reduced motion: the same page gives the same pixels on both sides.
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, reducedMotion: 'reduce', colorScheme: 'light', serviceWorkers: 'block' });
  try {
    await context.route((url) => url.origin !== origin, (route) => route.abort('blockedbyclient'));
    const page = await context.newPage();
    const shots: RouteShot[] = [];
    for (const [index, route] of routes.entries()) {
      const url = new URL(route, origin);
      let httpStatus: number | null;
      try {
        const response = await page.goto(url.href, { waitUntil: 'load', timeout: ROUTE_TIMEOUT_MS });
        httpStatus = response?.status() ?? null;
        await page.evaluate('document.fonts.ready.then(() => undefined)');
      } catch (err) {
        return { ok: false, reason: `${route} did not load: ${(err as Error).message.split('\n', 1)[0]}` };
      }
      const height = await page.evaluate<number>('document.documentElement.scrollHeight');
      const file = fileOf(index);
      await page.screenshot({
        path: file,
        fullPage: true,
        animations: 'disabled',
        caret: 'hide',
        ...(height > MAX_PAGE_HEIGHT && { clip: { x: 0, y: 0, width: viewport.width, height: MAX_PAGE_HEIGHT } }),
      });
      shots.push({ route, file, httpStatus });
    }
    return { ok: true, shots };
  } finally {
    await context.close();
  }
}
