/**
 * ktrail's own messages on stderr (never the events): start, notices, loss and drop reports, reloads, the
 * summary. `--log level=L,format=F` (Tracee main's `--logging` keys; v0.24's bare `--log debug` too) chooses
 * which levels print and how: `text` keeps the `ktrail: message` lines ktrail always printed, `json` prints
 * one object per line, `{"level","time","msg", ...fields}`, for log collectors.
 *
 * Pure apart from the `write` callback it is given; main thread only.
 */
import { KtrailError } from './errors.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'text' | 'json';

export interface LogOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

/** Structured details of a message: shown as JSON keys, and left out of text lines (the message says it). */
export type LogFields = Readonly<Record<string, string | number | boolean | bigint | undefined>>;

export const DEFAULT_LOG: LogOptions = { level: 'info', format: 'text' };

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function bad(value: string, why: string): KtrailError {
  return new KtrailError('USAGE', `--log '${value}': ${why}`, {
    hint: 'e.g. --log level=warn,format=json (levels: debug, info, warn, error; formats: text, json)',
  });
}

/**
 * Parses `--log`/`--logging` values: `LEVEL` (v0.24), `level=LEVEL`, `format=text|json`, comma-separated or
 * repeated; a later value wins. Tracee's `file`, `aggregate` and `filter` settings are refused.
 */
export function parseLogOptions(values: readonly string[]): LogOptions {
  let level: LogLevel = DEFAULT_LOG.level;
  let format: LogFormat = DEFAULT_LOG.format;
  for (const value of values) {
    for (const part of value.split(',')) {
      const eq = part.search(/[=:]/);
      const key = eq < 0 ? part : part.slice(0, eq);
      const arg = eq < 0 ? undefined : part.slice(eq + 1);
      if (arg === undefined && (LOG_LEVELS as readonly string[]).includes(key)) {
        level = key as LogLevel;
      } else if (key === 'level' && arg !== undefined) {
        if (!(LOG_LEVELS as readonly string[]).includes(arg)) throw bad(value, `unknown level '${arg}'`);
        level = arg as LogLevel;
      } else if (key === 'format' && arg !== undefined) {
        if (arg !== 'text' && arg !== 'json') throw bad(value, `unknown format '${arg}'`);
        format = arg;
      } else if (key === 'fatal' || key === 'panic') {
        throw bad(value, `level '${key}' is not used by ktrail`);
      } else if (['file', 'aggregate', 'filter', 'filter-out', 'filters'].some((k) => key.startsWith(k))) {
        throw bad(value, `'${key}' is not supported by ktrail (messages go to stderr)`);
      } else {
        throw bad(value, `unknown setting '${part}'`);
      }
    }
  }
  return { level, format };
}

function jsonValue(v: string | number | boolean | bigint): string {
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
}

export class Logger {
  readonly options: LogOptions;
  readonly #write: (line: string) => void;
  readonly #now: () => Date;

  /** `write` gets each line without its newline. */
  constructor(options: LogOptions, write: (line: string) => void, now: () => Date = () => new Date()) {
    this.options = options;
    this.#write = write;
    this.#now = now;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.options.level];
  }

  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    if (this.options.format === 'text') {
      this.#write(`ktrail: ${msg}`);
      return;
    }
    let line = `{"level":"${level}","time":"${this.#now().toISOString()}","msg":${JSON.stringify(msg)}`;
    for (const [k, v] of Object.entries(fields))
      if (v !== undefined) line += `,${JSON.stringify(k)}:${jsonValue(v)}`;
    this.#write(`${line}}`);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  /** A KtrailError as the CLI reports it: the message, then its hint (a `hint` key in JSON). */
  failure(e: KtrailError): void {
    if (this.options.format === 'text') {
      this.#write(`ktrail: ${e.message}`);
      if (e.hint) this.#write(`  hint: ${e.hint}`);
      return;
    }
    this.log('error', e.message, { code: e.code, hint: e.hint });
  }
}
