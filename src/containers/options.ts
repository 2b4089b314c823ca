/**
 * `--containers` (Tracee v0.24's flag, repeatable, comma lists allowed):
 *   enrich=true|false          ask the container runtimes for names, images and pods (default true)
 *   sockets.RUNTIME=PATH       the socket of one runtime: docker, podman, containerd, crio (or cri-o); giving
 *                              any turns the discovery of the default sockets off
 *   cgroupfs.path=PATH         the cgroup mount to key containers on
 *   cgroupfs.force=true        use that mount even when cgroup v2 is mounted elsewhere
 * And the check that every filter on runtime facts (containerImage, podName, ...) can be evaluated.
 */

import { KtrailError } from '../errors.js';
import type { CompiledPolicies } from '../policy/compile.js';
import type { ContextField } from '../policy/event-filter.js';

export type RuntimeKey = 'docker' | 'podman' | 'containerd' | 'crio';

export interface ContainerOptions {
  readonly enrich: boolean;
  readonly sockets: Readonly<Partial<Record<RuntimeKey, string>>>;
  readonly cgroupfsPath: string | undefined;
  readonly cgroupfsForce: boolean;
}

const RUNTIME_NAMES: Readonly<Record<string, RuntimeKey>> = {
  docker: 'docker',
  podman: 'podman',
  containerd: 'containerd',
  crio: 'crio',
  'cri-o': 'crio',
};

const HINT =
  'options: enrich=true|false, sockets.docker=PATH (docker, podman, containerd, crio), cgroupfs.path=PATH, ' +
  'cgroupfs.force=true';

function bad(text: string, why: string): KtrailError {
  return new KtrailError('USAGE', `--containers '${text}': ${why}`, { hint: HINT });
}

function bool(text: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw bad(text, `'${v}' is not true or false`);
}

/** Parses every `--containers` value. Throws KtrailError USAGE naming the option and what is wrong. */
export function parseContainerOptions(values: readonly string[]): ContainerOptions {
  let enrich = true;
  const sockets: Partial<Record<RuntimeKey, string>> = {};
  let cgroupfsPath: string | undefined;
  let cgroupfsForce = false;
  for (const value of values) {
    for (const text of value.split(',')) {
      const eq = text.indexOf('=');
      const key = eq < 0 ? text : text.slice(0, eq);
      const v = eq < 0 ? undefined : text.slice(eq + 1);
      if (key === 'enrich') {
        enrich = v === undefined ? true : bool(text, v);
      } else if (key === 'cgroupfs.force') {
        cgroupfsForce = v === undefined ? true : bool(text, v);
      } else if (key === 'cgroupfs.path') {
        if (v === undefined || !v.startsWith('/')) throw bad(text, 'cgroupfs.path needs an absolute path');
        cgroupfsPath = v;
      } else if (key.startsWith('sockets.')) {
        const runtime = RUNTIME_NAMES[key.slice('sockets.'.length)];
        if (runtime === undefined)
          throw bad(
            text,
            `unknown runtime '${key.slice('sockets.'.length)}' (docker, podman, containerd, crio)`,
          );
        if (v === undefined || !v.startsWith('/')) throw bad(text, `${key} needs an absolute socket path`);
        sockets[runtime] = v;
      } else {
        throw bad(text, key === '' ? 'empty option' : `unknown option '${key}'`);
      }
    }
  }
  if (cgroupfsForce && cgroupfsPath === undefined)
    throw bad('cgroupfs.force', 'cgroupfs.force needs cgroupfs.path=PATH as well');
  return { enrich, sockets, cgroupfsPath, cgroupfsForce };
}

/** Context fields only a container runtime can answer. */
const FACT_FIELDS: ReadonlySet<ContextField> = new Set<ContextField>([
  'containerImage',
  'containerImageDigest',
  'containerName',
  'podName',
  'podNamespace',
  'podUid',
  'podSandbox',
]);

/** The sources of every filter on runtime facts in the policies (`delete_module.scope.containerImage=x`). */
export function factFilters(c: CompiledPolicies): string[] {
  const out: string[] = [];
  for (const [id, byPolicy] of c.user.filters) {
    const event = c.events.get(id)?.name ?? String(id);
    for (const set of byPolicy.values())
      for (const f of set.context) if (FACT_FIELDS.has(f.field)) out.push(`${event}.${f.filter.source}`);
  }
  return [...new Set(out)];
}

/**
 * Refuses filters on runtime facts when no runtime can be asked (enrich=false, or no socket found): they
 * would compare against empty strings.
 */
export function checkFactFilters(c: CompiledPolicies, runtimes: number, opts: ContainerOptions): void {
  const used = factFilters(c);
  if (used.length === 0 || runtimes > 0) return;
  const why = opts.enrich
    ? 'no container runtime socket was found (/var/run/docker.sock, /var/run/containerd/containerd.sock, ' +
      '/var/run/crio/crio.sock, /var/run/podman/podman.sock)'
    : 'runtime enrichment is off (--containers enrich=false)';
  throw new KtrailError(
    'USAGE',
    `filter '${used[0]}' needs a container runtime's facts, and ${why}: it could never match`,
    { hint: 'give the runtime socket with --containers sockets.docker=PATH (or containerd, crio, podman)' },
  );
}
