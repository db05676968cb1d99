import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../lib/config.ts';

const load = (env: NodeJS.ProcessEnv) => loadConfig({ env });

describe('configuration: the host section', () => {
  it('has defaults sized for a 2-core machine', () => {
    // No sandbox mode: each agent kind has its own default (required for CLIs).
    expect(load({}).host).toEqual({ maxAgents: 3, maxHeavyValidations: 1, minFreeMemoryMb: 2048, agentMemoryLimitMb: 4096, spawnHoldRetry: '30s', agentMaxProcesses: 2048, agentMaxRuntime: '4h', agentTmpMb: 1024, agentDiskMb: 20480, egressAllow: [] });
  });

  it('takes every field from env', () => {
    const host = load({
      SWARM_MAX_AGENTS: '8',
      SWARM_MAX_HEAVY_VALIDATIONS: '2',
      SWARM_MIN_FREE_MEMORY_MB: '0',
      SWARM_AGENT_MEMORY_LIMIT_MB: '6144',
      SWARM_SPAWN_HOLD_RETRY: '2m',
      SWARM_SANDBOX: 'preferred',
      SWARM_AGENT_MAX_PROCESSES: '512',
      SWARM_EGRESS_ALLOW: 'gateway.internal.example:443, *.npmjs.org:443',
      SWARM_AGENT_MAX_RUNTIME: '90m',
      SWARM_AGENT_TMP_MB: '256',
      SWARM_AGENT_DISK_MB: '4096',
    }).host;
    expect(host).toEqual({ maxAgents: 8, maxHeavyValidations: 2, minFreeMemoryMb: 0, agentMemoryLimitMb: 6144, spawnHoldRetry: '2m', sandbox: 'preferred', agentMaxProcesses: 512, agentMaxRuntime: '90m', agentTmpMb: 256, agentDiskMb: 4096, egressAllow: ['gateway.internal.example:443', '*.npmjs.org:443'] });
  });

  it('refuses a ceiling that would stop all work or a limit no agent can start under, naming the env var', () => {
    let problems: string[] = [];
    try {
      load({ SWARM_MAX_AGENTS: '0', SWARM_MAX_HEAVY_VALIDATIONS: '1.5', SWARM_AGENT_MEMORY_LIMIT_MB: '64', SWARM_SPAWN_HOLD_RETRY: 'soon', SWARM_AGENT_MAX_PROCESSES: '8', SWARM_EGRESS_ALLOW: 'everything' });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^host\.maxAgents \(env SWARM_MAX_AGENTS\): .*>=1/),
      expect.stringMatching(/^host\.maxHeavyValidations \(env SWARM_MAX_HEAVY_VALIDATIONS\): .*int/),
      expect.stringMatching(/^host\.agentMemoryLimitMb \(env SWARM_AGENT_MEMORY_LIMIT_MB\): .*>=256/),
      expect.stringMatching(/^host\.spawnHoldRetry \(env SWARM_SPAWN_HOLD_RETRY\): a duration/),
      expect.stringMatching(/^host\.agentMaxProcesses \(env SWARM_AGENT_MAX_PROCESSES\): .*>=64/),
      expect.stringMatching(/^host\.egressAllow\.0 \(env SWARM_EGRESS_ALLOW\): host:port, such as/),
    ]);
  });
});
