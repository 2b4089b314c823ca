/**
 * `-o/--output` values (COMPAT.md 4) turned into a plan: which printers, where, and which options. Pure.
 *
 * Destinations: standard output (`json`, `table`), a file (`json:PATH`, `table:PATH`, appended to), a webhook
 * (`webhook:URL`, JSON) and NATS JetStream (`nats:URL?subject=S`, JSON). Any number at once; every JSON
 * destination shares one rendering.
 */
import { KtrailError } from '../errors.js';
import type { NatsOptions } from './nats.js';
import { parseGoDuration } from './queue.js';
import { DEFAULT_BACKUPS } from './sink.js';
import { WEBHOOK_DEFAULTS, type WebhookOptions } from './webhook.js';

export type PrinterFormat = 'table' | 'json';

export type Destination =
  | { readonly kind: 'stdout' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'webhook'; readonly webhook: WebhookOptions }
  | { readonly kind: 'nats'; readonly nats: NatsOptions };

export interface Printer {
  readonly format: PrinterFormat;
  /** A file path, or undefined for stdout and network destinations. */
  readonly path: string | undefined;
  readonly destination: Destination;
}

export interface OutputPlan {
  readonly printers: readonly Printer[];
  readonly parseArguments: boolean;
  /** `option:ancestry[=N]`: how many ancestors each JSON event lists (0: none). */
  readonly ancestry: number;
  /** `option:rotate-size=SIZE[,rotate-backups=N]`: size-based rotation of every file destination. */
  readonly rotate?: { readonly bytes: number; readonly backups: number };
}

/** NATS defaults: wait 5 s for an acknowledgement, retry 5 times, queue 10000 events. */
export const NATS_DEFAULTS = { timeoutMs: 5000, retries: 5, queue: 10_000 } as const;

/** Ancestors listed by `option:ancestry` without a depth. */
const DEFAULT_ANCESTRY_DEPTH = 5;

const OPTIONS = new Set(['parse-arguments', 'decoded-data']);
const LATER = new Set([
  'parse-arguments-fds',
  'fd-paths',
  'stack-addresses',
  'exec-env',
  'exec-hash',
  'sort-events',
]);
const UNSUPPORTED = ['forward', 'gotemplate', 'gob', 'table-verbose', 'json-v1beta1'];
const OPTION_HINT =
  'supported: option:parse-arguments, option:ancestry[=N], option:rotate-size=SIZE, option:rotate-backups=N';
const FORMATS_HINT =
  'use table, json, json:PATH, table:PATH, webhook:URL, nats:URL?subject=S, none or option:...';

function bad(value: string, msg: string, hint: string): KtrailError {
  return new KtrailError('USAGE', `--output '${value}': ${msg}`, { hint });
}

/** A whole number from `min` to `max`, or an error naming the item. */
function wholeNumber(item: string, what: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw bad(item, `${what} '${text}' is not a whole number from ${min} to ${max}`, `e.g. ${what}=${min}`);
  return n;
}

