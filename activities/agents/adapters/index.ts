// The agent CLIs swarmflow runs through adapters, and where their binaries are on this host.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, findOnPath } from '../../../scripts/tools.mjs';
import type { AgentKind } from '../../../workflows/task/types.ts';
import { claude } from './claude.ts';
import { codex } from './codex.ts';
import { gemini } from './gemini.ts';
import type { AgentAdapter } from './types.ts';

export type CliKind = Exclude<AgentKind, 'command'>;

export const ADAPTERS: Record<CliKind, AgentAdapter> = { codex, claude, gemini };

export const isCli = (kind: AgentKind | undefined): kind is CliKind => kind !== undefined && kind !== 'command';

/**
 * A bare name is the version pinned in package.json (node_modules/.bin), else whatever PATH has;
 * a path is used as it is. Undefined when it is not there.
 */
export function resolveBinary(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  const pinned = join(PROJECT_ROOT, 'node_modules', '.bin', name);
  return existsSync(pinned) ? pinned : findOnPath(name);
}
