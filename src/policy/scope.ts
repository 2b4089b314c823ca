/**
 * Policy scope (`-s/--scope` and `spec.scope`, COMPAT.md 4 and 5): which processes a policy watches. Every
 * expression adds one constraint and all constraints AND. Pure parsing into a ScopeSpec; evaluation lives in
 * match.ts and the kernel split in compile.ts.
 */
import {
  badFilter,
  didYouMean,
  type NumberFilter,
  parseBoolFilter,
  parseInteger,
  parseNumberFilter,
  parseStringFilter,
  type StringFilter,
  splitExpr,
} from './filter.js';

/** `exec=/p`, `exec=host:/p` or `exec=<mntns>:/p` (the path as seen from that mount namespace). */
export interface ExecFilter {
  readonly filter: StringFilter;
  readonly mntns?: bigint;
}

/**
 * `container` (a started container, or one running before ktrail), `not-container`, `container=new` (started
 * while ktrail ran), `container!=new` (a container, not new), `container=started` (as `container`),
 * `container=<id>` (id prefix).
 */
export type ContainerFilter =
  | { readonly mode: 'container' | 'host' | 'new' | 'not-new'; readonly source: string }
  | { readonly mode: 'id'; readonly filter: StringFilter; readonly source: string };

/** One policy's scope. Empty lists mean "no constraint"; `global` is an empty scope written explicitly. */
export interface ScopeSpec {
  readonly global: boolean;
  /** Descendants of a matching process match too (their events reach the policy). */
  readonly follow: boolean;
  /** `pid=new`: only processes started after ktrail. */
  readonly newPid: boolean;
  readonly uid: readonly NumberFilter[];
  /** Host pids. */
  readonly pid: readonly NumberFilter[];
  readonly mntns: readonly NumberFilter[];
  readonly pidns: readonly NumberFilter[];
  /** `tree=PID`: the process PID and its descendants (host pids). */
  readonly tree: readonly NumberFilter[];
  readonly comm: readonly StringFilter[];
  /** UTS host name. */
  readonly uts: readonly StringFilter[];
  readonly exec: readonly ExecFilter[];
  readonly container: readonly ContainerFilter[];
  /** Source text of `follow`, `pid=new`, `global` (for reports). */
  readonly flags: readonly string[];
}

export const EMPTY_SCOPE: ScopeSpec = {
  global: false,
  follow: false,
  newPid: false,
  uid: [],
  pid: [],
  mntns: [],
  pidns: [],
  tree: [],
  comm: [],
  uts: [],
  exec: [],
  container: [],
  flags: [],
};

const ALIASES: Readonly<Record<string, string>> = {
  u: 'uid',
  uid: 'uid',
  p: 'pid',
  pid: 'pid',
  mntns: 'mntns',
  pidns: 'pidns',
  tree: 'tree',
  t: 'tree',
  comm: 'comm',
  uts: 'uts',
  exec: 'exec',
  executable: 'exec',
  bin: 'exec',
  binary: 'exec',
  container: 'container',
  c: 'container',
  'not-container': 'not-container',
  follow: 'follow',
  global: 'global',
};

/** Every scope key spelling, for suggestions and docs. */
export const SCOPE_KEYS: readonly string[] = Object.keys(ALIASES);

const U32_MAX = (1n << 32n) - 1n;
/** Pids are 22 bits at most (PID_MAX_LIMIT = 4194304). */
const PID_MAX = 4194304n;

