/**
 * The rule registry: every built-in rule in a stable order (by id: prefix, then number), extra rule modules from
 * `--signatures-dir`, and the data `ktrail list --signatures` prints.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KtrailError } from '../errors.js';
import { describeFsError, type FileRole, inputFileError, MIB, readTextFile } from '../util/input-file.js';
import { checkUniqueIds, findingIds, unavailable } from './engine.js';
import { FILE_RULES } from './rules/files.js';
import { KERNEL_MODULE_RULES } from './rules/kernel-modules.js';
import { MEMORY_RULES } from './rules/memory.js';
import { NETWORK_RULES } from './rules/network.js';
import { PROCESS_RULES } from './rules/process.js';
import { UNAVAILABLE_RULES } from './rules/unavailable.js';
import type { AnyRule, Mitre, RuleDefinition, Severity } from './types.js';

/** Orders ids like `KTR-002` < `TRC-102` < `TRC-1010`: by prefix, then numerically. */
export function compareRuleIds(a: string, b: string): number {
  const [pa = '', na = ''] = a.split('-');
  const [pb = '', nb = ''] = b.split('-');
  if (pa !== pb) return pa < pb ? -1 : 1;
  const d = Number(na) - Number(nb);
  return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
}

function sortRules<T extends RuleDefinition>(rules: readonly T[]): T[] {
  return [...rules].sort((x, y) => compareRuleIds(x.id, y.id));
}

const BUILTIN: readonly AnyRule[] = Object.freeze(
  sortRules<AnyRule>([
    ...KERNEL_MODULE_RULES,
    ...FILE_RULES,
    ...MEMORY_RULES,
    ...NETWORK_RULES,
    ...PROCESS_RULES,
    ...UNAVAILABLE_RULES,
  ]),
);
checkUniqueIds(BUILTIN);

/** Every built-in rule, sorted by id. The order fixes the finding event ids (6000 + position). */
export function builtinRules(): readonly AnyRule[] {
  return BUILTIN;
}

/** Built-in rules followed by `extra` (sorted by id); throws a KtrailError on a duplicate id. */
export function allRules(extra: readonly AnyRule[] = []): AnyRule[] {
  const rules = [...BUILTIN, ...sortRules(extra)];
  checkUniqueIds(rules);
  return rules;
}

export interface SignatureInfo {
  readonly id: string;
  /** The finding event id (6000+). */
  readonly eventId: number;
  readonly eventName: string;
  readonly title: string;
  readonly severity: Severity;
  readonly mitre: Mitre;
  readonly requires: readonly string[];
  readonly available: boolean;
  /** Why the rule cannot run here; '' when it can. */
  readonly reason: string;
}

/** The rows of `ktrail list --signatures`, in registry order. */
export function listSignatures(
  canTrace: (eventName: string) => boolean,
  rules: readonly RuleDefinition[] = BUILTIN,
): SignatureInfo[] {
  const ids = findingIds(rules);
  const missing = new Map(unavailable(rules, canTrace).map((u) => [u.rule.id, u.reason]));
  return rules.map((r) => ({
    id: r.id,
    eventId: ids.get(r.id)!,
    eventName: r.eventName,
    title: r.title,
    severity: r.severity,
    mitre: r.mitre,
    requires: [...new Set(r.requires.map((q) => q.event))],
    available: !missing.has(r.id),
    reason: missing.get(r.id) ?? '',
  }));
}

/** The largest rule module loaded; checked before the file is read or imported. */
export const MAX_RULE_FILE_BYTES = MIB;

const RULE_FILE: FileRole = {
  where: (loc) => `loading signatures: ${loc}`,
  expect: 'a directory of rule modules (*.js) owned by root',
};

function fsFail(path: string, e: unknown): KtrailError {
  const { cause, hint } = describeFsError(e, RULE_FILE);
  return inputFileError(RULE_FILE, path, cause, hint, e);
}

function lstatOrFail(path: string): Stats {
  try {
    return lstatSync(path);
  } catch (e) {
    throw fsFail(path, e);
  }
}

/**
 * What import() threw, in words: `SyntaxError: ...` (Node 20 gives no line for it; `node --check` does), or
 * the value a module threw.
 */
