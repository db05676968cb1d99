// One structured logger for workers, activities (installed as Temporal's runtime logger, so the
// activity context logger flows through it) and the CLI. JSON lines off a terminal, readable
// lines on one; every line carries the task or workflow id when there is one.
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';

const LEVELS: Record<LogLevel, number> = { TRACE: 10, DEBUG: 20, INFO: 30, WARN: 40, ERROR: 50 };

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Fields added to every line (e.g. component). */
  base?: LogMetadata;
}

/** Keys whose values are never written, wherever they appear in metadata. */
const SECRET_KEY = /(token|secret|password|apikey|api_key|authorization|cookie)/i;

function scrub(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (depth > 4 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? '[redacted]' : scrub(v, depth + 1);
  return out;
}

export class SwarmLogger implements Logger {
  private readonly threshold: number;
  private readonly json: boolean;
  private readonly stream: NodeJS.WritableStream;

  constructor(private readonly options: LoggerOptions = {}) {
    this.threshold = LEVELS[options.level ?? 'INFO'];
    this.stream = options.stream ?? process.stderr;
    const format = options.format ?? 'auto';
    this.json = format === 'json' || (format === 'auto' && !(this.stream as { isTTY?: boolean }).isTTY);
  }

  /** A logger that adds fields (e.g. taskId) to every line. */
  child(base: LogMetadata): SwarmLogger {
    return new SwarmLogger({ ...this.options, stream: this.stream, base: { ...this.options.base, ...base } });
  }

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    if (LEVELS[level] < this.threshold) return;
    const fields = scrub({ ...this.options.base, ...meta }) as Record<string, unknown>;
    // Temporal's context loggers name the workflow `workflowId`; our own code names the task.
    const id = (fields.taskId ?? fields.workflowId) as string | undefined;
    if (this.json) {
      this.stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
      return;
    }
    const { taskId: _t, workflowId: _w, sdkComponent: _s, ...rest } = fields;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    const time = new Date().toISOString().slice(11, 19);
    this.stream.write(`${time} ${level.padEnd(5)} ${id ? `[${id}] ` : ''}${message}${extra}\n`);
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
