/**
 * What ktrail knows of each container: where it came from (its cgroup), whether it has started, and what its
 * runtime says about it. Fed, in arrival order, with the cgroup_mkdir / cgroup_rmdir records of one cgroup
 * hierarchy (the one containers are keyed on: cgroup v2 when mounted, else a v1 hierarchy) and with every
 * sched_process_exec record; it answers the pipeline's questions (is this container started? new? are its
 * facts still being asked for?) and derives container_create, container_remove and existing_container.
 *
 * Lifecycle of a container (Tracee's states):
 *   existed  its cgroup was there when ktrail started (found by walking the hierarchy)
 *   created  its cgroup was made while ktrail ran; the runtime is still setting it up
 *   started  a process in it exec'd a program in a mount namespace its parent is not in (KT_F_NEW_MNTNS): the
 *            runtime's init handed over to the container's first program
 * `containerStarted` holds for existed and started containers; `container=new` for started ones.
 *
 * Runtime facts are asked once per container, asynchronously, from the runtime its cgroup path names first,
 * then the others; each ask has a deadline (`waitMs`). Until it settles the container is `pending` and the
 * pipeline holds that container's events (never longer than the deadline); `onSettled` tells it when to go on.
 * Facts no runtime gave in time stay empty and are counted. Bounded: at most `maxContainers` known at once
 * (removed ones are forgotten first). Main thread only; never throws on a missing file.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerFacts } from '../decode/event.js';
import { type ContainerRuntime, parseCgroupPath } from '../enrich/container.js';

export type ContainerState = 'existed' | 'created' | 'started';

/** A runtime client, as src/containers/runtimes provides them. */
export interface RuntimeLookup {
  readonly runtime: string;
  /** The container's facts, or undefined when this runtime does not know it; rejects on errors. */
  inspect(
    id: string,
    signal?: AbortSignal,
  ): Promise<(ContainerFacts & { readonly runtime: string }) | undefined>;
}

export interface ContainerRecord {
  readonly id: string;
  /** The runtime named by the cgroup path ('unknown' when it does not say), or the one that answered. */
  runtime: string;
  state: ContainerState;
  /** The cgroup directory's ctime, ns since the epoch (0 when it could not be read). */
  readonly ctimeNs: bigint;
  /** The container's cgroup path in the keyed hierarchy. */
  readonly cgroupPath: string;
  /** The runtime's facts; undefined until (unless) a runtime answers. */
  facts: ContainerFacts | undefined;
  /** The runtime lookup: in flight, answered, or over without an answer (none asked, none knew, deadline). */
  lookup: 'pending' | 'answered' | 'unknown' | 'off';
  removed: boolean;
}

export interface ContainerStoreStats {
  /** Containers whose facts were asked for. */
  readonly lookups: number;
  readonly answered: number;
  /** Asked, and no runtime gave the facts in time (or none knew the container). */
  readonly unknown: number;
  /** Runtime calls that failed (transport, protocol, deadline). */
  readonly errors: number;
}

export interface ContainerStoreOptions {
  /** The runtimes to ask; empty: no facts (lookup 'off'). */
  readonly runtimes: readonly RuntimeLookup[];
  /** The hierarchy id containers are keyed on (0: cgroup v2) and its mount point. */
  readonly hierarchy: number;
  readonly mount: string | undefined;
  /** Longest wait for a runtime's answer, ms (default 2000). */
  readonly waitMs?: number;
  /** Most containers known at once (default 16384). */
  readonly maxContainers?: number;
  /** A container's lookup settled (answered or not): events held for it may go on. */
  readonly onSettled?: (id: string) => void;
  /** A runtime call failed (default: ignored; counted either way). */
  readonly onError?: (runtime: string, id: string, error: unknown) => void;
}

/** The container-root cgroup a path is, or undefined: the container's id is in its last component. */
export function containerRoot(path: string): { id: string; runtime: ContainerRuntime } | undefined {
  const c = parseCgroupPath(path);
  if (c === undefined) return undefined;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return last.includes(c.id) ? { id: c.id, runtime: c.runtime } : undefined;
}

const NO_FACTS: ContainerFacts = Object.freeze({
  name: '',
  image: '',
  imageDigest: '',
  podName: '',
  podNamespace: '',
  podUid: '',
  podSandbox: false,
});

export class ContainerStore {
  readonly #opts: ContainerStoreOptions;
  readonly #waitMs: number;
  readonly #max: number;
  readonly #byId = new Map<string, ContainerRecord>();
  #lookups = 0;
  #answered = 0;
  #unknown = 0;
  #errors = 0;
  #closed = false;
  readonly #inflight = new Set<AbortController>();