function importFailure(e: unknown): string {
  return e instanceof Error ? thrown(e) : `the module threw ${thrown(e)}`;
}

/** A thrown value in words: `Error: boom`, `'trap'`, `42`. */
function thrown(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return typeof e === 'string' ? `'${e}'` : String(e);
}

function checkOwnership(path: string, st: Stats, what: 'directory' | 'file'): void {
  const fix = `chown root '${path}' && chmod go-w '${path}'`;
  if (st.isSymbolicLink())
    throw new KtrailError('USAGE', `loading signatures: '${path}' is a symbolic link`, {
      hint: 'give the real path; ktrail does not follow links to rule code it runs as root',
    });
  if (what === 'directory' ? !st.isDirectory() : !st.isFile())
    throw new KtrailError('USAGE', `loading signatures: '${path}' is not a ${what}`);
  if (st.uid !== 0)
    throw new KtrailError('USAGE', `loading signatures: '${path}' is owned by uid ${st.uid}, not root`, {
      hint: `rule code runs with ktrail's privileges; run: ${fix}`,
    });
  if ((st.mode & 0o022) !== 0)
    throw new KtrailError(
      'USAGE',
      `loading signatures: '${path}' is writable by ${(st.mode & 0o020) !== 0 ? 'its group' : 'others'} (mode ${(st.mode & 0o777).toString(8)})`,
      { hint: `rule code runs with ktrail's privileges; run: chmod go-w '${path}'` },
    );
}

function isRuleLike(v: unknown): v is AnyRule {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r['id'] === 'string' && typeof r['onEvent'] === 'function';
}

const isStringList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * Checks the fields the engine and outputs rely on (every string the JSON output prints is a string, every
 * function the engine calls is a function); throws naming the file and the field.
 */
function validateRule(rule: AnyRule, file: string): void {
  const bad = (field: string, want: string): never => {
    throw new KtrailError(
      'USAGE',
      `loading signatures: ${file}: rule '${rule.id}': ${field} must be ${want}`,
    );
  };
  if (!/^[A-Z][A-Z0-9]*-\d+$/.test(rule.id)) bad('id', "like 'ABC-123'");
  if (typeof rule.eventName !== 'string' || !/^[a-z][a-z0-9_]*$/.test(rule.eventName))
    bad('eventName', 'snake_case');
  if (typeof rule.version !== 'string') bad('version', 'a string');
  if (typeof rule.title !== 'string') bad('title', 'a string');
  if (typeof rule.description !== 'string') bad('description', 'a string');
  if (![0, 1, 2, 3].includes(rule.severity)) bad('severity', '0, 1, 2 or 3');
  const m = rule.mitre as unknown as Record<string, unknown> | null;
  if (typeof m !== 'object' || m === null) bad('mitre', 'an object');
  for (const k of ['tactic', 'technique', 'techniqueId'])
    if (typeof m![k] !== 'string') bad(`mitre.${k}`, "a string ('' when there is none)");
  if (m!['attackPatternId'] !== undefined && typeof m!['attackPatternId'] !== 'string')
    bad('mitre.attackPatternId', 'a string when given');
  if (!isStringList(rule.tags)) bad('tags', 'an array of strings');
  if (!Array.isArray(rule.requires) || rule.requires.length === 0) bad('requires', 'a non-empty array');
  for (const q of rule.requires) {
    if (typeof q?.event !== 'string') bad('requires[].event', 'a string');
    if (q.filter !== undefined && typeof q.filter !== 'function')
      bad('requires[].filter', 'a function when given');
  }
  if (rule.newState !== undefined && typeof rule.newState !== 'function')
    bad('newState', 'a function when given');
  const config = rule.config as unknown;
  if (
    config !== undefined &&
    (typeof config !== 'object' ||
      config === null ||
      Array.isArray(config) ||
      !Object.values(config).every((v) => ['number', 'string', 'boolean'].includes(typeof v)))
  )
    bad('config', 'an object of numbers, strings and booleans when given');
  if (rule.watchFiles !== undefined && !isStringList(rule.watchFiles))
    bad('watchFiles', 'an array of paths when given');
  if (rule.unavailableReason !== undefined && typeof rule.unavailableReason !== 'string')
    bad('unavailableReason', 'a string when given');
}

