/**
 * `--config FILE`: ktrail's settings in a YAML (or JSON) file, with Tracee's keys where Tracee has them
 * (v0.24 `pkg/cmd/cobra/config.go`: `output`, `log`, `server`, `containers`, `signatures-dir`, each a structured mapping
 * or a list of raw flag values). ktrail also reads `events`, `scope` and `policy` (Tracee's example config
 * lists them; Tracee itself takes them from the command line only), its own `buffer-size`,
 * `stats-interval`, and the legacy `metrics`, `healthz`, `http-listen-addr`.
 *
 * The file turns into exactly the option values the same flags give (mergeConfig), so both paths share
 * every check and give the same plan. Flags given on the command line (or through KTRAIL_* variables)
 * replace a key's whole value. Keys ktrail does not know, or Tracee keys it does not support, are errors
 * (exit status 2), never ignored. Pure apart from reading the file.
 */
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { ParsedArgs } from '../cli/args.js';
import { KtrailError } from '../errors.js';
import { closestNames } from '../util/edit-distance.js';
import { type FileRole, MIB, readTextFile } from '../util/input-file.js';
import { describeYamlProblem, isStackOverflow, type YamlDataProblem, yamlToData } from '../util/yaml-data.js';

export interface ConfigSettings {
  /** Option values by long flag name, as the command line would give them. */
  readonly values: ReadonlyMap<string, readonly string[]>;
  /** Flags without a value that the file turns on. */
  readonly flags: ReadonlySet<string>;
}

const ROLE: FileRole = {
  where: (loc) => `--config ${loc}`,
  expect: 'a YAML or JSON file of ktrail settings',
};

/** Keys that hold flag values: a string, a number or a list of them. */
const LIST_KEYS = ['events', 'scope', 'policy', 'signatures-dir'] as const;
const ONE_KEYS = ['buffer-size', 'stats-interval', 'http-listen-addr'] as const;
const FLAG_KEYS = ['metrics', 'healthz'] as const;
const STRUCTURED = ['output', 'server', 'containers', 'log', 'logging'] as const;
const KNOWN: readonly string[] = [...LIST_KEYS, ...ONE_KEYS, ...FLAG_KEYS, ...STRUCTURED];

/** Tracee's keys (v0.24 and main) ktrail does not support, with what to do instead. */
const TRACEE_ONLY: Readonly<Record<string, string>> = {
  'perf-buffer-size': 'ktrail has one ring buffer: set buffer-size (MiB) instead',
  'blob-perf-buffer-size': 'ktrail has no artifact buffer',
  'pipeline-channel-size': 'ktrail has no pipeline channels',
  buffers: 'set buffer-size (MiB) for the ring buffer',
  enrichment: 'ktrail enriches events by itself; remove the key',
  proctree: 'ktrail always keeps a process tree',
  stores: 'ktrail always keeps a process tree',
  dnscache: 'ktrail has no DNS cache',
  capabilities: 'ktrail runs with the capabilities it was started with',
  capture: 'ktrail does not capture artifacts',
  artifacts: 'ktrail does not capture artifacts',
  'install-path': 'ktrail needs no install path',
  'no-signatures': 'select events with events: instead',
  detectors: 'use signatures-dir for extra rules',
  cache: 'ktrail has no event cache',
  'metrics-endpoint': "write 'metrics: true' or server: {metrics: true}",
  'listen-addr': "write server: {http-address: '127.0.0.1:3366'}",
  pprof: 'ktrail has no pprof endpoint',
  pyroscope: 'ktrail has no pyroscope agent',
  config: 'a config file cannot name another one',
};

type Path = readonly (string | number)[];

class Reader {
  readonly #lines = new LineCounter();
  readonly #doc: ReturnType<typeof parseDocument>;
  constructor(
    readonly file: string,
    text: string,
  ) {
    try {
      this.#doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false, logLevel: 'error' });
    } catch (e) {
      if (isStackOverflow(e)) throw this.#problem({ kind: 'deep' });
      throw e;
    }
    const err = this.#doc.errors[0];
    if (err !== undefined) {
      if (/call stack/i.test(err.message)) throw this.#problem({ kind: 'deep' });
      const at = this.#lines.linePos(err.pos[0]);
      throw new KtrailError(
        'USAGE',
        `--config ${file}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML: ${err.message.split('\n')[0]}`,
        { hint: 'fix the file; JSON is YAML too' },
      );
    }
  }