/** `4096`, `64K`, `100M`, `1G` (powers of 1024) in bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([KMG]i?B?|B)?$/i.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toUpperCase()[0];
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

function timeout(item: string, text: string): number {
  const ms = parseGoDuration(text);
  if (ms === undefined || ms <= 0 || ms > 3_600_000)
    throw bad(
      item,
      `timeout '${text}' is not a duration from 1ms to 1h`,
      'e.g. timeout=5s (Go durations: 500ms, 1m30s)',
    );
  return ms;
}

/** `webhook:URL` (Tracee: `webhook:[http://]host:port[/path][?timeout=5s&contentType=T]`). */
function parseWebhook(item: string, rest: string): WebhookOptions {
  let url: URL;
  try {
    url = new URL(rest.includes('://') ? rest : `http://${rest}`);
  } catch {
    throw bad(item, `'${rest}' is not a URL`, 'e.g. webhook:http://127.0.0.1:8080/events');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw bad(item, `'${url.protocol}' URLs cannot be posted to`, 'use an http:// or https:// URL');
  const q = url.searchParams;
  const take = (key: string) => {
    const v = q.get(key);
    q.delete(key);
    return v ?? undefined;
  };
  if (q.has('gotemplate'))
    throw bad(
      item,
      "'gotemplate' is not supported by ktrail",
      'ktrail posts JSON arrays of classic events; drop the parameter',
    );
  const t = take('timeout');
  const batch = take('batch');
  const retries = take('retries');
  const queue = take('queue');
  const contentType = take('contentType') ?? take('content-type');
  return {
    url,
    name: `${url.protocol}//${url.host}${url.pathname}`,
    timeoutMs: t === undefined ? WEBHOOK_DEFAULTS.timeoutMs : timeout(item, t),
    contentType: contentType ?? 'application/json',
    batch: batch === undefined ? WEBHOOK_DEFAULTS.batch : wholeNumber(item, 'batch', batch, 1, 10_000),
    retries: retries === undefined ? WEBHOOK_DEFAULTS.retries : wholeNumber(item, 'retries', retries, 0, 100),
    queue: queue === undefined ? WEBHOOK_DEFAULTS.queue : wholeNumber(item, 'queue', queue, 1, 1_000_000),
  };
}

/** A subject to publish to: dot-separated tokens, no wildcards, no white space. */
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/** `nats:[nats://][user:pass@|token@]host:port?subject=S[&timeout=5s&retries=N&queue=N]`. */
function parseNats(item: string, rest: string): NatsOptions {
  let url: URL;
  try {
    url = new URL(rest.includes('://') ? rest : `nats://${rest}`);
  } catch {
    throw bad(item, `'${rest}' is not a URL`, 'e.g. nats:nats://127.0.0.1:4222?subject=ktrail.events');
  }
  if (url.protocol !== 'nats:')
    throw bad(
      item,
      `'${url.protocol}' is not supported`,
      'use nats://HOST:PORT (TLS connections are not supported by ktrail yet)',
    );
  if (url.hostname === '')
    throw bad(item, 'no server', 'e.g. nats:nats://127.0.0.1:4222?subject=ktrail.events');
  const q = url.searchParams;
  const subject = q.get('subject');
  if (subject === null || subject === '')
    throw bad(item, 'no subject', 'add ?subject=NAME, e.g. nats:nats://127.0.0.1:4222?subject=ktrail.events');
  if (!SUBJECT.test(subject))
    throw bad(
      item,
      `'${subject}' is not a subject to publish to`,
      'dot-separated names, no * or > wildcards',
    );
  for (const key of q.keys())
    if (!['subject', 'timeout', 'retries', 'queue'].includes(key))
      throw bad(item, `unknown parameter '${key}'`, 'parameters: subject, timeout, retries, queue');
  const t = q.get('timeout');
  const retries = q.get('retries');
  const queue = q.get('queue');
  const server = `nats://${url.host}`;
  const user = url.username === '' ? undefined : decodeURIComponent(url.username);
  const pass = url.password === '' ? undefined : decodeURIComponent(url.password);
  return {
    server,
    name: `${server}?subject=${subject}`,
    subject,
    // nats://TOKEN@host is a token; nats://user:pass@host a user and password.
    ...(user !== undefined && pass === undefined ? { token: user } : {}),
    ...(user !== undefined && pass !== undefined ? { user, pass } : {}),
    timeoutMs: t === null ? NATS_DEFAULTS.timeoutMs : timeout(item, t),
    retries: retries === null ? NATS_DEFAULTS.retries : wholeNumber(item, 'retries', retries, 0, 100),
    queue: queue === null ? NATS_DEFAULTS.queue : wholeNumber(item, 'queue', queue, 1, 1_000_000),
  };
}

function destinationKey(d: Destination): string {
  switch (d.kind) {
    case 'stdout':
      return 'stdout';
    case 'file':
      return `file:${d.path}`;
    case 'webhook':
      return `webhook:${d.webhook.url.href}`;
    case 'nats':
      return `nats:${d.nats.name}`;
  }
}

export function planOutput(values: readonly string[]): OutputPlan {
  const printers: Printer[] = [];
  let parseArguments = false;
  let ancestry = 0;
  let none = false;
  let rotateBytes: number | undefined;
  let backups: number | undefined;
  let rotateItem = '';
  const seen = new Set<string>();
  for (const value of values) {
    for (const item of value.split(/,(?=(?:table|json|none|option:|webhook:|nats:))/)) {
      if (item.startsWith('option:')) {
        for (const opt of item.slice(7).split(',')) {
          const [name = '', arg] = opt.split('=');
          if (name === 'ancestry') {
            const n = arg === undefined ? DEFAULT_ANCESTRY_DEPTH : Number(arg);
            if (!Number.isInteger(n) || n < 1 || n > 64)
              throw bad(
                item,
                `ancestry depth '${arg}' is not a whole number from 1 to 64`,
                'e.g. option:ancestry=5',
              );
            ancestry = n;
          } else if (name === 'rotate-size') {
            const n = arg === undefined ? undefined : parseSize(arg);
            if (n === undefined || n < 1024 || n > 1024 ** 4)
              throw bad(
                item,
                `rotate-size '${arg ?? ''}' is not a size from 1K to 1024G`,
                'e.g. option:rotate-size=100M (K, M, G: powers of 1024)',
              );
            rotateBytes = n;
            rotateItem = item;
          } else if (name === 'rotate-backups') {
            backups = wholeNumber(item, 'rotate-backups', arg ?? '', 1, 1000);
            rotateItem = item;
          } else if (OPTIONS.has(name)) parseArguments = true;
          else if (LATER.has(name)) throw bad(item, `option '${name}' is not supported yet`, OPTION_HINT);
          else throw bad(item, `unknown option '${name}'`, OPTION_HINT);
        }
        continue;
      }
      const colon = item.indexOf(':');
      const format = colon < 0 ? item : item.slice(0, colon);
      const rest = colon < 0 ? undefined : item.slice(colon + 1);
      if (format === 'none') {
        none = true;
        continue;
      }
      let printer: Printer;
      if (format === 'webhook' || format === 'nats') {
        if (rest === undefined || rest === '')
          throw bad(
            item,
            'no URL',
            format === 'webhook'
              ? 'e.g. webhook:http://127.0.0.1:8080/events'
              : 'e.g. nats:nats://127.0.0.1:4222?subject=ktrail.events',
          );
        printer =
          format === 'webhook'
            ? {
                format: 'json',
                path: undefined,
                destination: { kind: 'webhook', webhook: parseWebhook(item, rest) },
              }
            : { format: 'json', path: undefined, destination: { kind: 'nats', nats: parseNats(item, rest) } };
      } else if (format === 'table' || format === 'json') {
        if (rest === '') throw bad(item, 'empty file path', `write ${format}:/path/to/file`);
        const path = rest === 'stdout' ? undefined : rest;
        printer = {
          format,
          path,
          destination: path === undefined ? { kind: 'stdout' } : { kind: 'file', path },
        };
      } else {
        const known = UNSUPPORTED.find((u) => format.startsWith(u));
        throw bad(
          item,
          known ? `the '${known}' output is not supported by ktrail` : `unknown output format '${format}'`,
          FORMATS_HINT,
        );
      }
      const key = destinationKey(printer.destination);
      if (seen.has(key)) {
        const where = printer.path ?? (printer.destination.kind === 'stdout' ? 'stdout' : rest);
        throw bad(item, `'${where}' is written twice`, 'name each destination once');
      }
      seen.add(key);
      printers.push(printer);
    }
  }
  if (none && printers.length > 0)
    throw bad(values.join(' '), "'none' cannot be combined with another output", 'drop none or the others');
  if (!none && printers.length === 0)
    printers.push({ format: 'table', path: undefined, destination: { kind: 'stdout' } });
  if (backups !== undefined && rotateBytes === undefined)
    throw bad(rotateItem, 'rotate-backups without rotate-size', 'add option:rotate-size=SIZE, e.g. 100M');
  if (rotateBytes !== undefined && !printers.some((p) => p.destination.kind === 'file'))
    throw bad(rotateItem, 'rotation needs a file output', 'add json:PATH or table:PATH, or drop the option');
  return {
    printers,
    parseArguments,
    ancestry,
    ...(rotateBytes !== undefined
      ? { rotate: { bytes: rotateBytes, backups: backups ?? DEFAULT_BACKUPS } }
      : {}),
  };
}
