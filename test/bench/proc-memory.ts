// Memory of a process tree from /proc (Linux): the root process and every descendant, sampled on
// an interval. Per sample we add up each live process's VmHWM (its own peak RSS so far), VmRSS and
// PSS (shared pages split between the processes that map them), then keep the maximum of each sum
// over the samples. Processes are grouped by what they are: the root (a node process), the
// Temporal dev server, Postgres (postmaster and its backends), anything else.
import { readdirSync, readFileSync } from 'node:fs';

export type Group = 'node' | 'temporal' | 'postgres' | 'other';
export const GROUPS: Group[] = ['node', 'temporal', 'postgres', 'other'];

export interface MemoryPeak {
  /** Max over samples of the summed VmHWM of live processes, bytes (the headline number). */
  hwm: number;
  /** The same, per group (each its own maximum, so they need not add up to `hwm`). */
  groups: Record<Group, number>;
  /** Max over samples of the summed VmRSS, bytes: what was resident at the same moment. */
  rss: number;
  /** Max over samples of the summed PSS, bytes: shared pages (Postgres's shared buffers) counted once. */
  pss: number;
  samples: number;
  /** Distinct processes seen, per group. */
  processes: Record<Group, number>;
  /** The command names behind 'other' (helpers such as tsx's esbuild, initdb, git). */
  otherNames: string[];
}

interface Stat {
  ppid: number;
  comm: string;
  startTime: string;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    return { ppid: Number(fields[1]), comm, startTime: fields[19] ?? '' };
  } catch {
    return undefined; // gone, or not readable
  }
}

/** Every process below `root` (children, grandchildren, …), from one scan of /proc. */
export function descendants(root: number): Map<number, Stat> {
  const children = new Map<number, Array<{ pid: number; stat: Stat }>>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push({ pid, stat });
    children.set(stat.ppid, list);
  }
  const found = new Map<number, Stat>();
  const queue = [root];
  while (queue.length > 0) {
    for (const { pid, stat } of children.get(queue.shift()!) ?? []) {
      if (found.has(pid)) continue;
      found.set(pid, stat);
      queue.push(pid);
    }
  }
  return found;
}

function statusBytes(pid: number): { hwm: number; rss: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return undefined;
  }
}

export function pssBytes(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0; // no smaps_rollup (old kernel) or not permitted: PSS then reads low
  }
}

/** This process's own VmHWM (peak RSS), bytes. */
export function ownHwm(): number {
  return statusBytes(process.pid)?.hwm ?? 0;
}

/** This process's RSS every `intervalMs` from now until `stop()`: the largest value seen, bytes. */
export function sampleOwnRss(intervalMs = 100): { stop: () => { peak: number; samples: number } } {
  let peak = process.memoryUsage().rss;
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    samples += 1;
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { peak, samples };
    },
  };
}

function classify(pid: number, root: number, comm: string): Group {
  if (pid === root) return 'node';
  if (comm === 'postgres' || comm === 'postmaster') return 'postgres';
  if (comm.startsWith('temporal')) return 'temporal';
  return 'other';
}

const zero = (): Record<Group, number> => ({ node: 0, temporal: 0, postgres: 0, other: 0 });

/** Samples between two PSS reads. */
const PSS_EVERY = 10;

export class TreeMemorySampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly seen = new Map<string, Group>();
  private readonly otherNames = new Set<string>();
  private readonly peak: MemoryPeak = { hwm: 0, groups: zero(), rss: 0, pss: 0, samples: 0, processes: zero(), otherNames: [] };
  /** Every pid seen below the root (for an emergency stop if the root dies without its children). */
  readonly pids = new Set<number>();

  constructor(
    private readonly root: number,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  sample(): void {
    // PSS (smaps_rollup) is the dear read: the kernel walks each process's mappings. Run inside the
    // measured process, every 100 ms it took 5.7 s of a 20-task run's main thread (docs/PERFORMANCE.md):
    // every 10th sample then, with the rest (status, stat) on each.
    const withPss = this.peak.samples % PSS_EVERY === 0;
    const tree = descendants(this.root);
    const rootStat = readStat(this.root);
    if (rootStat) tree.set(this.root, rootStat);
    const hwm = zero();
    let rss = 0;
    let pss = 0;
    for (const [pid, stat] of tree) {
      const mem = statusBytes(pid);
      if (!mem || mem.hwm === 0) continue; // exited meanwhile, or a kernel thread
      const group = classify(pid, this.root, stat.comm);
      this.seen.set(`${pid}:${stat.startTime}`, group);
      if (group === 'other') this.otherNames.add(stat.comm);
      if (pid !== this.root) this.pids.add(pid);
      hwm[group] += mem.hwm;
      rss += mem.rss;
      if (withPss) pss += pssBytes(pid);
    }
    const total = GROUPS.reduce((sum, g) => sum + hwm[g], 0);
    this.peak.samples += 1;
    this.peak.hwm = Math.max(this.peak.hwm, total);
    this.peak.rss = Math.max(this.peak.rss, rss);
    this.peak.pss = Math.max(this.peak.pss, pss);
    for (const g of GROUPS) this.peak.groups[g] = Math.max(this.peak.groups[g], hwm[g]);
  }

  stop(): MemoryPeak {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const processes = zero();
    for (const g of this.seen.values()) processes[g] += 1;
    return { ...this.peak, groups: { ...this.peak.groups }, processes, otherNames: [...this.otherNames].sort() };
  }
}
