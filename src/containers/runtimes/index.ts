/**
 * Container runtime clients: given a container id, its name, image, pod and labels from the runtime that runs
 * it, asked over the runtime's unix socket (Docker Engine API for docker and podman, gRPC for containerd and
 * CRI-O). Usage:
 *
 *   const clients = openRuntimes();                          // the default sockets that exist
 *   for (const c of clients) { const meta = await c.inspect(id); if (meta) ...; }
 *   ...
 *   for (const c of clients) c.close();
 *
 * Nothing here executes a program or writes a file; responses are treated as untrusted (types checked,
 * strings and sizes capped). See types.ts for the client contract.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ContainerdClient } from './containerd.js';
import { CrioClient } from './crio.js';
import { DockerClient } from './docker.js';
import { RuntimeError } from './errors.js';
import { type ClientOptions, RUNTIME_NAMES, type RuntimeClient, type RuntimeName } from './types.js';

export { ContainerdClient } from './containerd.js';
export { CrioClient } from './crio.js';
export { DockerClient } from './docker.js';
export { RuntimeError, type RuntimeErrorCode } from './errors.js';
export {
  type ClientOptions,
  type ContainerMeta,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  MAX_LABELS,
  MAX_STRING,
  RUNTIME_NAMES,
  type RuntimeClient,
  type RuntimeName,
} from './types.js';

/** Each runtime's usual socket (Tracee's autodiscovery defaults). */
export const DEFAULT_SOCKETS: Readonly<Record<RuntimeName, string>> = Object.freeze({
  containerd: '/var/run/containerd/containerd.sock',
  docker: '/var/run/docker.sock',
  crio: '/var/run/crio/crio.sock',
  podman: '/var/run/podman/podman.sock',
});

export interface OpenOptions extends ClientOptions {
  /** The sockets autodiscovery looks at, in place of DEFAULT_SOCKETS (tests point them into a temp dir). */
  readonly defaults?: Readonly<Partial<Record<RuntimeName, string>>>;
}

/** A client for `runtime` at `socket` (checked on the first call, not here). */
export function createClient(runtime: RuntimeName, socket: string, opts: ClientOptions = {}): RuntimeClient {
  const path = resolve(socket);
  switch (runtime) {
    case 'docker':
    case 'podman':
      return new DockerClient(path, { ...opts, runtime });
    case 'containerd':
      return new ContainerdClient(path, opts);
    case 'crio':
      return new CrioClient(path, opts);
  }
}

/**
 * Clients for the given sockets, or, when none is given, for each default socket that exists and is a unix
 * socket (giving any socket turns this autodiscovery off, as in Tracee). Clients come in RUNTIME_NAMES order
 * and connect on their first call. Throws RuntimeError SOCKET_MISSING or NOT_A_SOCKET for a given socket that
 * does not exist or is something else, RangeError for an unknown runtime name; then no client is left open.
 */
export function openRuntimes(
  sockets?: Readonly<Partial<Record<RuntimeName, string>>>,
  options: OpenOptions = {},
): RuntimeClient[] {
  const { defaults = DEFAULT_SOCKETS, ...clientOpts } = options;
  const given = Object.entries(sockets ?? {}).filter(([, p]) => p !== undefined);
  for (const [name] of given)
    if (!(RUNTIME_NAMES as readonly string[]).includes(name))
      throw new RangeError(`unknown container runtime "${name}" (known: ${RUNTIME_NAMES.join(', ')})`);
  const chosen: [RuntimeName, string][] = [];
  if (given.length > 0) {
    for (const r of RUNTIME_NAMES) {
      const p = sockets?.[r];
      if (p === undefined) continue;
      checkSocket(r, resolve(p));
      chosen.push([r, p]);
    }
  } else {
    for (const r of RUNTIME_NAMES) {
      const p = defaults[r];
      if (p !== undefined && isSocket(p)) chosen.push([r, p]);
    }
  }
  return chosen.map(([r, p]) => createClient(r, p, clientOpts));
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

function checkSocket(runtime: RuntimeName, path: string): void {
  const at = `${runtime} (${path}): opening the runtime socket`;
  const extra = { runtime, socket: path };
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const hint =
        `start ${runtime}, or give the path of its socket ` +
        '(with no socket given, ktrail uses the default sockets that exist)';
      throw new RuntimeError('SOCKET_MISSING', `${at}: it does not exist; ${hint}`, { ...extra, hint });
    }
    const hint = 'ktrail needs to reach the socket: run it as root';
    throw new RuntimeError('TRANSPORT', `${at}: ${(e as Error).message}; ${hint}`, {
      ...extra,
      hint,
      cause: e,
    });
  }
  if (!st.isSocket()) {
    const hint = `give the path of ${runtime}'s unix socket`;
    throw new RuntimeError('NOT_A_SOCKET', `${at}: it is not a unix socket; ${hint}`, { ...extra, hint });
  }
}
