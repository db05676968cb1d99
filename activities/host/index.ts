// Activities bound to this machine's disk (worktrees, tmux, gates): they run on the host queue.
import { probeHost } from './probe.ts';

export interface HostActivityDeps {
  hostId: string;
}

export function createHostActivities({ hostId }: HostActivityDeps) {
  return {
    probeHost: () => probeHost(hostId),
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
