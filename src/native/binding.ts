/**
 * The only module that loads the native addon. node-gyp-build picks the file inside the package's `native/`
 * folder: a build from source (native/build/Release/ktrail.node, what `npm run setup` makes in a clone) wins,
 * else the prebuild shipped in the npm package (native/prebuilds/linux-x64/node.napi.glibc.node, made by
 * scripts/prebuild.sh at `npm pack`). This module injects NativeError so every native failure arrives typed,
 * and types the addon's surface. Loading happens once, on first use.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KtrailError, NativeError } from '../errors.js';

/** Description of one map of a loaded or opened object. */
export interface NativeMapInfo {
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Per-CPU maps read and write `valueBytes` = possible CPUs × value size rounded up to 8. */
  readonly perCpu: boolean;
  readonly valueBytes: number;
}

export interface NativeProgramInfo {
  readonly name: string;
  readonly section: string;
  readonly autoload: boolean;
  readonly attached: boolean;
  /**
   * The kernel's run counters of a loaded program: total ns spent in it and runs. They only count while the
   * sysctl kernel.bpf_stats_enabled is 1; absent before load.
   */
  readonly runTimeNs?: number;
  readonly runCount?: number;
}

export interface RingOptions {
  /** Poll timeout in ms (default 10): the longest a trickle of records waits. */
  readonly timeoutMs?: number;
  /** A batch is handed over once it holds this many bytes (default 256 KiB). */
  readonly batchBytes?: number;
  /** Batches waiting for JS before the poller blocks and the kernel starts to drop (default 16). */
  readonly queueDepth?: number;
}

/** A batch: records back to back, each prefixed by its u32 little-endian length. */
export type BatchCallback = (err: Error | null, batch: Buffer | undefined) => void;

/**
 * One libbpf bpf_object. Not thread-safe: use from the main thread only. Every method throws NativeError
 * (codes LIBBPF, BPF_LOAD_FAILED, BPF_VERIFIER_REJECTED, BPF_ATTACH_FAILED) on failure.
 */
export interface NativeBpfObject {
  setMapMaxEntries(map: string, entries: number): void;
  /** Changes a map's type before load: the fallback for a map type the kernel lacks. */
  setMapType(map: string, type: 'hash' | 'array'): void;
  setAutoload(program: string, on: boolean): void;
  /** Replaces the bytes of a read-only data section (`.rodata.*`) before load; the size must match. */
  setInitialValue(map: string, data: Buffer): void;
  load(): void;
  mapInfo(map: string): NativeMapInfo;
  mapUpdate(map: string, key: Buffer, value: Buffer): void;
  /** null when the key is absent. */
  mapLookup(map: string, key: Buffer): Buffer | null;
  /** Deletes a key of a hash map; false when it was absent. */
  mapDelete(map: string, key: Buffer): boolean;
  /** Every key of the map at the time of the call (entries may change meanwhile). */
  mapKeys(map: string): Buffer[];
  /**
   * Bytes waiting in a ring buffer map (records not yet consumed, headers included) and its size. Reads the
   * kernel's producer and consumer positions through a read-only mapping made on the first call; after load.
   */
  ringFill(map: string): { used: number; size: number };
  attach(program: string): void;
  /**
   * Attaches a cgroup program to the cgroup directory `cgroupPath` through a BPF link (programs others attached
   * there stay). detach(program) and close() release it. Throws BPF_ATTACH_FAILED (EPERM: CAP_NET_ADMIN).
   */
  attachCgroup(program: string, cgroupPath: string): void;
  /** false when the program was not attached. */
  detach(program: string): boolean;
  programs(): NativeProgramInfo[];
  startRing(map: string, onBatch: BatchCallback, options?: RingOptions): void;
  /** Resolves after a final drain has been delivered and the poller thread ended. */
  stopRing(): Promise<void>;
  /** Detaches, stops polling without delivering, frees. Idempotent. */
  close(): void;
}

export interface ProbeTypes {
  readonly ringbuf: boolean;
  readonly rawTracepoint: boolean;
  readonly tracing: boolean;
  readonly perfEventArray: boolean;
  /** BPF_MAP_TYPE_TASK_STORAGE (Linux 5.11). */
  readonly taskStorage: boolean;
}

export interface ProbeAttachResult {
  readonly ok: boolean;
  readonly errno: string | undefined;
  readonly message: string | undefined;
}

export interface NativeAddon {
  readonly BpfObject: new (path: string) => NativeBpfObject;
  setErrorClass(ctor: typeof NativeError): void;
  /** Boot and wall clocks in ns, read back to back. */
  clocks(): { boottime: bigint; realtime: bigint };
  probeTypes(): ProbeTypes;
  probeBtfAttach(kind: 'fentry' | 'tp_btf', target: string): ProbeAttachResult;
  numPossibleCpus(): number;
}

/** The package root: two levels above dist/src/native (or src/native when run from sources). */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = resolve(here, '..', '..');
  return existsSync(resolve(up, 'package.json')) ? up : resolve(up, '..');
}

/** The folder node-gyp-build searches: it holds binding.gyp, build/ (from source) and prebuilds/. */
export function addonDir(): string {
  return resolve(packageRoot(), 'native');
}

/** node-gyp-build's resolver: the path of the best matching .node file; throws when none matches. */
type ResolveAddon = (dir: string) => string;

/**
 * Absolute path of the addon file that loads: the source build, else the matching prebuild. Throws KtrailError
 * NATIVE_MISSING, with node-gyp-build's list of what it looked for, when there is neither.
 */
export function addonPath(): string {
  const require = createRequire(import.meta.url);
  const resolveAddon = (require('node-gyp-build') as { resolve: ResolveAddon }).resolve;
  try {
    return resolveAddon(addonDir());
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.trim().replace(/\s*\n\s*/g, '; ') : String(cause);
    throw new KtrailError('NATIVE_MISSING', `finding the native addon: ${why}`, {
      hint: 'in a clone, run npm run setup; an installed package ships a prebuild for linux-x64 (glibc) only',
      cause,
    });
  }
}

let cached: NativeAddon | undefined;

/** Load (once) and return the addon. Throws KtrailError NATIVE_MISSING when it is not built. */
export function loadNative(): NativeAddon {
  if (cached !== undefined) return cached;
  const file = addonPath();
  const require = createRequire(import.meta.url);
  let addon: NativeAddon;
  try {
    addon = require(file) as NativeAddon;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new KtrailError('NATIVE_MISSING', `loading the native addon: ${why}`, {
      hint:
        'the addon needs libbpf.so.1 (libbpf 1.0 or later), libelf.so.1 and glibc 2.32 or later; ' +
        'in a clone, npm run setup rebuilds it against this Node.js and libbpf',
      cause,
    });
  }
  addon.setErrorClass(NativeError);
  cached = addon;
  return addon;
}

/** True when an addon file is there to load (tests use it to skip with a reason). */
export function nativeAvailable(): boolean {
  try {
    return existsSync(addonPath());
  } catch {
    return false;
  }
}