  /** The document as data; alias bombs, deep nesting and unresolved aliases are errors naming the file. */
  get root(): unknown {
    const r = yamlToData(this.#doc);
    if ('value' in r) return r.value;
    throw this.#problem(r.problem);
  }

  #problem(p: YamlDataProblem): KtrailError {
    const { cause, hint } = describeYamlProblem(p);
    let where = this.file;
    if (p.kind === 'unresolved') {
      const { line, col } = this.#lines.linePos(p.at);
      where += `:${line}:${col}`;
    }
    return new KtrailError('USAGE', `--config ${where}: ${cause}`, {
      hint:
        p.kind === 'deep' ? 'a config file is a few levels deep: check that this is the right file' : hint,
    });
  }

  /** Top-level keys that are not plain strings. */
  badKey(): string | undefined {
    const c = this.#doc.contents;
    if (!isMap(c)) return undefined;
    for (const p of c.items) if (!isScalar(p.key) || typeof p.key.value !== 'string') return String(p.key);
    return undefined;
  }

  /** An error at `path`: its value, or with `atKey` its key (`unknown key`). */
  fail(path: Path, msg: string, hint?: string, atKey = false): KtrailError {
    let node = this.#doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    if (atKey && path.length > 0) {
      const parent = path.length === 1 ? this.#doc.contents : this.#doc.getIn(path.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
        if (pair !== undefined && isScalar(pair.key)) node = pair.key as { range?: [number, number, number] };
      }
    }
    let where = this.file;
    if (node?.range !== undefined) {
      const { line, col } = this.#lines.linePos(node.range[0]);
      where += `:${line}:${col}`;
    }
    const field = path.length === 0 ? '' : `: ${path.join('.')}`;
    return new KtrailError('USAGE', `--config ${where}${field}: ${msg}`, hint === undefined ? {} : { hint });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function scalar(r: Reader, path: Path, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw r.fail(path, 'expected a string or a number');
}

/** A string, a number, or a list of them: the raw flag values Tracee's config also allows. */
function list(r: Reader, path: Path, v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x, i) => scalar(r, [...path, i], x));
  if (v === null || v === undefined) return [];
  return [scalar(r, path, v)];
}

function bool(r: Reader, path: Path, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  throw r.fail(path, 'expected true or false');
}

function checkKeys(r: Reader, path: Path, o: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const near = closestNames(known, k, 1, 2)[0];
    throw r.fail(
      [...path, k],
      'unknown key',
      near ? `did you mean '${near}'?` : `keys here: ${known.join(', ')}`,
      true,
    );
  }
}

/** Named entries: Tracee's map form `{name: {...}}` or its example's list form `[{name: {...}}]`. */
function named(r: Reader, path: Path, v: unknown): [Path, Record<string, unknown>][] {
  const out: [Path, Record<string, unknown>][] = [];
  const add = (p: Path, o: unknown) => {
    if (!isObject(o)) throw r.fail(p, 'expected a mapping of name: settings');
    for (const [name, s] of Object.entries(o)) {
      if (!isObject(s)) throw r.fail([...p, name], 'expected a mapping of settings');
      out.push([[...p, name], s]);
    }
  };
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) add([...path, i], x);
  } else add(path, v);
  return out;
}

function parseUrl(r: Reader, path: Path, text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw r.fail(path, `'${text}' is not a URL`);
  }
}

