// A tiny static site in a real git repository, for the UI gate's screenshots: `node server.mjs`
// serves ./site on SWARM_PORT, says which port it took, and answers `/health`. The base commit
// has two pages; the caller's head commit changes what it likes. Both are checked out as detached
// worktrees, as the orchestrator's clean checkouts would be.
import { join } from 'node:path';
import { tempDir } from './paths.ts';
import { commitFiles, git } from './task-testbed.ts';

export const SITE_SERVER = `import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
const port = Number(process.env.SWARM_PORT);
createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/health') return res.end('ok');
  try {
    const body = await readFile(new URL('./site/' + (path === '/' ? 'index.html' : path.slice(1)), import.meta.url));
    res.writeHead(200, { 'content-type': 'text/html' }).end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
}).listen(port, '127.0.0.1', () => console.log('serving on ' + port));
`;

export const sitePage = (title: string, body: string) =>
  `<!doctype html><html><head><title>${title}</title></head><body style="margin:0;padding:24px;font-family:sans-serif">${body}</body></html>`;

export const SITE_HOME = sitePage('Home', '<h1 style="color:#222">Welcome</h1><button style="background:#2a6;color:#fff;padding:12px 24px;border:0">Sign in</button>');
export const SITE_ABOUT = sitePage('About', '<h1 style="color:#222">About us</h1><p>Nothing here changes.</p>');

/** The repository's preview section for this site (as parsed: timeout in ms). */
export const SITE_PREVIEW = { command: 'exec node server.mjs', readyPath: '/health', routes: ['/', '/about.html'], timeoutMs: 20_000, viewport: { width: 800, height: 600 } };

export interface SiteRepo {
  repo: string;
  baseSha: string;
  headSha: string;
  base: { cwd: string };
  head: { cwd: string };
}

export function siteRepo(head: Record<string, string>): SiteRepo {
  const repo = join(tempDir('ui-repo'), 'site');
  git(tempDir('ui-init'), 'init', '--quiet', '--initial-branch=main', repo);
  const baseSha = commitFiles(repo, { 'server.mjs': SITE_SERVER, 'site/index.html': SITE_HOME, 'site/about.html': SITE_ABOUT }, 'the site');
  const headSha = commitFiles(repo, head, 'the change');
  const checkouts = tempDir('ui-checkouts');
  const worktree = (sha: string, name: string) => {
    const dir = join(checkouts, name);
    git(repo, 'worktree', 'add', '--quiet', '--detach', dir, sha);
    return { cwd: dir };
  };
  return { repo, baseSha, headSha, base: worktree(baseSha, 'base'), head: worktree(headSha, 'head') };
}