  constructor(opts: ContainerStoreOptions) {
    this.#opts = opts;
    this.#waitMs = opts.waitMs ?? 2000;
    this.#max = opts.maxContainers ?? 16384;
  }

  /** The hierarchy id containers are keyed on. */
  get hierarchy(): number {
    return this.#opts.hierarchy;
  }

  /** True when some runtime can be asked for facts. */
  get enriching(): boolean {
    return this.#opts.runtimes.length > 0;
  }

  /**
   * Walks the keyed hierarchy for the containers running now (state existed) and asks their runtimes.
   * Returns them in the order found.
   */
  discover(): ContainerRecord[] {
    const mount = this.#opts.mount;
    if (mount === undefined) return [];
    const found: ContainerRecord[] = [];
    const walk = (dir: string, rel: string, depth: number) => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const path = `${rel}/${e.name}`;
        const root = containerRoot(path);
        if (root !== undefined && !this.#byId.has(root.id)) {
          found.push(this.#add(root.id, root.runtime, path, 'existed'));
          continue;
        }
        if (depth < 16) walk(join(dir, e.name), path, depth + 1);
      }
    };
    walk(mount, '', 0);
    return found;
  }

  /**
   * A cgroup_mkdir record: a new container when the directory is a container root in the keyed hierarchy.
   * Returns the new container (state created), or undefined.
   */
  cgroupMkdir(path: string, hierarchy: number): ContainerRecord | undefined {
    if (hierarchy !== this.#opts.hierarchy) return undefined;
    const root = containerRoot(path);
    if (root === undefined) return undefined;
    const had = this.#byId.get(root.id);
    if (had !== undefined && !had.removed) return undefined;
    return this.#add(root.id, root.runtime, path, 'created');
  }

  /** A cgroup_rmdir record: the container whose root this was, now gone; undefined otherwise. */
  cgroupRmdir(path: string, hierarchy: number): ContainerRecord | undefined {
    if (hierarchy !== this.#opts.hierarchy) return undefined;
    const root = containerRoot(path);
    if (root === undefined) return undefined;
    const c = this.#byId.get(root.id);
    if (c === undefined) {
      // Made before ktrail started and missed by discovery (a race at start): still report its end.
      return {
        id: root.id,
        runtime: root.runtime,
        state: 'existed',
        ctimeNs: 0n,
        cgroupPath: path,
        facts: undefined,
        lookup: 'off',
        removed: true,
      };
    }
    c.removed = true;
    return c;
  }

  /**
   * A sched_process_exec in container `id`: the container starts when it was created under ktrail and the
   * program runs in a mount namespace its parent is not in. Returns true when this exec started it.
   */
  exec(id: string, newMountNs: boolean): boolean {
    const c = this.#byId.get(id);
    if (c === undefined || c.state !== 'created' || !newMountNs) return false;
    c.state = 'started';
    return true;
  }

  get(id: string): ContainerRecord | undefined {
    return this.#byId.get(id);
  }

  /** Tracee's containerStarted: the container has started, or ran before ktrail. */
  isStarted(id: string): boolean {
    const s = this.#byId.get(id)?.state;
    return s === 'started' || s === 'existed';
  }

  /** `container=new`: created while ktrail ran, and started. */
  isNew(id: string): boolean {
    return this.#byId.get(id)?.state === 'started';
  }

  /** True while the container's runtime facts are being asked for. */
  pending(id: string): boolean {
    return this.#byId.get(id)?.lookup === 'pending';
  }

  /** The facts of a container, or undefined. */
  facts(id: string): ContainerFacts | undefined {
    return this.#byId.get(id)?.facts;
  }

  /** The facts for a derived event: the runtime's, or all empty. */
  factsOrEmpty(id: string): ContainerFacts {
    return this.#byId.get(id)?.facts ?? NO_FACTS;
  }

  /** Ids of the containers whose lookup is still pending. */
  pendingIds(): string[] {
    return [...this.#byId.values()].filter((c) => c.lookup === 'pending').map((c) => c.id);
  }

  stats(): ContainerStoreStats {
    return { lookups: this.#lookups, answered: this.#answered, unknown: this.#unknown, errors: this.#errors };
  }

  /** Stops every lookup in flight (they settle as unknown); the store answers from what it has. */
  close(): void {
    this.#closed = true;
    for (const c of this.#inflight) c.abort();
    this.#inflight.clear();
  }

  #add(id: string, runtime: string, path: string, state: ContainerState): ContainerRecord {
    this.#prune();
    let ctimeNs = 0n;
    const mount = this.#opts.mount;
    if (mount !== undefined) {
      try {
        ctimeNs = statSync(join(mount, path), { bigint: true }).ctimeNs;
      } catch {
        // Removed already: keep 0.
      }
    }
    const c: ContainerRecord = {
      id,
      runtime,
      state,
      ctimeNs,
      cgroupPath: path,
      facts: undefined,
      lookup: this.enriching && !this.#closed ? 'pending' : 'off',
      removed: false,
    };
    this.#byId.set(id, c);
    if (c.lookup === 'pending') void this.#ask(c);
    return c;
  }

  /** Forgets removed containers first, then the oldest, when the map is full. */
  #prune(): void {
    if (this.#byId.size < this.#max) return;
    for (const [id, c] of this.#byId) {
      if (c.removed && c.lookup !== 'pending') this.#byId.delete(id);
      if (this.#byId.size < this.#max) return;
    }
    const oldest = this.#byId.keys().next().value;
    if (oldest !== undefined) this.#byId.delete(oldest);
  }

  /** Asks the runtimes in order (the one the path names first) until one knows the container. */
  async #ask(c: ContainerRecord): Promise<void> {
    this.#lookups++;
    const abort = new AbortController();
    this.#inflight.add(abort);
    const timer = setTimeout(() => abort.abort(new Error(`no answer in ${this.#waitMs} ms`)), this.#waitMs);
    const order = [...this.#opts.runtimes].sort(
      (a, b) => Number(b.runtime === c.runtime) - Number(a.runtime === c.runtime),
    );
    let facts: (ContainerFacts & { runtime: string }) | undefined;
    for (const r of order) {
      if (abort.signal.aborted) break;
      try {
        facts = await r.inspect(c.id, abort.signal);
      } catch (e) {
        this.#errors++;
        this.#opts.onError?.(r.runtime, c.id, e);
      }
      if (facts !== undefined) break;
    }
    clearTimeout(timer);
    this.#inflight.delete(abort);
    if (facts !== undefined && !abort.signal.aborted) {
      c.facts = Object.freeze({
        name: facts.name,
        image: facts.image,
        imageDigest: facts.imageDigest,
        podName: facts.podName,
        podNamespace: facts.podNamespace,
        podUid: facts.podUid,
        podSandbox: facts.podSandbox,
      });
      if (c.runtime === 'unknown') c.runtime = facts.runtime;
      c.lookup = 'answered';
      this.#answered++;
    } else {
      c.lookup = 'unknown';
      this.#unknown++;
    }
    this.#opts.onSettled?.(c.id);
  }
}

/** The cgroup hierarchy containers are keyed on, and its mount point. */
export interface KeyedHierarchy {
  readonly hierarchy: number;
  readonly mount: string | undefined;
}

/**
 * Chooses the hierarchy: cgroup v2 (id 0) when it is mounted; else the v1 hierarchy holding `cpuset` (as
 * Tracee), else the first mounted v1 hierarchy. `forcePath` (--containers cgroupfs.path=... cgroupfs.force)
 * picks the hierarchy mounted there. From /proc/self/mountinfo and /proc/cgroups texts.
 */
export function chooseHierarchy(mountinfo: string, procCgroups: string, forcePath?: string): KeyedHierarchy {
  const mounts: { path: string; v2: boolean; controllers: string[] }[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup2' && fstype !== 'cgroup') continue;
    const path = (line.slice(0, sep).split(' ')[4] ?? '').replace(/\\040/g, ' ');
    mounts.push({ path, v2: fstype === 'cgroup2', controllers: superOpts.split(',') });
  }
  const hierOf = new Map<string, number>();
  for (const line of procCgroups.split('\n')) {
    const [name, hier] = line.split('\t');
    if (name !== undefined && hier !== undefined && !name.startsWith('#')) hierOf.set(name, Number(hier));
  }
  const v1Id = (m: (typeof mounts)[number]): number | undefined => {
    for (const c of m.controllers) {
      const id = hierOf.get(c);
      if (id !== undefined && id > 0) return id;
    }
    return undefined;
  };
  if (forcePath !== undefined) {
    const m = mounts.find((x) => x.path === forcePath);
    if (m === undefined) return { hierarchy: -1, mount: undefined };
    return { hierarchy: m.v2 ? 0 : (v1Id(m) ?? -1), mount: m.path };
  }
  const v2 = mounts.find((m) => m.v2);
  if (v2 !== undefined) return { hierarchy: 0, mount: v2.path };
  const cpuset = mounts.find((m) => m.controllers.includes('cpuset') && v1Id(m) !== undefined);
  const any = cpuset ?? mounts.find((m) => v1Id(m) !== undefined);
  return any === undefined ? { hierarchy: -1, mount: undefined } : { hierarchy: v1Id(any)!, mount: any.path };
}
