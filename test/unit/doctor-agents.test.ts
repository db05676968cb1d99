// The doctor's agent CLI lines: each configured CLI is run for its version, on this host, and
// what runs it (its native binary, or a Node) is checked against its package's declared engine.
import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { meetsMinimum } from '../../client/commands/cli-engine.ts';
import { checkAgentClis } from '../../client/commands/doctor.ts';
import { loadConfig, type Config } from '../../lib/config.ts';
import { findOnPath } from '../../scripts/tools.mjs';
import { tempDir } from '../harness/paths.ts';

const node = findOnPath('node')!;
const nodeVersion = process.version;

/** A CLI package like Gemini's: a Node script whose package.json declares `engines.node`. */
function scriptCli(engine: string): string {
  const dir = join(tempDir('cli'), 'node_modules', 'future-cli');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'future-cli', version: '1.0.0', engines: { node: engine } }));
  writeFileSync(join(dir, 'bin', 'future.js'), "#!/usr/bin/env node\nconsole.log('future 1.0.0');\n");
  chmodSync(join(dir, 'bin', 'future.js'), 0o755);
  return join(dir, 'bin', 'future.js');
}

function withAgent(binary: string): Config {
  const config = loadConfig({ env: {} });
  config.agents = { future: { kind: 'gemini', model: 'gemini-2.5-pro', mode: 'headless', binary, args: [], passEnv: [] } };
  return config;
}

describe('swarm doctor, agent CLIs', () => {
  it('reports the pinned version of each configured CLI and the truth about what runs it', async () => {
    const results = await Promise.all(checkAgentClis(loadConfig({ env: {} })));
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['agent codex', 'ok'],
      ['agent claude', 'ok'],
      ['agent gemini', 'ok'],
    ]);
    expect(results.map((r) => r.detail)).toEqual([
      `codex-cli 0.169.0; runs on Node ${nodeVersion} (${node}), engines node >=16`,
      // Claude Code's npm entry is its native binary: Node's version does not matter to it.
      '2.1.332 (Claude Code); native binary, runs without Node (engines node >=22.0.0 does not apply)',
      `0.61.0; runs on Node ${nodeVersion} (${node}), engines node >=20`,
    ]);
  });

  it('fails a Node CLI whose declared engine the Node on PATH does not meet, with the fix', async () => {
    const [result] = await Promise.all(checkAgentClis(withAgent(scriptCli('>=99.1.0'))));
    expect(result).toMatchObject({
      name: 'agent future',
      status: 'fail',
      detail: `future 1.0.0; runs on Node ${nodeVersion} (${node}), but future-cli declares engines node >=99.1.0`,
      fix: expect.stringContaining('put a Node that meets >=99.1.0 first on the host worker\'s PATH, or pin a future-cli release'),
    });
    const [met] = await Promise.all(checkAgentClis(withAgent(scriptCli(`>=${process.versions.node}`))));
    expect(met).toMatchObject({ status: 'ok' });
  });

  it('compares versions with a >= range part by part', () => {
    expect(meetsMinimum('v20.20.2', '>=22.0.0')).toBe(false);
    expect(meetsMinimum('v20.20.2', '>=20')).toBe(true);
    expect(meetsMinimum('v20.20.2', '>= 20.21')).toBe(false);
    expect(meetsMinimum('v22.0.0', '>=22.0.0')).toBe(true);
    expect(meetsMinimum('v20.20.2', '^20 || >=22')).toBeUndefined();
  });

  it('fails a CLI whose binary is missing, with the fix', async () => {
    const config = loadConfig({ env: {} });
    config.agents = { codex: { kind: 'codex', model: 'gpt-5-codex', mode: 'headless', binary: '/nonexistent/codex', args: [], passEnv: [] } };
    const [result] = await Promise.all(checkAgentClis(config));
    expect(result).toMatchObject({ name: 'agent codex', status: 'fail', fix: expect.stringContaining('agents.codex.binary') });
  });
});
