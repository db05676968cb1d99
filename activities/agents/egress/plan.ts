// What a sandboxed agent run may reach (issue #14), and what it asked for: the allow-list its
// egress proxy enforces (proxy.mjs) and the bridge inside the sandbox (bridge.mjs), and the record
// of destinations that goes into the attempt's receipt.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { parseAuthority } from '../../../lib/authority.mjs';
import { PROJECT_ROOT } from '../../../scripts/tools.mjs';
import type { AgentCommand, EgressRecord } from '../../../workflows/task/types.ts';
import { ADAPTERS, isCli } from '../adapters/index.ts';
import { readJsonLines, writeFileAtomic } from '../files.ts';
import { MODEL_KEY, MODEL_SOCKET, PLAN, RECORD, SOCKET } from './proxy.mjs';

export const EGRESS_PROXY = join(PROJECT_ROOT, 'activities', 'agents', 'egress', 'proxy.mjs');
export const EGRESS_BRIDGE = join(PROJECT_ROOT, 'activities', 'agents', 'egress', 'bridge.mjs');
/** Where the proxy's socket shows inside the sandbox: a short path (the real one may pass a unix socket's 107 bytes). */
export const SOCKET_INSIDE = '/tmp/.swarmflow-egress.sock';
const MODEL_SOCKET_INSIDE = '/tmp/.swarmflow-model.sock';
const PROXY_PORT = 3128;

/** The model API the agent's CLI talks to: its base URL, else the CLI's own; none for a command agent. */
export function modelBaseUrl(agent: Pick<AgentCommand, 'kind' | 'baseUrl'>): string | undefined {
  return agent.baseUrl ?? (isCli(agent.kind) ? ADAPTERS[agent.kind].defaultBaseUrl : undefined);
}

/** The model endpoint's `host:port`, the one destination the agent's CLI needs. */
export function modelEndpoints(agent: Pick<AgentCommand, 'kind' | 'baseUrl'>): string[] {
  const base = modelBaseUrl(agent);
  if (!base) return [];
  const url = new URL(base);
  return [`${url.hostname.toLowerCase()}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`];
}

/** The agent's key, held by the proxy: the CLI is given the placeholder and the model port's base URL instead. */
export interface KeyRoute {
  /** The model API the requests go on to. */
  upstream: string;
  key: string;
}

/** What the CLI is given when its proxy holds its key: a placeholder worth nothing elsewhere, and where to send its requests. */
export interface HeldKey {
  placeholder: string;
  /** Plain HTTP on the sandbox's loopback, with the endpoint's path (`http://127.0.0.1:3129/v1`). */
  baseUrl: string;
}

export interface EgressPlan {
  allow: string[];
  /** Allowed loopback destinations' ports: the bridge listens on each inside the sandbox. */
  forwarded: number[];
  proxyPort: number;
  /** The model route's port inside the sandbox, and what the CLI is given, when the proxy holds the key. */
  model?: HeldKey & { port: number };
  /** The attempt folder the proxy runs in (its sockets, plan and record). */
  dir: string;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** The run's allow-list: its model endpoint, the repository's registries, the host's extras. */
export const egressAllowList = (agent: Pick<AgentCommand, 'kind' | 'baseUrl'>, ...lists: (readonly string[] | undefined)[]): string[] => [...new Set([...modelEndpoints(agent), ...lists.flatMap((l) => l ?? [])])].sort();

/**
 * The allow-list written for the run's proxy, and where the bridge listens. With `key`, the proxy
 * holds the agent's key (model.key, 0600 in the attempt folder the sandbox hides, removed by the
 * proxy once read), and the plan says what the CLI is given in its place.
 */
export function writeEgressPlan(dir: string, allow: string[], key?: KeyRoute): EgressPlan {
  const forwarded = [...new Set(allow.map((d) => parseAuthority(d)!).filter((d) => isLoopback(d.host)).map((d) => d.port))].sort((a, b) => a - b);
  const free = (from: number, taken: number[]) => {
    let port = from;
    while (taken.includes(port)) port++;
    return port;
  };
  const proxyPort = free(PROXY_PORT, forwarded);
  if (!key) {
    writeFileAtomic(join(dir, PLAN), JSON.stringify({ allow }));
    return { allow, forwarded, proxyPort, dir };
  }
  const port = free(proxyPort + 1, forwarded);
  const path = new URL(key.upstream).pathname.replace(/\/$/, '');
  // Random per run: it names no key, and one run's placeholder means nothing to another's proxy.
  const model = { port, placeholder: `swarmflow-held-key-${randomBytes(12).toString('hex')}`, baseUrl: `http://127.0.0.1:${port}${path}` };
  writeFileAtomic(join(dir, MODEL_KEY), key.key);
  writeFileAtomic(join(dir, PLAN), JSON.stringify({ allow, model: { upstream: key.upstream, placeholder: model.placeholder } }));
  return { allow, forwarded, proxyPort, model, dir };
}

/** The sandbox's side: the sockets bound in, no network but loopback, and the bridge before the agent. */
export function bridgeArgv(plan: EgressPlan): { binds: string[]; argv: string[] } {
  const model = plan.model ? ['--bind', join(plan.dir, MODEL_SOCKET), MODEL_SOCKET_INSIDE] : [];
  return {
    binds: ['--unshare-net', '--bind', join(plan.dir, SOCKET), SOCKET_INSIDE, ...model],
    argv: [process.execPath, EGRESS_BRIDGE, SOCKET_INSIDE, String(plan.proxyPort), plan.forwarded.length > 0 ? plan.forwarded.join(',') : '-', plan.model ? `${plan.model.port}=${MODEL_SOCKET_INSIDE}` : '-', '--'],
  };
}

/** What the agent's HTTP clients are told: the proxy for everything, loopback (forwarded) direct. */
export function proxyEnvironment(plan: EgressPlan): Record<string, string> {
  const proxy = `http://127.0.0.1:${plan.proxyPort}`;
  const direct = '127.0.0.1,localhost,::1';
  return { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: direct, no_proxy: direct };
}

const RecordLine = z.object({ destination: z.string().nullable(), allowed: z.boolean(), reason: z.string().optional(), error: z.string().optional() });
const MAX_DESTINATIONS = 50;

/** The run's destinations, one entry each with how often it was asked for (the first reason kept), for the receipt. */
export function egressRecord(dir: string): EgressRecord | undefined {
  const lines = readJsonLines(join(dir, RECORD));
  if (lines.length === 0) return undefined;
  const byDestination = new Map<string, EgressRecord['destinations'][number]>();
  for (const raw of lines) {
    const line = RecordLine.safeParse(raw);
    if (!line.success) continue;
    const { destination, allowed, reason, error } = line.data;
    const key = `${allowed}:${destination ?? '(malformed request)'}`;
    const seen = byDestination.get(key);
    if (seen) seen.count++;
    else byDestination.set(key, { destination: destination ?? '(malformed request)', allowed, count: 1, ...(reason ? { reason } : {}), ...(error ? { error } : {}) });
  }
  const destinations = [...byDestination.values()];
  return {
    requests: lines.length,
    refused: destinations.filter((d) => !d.allowed).reduce((n, d) => n + d.count, 0),
    destinations: destinations.slice(0, MAX_DESTINATIONS),
    ...(destinations.length > MAX_DESTINATIONS ? { moreDestinations: destinations.length - MAX_DESTINATIONS } : {}),
  };
}
