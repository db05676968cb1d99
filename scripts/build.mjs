#!/usr/bin/env node
// The CLI and the workers as compiled JavaScript in dist/ (tsconfig.build.json), so that a
// command starts without compiling TypeScript. `npm run build` builds; the bootstrap and the CLI
// launcher build only when dist/ is missing or older than the sources. Plain Node: it runs before
// anything else is known to work.
import { readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from './tools.mjs';

export const BUILD_DIR = join(PROJECT_ROOT, 'dist');
/** Written last: its time is the time of the build. */
const STAMP = join(BUILD_DIR, '.built');
const SOURCES = ['lib', 'workflows', 'activities', 'workers', 'client', 'scripts', 'tsconfig.json', 'tsconfig.build.json'];

/**
 * The latest change under a path: files and folders (a folder's time moves when a file is added, removed or renamed).
 * @param {string} path
 * @returns {number}
 */
function newestChange(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestChange(join(path, name))), stat.mtimeMs);
}

/** Whether dist/ holds a build of the current sources. */
export function buildIsCurrent() {
  const built = statSync(STAMP, { throwIfNoEntry: false });
  return !!built && SOURCES.every((source) => newestChange(join(PROJECT_ROOT, source)) <= built.mtimeMs);
}

/**
 * Compiles into a folder of its own, then swaps it in: a process that runs from dist/ meanwhile
 * never sees half a build. Returns the compiler's output when it fails.
 */
export function build() {
  const partial = `${BUILD_DIR}.partial-${process.pid}`;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', join(PROJECT_ROOT, 'tsconfig.build.json'), '--outDir', partial], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (res.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    return { ok: false, output: `${res.stdout}${res.stderr}${res.error?.message ?? ''}`.trim() };
  }
  writeFileSync(join(partial, '.built'), '');
  rmSync(BUILD_DIR, { recursive: true, force: true });
  try {
    renameSync(partial, BUILD_DIR);
  } catch (err) {
    // Another build of the same sources was swapped in first: keep that one.
    rmSync(partial, { recursive: true, force: true });
    if (!buildIsCurrent()) throw err;
  }
  return { ok: true, output: '' };
}

/** Builds unless dist/ is current; exits with the compiler's output when the build fails. */
export function ensureBuilt(say = (/** @type {string} */ line) => process.stderr.write(`${line}\n`)) {
  if (buildIsCurrent()) return false;
  say('building the CLI and workers into dist/ (tsc)…');
  const { ok, output } = build();
  if (!ok) {
    say(`the build failed:\n${output}`);
    process.exit(1);
  }
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ok, output } = build();
  process.stderr.write(ok ? `built into ${BUILD_DIR}\n` : `the build failed:\n${output}\n`);
  process.exit(ok ? 0 : 1);
}
