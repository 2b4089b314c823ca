/**
 * Policy files (`-p/--policy FILE|DIR`, COMPAT.md 5). Two forms are accepted: Tracee's Kubernetes-style
 * `apiVersion: tracee.aquasec.com/v1beta1` / `kind: Policy` document, and Tracee main's plain form
 * (`type: policy` with top-level `name`, `scope`, `rules`). A directory loads its `*.yaml`, `*.yml` and `*.json`
 * files, not recursively, in sorted order. Reads files synchronously; everything else is pure.
 *
 * Every error names the file, the line:column when the YAML parser gives one, the field path
 * (`spec.rules[2].filters[0]`) and the bad value; the hint says what would be valid. Codes: INPUT_FILE for a
 * file that cannot be read as text (missing, a directory, unreadable, over MAX_POLICY_BYTES, not UTF-8, empty),
 * POLICY_INVALID for the document's shape (malformed YAML, too many aliases, too deep), UNKNOWN_EVENT and
 * BAD_FILTER for what the `-e`/`-s` grammar rejects; all exit 2.
 */
import { lstatSync, readdirSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Document, isAlias, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { KtrailError } from '../errors.js';
import { describeFsError, type FileRole, inputFileError, MIB, readTextFile } from '../util/input-file.js';
import { describeYamlProblem, yamlToData } from '../util/yaml-data.js';
import { type EventFilter, parseEventFilter } from './event-filter.js';
import { didYouMean } from './filter.js';
import { parseScope } from './scope.js';
import { resolveName, type SelectionCatalog } from './select.js';
import { ACTIONS, type Action, MAX_POLICIES, type PolicySpec, type RuleSpec } from './spec.js';

export const API_VERSION = 'tracee.aquasec.com/v1beta1';
export const KIND = 'Policy';

const POLICY_EXT = /\.(ya?ml|json)$/;

/** The largest policy file read: a policy is a short document, and the size is checked before reading. */
export const MAX_POLICY_BYTES = MIB;

/** The most alias uses a policy may expand (src/util/yaml-data.ts). */
export { MAX_YAML_ALIASES } from '../util/yaml-data.js';

const POLICY_FILE: FileRole = {
  where: (loc) => `loading policy ${loc}`,
  expect: 'a policy file (.yaml, .yml, .json) or a directory of them',
};
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Path = readonly (string | number)[];

/** Reads one document and locates its nodes for messages. */
class Source {
  readonly lines = new LineCounter();
  readonly doc: Document.Parsed;
  constructor(
    readonly file: string,
    text: string,
  ) {
    // uniqueKeys: false because the package compares every key with every other one (quadratic: a 400 KB
    // mapping takes seconds); badKey() does the same check with a Set.
    this.doc = parseDocument(text, {
      keepSourceTokens: true,
      lineCounter: this.lines,
      prettyErrors: false,
      uniqueKeys: false,
      // Warnings would go to process.emitWarning (stderr); badKey() reports what they are about instead.
      logLevel: 'error',
    });
  }

  /**
   * The first mapping key that is not a plain value (a list, a mapping or an alias: a policy has none, and
   * JavaScript would turn it into a string), or that repeats a key of the same mapping, with its position.
   */
  badKey(): { key: string; at: number; first?: number } | undefined {
    let found: { key: string; at: number; first?: number } | undefined;
    visit(this.doc, {
      Map: (_k, map) => {
        const seen = new Map<string, number>();
        for (const pair of map.items) {
          const key = pair.key;
          if (key === null || key === undefined) continue;
          if (!isScalar(key)) {
            const range = (key as { range?: [number, number, number] } | null)?.range;
            found = {
              key: isAlias(key) ? `the alias '*${key.source}'` : 'a list or mapping',
              at: range?.[0] ?? 0,
            };
            return visit.BREAK;
          }
          const id = `${typeof key.value}:${String(key.value)}`;
          const at = key.range?.[0] ?? 0;
          const first = seen.get(id);
          if (first !== undefined) {
            found = { key: String(key.value), at, first };
            return visit.BREAK;
          }
          seen.set(id, at);
        }
        return undefined;
      },
    });
    return found;
  }

  /** `file:line:col` of the node at `path` (or the closest existing parent), or just `file`. */
  at(path: Path): string {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range !== undefined) {
        const { line, col } = this.lines.linePos(node.range[0]);
        return `${this.file}:${line}:${col}`;
      }
    }
    return this.file;
  }

  fail(path: Path, msg: string, hint?: string, code: 'POLICY_INVALID' = 'POLICY_INVALID'): KtrailError {
    const field = path.length === 0 ? '' : `: ${showPath(path)}`;
    return new KtrailError(
      code,
      `loading policy ${this.at(path)}${field}: ${msg}`,
      hint === undefined ? {} : { hint },
    );
  }

  /** `loading policy FILE:L:C: spec.rules[0].event`: the label the `-e` name resolver puts before the value. */
  label(path: Path): string {
    return `loading policy ${this.at(path)}: ${showPath(path)}`;
  }

  /** Error prefix for the `-e`/`-s` grammar, which appends `: cause`. */
  where(path: Path, value: string): string {
    return `${this.label(path)} '${value}'`;
  }
}

