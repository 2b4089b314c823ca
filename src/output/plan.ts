/**
 * `-o/--output` values (COMPAT.md 4) turned into a plan: which printers, where, and which options. Pure.
 */
import { KtrailError } from '../errors.js';

export type PrinterFormat = 'table' | 'json';

export interface Printer {
  readonly format: PrinterFormat;
  /** A file path, or undefined for stdout. */
  readonly path: string | undefined;
}

export interface OutputPlan {
  readonly printers: readonly Printer[];
  readonly parseArguments: boolean;
  /** `option:ancestry[=N]`: how many ancestors each JSON event lists (0: none). */
  readonly ancestry: number;
}

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
const UNSUPPORTED = ['webhook', 'forward', 'gotemplate', 'gob', 'table-verbose', 'json-v1beta1'];

function bad(value: string, msg: string, hint: string): KtrailError {
  return new KtrailError('USAGE', `--output '${value}': ${msg}`, { hint });
}

export function planOutput(values: readonly string[]): OutputPlan {
  const printers: Printer[] = [];
  let parseArguments = false;
  let ancestry = 0;
  let none = false;
  for (const value of values) {
    for (const item of value.split(/,(?=(?:table|json|none|option:))/)) {
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
          } else if (OPTIONS.has(name)) parseArguments = true;
          else if (LATER.has(name))
            throw bad(
              item,
              `option '${name}' is not supported yet`,
              'supported: option:parse-arguments, option:ancestry[=N]',
            );
          else
            throw bad(
              item,
              `unknown option '${name}'`,
              'supported: option:parse-arguments, option:ancestry[=N]',
            );
        }
        continue;
      }
      const colon = item.indexOf(':');
      const format = colon < 0 ? item : item.slice(0, colon);
      const path = colon < 0 ? undefined : item.slice(colon + 1);
      if (format === 'none') {
        none = true;
        continue;
      }
      if (format !== 'table' && format !== 'json') {
        const known = UNSUPPORTED.find((u) => format.startsWith(u));
        throw bad(
          item,
          known ? `the '${known}' output is not supported by ktrail` : `unknown output format '${format}'`,
          'use table, json, json:PATH, none or option:parse-arguments',
        );
      }
      if (path === '') throw bad(item, 'empty file path', `write ${format}:/path/to/file`);
      if (path !== undefined && printers.some((p) => p.path === path))
        throw bad(item, `'${path}' is written twice`, 'name each file once');
      printers.push({ format, path: path === 'stdout' ? undefined : path });
    }
  }
  if (none && printers.length > 0)
    throw bad(values.join(' '), "'none' cannot be combined with another output", 'drop none or the others');
  if (!none && printers.length === 0) printers.push({ format: 'table', path: undefined });
  return { printers, parseArguments, ancestry };
}
