// Static checks of the production-shaped stack (docker-compose.yml, Dockerfile, .dockerignore):
// no Docker engine is needed. Each check is a small pure function returning the problems it finds,
// run on the real files (no problems) and on deliberately broken ones (every problem reported).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseDocument } from 'yaml';
import { ENV_VARS, OTHER_ENV_VARS, loadConfig, type Config } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';

const REQUIRED_SERVICES = ['postgresql', 'temporal', 'temporal-ui', 'swarm-worker'];
/** The stack's worker (role `all`); every other service built from the Dockerfile is a host-only worker. */
const WORKER = 'swarm-worker';
const KNOWN_ENV = new Set<string>([...Object.keys(ENV_VARS), ...OTHER_ENV_VARS]);

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

// The container has no swarmflow.config.json (.dockerignore keeps it out of the image), so the
// worker's environment is loaded against an empty file, never a developer's local one.
const scratch = mkdtempSync(join(tmpdir(), 'swarm-compose-'));
const EMPTY_CONFIG = join(scratch, 'swarmflow.config.json');
writeFileSync(EMPTY_CONFIG, '{}\n');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Compose's `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR}`, `$VAR` and `$$`. */
function interpolate(value: string, env: Record<string, string | undefined> = {}): string {
  const pattern = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  return value.replace(pattern, (match, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare)!;
    const set = env[name];
    const missing = op?.startsWith(':') ? !set : set === undefined;
    if (!missing) return set!;
    if (op === ':?' || op === '?') throw new Error(`\${${name}} is required: ${arg ?? ''}`);
    return op ? (arg ?? '') : '';
  });
}

/** A compose environment, in map or list form; `KEY` with no value (taken from the shell) is ''. */
function environmentOf(service: Dict): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item) => {
        const [key = '', ...rest] = String(item).split('=');
        return [key, rest.join('=')];
      }),
    );
  }
  if (!isDict(env)) return {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v as string | number | boolean)]));
}

function dependsOn(service: Dict): Record<string, { condition?: string }> {
  const deps = service.depends_on;
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [String(d), {}]));
  if (!isDict(deps)) return {};
  return Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, isDict(spec) ? { condition: spec.condition as string | undefined } : {}]));
}

/** Bind and volume mounts as source → target, from the short (`src:dst[:ro]`) or long syntax. */
function mountsOf(service: Dict): Array<{ source: string; target: string }> {
  const volumes = Array.isArray(service.volumes) ? (service.volumes as unknown[]) : [];
  return volumes.flatMap((v) => {
    if (typeof v === 'string') {
      const [source = '', target = ''] = v.split(':');
      return target ? [{ source, target }] : [];
    }
    if (isDict(v) && typeof v.source === 'string' && typeof v.target === 'string') return [{ source: v.source, target: v.target }];
    return [];
  });
}

/** Why an image reference is not pinned to a version, or undefined when it is. */
function unpinnedImage(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  if (colon < 0) return 'has no tag (that means :latest)';
  const tag = lastPart.slice(colon + 1);
  if (tag === 'latest') return 'is tagged latest';
  // `postgres:16` or `node:20` floats to every new minor release.
  if (!/\d+\.\d+/.test(tag)) return `has a floating tag "${tag}" (pin at least major.minor)`;
  return undefined;
}

