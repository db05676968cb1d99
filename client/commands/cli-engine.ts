// What runs an agent CLI, and whether its package's `engines.node` accepts it. Claude Code's npm
// entry is its native binary (its postinstall puts it there), so its `node >=22` does not apply;
// Codex and Gemini are Node scripts, run by the `node` first on PATH (the host worker passes its
// PATH to agents).
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { findOnPath } from '../../scripts/tools.mjs';

const run = promisify(execFile);

export type CliEngine =
  | { kind: 'native'; pkg?: string; wants?: string }
  | { kind: 'node'; pkg?: string; wants?: string; node: string; version: string; ok: boolean | undefined }
  | { kind: 'node'; pkg?: string; wants?: string; node: undefined };

function firstBytes(file: string, n = 64): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** The nearest package.json above the file that names a package. */
function owningPackage(file: string): { name?: string; engines?: { node?: string } } | undefined {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; engines?: { node?: string } };
    if (pkg.name) return pkg;
  }
  return undefined;
}

/**
 * Whether `version` meets a `>=X[.Y[.Z]]` range, the form these CLIs declare; undefined for any
 * other form (not checked).
 */
export function meetsMinimum(version: string, range: string): boolean | undefined {
  const min = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!min) return undefined;
  const have = version.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const want = Number(min[i + 1] ?? 0);
    const got = have[i] ?? 0;
    if (got !== want) return got > want;
  }
  return true;
}

/** How the CLI at `binary` runs, and on which Node when it is a script. */
export async function cliEngine(binary: string, env: NodeJS.ProcessEnv = process.env): Promise<CliEngine> {
  const file = realpathSync(binary);
  const pkg = owningPackage(file);
  const meta = { pkg: pkg?.name, wants: pkg?.engines?.node };
  const head = firstBytes(file);
  if (head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return { kind: 'native', ...meta };
  // A script: `#!/usr/bin/env node` (or a node path) runs it on that Node.
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(head.toString('utf8'));
  const interpreter = shebang?.[1]?.endsWith('/env') ? shebang[2] : shebang?.[1];
  const node = interpreter?.includes('/') ? interpreter : findOnPath(interpreter ?? 'node', env);
  if (!node) return { kind: 'node', ...meta, node: undefined };
  const { stdout } = await run(node, ['--version']);
  const version = stdout.trim();
  return { kind: 'node', ...meta, node, version, ok: meta.wants ? meetsMinimum(version, meta.wants) : true };
}
