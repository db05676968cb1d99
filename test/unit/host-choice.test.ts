import { describe, expect, it } from '@jest/globals';
import { freestHost, type HostRecord } from '../../activities/store/hosts.ts';

const host = (hostId: string, liveAgents: number, maxAgents: number, freeMemoryMb: number, state: HostRecord['state'] = 'alive'): HostRecord => ({
  hostId, taskQueue: `swarm-host-${hostId}`, liveAgents, maxAgents, freeMemoryMb, state, heartbeatMs: 10_000, startedAt: '2026-12-08T00:00:00.000Z', lastSeen: '2026-12-08T00:00:10.000Z',
});

describe('freestHost: where a GitHub task that names no host goes', () => {
  it('takes the alive host with the most free agent slots, whatever its memory', () => {
    expect(freestHost([host('a', 2, 3, 9_000), host('b', 0, 3, 1_000), host('c', 1, 3, 8_000)], 'a')).toEqual({ hostId: 'b', why: 'the most free of 3 alive host(s): 3 of 3 agent slot(s) free, 1000 MB' });
  });

  it('on a tie of free slots prefers the configured host, then the most free memory', () => {
    expect(freestHost([host('a', 1, 3, 1_000), host('b', 1, 3, 9_000)], 'a').hostId).toBe('a');
    expect(freestHost([host('a', 3, 3, 9_000), host('b', 1, 3, 1_000), host('c', 1, 3, 5_000)], 'a').hostId).toBe('c');
  });

  it('never picks a host that is gone or stopped, and falls back to the configured host when none is alive', () => {
    expect(freestHost([host('gone', 0, 9, 9_000, 'gone'), host('stopped', 0, 9, 9_000, 'stopped'), host('a', 2, 3, 100)], 'a').hostId).toBe('a');
    expect(freestHost([host('gone', 0, 9, 9_000, 'gone')], 'a')).toEqual({ hostId: 'a', why: 'no host in the registry is alive: the configured one' });
    expect(freestHost([], 'a').hostId).toBe('a');
  });
});
