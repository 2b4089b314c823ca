/**
 * What every runtime client shares: one deadline per call, abort and close handling, the mapping of any
 * failure to a RuntimeError that names runtime, socket and request, and the checks that turn an untrusted
 * response into a ContainerMeta.
 */
import { DeadlineExceeded, ResponseError, RuntimeError, type RuntimeErrorCode } from './errors.js';
import {
  type ClientOptions,
  type ContainerMeta,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  MAX_LABELS,
  MAX_STRING,
  type RuntimeName,
} from './types.js';

/** A container id as the runtimes write it in cgroup names: 64 lowercase hex digits. */
export const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** The Kubernetes labels kubelet puts on every container, and the runtimes' sandbox markers. */
export const LABEL = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  dockerType: 'io.kubernetes.docker.type',
  containerdKind: 'io.cri-containerd.kind',
  crioType: 'io.kubernetes.cri-o.ContainerType',
} as const;

class Closed extends Error {
  constructor() {
    super('the client was closed');
  }
}

export abstract class RuntimeClientBase {
  readonly runtime: RuntimeName;
  readonly socket: string;
  protected readonly timeoutMs: number;
  protected readonly maxResponseBytes: number;
  /** Aborts every call in flight when the client closes. */
  private readonly closing = new AbortController();

  constructor(runtime: RuntimeName, socket: string, opts: ClientOptions = {}) {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new RangeError(`timeoutMs must be a positive number of milliseconds, not ${timeoutMs}`);
    if (!Number.isInteger(maxBytes) || maxBytes <= 0)
      throw new RangeError(`maxResponseBytes must be a positive integer, not ${maxBytes}`);
    this.runtime = runtime;
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    this.maxResponseBytes = maxBytes;
  }

  protected get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** Marks the client closed and aborts the calls in flight; subclasses then drop their connections. */
  protected markClosed(): void {
    if (!this.closed) this.closing.abort(new Closed());
  }

  /**
   * Runs one public call under its own deadline: `fn` gets a signal that aborts at the deadline, when `outer`
   * aborts, or when the client closes. Anything `fn` throws that is not a RuntimeError yet is wrapped into
   * one naming `what`.
   */
  protected async call<T>(
    what: string,
    outer: AbortSignal | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const ctl = new AbortController();
    const onOuter = () => ctl.abort(outer?.reason);
    const onClose = () => ctl.abort(this.closing.signal.reason);
    if (this.closed) onClose();
    else if (outer?.aborted === true) onOuter();
    const timer = setTimeout(() => ctl.abort(new DeadlineExceeded(this.timeoutMs)), this.timeoutMs);
    outer?.addEventListener('abort', onOuter, { once: true });
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    try {
      if (ctl.signal.aborted) throw this.wrap(what, ctl.signal.reason, ctl.signal);
      return await fn(ctl.signal);
    } catch (e) {
      throw this.wrap(what, e, ctl.signal);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
      this.closing.signal.removeEventListener('abort', onClose);
    }
  }

  /** Runs one request of a call; any failure becomes a RuntimeError naming `request`. */
  protected async step<T>(request: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    if (signal.aborted) throw this.wrap(request, signal.reason, signal);
    try {
      return await fn();
    } catch (e) {
      throw this.wrap(request, e, signal);
    }
  }

  /** Rejects an id that is not 64 lowercase hex digits. */
  protected checkId(id: unknown): asserts id is string {
    if (typeof id !== 'string' || !CONTAINER_ID.test(id)) {
      const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id;
      throw this.error('BAD_ID', `inspect ${shown}`, 'not a container id (64 lowercase hex digits)');
    }
  }

  protected error(
    code: RuntimeErrorCode,
    request: string,
    cause: string,
    extra: { hint?: string; cause?: unknown } = {},
  ) {
    return new RuntimeError(code, `${this.runtime} (${this.socket}): ${request}: ${cause}`, {
      runtime: this.runtime,
      socket: this.socket,
      ...extra,
    });
  }

