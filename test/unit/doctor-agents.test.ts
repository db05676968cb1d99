// The doctor's agent CLI lines: each configured CLI is run for its version, on this host.
import { describe, expect, it } from '@jest/globals';
import { checkAgentClis } from '../../client/commands/doctor.ts';
import { loadConfig } from '../../lib/config.ts';

describe('swarm doctor, agent CLIs', () => {
  it('reports the pinned version of each configured CLI, and nothing for command agents', async () => {
    const results = await Promise.all(checkAgentClis(loadConfig({ env: {} })));
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['agent codex', 'ok'],
      ['agent claude', 'ok'],
      ['agent gemini', 'ok'],
    ]);
    expect(results.map((r) => r.detail)).toEqual(['codex-cli 0.169.0', '2.1.332 (Claude Code)', '0.61.0']);
  });

  it('fails a CLI whose binary is missing, with the fix', async () => {
    const config = loadConfig({ env: {} });
    config.agents = { codex: { kind: 'codex', model: 'gpt-5-codex', mode: 'headless', binary: '/nonexistent/codex', args: [], passEnv: [] } };
    const [result] = await Promise.all(checkAgentClis(config));
    expect(result).toMatchObject({ name: 'agent codex', status: 'fail', fix: expect.stringContaining('agents.codex.binary') });
  });
});