/** Durations as compose and the app write them ("45s", "1m30s", "500ms"), in milliseconds. */
function durationMs(text: string): number | undefined {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

interface ComposeCheck {
  problems: string[];
  services: string[];
  /** The worker's configuration as the app loads it from the worker's environment. */
  workerConfig?: Config;
  /** Every swarmflow worker's (a service with a build), by service name. */
  workers: Record<string, Config>;
}

/** Everything wrong with a compose document; `root` is where its relative paths start. */
function checkCompose(text: string, root: string): ComposeCheck {
  const problems: string[] = [];
  // Compose reads YAML merge keys (`<<: *anchor`); the file's workers share theirs.
  const doc = parseDocument(text, { merge: true });
  if (doc.errors.length > 0) return { problems: doc.errors.map((e) => `not valid YAML: ${e.message}`), services: [], workers: {} };
  const compose: unknown = doc.toJS();
  if (!isDict(compose) || !isDict(compose.services)) return { problems: ['no `services:` mapping'], services: [], workers: {} };
  if ('version' in compose) problems.push('has a `version:` key (obsolete: Compose ignores it and warns)');

  const services = compose.services;
  const names = Object.keys(services);
  for (const name of REQUIRED_SERVICES) if (!names.includes(name)) problems.push(`service ${name} is missing`);
  const declaredVolumes = isDict(compose.volumes) ? Object.keys(compose.volumes) : [];

  for (const [name, raw] of Object.entries(services)) {
    if (!isDict(raw)) {
      problems.push(`${name}: not a mapping`);
      continue;
    }
    if (raw.image === undefined && raw.build === undefined) problems.push(`${name}: neither image nor build`);
    if (typeof raw.image === 'string') {
      const why = unpinnedImage(interpolate(raw.image));
      if (why) problems.push(`${name}: image ${raw.image} ${why}`);
    } else if (raw.image !== undefined) {
      problems.push(`${name}: image is not a string`);
    }
    for (const [dep, spec] of Object.entries(dependsOn(raw))) {
      const target = services[dep];
      if (!isDict(target)) {
        problems.push(`${name}: depends_on ${dep}, which is not a service`);
        continue;
      }
      const disabled = isDict(target.healthcheck) && (target.healthcheck.disable === true || (Array.isArray(target.healthcheck.test) && target.healthcheck.test[0] === 'NONE'));
      if (spec.condition === 'service_healthy' && (!isDict(target.healthcheck) || disabled)) {
        problems.push(`${name}: waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
      }
    }
    for (const { source, target } of mountsOf(raw)) {
      const bind = source.startsWith('.') || source.startsWith('/');
      if (bind && !existsSync(resolve(root, source))) problems.push(`${name}: mounts ${source}, which does not exist`);
      if (!bind && !declaredVolumes.includes(source)) problems.push(`${name}: uses volume ${source}, not declared under top-level volumes`);
      if (target === '/var/lib/postgresql/data' && bind) problems.push(`${name}: Postgres data on a bind mount; use a named volume`);
    }
    for (const [key, value] of Object.entries(environmentOf(raw))) {
      if (/PASSWORD|PWD|SECRET|TOKEN|API_KEY/.test(key) && !value.includes('${')) {
        problems.push(`${name}: ${key} is written into the file; take it from the environment (\${${key}:-…})`);
      }
      const urlPassword = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]*)@/i.exec(value)?.[1];
      if (urlPassword !== undefined && !urlPassword.includes('${')) problems.push(`${name}: ${key} has a password written into the file`);
    }
  }

  const workers: Record<string, Config> = {};
  for (const [name, worker] of Object.entries(services)) {
    if (!isDict(worker) || (worker.build === undefined && name !== WORKER)) continue;
    if (worker.build === undefined) {
      problems.push(`${name}: no build (it is built from the repo's Dockerfile)`);
    } else {
      const build = worker.build;
      const context = typeof build === 'string' ? build : isDict(build) && typeof build.context === 'string' ? build.context : '.';
      const dockerfile = isDict(build) && typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile';
      const path = resolve(root, context, dockerfile);
      if (!existsSync(path) || !statSync(path).isFile()) problems.push(`${name}: build uses ${join(context, dockerfile)}, which does not exist`);
    }
    const rawEnv = environmentOf(worker);
    for (const key of Object.keys(rawEnv)) {
      if (!KNOWN_ENV.has(key)) problems.push(`${name}: env ${key} is not read by the app (not in ENV_VARS or OTHER_ENV_VARS of lib/config.ts)`);
    }
    try {
      const env = Object.fromEntries(Object.entries(rawEnv).map(([k, v]) => [k, interpolate(v)]));
      workers[name] = loadConfig({ env, file: EMPTY_CONFIG });
    } catch (err) {
      problems.push(`${name}: the app rejects its environment: ${(err as Error).message}`);
    }
    if (workers[name]) problems.push(...checkWorkerConfig(name, workers[name], worker, services, root));
  }
  problems.push(...checkWorkersTogether(workers, services));
  return { problems, services: names, workerConfig: workers[WORKER], workers };
}

/** The workers side by side: one stack worker, the others host-only, each a host of its own. */
function checkWorkersTogether(workers: Record<string, Config>, services: Dict): string[] {
  const problems: string[] = [];
  const byHost = new Map<string, string>();
  const byState = new Map<string, string>();
  for (const [name, config] of Object.entries(workers)) {
    const role = config.workers.role;
    if (name === WORKER && role !== 'all') problems.push(`${name}: SWARM_WORKER_ROLE is ${role}: the stack's worker runs the workflows (all)`);
    if (name !== WORKER && role !== 'host') problems.push(`${name}: SWARM_WORKER_ROLE is ${role}: a second stack worker would poll Telegram and serve webhooks twice; another host is SWARM_WORKER_ROLE=host`);
    const sameHost = byHost.get(config.workers.hostId);
    if (sameHost) problems.push(`${name}: SWARM_HOST_ID ${config.workers.hostId} is ${sameHost}'s too: two workers on one host queue would take each other's worktree steps`);
    byHost.set(config.workers.hostId, name);
    const volume = mountsOf(services[name] as Dict).find((m) => m.target === config.stateDir)?.source;
    const sameState = volume ? byState.get(volume) : undefined;
    if (sameState) problems.push(`${name}: its state folder is on volume ${volume}, ${sameState}'s too: each host keeps its own worktrees`);
    if (volume) byState.set(volume, name);
  }
  return problems;
}

/** The worker's loaded configuration against the rest of the stack. */
function checkWorkerConfig(name: string, config: Config, worker: Dict, services: Dict, root: string): string[] {
  const problems: string[] = [];
  const address = config.temporal.address;
  if (!address) problems.push(`${name}: TEMPORAL_ADDRESS is unset: the container would start its own dev server`);
  else if (!isDict(services[address.split(':')[0]!])) problems.push(`${name}: TEMPORAL_ADDRESS ${address} is not a service of this file`);

  const url = config.database.url;
  if (!url) {
    problems.push(`${name}: DATABASE_URL is unset: the container would start its own Postgres`);
  } else {
    const { hostname, pathname } = new URL(url);
    const database = decodeURIComponent(pathname.slice(1));
    const postgres = services[hostname];
    if (!isDict(postgres)) {
      problems.push(`${name}: DATABASE_URL host ${hostname} is not a service of this file`);
    } else {
      // Temporal's auto-setup creates only its own databases: an init script must create the app's.
      const scripts = mountsOf(postgres).filter((m) => m.target.startsWith('/docker-entrypoint-initdb.d/') && existsSync(resolve(root, m.source)));
      const creates = scripts.some((m) => new RegExp(`CREATE\\s+DATABASE\\s+"?${database}"?[\\s;]`, 'i').test(readFileSync(resolve(root, m.source), 'utf8')));
      if (!creates) problems.push(`${hostname}: no script in /docker-entrypoint-initdb.d creates the database ${database} of DATABASE_URL`);
    }
  }
  if (config.log.format !== 'json') problems.push(`${name}: SWARM_LOG_FORMAT is ${config.log.format}; containers log JSON`);

  // Compose's default is 10s; then SIGKILL.
  const stopText = typeof worker.stop_grace_period === 'string' ? worker.stop_grace_period : '10s';
  const stop = durationMs(stopText);
  const drain = durationMs(config.workers.shutdownGraceTime)!;
  if (stop === undefined) problems.push(`${name}: stop_grace_period ${stopText} is not a duration`);
  else if (stop <= drain) {
    problems.push(`${name}: stop_grace_period (${stopText}) is not longer than SWARM_SHUTDOWN_GRACE (${config.workers.shutdownGraceTime}): Docker kills the workers mid-drain`);
  }
  return problems;
}

/** Dockerfile instructions, continuation lines joined, comments and blank lines dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

function checkDockerfile(text: string): string[] {
  const problems: string[] = [];
  const steps = instructions(text);
  const stages: string[] = [];
  const froms = steps.filter((s) => s.op === 'FROM');
  if (froms.length === 0) problems.push('no FROM');
  for (const { args } of froms) {
    const [image = '', as, alias] = args.replace(/--platform=\S+\s*/, '').split(/\s+/);
    if (!stages.includes(image) && image !== 'scratch') {
      const why = unpinnedImage(image);
      if (why) problems.push(`FROM ${image} ${why}`);
    }
    if (as?.toUpperCase() === 'AS' && alias) stages.push(alias);
  }
  const user = steps.filter((s) => s.op === 'USER').at(-1)?.args;
  if (!user) problems.push('no USER: the container runs as root');
  else if (/^(root|0)(:|$)/.test(user)) problems.push(`USER ${user}: the container runs as root`);

  const cmd = steps.filter((s) => s.op === 'CMD').at(-1)?.args;
  let argv: unknown;
  try {
    argv = cmd === undefined ? undefined : JSON.parse(cmd);
  } catch {
    argv = undefined;
  }
  if (cmd === undefined) problems.push('no CMD');
  else if (!Array.isArray(argv)) problems.push('CMD is in shell form: the shell, not node, would get SIGTERM; use the exec form ["node", …]');
  else if (argv[0] !== 'node' || !argv.includes('dist/workers/start.js')) problems.push(`CMD ${cmd} does not run the compiled workers (dist/workers/start.js) with node`);
  // dist/ is not in the build context (.dockerignore): the image must build it.
  if (!steps.some((s) => s.op === 'RUN' && s.args.includes('npm run build'))) problems.push('nothing runs `npm run build`: dist/ would be missing');
  return problems;
}

function checkDockerignore(text: string): string[] {
  const entries = new Set(text.split(/\r?\n/).map((l) => l.trim().replace(/^\/|\/$/g, '')));
  const required = {
    node_modules: 'the host’s node_modules would replace the image’s',
    '.swarmflow': 'local state (embedded databases, tools) would be baked in',
    '.git': 'the history would be baked in',
    dist: 'a host’s build of other sources would be baked in',
    '.env': 'secrets would be baked in',
    'swarmflow.config.json': 'a local config file would configure every container',
  };
  return Object.entries(required)
    .filter(([entry]) => !entries.has(entry))
    .map(([entry, why]) => `.dockerignore does not list ${entry}: ${why}`);
}

const read = (name: string) => readFileSync(join(PROJECT_ROOT, name), 'utf8');

describe('interpolate', () => {
  it('uses the defaults when the variables are unset, and the values when set', () => {
    expect(interpolate('postgres://u:${PW:-dflt}@h/${DB-db}')).toBe('postgres://u:dflt@h/db');
    expect(interpolate('${PW:-dflt} ${PW} $PW $$PW', { PW: 'real' })).toBe('real real real $PW');
    expect(interpolate('${EMPTY:-d}|${EMPTY-d}', { EMPTY: '' })).toBe('d|');
    expect(() => interpolate('${NEEDED:?set it}')).toThrow('NEEDED');
  });
});

describe('docker-compose.yml', () => {
  const result = checkCompose(read('docker-compose.yml'), PROJECT_ROOT);

  it('has no problems', () => {
    expect(result.problems).toEqual([]);
  });

  it('has the four services', () => {
    expect(result.services).toEqual(expect.arrayContaining(REQUIRED_SERVICES));
  });

  it('configures the worker for the external Temporal and Postgres, through known env vars only', () => {
    const config = result.workerConfig!;
    expect(config.temporal.address).toBe('temporal:7233');
    expect(new URL(config.database.url!).host).toBe('postgresql:5432');
    expect(new URL(config.database.url!).pathname).toBe('/swarmflow');
    expect(config.log.format).toBe('json');
  });

  it("keeps the worker's state folder (worktrees, agent sessions, logs) on a named volume, which a restart finds again", () => {
    const compose = parseDocument(read('docker-compose.yml'), { merge: true }).toJS() as { services: Record<string, { volumes?: string[]; tmpfs?: string[] }>; volumes?: Record<string, unknown> };
    const worker = compose.services[WORKER]!;
    const stateDir = result.workerConfig!.stateDir;
    const mount = (worker.volumes ?? []).find((v) => v.split(':')[1] === stateDir);
    expect(mount).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(mount!.split(':')[0]);
    expect(worker.tmpfs ?? []).not.toContainEqual(expect.stringContaining(stateDir));
  });

  it('reports every problem of a broken compose file', () => {
    const broken = `
version: "3.8"
services:
  postgresql:
    image: postgres:latest
    environment:
      POSTGRES_PASSWORD: hunter2
    volumes:
      - pgdata:/var/lib/postgresql/data
      - ./deploy/no-such-file.sql:/docker-entrypoint-initdb.d/10.sql:ro
  temporal:
    image: temporalio/auto-setup
    depends_on: [postgresql, mysql]
  temporal-ui:
    image: temporalio/ui:2
  swarm-worker:
    build:
      context: .
      dockerfile: Missing.Dockerfile
    depends_on:
      postgresql:
        condition: service_healthy
    stop_grace_period: 10s
    environment:
      - TEMPORAL_ADDRESS=temporal-frontend:7233
      - DATABASE_URL=postgres://swarmflow:plain@postgresql:5432/swarmflow
      - SWARM_LOG_FORMAT=\${SWARM_LOG_FORMAT:-pretty}
      - NODE_ENV=production
`;
    const { problems } = checkCompose(broken, PROJECT_ROOT);
    const expected = [
      'has a `version:` key',
      'postgresql: image postgres:latest is tagged latest',
      'temporal: image temporalio/auto-setup has no tag',
      'temporal-ui: image temporalio/ui:2 has a floating tag',
      'temporal: depends_on mysql, which is not a service',
      'swarm-worker: waits for postgresql to be healthy, but postgresql has no healthcheck',
      'postgresql: mounts ./deploy/no-such-file.sql, which does not exist',
      'postgresql: uses volume pgdata, not declared',
      'postgresql: POSTGRES_PASSWORD is written into the file',
      'swarm-worker: DATABASE_URL has a password written into the file',
      'swarm-worker: build uses Missing.Dockerfile, which does not exist',
      'swarm-worker: env NODE_ENV is not read by the app',
      'swarm-worker: TEMPORAL_ADDRESS temporal-frontend:7233 is not a service',
      'postgresql: no script in /docker-entrypoint-initdb.d creates the database swarmflow',
      'swarm-worker: SWARM_LOG_FORMAT is pretty',
      'swarm-worker: stop_grace_period (10s) is not longer than SWARM_SHUTDOWN_GRACE (30s)',
    ];
    for (const fragment of expected) expect(problems).toContainEqual(expect.stringContaining(fragment));
    expect(problems).toHaveLength(expected.length);
  });

  it('reports missing services, a missing build, unset addresses and an environment the app rejects', () => {
    const broken = `
services:
  swarm-worker:
    image: swarmflow/worker:0.1.0
    environment:
      SWARM_LOG_LEVEL: LOUD
  postgresql:
    image: postgres:16.4
`;
    expect(checkCompose(broken, PROJECT_ROOT).problems).toEqual([
      'service temporal is missing',
      'service temporal-ui is missing',
      'swarm-worker: no build (it is built from the repo\'s Dockerfile)',
      expect.stringMatching(/^swarm-worker: the app rejects its environment: .*log\.level \(env SWARM_LOG_LEVEL\)/s),
    ]);
    const unset = checkCompose('services:\n  swarm-worker:\n    build: .\n', PROJECT_ROOT).problems;
    expect(unset).toEqual(expect.arrayContaining([
      expect.stringContaining('TEMPORAL_ADDRESS is unset'),
      expect.stringContaining('DATABASE_URL is unset'),
    ]));
  });

  it('runs a second host: a host-only worker with its own host id and state volume, on the same Temporal and Postgres', () => {
    const { workers } = result;
    expect(Object.keys(workers).sort()).toEqual(['swarm-host-2', 'swarm-worker']);
    expect(workers['swarm-worker']!.workers).toMatchObject({ role: 'all', hostId: 'docker-worker-1' });
    expect(workers['swarm-host-2']!.workers).toMatchObject({ role: 'host', hostId: 'docker-worker-2' });
    expect(workers['swarm-host-2']!.temporal.address).toBe(workers['swarm-worker']!.temporal.address);
    expect(workers['swarm-host-2']!.database.url).toBe(workers['swarm-worker']!.database.url);
  });

  it('reports workers that would collide: a second stack worker, a shared host id, a shared state volume', () => {
    const worker = (id: string, volume: string, role?: string) => `
    build: .
    environment:
      TEMPORAL_ADDRESS: temporal:7233
      DATABASE_URL: postgres://swarmflow:\${PW:-x}@postgresql:5432/swarmflow
      SWARM_LOG_FORMAT: json
      SWARM_STATE_DIR: /var/lib/swarmflow
      SWARM_HOST_ID: ${id}${role ? `\n      SWARM_WORKER_ROLE: ${role}` : ''}
    stop_grace_period: 45s
    volumes:
      - ${volume}:/var/lib/swarmflow`;
    const text = `services:\n  swarm-worker:${worker('h1', 'state')}\n  swarm-twin:${worker('h1', 'state')}\n  swarm-host-2:${worker('h2', 'state2', 'host')}\nvolumes:\n  state:\n  state2:\n`;
    expect(checkCompose(text, PROJECT_ROOT).problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('swarm-twin: SWARM_WORKER_ROLE is all: a second stack worker would poll Telegram and serve webhooks twice'),
        expect.stringContaining("swarm-twin: SWARM_HOST_ID h1 is swarm-worker's too"),
        expect.stringContaining("swarm-twin: its state folder is on volume state, swarm-worker's too"),
      ]),
    );
    // The host-only worker with its own id and volume collides with nothing.
    expect(checkCompose(text, PROJECT_ROOT).problems.filter((p) => p.startsWith('swarm-host-2') && /ROLE|HOST_ID|state folder/.test(p))).toEqual([]);
  });

  it('reports a document that is not YAML, or has no services', () => {
    expect(checkCompose('services:\n  a: [unclosed\n', PROJECT_ROOT).problems).toEqual([expect.stringContaining('not valid YAML')]);
    expect(checkCompose('- just\n- a list\n', PROJECT_ROOT).problems).toEqual(['no `services:` mapping']);
  });
});

