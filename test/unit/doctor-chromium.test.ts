// The doctor's chromium line: the browser the UI gate's screenshots need, found and run on this host.
import { describe, expect, it } from '@jest/globals';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkChromium } from '../../client/commands/doctor.ts';
import { findOnPath } from '../../scripts/tools.mjs';
import { tempDir } from '../harness/paths.ts';

describe('swarm doctor, chromium', () => {
  it('reports the Chromium on PATH with its version', async () => {
    const path = findOnPath('chromium');
    expect(path).toBeDefined();
    const result = await checkChromium({ PATH: process.env.PATH });
    expect(result).toMatchObject({ name: 'chromium', status: 'ok' });
    expect(result.detail).toMatch(new RegExp(`^Chromium \\d+\\.[\\d.]+ .*\\(${path!}, from PATH\\)$`));
  });

  it('fails with the install command when there is none, and with a reinstall when it does not run', async () => {
    expect(await checkChromium({ PATH: '/nonexistent' })).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('was not found in SWARM_CHROMIUM or PATH'),
      fix: 'apt-get install --no-install-recommends chromium (Debian/Ubuntu, as root), or set SWARM_CHROMIUM to a Chromium binary',
    });
    const broken = join(tempDir('chromium'), 'chromium');
    writeFileSync(broken, '#!/bin/sh\necho "error while loading shared libraries: libnss3.so" >&2\nexit 127\n');
    chmodSync(broken, 0o755);
    expect(await checkChromium({ PATH: '/nonexistent', SWARM_CHROMIUM: broken })).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('apt-get install --reinstall chromium'),
    });
  });
});
