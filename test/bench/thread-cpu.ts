// CPU time of this process's threads, from /proc/self/task: the workflow threads the SDK starts
// with a worker are told apart as the threads that appeared while it was created.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export function threadIds(): Set<string> {
  return new Set(readdirSync('/proc/self/task'));
}

/** User + system CPU of these threads, in ms (a thread that has ended counts 0). */
export function threadCpuMs(tids: Iterable<string>): number {
  let ticks = 0;
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the thread ended
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
