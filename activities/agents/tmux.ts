// The one way swarmflow runs tmux: argv through execa (never a shell string), always against our
// own server socket (never the user's default server), with no user config and a minimal
// environment. The server keeps the environment of the client that started it and hands it to
// every pane, so starting it from the worker's full env would leak the worker's secrets.
import { runCommand } from '../../lib/spawner/run.ts';

export interface TmuxResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

// What tmux prints when the session (or the whole server) is not there: an answer, not a fault.
// A server that exits with its last session answers "server exited unexpectedly": also absent.
// tmux 3.3 answers `list-panes -s -t =<missing>` with "can't find window" while other sessions
// live; every target we give names a session, so that too means the session is gone.
const ABSENT = /can't find session|can't find window|no such session|no server running|error connecting to|server exited unexpectedly/;

// A unix socket path must fit sockaddr_un.sun_path (108 bytes with the NUL on Linux).
const MAX_SOCKET_PATH = 100;

export function createTmux(socket: string) {
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new Error(`tmux socket path is too long for a unix socket (${Buffer.byteLength(socket)} > ${MAX_SOCKET_PATH} bytes): ${socket}; use a shorter state folder`);
  }
  const env: Record<string, string> = { LANG: process.env.LANG ?? 'C.UTF-8' };
  if (process.env.PATH) env.PATH = process.env.PATH;

  /** Runs tmux; a "session/server not found" exit is returned as `absent`, any other failure throws. */
  async function tmux(args: string[]): Promise<TmuxResult & { absent: boolean }> {
    const res = await runCommand({ file: 'tmux', args: ['-S', socket, '-f', '/dev/null', ...args], env, timeoutMs: 30_000 });
    const exitCode = res.exitCode ?? -1;
    const absent = exitCode === 1 && ABSENT.test(res.stderr);
    if (exitCode !== 0 && !absent) {
      throw new Error(`tmux ${args.join(' ')} failed (exit ${res.exitCode ?? 'none'}): ${res.stderr.trim() || (res.timedOut ? 'timed out after 30 s' : 'no message')}`);
    }
    return { stdout: res.stdout, stderr: res.stderr, exitCode, absent };
  }

  return { socket, run: tmux };
}

export type Tmux = ReturnType<typeof createTmux>;

/** The exact-match target for a session: `=name` never resolves to a prefix or another session. */
export const exactSession = (session: string) => `=${session}`;
/** The active pane of exactly that session (send-keys wants a pane target). */
export const exactPane = (session: string) => `=${session}:`;
