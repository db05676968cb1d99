// The workflow bundle, built once per source version: webpack takes 25-55 s on a busy 2-core
// machine, so a restart reuses the bundle the last start built from the same sources.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// `import … from 'x'`, `export … from 'x'`, `import 'x'`. A type-only import is erased and left out.
const IMPORT = /\b(?:import|export)\s+(type\s+)?(?:[\w*\s{},$]*?\s+from\s+)?['"]([^'"]+)['"]/g;

/** The package a bare specifier names: `zod`, `@temporalio/workflow` (from `@temporalio/workflow/lib/x`). */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The version of a package as the file at `from` resolves it (the nearest node_modules up). */
function packageVersion(name: string, from: string): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    if (dir === dirname(dir)) return 'unresolved';
  }
}

/**
 * A hash of everything the bundle is made of: each local module reachable from the entry
 * (its path and content), the version of each package they import and of the bundler, and
 * the bundler options.
 */
export function bundleKey(entry: string, bundlerOptions: Record<string, unknown>): string {
  const hash = createHash('sha256').update(JSON.stringify(bundlerOptions));
  hash.update(`@temporalio/worker@${packageVersion('@temporalio/worker', entry)}\n`);
  const root = dirname(entry);
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (specified: string) => {
    // As the bundler resolves a relative specifier: as written, or with an extension or index added.
    const file = [specified, `${specified}.ts`, `${specified}.js`, join(specified, 'index.ts')].find((f) => existsSync(f) && !statSync(f).isDirectory());
    if (!file) return void hash.update(`missing ${relative(root, specified)}\n`);
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    hash.update(`${relative(root, file)}\n${source}\n`);
    for (const [, typeOnly, specifier] of source.matchAll(IMPORT)) {
      if (typeOnly || !specifier) continue;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else if (!specifier.startsWith('node:')) packages.add(`${packageName(specifier)}@${packageVersion(packageName(specifier), file)}`);
    }
  };
  visit(entry);
  for (const pkg of [...packages].sort()) hash.update(`${pkg}\n`);
  return hash.digest('hex').slice(0, 32);
}

const cacheFile = (cacheDir: string, key: string) => join(cacheDir, `workflow-bundle-${key}.js`);

export function readCachedBundle(cacheDir: string, key: string): string | undefined {
  const file = cacheFile(cacheDir, key);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** Written atomically (a reader never sees half a bundle); bundles of other keys are removed. */
export function writeCachedBundle(cacheDir: string, key: string, code: string): void {
  mkdirSync(cacheDir, { recursive: true });
  const file = cacheFile(cacheDir, key);
  const partial = `${file}.partial-${process.pid}`;
  writeFileSync(partial, code);
  renameSync(partial, file);
  for (const name of readdirSync(cacheDir)) {
    if (name.startsWith('workflow-bundle-') && name.endsWith('.js') && join(cacheDir, name) !== file) rmSync(join(cacheDir, name), { force: true });
  }
}
