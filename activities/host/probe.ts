import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface HostFacts {
  hostId: string;
  git: string;
  tmux: string;
}

/** Proves the host worker runs and has the tools its activities need. */
export async function probeHost(hostId: string): Promise<HostFacts> {
  const [git, tmux] = await Promise.all([run('git', ['--version']), run('tmux', ['-V'])]);
  return { hostId, git: git.stdout.trim(), tmux: tmux.stdout.trim() };
}
