// The doctor's agent-sandbox line: what isolation agents get on this host, and the fix when the
// default (`required` for CLI agents) cannot be met.
import { describe, expect, it } from '@jest/globals';
import { checkAgentSandbox } from '../../client/commands/doctor.ts';
import { loadConfig } from '../../lib/config.ts';
import { tempDir } from '../harness/paths.ts';

const config = (sandbox?: string) => loadConfig({ env: { SWARM_STATE_DIR: tempDir('doctor-sandbox'), ...(sandbox ? { SWARM_SANDBOX: sandbox } : {}) } });

describe('swarm doctor, agent-sandbox', () => {
  it('says what a sandboxed agent gets here, with bubblewrap on PATH', () => {
    const result = checkAgentSandbox(config(), process.env);
    expect(result).toMatchObject({ name: 'agent-sandbox', status: 'ok' });
    expect(result.detail).toMatch(/^bubblewrap \/\S*bwrap: read-only system, only the task's clone and home writable, private \/tmp and pid namespace, /);
    expect(result.detail).toContain('(host.sandbox unset: required for CLI agents, preferred for command agents)');
    if (process.getuid?.() === 0) expect(result.detail).toContain('each task its own unprivileged uid');
  });

  it('fails with the install command when bubblewrap is missing and CLI agents require it; says agents run unsandboxed under "preferred", and as the worker under "off"', () => {
    expect(checkAgentSandbox(config(), { PATH: '/nonexistent' })).toEqual({
      name: 'agent-sandbox',
      status: 'fail',
      detail: 'bubblewrap (bwrap) is not installed: CLI agents will not start (host.sandbox unset: required for CLI agents, preferred for command agents)',
      fix: 'apt-get install --no-install-recommends bubblewrap (Debian/Ubuntu, as root; npm start and npm test install it when run as root); or SWARM_SANDBOX=preferred to run them unsandboxed',
    });
    expect(checkAgentSandbox(config('preferred'), { PATH: '/nonexistent' })).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^none: bubblewrap \(bwrap\) is not installed; agents run unsandboxed \(host.sandbox "preferred"\)/) });
    expect(checkAgentSandbox(config('off'), { PATH: '/nonexistent' })).toMatchObject({ status: 'ok', detail: expect.stringContaining("off (host.sandbox \"off\"): agents run as the worker's user") });
  });

  it('refuses a mode it does not know, naming the three', () => {
    expect(() => config('strict')).toThrow('host.sandbox (env SWARM_SANDBOX): Invalid option: expected one of "required"|"preferred"|"off"');
  });
});