/** How long a rule module may take to load (its top-level code, including a top-level await). */
export const RULE_IMPORT_TIMEOUT_MS = 10_000;

/**
 * Imports one rule module, giving up after `ms`: a module whose top-level await never settles would
 * otherwise leave ktrail with nothing left to run, and Node.js would exit as if all had gone well.
 */
async function importWithin(url: string, path: string, ms: number): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KtrailError(
            'USAGE',
            `loading signatures: ${path}: the module did not finish loading within ${ms / 1000} s`,
            {
              hint: 'a top-level await in it never settles (or takes too long): fix the module, or move it out of the directory',
            },
          ),
        ),
      ms,
    );
  });
  try {
    return (await Promise.race([import(url), deadline])) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof KtrailError) throw e;
    throw new KtrailError('USAGE', `loading signatures: ${path}: ${importFailure(e)}`, {
      hint: 'fix the module (node --check FILE finds syntax errors), or move it out of the directory',
    });
  } finally {
    clearTimeout(timer);
  }
}

/** The rule objects a module exports (directly, or in exported arrays). */
function exportedRules(mod: Record<string, unknown>): AnyRule[] {
  const found: AnyRule[] = [];
  for (const v of Object.values(mod)) {
    if (isRuleLike(v)) found.push(v);
    else if (Array.isArray(v)) found.push(...v.filter(isRuleLike));
  }
  return found;
}

/**
 * Loads the `*.js` rule modules of `dir` (not recursive, sorted by name). The directory and every file must be
 * owned by root and not writable by group or others, and must not be symbolic links; otherwise a KtrailError
 * names the path and the fix. Each file must be non-empty UTF-8 of at most MAX_RULE_FILE_BYTES (checked
 * before reading). A module's exported rule objects (and arrays of them) are collected.
 * Node caches modules by URL: `generation` (a reload's number) makes each file load afresh, so that a SIGHUP
 * reload sees edited modules; every generation stays in memory.
 * @throws KtrailError USAGE (ownership, a module that does not import or exports no valid rule) or INPUT_FILE
 *   (missing, unreadable, too large, empty, not UTF-8), exit status 2.
 */
export async function loadRulesFrom(
  dir: string,
  generation?: number,
  opts: { readonly importTimeoutMs?: number } = {},
): Promise<AnyRule[]> {
  const abs = resolve(dir);
  checkOwnership(abs, lstatOrFail(abs), 'directory');
  let files: string[];
  try {
    files = readdirSync(abs)
      .filter((f) => f.endsWith('.js'))
      .sort();
  } catch (e) {
    throw fsFail(abs, e);
  }
  const rules: AnyRule[] = [];
  for (const f of files) {
    const path = join(abs, f);
    checkOwnership(path, lstatOrFail(path), 'file');
    // Size (from fstat, before reading), emptiness and UTF-8 are checked on the bytes before import() runs
    // them; the file is root-owned and not writable by others, so it cannot change in between.
    readTextFile(path, RULE_FILE, {
      maxBytes: MAX_RULE_FILE_BYTES,
      tooLargeHint:
        'a rule module is small: check that --signatures-dir holds only rule modules, or split the rules over several files',
      emptyHint: 'export a rule object ({id, eventName, requires, onEvent, ...}) or an array of them',
    });
    const url = pathToFileURL(path);
    if (generation !== undefined) url.search = `reload=${generation}`;
    const mod = await importWithin(url.href, path, opts.importTimeoutMs ?? RULE_IMPORT_TIMEOUT_MS);
    // The module's objects are its own code: a getter or a proxy that throws is the module's error.
    try {
      const found = exportedRules(mod);
      if (found.length === 0)
        throw new KtrailError('USAGE', `loading signatures: ${path}: exports no rule`, {
          hint: "export a rule object ({id, eventName, requires, onEvent, ...}) or an array of them with 'export const'",
        });
      for (const r of found)
        if (!rules.includes(r)) {
          validateRule(r, path);
          rules.push(r);
        }
    } catch (e) {
      if (e instanceof KtrailError) throw e;
      throw new KtrailError('USAGE', `loading signatures: ${path}: reading its rules threw ${thrown(e)}`, {
        hint: 'export plain rule objects (no getters or proxies that throw)',
      });
    }
  }
  return sortRules(rules);
}
