// The workflow bundle is built once per source version (the real bundler, on a small workflows
// folder): the same sources reuse it, a changed module it imports rebuilds it.
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SwarmLogger } from '../../lib/logger.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { bundleWorkflows } from '../../workers/workers.ts';
import { tempDir } from '../harness/paths.ts';

const logger = new SwarmLogger({ level: 'WARN' });

function workflowsFolder(greeting: string): string {
  const dir = tempDir('bundle');
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'workflows'));
  writeFileSync(join(dir, 'workflows', 'index.ts'), "import { greeting } from './greeting.ts';\nexport async function hello(): Promise<string> {\n  return greeting;\n}\n");
  writeFileSync(join(dir, 'workflows', 'greeting.ts'), `export const greeting = '${greeting}';\n`);
  return dir;
}

describe('workflow bundle cache', () => {
  it('reuses the bundle for the same sources and rebuilds when an imported module changes', async () => {
    const dir = workflowsFolder('hello from the first build');
    const options = { cacheDir: join(dir, 'cache'), workflowsPath: join(dir, 'workflows', 'index.ts') };

    const first = await bundleWorkflows(logger, options);
    expect(first.source).toBe('built');
    expect(first.code).toContain('hello from the first build');

    const second = await bundleWorkflows(logger, options);
    expect(second).toEqual({ source: 'cache', code: first.code });

    writeFileSync(join(dir, 'workflows', 'greeting.ts'), "export const greeting = 'hello after a change';\n");
    const third = await bundleWorkflows(logger, options);
    expect(third.source).toBe('built');
    expect(third.code).toContain('hello after a change');
    // Only the current bundle is kept.
    expect(readdirSync(options.cacheDir)).toHaveLength(1);
  });

  it('builds every time without a cache folder', async () => {
    const dir = workflowsFolder('uncached');
    const workflowsPath = join(dir, 'workflows', 'index.ts');
    expect((await bundleWorkflows(logger, { workflowsPath })).source).toBe('built');
    expect((await bundleWorkflows(logger, { workflowsPath })).source).toBe('built');
  });
});