describe('Dockerfile', () => {
  it('pins its base image, builds and runs the compiled workers with node, and not as root', () => {
    expect(checkDockerfile(read('Dockerfile'))).toEqual([]);
  });

  it('reports every problem of a broken Dockerfile', () => {
    expect(checkDockerfile('FROM node:latest\nRUN npm ci\nCMD npm start\n')).toEqual([
      'FROM node:latest is tagged latest',
      'no USER: the container runs as root',
      expect.stringContaining('CMD is in shell form'),
      'nothing runs `npm run build`: dist/ would be missing',
    ]);
    expect(checkDockerfile('FROM node:20\nUSER root\nCMD ["node", "scripts/bootstrap.mjs"]\n')).toEqual([
      expect.stringContaining('FROM node:20 has a floating tag'),
      'USER root: the container runs as root',
      expect.stringContaining('does not run the compiled workers'),
      'nothing runs `npm run build`: dist/ would be missing',
    ]);
    expect(checkDockerfile('# nothing\n')).toEqual(['no FROM', 'no USER: the container runs as root', 'no CMD', 'nothing runs `npm run build`: dist/ would be missing']);
  });
});

describe('.dockerignore', () => {
  it('keeps local state, secrets and the host’s node_modules out of the image', () => {
    expect(checkDockerignore(read('.dockerignore'))).toEqual([]);
  });

  it('reports what it does not list', () => {
    expect(checkDockerignore('node_modules/\n/.git\n')).toEqual([
      expect.stringContaining('.swarmflow'),
      expect.stringContaining('dist'),
      expect.stringContaining('.env'),
      expect.stringContaining('swarmflow.config.json'),
    ]);
  });
});