/** `output:` as Tracee's OutputConfig.flags() turns it into `-o` values, plus ktrail's additions. */
function outputFlags(r: Reader, v: unknown): string[] {
  if (!isObject(v)) return list(r, ['output'], v);
  const out: string[] = [];
  checkKeys(r, ['output'], v, [
    'options',
    'json',
    'table',
    'table-verbose',
    'gotemplate',
    'forward',
    'webhook',
    'nats',
  ]);
  const opts = v['options'];
  if (opts !== undefined) {
    if (!isObject(opts)) throw r.fail(['output', 'options'], 'expected a mapping');
    const BOOL = [
      'none',
      'stack-addresses',
      'exec-env',
      'parse-arguments',
      'parse-arguments-fds',
      'sort-events',
    ];
    const VALUE = ['exec-hash', 'ancestry', 'rotate-size', 'rotate-backups'];
    checkKeys(r, ['output', 'options'], opts, [...BOOL, ...VALUE]);
    for (const [k, x] of Object.entries(opts)) {
      const p = ['output', 'options', k];
      if (BOOL.includes(k)) {
        if (bool(r, p, x)) out.push(k === 'none' ? 'none' : `option:${k}`);
      } else if (k === 'ancestry' && typeof x === 'boolean') {
        if (x) out.push('option:ancestry');
      } else out.push(`option:${k}=${scalar(r, p, x)}`);
    }
  }
  for (const format of ['table', 'table-verbose', 'json']) {
    const f = v[format];
    if (f === undefined) continue;
    if (!isObject(f)) throw r.fail(['output', format], 'expected a mapping with files:');
    checkKeys(r, ['output', format], f, ['files']);
    for (const file of list(r, ['output', format, 'files'], f['files'])) out.push(`${format}:${file}`);
  }
  if (v['gotemplate'] !== undefined) out.push('gotemplate');
  if (v['forward'] !== undefined) out.push('forward');
  if (v['webhook'] !== undefined) {
    for (const [p, w] of named(r, ['output', 'webhook'], v['webhook'])) {
      checkKeys(r, p, w, [
        'protocol',
        'host',
        'port',
        'path',
        'timeout',
        'gotemplate',
        'content-type',
        'batch',
        'retries',
        'queue',
        'url',
      ]);
      let text: string;
      if (w['url'] !== undefined)
        text = scalar(r, [...p, 'url'], w['url']).replace(/^(?![a-z]+:\/\/)/, 'http://');
      else {
        if (w['host'] === undefined || w['port'] === undefined)
          throw r.fail(p, 'needs host and port (or url)');
        const proto = w['protocol'] === undefined ? 'http' : scalar(r, [...p, 'protocol'], w['protocol']);
        const host = scalar(r, [...p, 'host'], w['host']);
        text = `${proto}://${host.includes(':') ? `[${host}]` : host}:${scalar(r, [...p, 'port'], w['port'])}`;
      }
      const url = parseUrl(r, p, text);
      if (w['url'] === undefined && w['path'] !== undefined)
        url.pathname = scalar(r, [...p, 'path'], w['path']);
      const params: [string, string][] = [
        ['timeout', 'timeout'],
        ['gotemplate', 'gotemplate'],
        ['content-type', 'contentType'],
        ['batch', 'batch'],
        ['retries', 'retries'],
        ['queue', 'queue'],
      ];
      for (const [key, param] of params)
        if (w[key] !== undefined) url.searchParams.set(param, scalar(r, [...p, key], w[key]));
      out.push(`webhook:${url.href}`);
    }
  }
  if (v['nats'] !== undefined) {
    for (const [p, n] of named(r, ['output', 'nats'], v['nats'])) {
      checkKeys(r, p, n, ['url', 'subject', 'timeout', 'retries', 'queue']);
      if (n['url'] === undefined || n['subject'] === undefined) throw r.fail(p, 'needs url and subject');
      const url = parseUrl(
        r,
        [...p, 'url'],
        scalar(r, [...p, 'url'], n['url']).replace(/^(?![a-z]+:\/\/)/, 'nats://'),
      );
      for (const key of ['subject', 'timeout', 'retries', 'queue'])
        if (n[key] !== undefined) url.searchParams.set(key, scalar(r, [...p, key], n[key]));
      out.push(`nats:${url.href}`);
    }
  }
  return out;
}

/** `server:` as Tracee's ServerConfig.flags() turns it into `--server` values. */
function serverFlags(r: Reader, v: unknown): string[] {
  if (!isObject(v)) return list(r, ['server'], v);
  checkKeys(r, ['server'], v, ['http-address', 'grpc-address', 'metrics', 'healthz', 'pprof', 'pyroscope']);
  const out: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (k === 'http-address' || k === 'grpc-address') out.push(`${k}=${scalar(r, ['server', k], x)}`);
    else if (bool(r, ['server', k], x)) out.push(k);
  }
  return out;
}

/**
 * `containers:` as Tracee's ContainerConfig turns it into `--containers` values: enrich, cgroupfs.path and
 * cgroupfs.force, sockets as a list of {runtime, socket}.
 */