/** `spec.rules[2].filters[0]` */
export function showPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const text = JSON.stringify(v) ?? String(v);
  return `${typeof v} ${text.length > 80 ? `${text.slice(0, 60)}...` : text}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(src: Source, obj: Record<string, unknown>, path: Path, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      throw src.fail(
        [...path, k],
        `unknown key '${k}'`,
        `${didYouMean(k, allowed)}valid keys: ${allowed.join(', ')}`,
      );
    }
  }
}

function stringList(src: Source, v: unknown, path: Path, what: string, required: boolean): string[] {
  if (v === undefined || v === null) {
    if (required) throw src.fail(path, `${what} is required`, `give a list, e.g. ${showPath(path)}: [...]`);
    return [];
  }
  if (!Array.isArray(v)) throw src.fail(path, `${what} must be a list, not ${describe(v)}`);
  if (required && v.length === 0) throw src.fail(path, `${what} must not be empty`);
  return v.map((item, i) => {
    if (typeof item !== 'string') {
      throw src.fail([...path, i], `expected a string, not ${describe(item)}`, 'quote the expression');
    }
    return item;
  });
}

function actions(src: Source, v: unknown, path: Path): Action[] {
  return stringList(src, v, path, 'actions', false).map((a, i) => {
    if (!(ACTIONS as readonly string[]).includes(a)) {
      throw src.fail(
        [...path, i],
        `unknown action '${a}'`,
        'actions are log or print (ktrail, like Tracee, does not enforce)',
      );
    }
    return a as Action;
  });
}

/**
 * Parses one policy document. `file` is used in messages only.
 * @throws KtrailError POLICY_INVALID, UNKNOWN_EVENT or BAD_FILTER (exit status 2).
 */
export function parsePolicy(text: string, file: string, cat: SelectionCatalog): PolicySpec {
  try {
    return parseDocumentText(text, file, cat);
  } catch (e) {
    // The YAML package and the document walks recurse once per nesting level.
    if (e instanceof RangeError && /call stack/i.test(e.message)) throw tooDeep(file);
    throw e;
  }
}

function parseDocumentText(text: string, file: string, cat: SelectionCatalog): PolicySpec {
  const src = new Source(file, text);
  const err = src.doc.errors[0];
  if (err !== undefined) {
    const pos = src.lines.linePos(err.pos[0]);
    const where = `${file}:${pos.line}:${pos.col}`;
    const cause = (err.message.split(' at line ')[0] ?? err.message).trim();
    if (/call stack/i.test(cause)) throw tooDeep(file);
    if (/multiple documents/i.test(cause)) {
      throw new KtrailError(
        'POLICY_INVALID',
        `loading policy ${where}: a second YAML document ('---') in one file`,
        { hint: 'put each policy in a file of its own (a directory of them loads with one -p)' },
      );
    }
    throw new KtrailError('POLICY_INVALID', `loading policy ${where}: malformed YAML: ${cause}`, {
      hint: 'check the indentation and quoting near that position (quote expressions holding : * | < >)',
    });
  }
  const bad = src.badKey();
  if (bad !== undefined) {
    const pos = src.lines.linePos(bad.at);
    const where = `loading policy ${file}:${pos.line}:${pos.col}`;
    if (bad.first === undefined) {
      throw new KtrailError('POLICY_INVALID', `${where}: a mapping key is ${bad.key}, not a plain name`, {
        hint: "policy keys are names such as 'scope' or 'rules'",
      });
    }
    const first = src.lines.linePos(bad.first);
    throw new KtrailError(
      'POLICY_INVALID',
      `${where}: malformed YAML: key '${bad.key}' appears twice in one mapping (first at ${first.line}:${first.col})`,
      { hint: 'keep one of them' },
    );
  }
  const top = toPlain(src);
  if (!isRecord(top)) {
    throw src.fail(
      [],
      `expected a policy document, found ${describe(top)}`,
      `start with 'apiVersion: ${API_VERSION}' or 'type: policy'`,
    );
  }
  if (top.type !== undefined) {
    if (top.type !== 'policy') {
      throw src.fail(
        ['type'],
        `unknown document type ${JSON.stringify(top.type)}`,
        "the plain form starts with 'type: policy'",
      );
    }
    checkKeys(src, top, [], ['type', 'name', 'description', 'version', 'scope', 'rules', 'defaultActions']);
    const name = policyName(src, top.name, ['name']);
    return body(src, cat, top, [], name, optString(src, top.description, ['description']));
  }
  if (top.apiVersion !== API_VERSION) {
    throw src.fail(
      ['apiVersion'],
      top.apiVersion === undefined
        ? 'apiVersion is required'
        : `unsupported apiVersion ${JSON.stringify(top.apiVersion)}`,
      `write 'apiVersion: ${API_VERSION}' and 'kind: ${KIND}' (or use the plain form 'type: policy')`,
    );
  }
  if (top.kind !== KIND) {
    throw src.fail(['kind'], `unsupported kind ${JSON.stringify(top.kind ?? null)}`, `write 'kind: ${KIND}'`);
  }
  checkKeys(src, top, [], ['apiVersion', 'kind', 'metadata', 'spec']);
  const meta = top.metadata;
  if (!isRecord(meta))
    throw src.fail(['metadata'], `metadata must be a mapping with a name, not ${describe(meta)}`);
  checkKeys(src, meta, ['metadata'], ['name', 'annotations', 'labels']);
  const name = policyName(src, meta.name, ['metadata', 'name']);
  let description = '';
  if (meta.annotations !== undefined) {
    if (!isRecord(meta.annotations))
      throw src.fail(['metadata', 'annotations'], 'annotations must be a mapping');
    description = optString(src, meta.annotations.description, ['metadata', 'annotations', 'description']);
  }
  const spec = top.spec;
  if (!isRecord(spec))
    throw src.fail(['spec'], `spec must be a mapping with scope and rules, not ${describe(spec)}`);
  checkKeys(src, spec, ['spec'], ['scope', 'defaultActions', 'rules']);
  return body(src, cat, spec, ['spec'], name, description);
}

function tooDeep(file: string): KtrailError {
  return new KtrailError('POLICY_INVALID', `loading policy ${file}: the document is nested too deeply`, {
    hint: 'a policy is a few levels deep (spec.rules[].filters[]): check that this is the right file',
  });
}

/**
 * The document as plain data, with alias expansion bounded by MAX_YAML_ALIASES.
 * @throws KtrailError POLICY_INVALID for too many aliases, an alias without its anchor, or nesting deeper
 *   than the JavaScript stack.
 */
function toPlain(src: Source): unknown {
  const r = yamlToData(src.doc);
  if ('value' in r) return r.value;
  const p = r.problem;
  if (p.kind === 'deep') throw tooDeep(src.file);
  const { cause, hint } = describeYamlProblem(p);
  let where = src.file;
  if (p.kind === 'unresolved') {
    const pos = src.lines.linePos(p.at);
    where += `:${pos.line}:${pos.col}`;
  }
  throw new KtrailError('POLICY_INVALID', `loading policy ${where}: ${cause}`, { hint });
}

function optString(src: Source, v: unknown, path: Path): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw src.fail(path, `expected a string, not ${describe(v)}`);
  return v;
}

function policyName(src: Source, v: unknown, path: Path): string {
  if (v === undefined || v === null || v === '')
    throw src.fail(path, 'a policy name is required', 'e.g. name: kernel-modules');
  if (typeof v !== 'string') throw src.fail(path, `the name must be a string, not ${describe(v)}`);
  if (v.length > 253 || !DNS1123.test(v)) {
    throw src.fail(
      path,
      `'${v}' is not a valid policy name`,
      "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (DNS-1123, at most 253)",
    );
  }
  return v;
}

function body(
  src: Source,
  cat: SelectionCatalog,
  obj: Record<string, unknown>,
  base: Path,
  name: string,
  description: string,
): PolicySpec {
  const scopePath = [...base, 'scope'];
  const scopeExprs = stringList(src, obj.scope, scopePath, 'scope', true);
  const scope = parseScope(scopeExprs, (expr, i) => src.where([...scopePath, i], expr.trim()));
  const defaultActions = actions(src, obj.defaultActions, [...base, 'defaultActions']);
  const rulesPath = [...base, 'rules'];
  const rawRules = obj.rules;
  if (!Array.isArray(rawRules) || rawRules.length === 0) {
    throw src.fail(
      rulesPath,
      rawRules === undefined
        ? 'rules are required'
        : Array.isArray(rawRules)
          ? 'rules must not be empty'
          : `rules must be a list, not ${describe(rawRules)}`,
      'e.g. rules: [{event: delete_module}]',
    );
  }
  const rules: RuleSpec[] = [];
  const seen = new Map<string, number>();
  rawRules.forEach((r: unknown, i) => {
    const rp = [...rulesPath, i];
    if (!isRecord(r)) throw src.fail(rp, `a rule must be a mapping with an event, not ${describe(r)}`);
    checkKeys(src, r, rp, ['event', 'filters', 'actions']);
    if (typeof r.event !== 'string' || r.event === '') {
      throw src.fail([...rp, 'event'], 'each rule needs an event name', 'e.g. event: delete_module');
    }
    const evName = r.event;
    const names = resolveName(cat, evName, src.label([...rp, 'event']), evName);
    const filterTexts = stringList(src, r.filters, [...rp, 'filters'], 'filters', false);
    const ruleActions = actions(src, r.actions, [...rp, 'actions']);
    for (const n of names) {
      const ev = cat.byName(n);
      if (ev === undefined) continue;
      const prev = seen.get(n);
      if (prev !== undefined) {
        throw src.fail(
          [...rp, 'event'],
          `event ${n} already appears in ${showPath([...rulesPath, prev])}`,
          'each event appears once per policy: merge the two rules',
        );
      }
      seen.set(n, i);
      const filters: EventFilter[] = filterTexts.map((t, j) =>
        parseEventFilter(ev, t, src.where([...rp, 'filters', j], t), true),
      );
      rules.push({ event: ev, filters, actions: ruleActions });
    }
  });
  return { name, description, origin: src.file, scope, rules, defaultActions };
}

function fsFail(path: string, e: unknown): KtrailError {
  const { cause, hint } = describeFsError(e, POLICY_FILE);
  return inputFileError(POLICY_FILE, path, cause, hint, e);
}

/** What a directory entry is, following symbolic links; a dangling link is an error naming it. */
function entryStat(path: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    let link = false;
    try {
      link = lstatSync(path).isSymbolicLink();
    } catch {
      // fall through to the stat error
    }
    if (link && (e as { code?: string }).code === 'ENOENT') {
      throw inputFileError(
        POLICY_FILE,
        path,
        'a symbolic link to a missing file',
        'remove the link or restore its target',
        e,
      );
    }
    throw fsFail(path, e);
  }
}

/**
 * The policy files a `-p` value stands for: the file itself, or a directory's policy files sorted by name
 * (sub-directories are skipped; other entries that are not regular files are an error).
 * @throws KtrailError INPUT_FILE (missing, unreadable) or POLICY_INVALID (a directory without policy files).
 */
export function policyFiles(path: string): string[] {
  const st = entryStat(path);
  if (!st.isDirectory()) return [path];
  let entries: string[];
  try {
    entries = readdirSync(path).filter((f) => POLICY_EXT.test(f));
  } catch (e) {
    throw fsFail(path, e);
  }
  entries.sort();
  const files: string[] = [];
  for (const f of entries) {
    const p = join(path, f);
    const est = entryStat(p);
    if (est.isDirectory()) continue;
    if (!est.isFile()) {
      throw inputFileError(
        POLICY_FILE,
        p,
        'not a regular file (a pipe, socket or device)',
        'keep only policy files in a policy directory',
      );
    }
    files.push(p);
  }
  if (files.length === 0) {
    throw new KtrailError(
      'POLICY_INVALID',
      `loading policy ${path}: no .yaml, .yml or .json file in this directory`,
      {
        hint: 'directories are not searched recursively',
      },
    );
  }
  return files;
}

/**
 * Loads every policy named by the `-p` values (files or directories, in the order given). At most 64
 * policies; names must be unique. Each file's size is checked against MAX_POLICY_BYTES before it is read.
 * @throws KtrailError INPUT_FILE, POLICY_INVALID (or UNKNOWN_EVENT / BAD_FILTER from a filter), exit status 2.
 */
export function loadPolicies(paths: readonly string[], cat: SelectionCatalog): PolicySpec[] {
  const out: PolicySpec[] = [];
  const byName = new Map<string, string>();
  for (const p of paths) {
    for (const file of policyFiles(p)) {
      if (out.length >= MAX_POLICIES) {
        throw new KtrailError(
          'POLICY_INVALID',
          `loading policy ${file}: policies maximum exceeded [${MAX_POLICIES}]`,
          {
            hint: `each event carries a 64-bit bitmap of matching policies; merge policies so that at most ${MAX_POLICIES} remain`,
          },
        );
      }
      const text = readTextFile(file, POLICY_FILE, {
        maxBytes: MAX_POLICY_BYTES,
        tooLargeHint:
          'a policy is a short YAML document: check that -p names the right file, or split it into several policies in a directory',
        emptyHint: `a policy starts with 'apiVersion: ${API_VERSION}' or 'type: policy'`,
      });
      const policy = parsePolicy(text, file, cat);
      const other = byName.get(policy.name);
      if (other !== undefined) {
        throw new KtrailError(
          'POLICY_INVALID',
          `loading policy ${file}: policy name '${policy.name}' is already used by ${other}`,
          { hint: 'policy names must be unique among the loaded policies: rename one of them' },
        );
      }
      byName.set(policy.name, file);
      out.push(policy);
    }
  }
  return out;
}

/** Tracee's rule: policies come from files or from flags, never both. */
export function checkPolicyFlags(values: { events: number; scope: number; policy: number }): void {
  if (values.policy > 0 && (values.events > 0 || values.scope > 0)) {
    const other = values.events > 0 ? '--events' : '--scope';
    throw new KtrailError('USAGE', `reading the command line: --policy cannot be combined with ${other}`, {
      hint: 'put the events and the scope into a policy file, or drop --policy and use -e/-s',
    });
  }
}
