// The host's append-only spool of signed records, for when Postgres cannot be reached: one JSON
// line per record in `<stateDir>/spool/artifacts.jsonl`, fsync'd before the activity answers (the
// file, and the folder when the file is new), so an answered record survives a crash of the
// worker or the machine. Every operation is synchronous: within this process none interleaves
// with another (an append cannot land between the reconciler's read and its rewrite).
//
// A worker killed mid-append leaves a torn last line. Its activity never answered, so Temporal
// runs it again and it appends the record again: a torn tail is dropped (on read, and cut off
// before the next append), and a record appended twice is one record (deduplicated by its link).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SignedRecord } from './store.ts';

export const SPOOL_FILE = 'artifacts.jsonl';
export const spoolDir = (stateDir: string) => join(stateDir, 'spool');

const idOf = (r: Pick<SignedRecord, 'taskId' | 'runKey' | 'seq'>) => `${r.taskId}\u0000${r.runKey}\u0000${r.seq}`;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class Spool {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = join(dir, SPOOL_FILE);
  }

  /** The spooled records in the order they were appended, each once; a torn last line is not one. */
  read(): SignedRecord[] {
    if (!existsSync(this.file)) return [];
    const text = readFileSync(this.file, 'utf8');
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    const seen = new Set<string>();
    const records: SignedRecord[] = [];
    for (const line of whole.split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as SignedRecord;
      if (seen.has(idOf(r))) continue;
      seen.add(idOf(r));
      records.push(r);
    }
    return records;
  }

  /** How many records wait, of one task start or of all. */
  count(of?: { taskId: string; runKey: string }): number {
    const all = this.read();
    return of ? all.filter((r) => r.taskId === of.taskId && r.runKey === of.runKey).length : all.length;
  }

  find(id: Pick<SignedRecord, 'taskId' | 'runKey' | 'seq'>): SignedRecord | undefined {
    return this.read().find((r) => idOf(r) === idOf(id));
  }

  /** Appends one record durably: on return it is on disk. */
  append(record: SignedRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const created = !existsSync(this.file);
    if (!created) this.cutTornTail();
    const fd = openSync(this.file, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(record)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) fsyncDir(this.dir);
  }

  /** Removes the records `done` names, atomically: the rest is written to a temporary file that replaces the spool. */
  remove(done: ReadonlyArray<Pick<SignedRecord, 'taskId' | 'runKey' | 'seq'>>): void {
    const gone = new Set(done.map(idOf));
    const rest = this.read().filter((r) => !gone.has(idOf(r)));
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, rest.map((r) => `${JSON.stringify(r)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    fsyncDir(this.dir);
  }

  private cutTornTail(): void {
    const text = readFileSync(this.file);
    const end = text.lastIndexOf(0x0a) + 1;
    if (end !== text.length) truncateSync(this.file, end);
  }
}