function containerFlags(r: Reader, v: unknown): string[] {
  if (!isObject(v)) return list(r, ['containers'], v);
  checkKeys(r, ['containers'], v, ['enrich', 'cgroupfs', 'sockets']);
  const out: string[] = [];
  if (v['enrich'] !== undefined) out.push(`enrich=${bool(r, ['containers', 'enrich'], v['enrich'])}`);
  const cg = v['cgroupfs'];
  if (cg !== undefined) {
    if (!isObject(cg)) throw r.fail(['containers', 'cgroupfs'], 'expected a mapping with path: and force:');
    checkKeys(r, ['containers', 'cgroupfs'], cg, ['path', 'force']);
    if (cg['path'] !== undefined)
      out.push(`cgroupfs.path=${scalar(r, ['containers', 'cgroupfs', 'path'], cg['path'])}`);
    if (cg['force'] !== undefined)
      out.push(`cgroupfs.force=${bool(r, ['containers', 'cgroupfs', 'force'], cg['force'])}`);
  }
  const sockets = v['sockets'];
  if (sockets !== undefined) {
    if (!Array.isArray(sockets))
      throw r.fail(['containers', 'sockets'], 'expected a list of {runtime, socket}');
    for (const [i, x] of sockets.entries()) {
      const p = ['containers', 'sockets', i];
      if (!isObject(x)) throw r.fail(p, 'expected {runtime: NAME, socket: PATH}');
      checkKeys(r, p, x, ['runtime', 'socket']);
      if (x['runtime'] === undefined || x['socket'] === undefined)
        throw r.fail(p, 'needs runtime and socket');
      out.push(
        `sockets.${scalar(r, [...p, 'runtime'], x['runtime'])}=${scalar(r, [...p, 'socket'], x['socket'])}`,
      );
    }
  }
  return out;
}

/** `log:`/`logging:` as `--log` values: level and format; Tracee's file, aggregate and filters are refused. */
function logFlags(r: Reader, key: string, v: unknown): string[] {
  if (!isObject(v)) return list(r, [key], v);
  checkKeys(r, [key], v, ['level', 'format', 'file', 'aggregate', 'filters']);
  const out: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (k === 'level' || k === 'format' || k === 'file') out.push(`${k}=${scalar(r, [key, k], x)}`);
    else out.push(k);
  }
  return out;
}

/** Parses the text of a config file (`file` names it in messages). */
export function parseConfig(text: string, file: string): ConfigSettings {
  const r = new Reader(file, text);
  const bad = r.badKey();
  if (bad !== undefined) throw r.fail([], `a key must be a plain name, not ${bad}`);
  const root = r.root;
  if (root === null || root === undefined) return { values: new Map(), flags: new Set() };
  if (!isObject(root)) throw r.fail([], 'expected a mapping of settings at the top');
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const put = (k: string, vs: string[]) => {
    if (vs.length > 0) values.set(k, [...(values.get(k) ?? []), ...vs]);
  };
  for (const [key, v] of Object.entries(root)) {
    const why = TRACEE_ONLY[key];
    if (why !== undefined) throw r.fail([key], 'a Tracee setting ktrail does not support', why, true);
    if (!KNOWN.includes(key)) {
      const near = closestNames(KNOWN, key, 1, 2)[0];
      throw r.fail(
        [key],
        'unknown key',
        near ? `did you mean '${near}'?` : `keys: ${KNOWN.join(', ')}`,
        true,
      );
    }
    if ((LIST_KEYS as readonly string[]).includes(key)) put(key, list(r, [key], v));
    else if ((ONE_KEYS as readonly string[]).includes(key)) {
      if (v !== null && v !== undefined) put(key, [scalar(r, [key], v)]);
    } else if ((FLAG_KEYS as readonly string[]).includes(key)) {
      if (bool(r, [key], v)) flags.add(key);
    } else if (key === 'output') put('output', outputFlags(r, v));
    else if (key === 'server') put('server', serverFlags(r, v));
    else if (key === 'containers') put('containers', containerFlags(r, v));
    else put('log', logFlags(r, key, v));
  }
  return { values, flags };
}

/** Reads and parses FILE; KtrailError INPUT_FILE or USAGE (exit status 2) for a file that cannot be used. */
export function loadConfig(path: string): ConfigSettings {
  const text = readTextFile(path, ROLE, {
    maxBytes: MIB,
    tooLargeHint: 'a config file holds settings, not data',
    emptyHint: `give ${ROLE.expect}`,
  });
  return parseConfig(text, path);
}

/**
 * The arguments with the file's settings under them: an option the command line (or its KTRAIL_* variable)
 * gave keeps that value whole; the others take the file's. Flags without a value add up.
 */
export function mergeConfig(args: ParsedArgs, cfg: ConfigSettings): ParsedArgs {
  const values = new Map(args.values);
  const given = (k: string) => values.has(k) || (k === 'log' && values.has('logging'));
  for (const [k, v] of cfg.values) if (!given(k)) values.set(k, v);
  return { ...args, values, flags: new Set([...args.flags, ...cfg.flags]) };
}
