import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../lib/config.ts';

const load = (env: NodeJS.ProcessEnv) => loadConfig({ env });

describe('configuration: the reaper', () => {
  it('runs every 10 minutes and leaves tasks closed less than a minute ago, unless told otherwise', () => {
    expect(load({}).reaper).toEqual({ interval: '10m', grace: '1m' });
    expect(load({ SWARM_REAPER_INTERVAL: '1h', SWARM_REAPER_GRACE: '0s' }).reaper).toEqual({ interval: '1h', grace: '0s' });
  });

  it('refuses an interval that is not a duration longer than 0, naming the env var', () => {
    for (const interval of ['0m', 'often']) {
      expect(() => load({ SWARM_REAPER_INTERVAL: interval })).toThrow(ConfigError);
      expect(() => load({ SWARM_REAPER_INTERVAL: interval })).toThrow(/reaper\.interval \(env SWARM_REAPER_INTERVAL\): a duration/);
    }
  });
});