/** True when the scope has no constraint at all (matches every process). */
export function isEmptyScope(s: ScopeSpec): boolean {
  return (
    !s.newPid &&
    s.uid.length === 0 &&
    s.pid.length === 0 &&
    s.mntns.length === 0 &&
    s.pidns.length === 0 &&
    s.tree.length === 0 &&
    s.comm.length === 0 &&
    s.uts.length === 0 &&
    s.exec.length === 0 &&
    s.container.length === 0
  );
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

/**
 * Adds scope expressions to a scope. `where(expr)` gives the error prefix for one expression.
 * @throws KtrailError BAD_FILTER naming the key, the operator or the value that is wrong.
 */
export function parseScope(exprs: readonly string[], where: (expr: string, i: number) => string): ScopeSpec {
  const s: Mutable<ScopeSpec> = {
    ...EMPTY_SCOPE,
    uid: [],
    pid: [],
    mntns: [],
    pidns: [],
    tree: [],
    comm: [],
    uts: [],
    exec: [],
    container: [],
    flags: [],
  };
  exprs.forEach((raw, i) => {
    const w = where(raw, i);
    const expr = raw.trim();
    if (expr === '')
      throw badFilter(w, 'empty scope expression', "e.g. 'uid=0', 'comm=bash' or 'not-container'");
    const { key: rawKey, op, value } = splitExpr(expr, w);
    const key = ALIASES[rawKey];
    if (rawKey === '')
      throw badFilter(
        w,
        `no scope key before '${op ?? ''}'`,
        "write KEY<op>VALUE, e.g. 'uid=0' or 'comm=bash'",
      );
    if (key === undefined) {
      throw badFilter(
        w,
        `unknown scope key '${rawKey}'`,
        `${didYouMean(rawKey, SCOPE_KEYS)}scope keys: uid, pid, mntns, pidns, tree, comm, uts, exec, container, not-container, follow`,
      );
    }
    const needOp = () => {
      if (op === undefined)
        throw badFilter(w, `'${rawKey}' needs an operator and a value`, `e.g. '${rawKey}=...'`);
      return op;
    };
    const eqOnly = () => {
      const o = needOp();
      if (o !== '=' && o !== '!=') {
        throw badFilter(w, `operator '${o}' does not apply to '${rawKey}'`, `'${rawKey}' takes '=' or '!='`);
      }
      return o;
    };
    const noOp = () => {
      if (op !== undefined) throw badFilter(w, `'${rawKey}' takes no value`, `write just '${rawKey}'`);
    };
    switch (key) {
      case 'uid':
        s.uid.push(parseNumberFilter(needOp(), value, { what: 'a uid', min: 0n, max: U32_MAX }, w, expr));
        break;
      case 'pid':
        if (value === 'new') {
          if (op !== '=') throw badFilter(w, `'${rawKey}${op ?? ''}new' is not supported`, "write 'pid=new'");
          s.newPid = true;
          s.flags.push(expr);
        } else {
          s.pid.push(parseNumberFilter(needOp(), value, { what: 'a pid', min: 1n, max: PID_MAX }, w, expr));
        }
        break;
      case 'tree':
        s.tree.push(parseNumberFilter(eqOnly(), value, { what: 'a pid', min: 1n, max: PID_MAX }, w, expr));
        break;
      case 'mntns':
      case 'pidns':
        s[key].push(
          parseNumberFilter(
            eqOnly(),
            value,
            { what: 'a namespace inode number', min: 1n, max: U32_MAX },
            w,
            expr,
          ),
        );
        break;
      case 'comm': {
        const f = parseStringFilter(eqOnly(), value, w, expr);
        s.comm.push(f);
        break;
      }
      case 'uts':
        s.uts.push(parseStringFilter(eqOnly(), value, w, expr));
        break;
      case 'exec':
        s.exec.push(parseExec(eqOnly(), value, w, expr));
        break;
      case 'container': {
        if (op === undefined) {
          s.container.push({ mode: 'container', source: expr });
          break;
        }
        const o = eqOnly();
        if (value === 'new') {
          s.container.push({ mode: o === '=' ? 'new' : 'not-new', source: expr });
        } else if (value === 'started') {
          s.container.push({ mode: o === '=' ? 'container' : 'host', source: expr });
        } else if (value === 'true' || value === 'false') {
          const b = parseBoolFilter(o, value, w, expr);
          s.container.push({ mode: b.value ? 'container' : 'host', source: expr });
        } else {
          s.container.push({ mode: 'id', filter: parseStringFilter(o, value, w, expr), source: expr });
        }
        break;
      }
      case 'not-container':
        noOp();
        s.container.push({ mode: 'host', source: expr });
        break;
      case 'follow':
        noOp();
        s.follow = true;
        s.flags.push(expr);
        break;
      case 'global':
        noOp();
        s.global = true;
        s.flags.push(expr);
        break;
    }
  });
  if (s.global && exprs.length > 1) {
    throw badFilter(
      where(exprs.find((e) => e.trim() !== 'global') ?? '', 0),
      "'global' must be the only scope expression",
      "remove 'global' to narrow the scope, or the other expressions to watch every process",
    );
  }
  return s;
}

function parseExec(op: '=' | '!=', value: string, where: string, source: string): ExecFilter {
  const m = /^(host|[0-9]+):(\/.*)$/.exec(value);
  if (m === null) {
    if (!value.split(',').every((v) => v.startsWith('/') || v.startsWith('*'))) {
      throw badFilter(
        where,
        `'${value}' is not an absolute path`,
        "e.g. 'exec=/usr/bin/kmod' or 'exec=host:/usr/bin/kmod'",
      );
    }
    return { filter: parseStringFilter(op, value, where, source) };
  }
  const filter = parseStringFilter(op, m[2] ?? '', where, source);
  if (m[1] === 'host') return { filter };
  const ns = parseInteger(m[1] ?? '');
  return ns === undefined ? { filter } : { filter, mntns: ns };
}