  /** The RuntimeError for `err`, which ended `request`; a signal that fired decides the code first. */
  protected wrap(request: string, err: unknown, signal: AbortSignal): RuntimeError {
    if (err instanceof RuntimeError) return err;
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      if (reason instanceof DeadlineExceeded) return this.error('TIMEOUT', request, reason.message);
      if (reason instanceof Closed) return this.error('CLOSED', request, reason.message);
      const why = reason instanceof Error ? `aborted: ${reason.message}` : 'aborted';
      return this.error('ABORTED', request, why, { cause: reason });
    }
    if (err instanceof ResponseError) return this.error(err.code, request, err.message);
    const e = err as NodeJS.ErrnoException;
    const message = e instanceof Error ? e.message : String(err);
    return this.error('TRANSPORT', request, message, { cause: err, ...hintFor(e?.code) });
  }
}

function hintFor(code: string | undefined): { hint?: string } {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return { hint: 'ktrail needs read and write permission on the socket: run it as root' };
    case 'ENOENT':
    case 'ECONNREFUSED':
      return { hint: 'nothing listens on the socket: is the runtime running?' };
    default:
      return {};
  }
}

// ---- untrusted values -------------------------------------------------------------------------------------

/** A string field of a response: '' when absent (null or undefined), else a string of MAX_STRING at most. */
export function str(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string')
    throw new ResponseError('PROTOCOL', `${field} is ${kind(value)}, not a string`);
  if (value.length > MAX_STRING)
    throw new ResponseError(
      'PROTOCOL',
      `${field} is ${value.length} characters long (at most ${MAX_STRING})`,
    );
  return value;
}

/** An optional array of strings ([] when absent). */
export function strings(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ResponseError('PROTOCOL', `${field} is ${kind(value)}, not an array`);
  return value.map((v, i) => str(v, `${field}[${i}]`));
}

/** An object field (undefined when absent). */
export function obj(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ResponseError('PROTOCOL', `${field} is ${kind(value)}, not an object`);
  return value as Record<string, unknown>;
}

/**
 * A string→string map ({} when absent): values must be strings; entries whose key or value is longer than
 * MAX_STRING are left out, and so is everything past MAX_LABELS entries. The result is frozen and has own
 * properties only (a key such as `__proto__` stays a plain key).
 */
export function labels(value: unknown, field: string): Readonly<Record<string, string>> {
  const o = obj(value, field);
  const kept: [string, string][] = [];
  if (o !== undefined) {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v !== 'string')
        throw new ResponseError(
          'PROTOCOL',
          `${field}[${JSON.stringify(k.slice(0, 80))}] is ${kind(v)}, not a string`,
        );
      if (kept.length >= MAX_LABELS) break;
      if (k.length <= MAX_STRING && v.length <= MAX_STRING) kept.push([k, v]);
    }
  }
  return Object.freeze(Object.fromEntries(kept));
}

/** The value of label `key`, or ''. */
export function label(map: Readonly<Record<string, string>>, key: string): string {
  return Object.hasOwn(map, key) ? (map[key] ?? '') : '';
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** A frozen ContainerMeta with the pod fields taken from `labels` (or from `pod` where given). */
export function makeMeta(
  runtime: RuntimeName,
  fields: {
    name: string;
    image: string;
    imageDigest: string;
    podSandbox: boolean;
    labels: Readonly<Record<string, string>>;
    pod?: { name: string; namespace: string; uid: string };
  },
): ContainerMeta {
  const l = fields.labels;
  return Object.freeze({
    runtime,
    name: fields.name,
    image: fields.image,
    imageDigest: fields.imageDigest,
    podName: label(l, LABEL.podName) || (fields.pod?.name ?? ''),
    podNamespace: label(l, LABEL.podNamespace) || (fields.pod?.namespace ?? ''),
    podUid: label(l, LABEL.podUid) || (fields.pod?.uid ?? ''),
    podSandbox: fields.podSandbox,
    labels: l,
  });
}
