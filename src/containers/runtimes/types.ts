/**
 * What a container runtime tells about a container, and the client contract every runtime implements.
 * The runtime clients (docker.ts for Docker and Podman, containerd.ts, crio.ts) only read: they send
 * queries to a runtime's unix socket and never start, stop or execute anything.
 */

export type RuntimeName = 'docker' | 'podman' | 'containerd' | 'crio';

/** Every runtime name, in autodiscovery order (Tracee's). */
export const RUNTIME_NAMES: readonly RuntimeName[] = ['containerd', 'docker', 'crio', 'podman'];

/**
 * A container's metadata as its runtime reports it. Strings are '' when the runtime has no value. The object
 * and its labels are frozen.
 */
export interface ContainerMeta {
  /** Which client answered. */
  readonly runtime: RuntimeName;
  /**
   * docker/podman: the container's Name without its leading '/'; containerd: the io.kubernetes.container.name
   * label ('' outside Kubernetes); crio: status.metadata.name ('' for a pod sandbox).
   */
  readonly name: string;
  /**
   * docker/podman: the image's first RepoTags entry, else the container's Config.Image; containerd: the
   * container's image (the image store name); crio: status.image.image ('' for a pod sandbox).
   */
  readonly image: string;
  /**
   * docker/podman: the image's first RepoDigests entry, else the image id (`sha256:...`); containerd: the
   * image store's target digest ('' when the container has no image or the store lacks it); crio:
   * status.image_ref.
   */
  readonly imageDigest: string;
  /** The labels io.kubernetes.pod.name / .namespace / .uid ('' when absent). */
  readonly podName: string;
  readonly podNamespace: string;
  readonly podUid: string;
  /**
   * The container is a pod's sandbox (pause container): docker label io.kubernetes.docker.type=sandbox,
   * containerd label io.cri-containerd.kind=sandbox, crio annotation
   * io.kubernetes.cri-o.ContainerType=sandbox (or an id CRI-O knows only as a pod sandbox).
   */
  readonly podSandbox: boolean;
  /**
   * The container's labels. At most MAX_LABELS entries are kept; a label whose key or value is longer than
   * MAX_STRING characters is left out.
   */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A client of one runtime socket. Calls may overlap (any number in flight). Every call has its own deadline
 * (the client's timeoutMs, default 2 s) covering all the requests it makes, and also ends when `signal`
 * aborts; a call never outlives its deadline. Lifetime: until close(); later calls reject with code CLOSED.
 */
export interface RuntimeClient {
  readonly runtime: RuntimeName;
  /** The absolute path of the socket. */
  readonly socket: string;
  /**
   * The metadata of the container with this id (64 lowercase hex digits); undefined when this runtime does
   * not know the id. Rejects with RuntimeError on transport or protocol errors, on a malformed id (BAD_ID), past
   * the deadline (TIMEOUT) or when `signal` aborts (ABORTED).
   */
  inspect(id: string, signal?: AbortSignal): Promise<ContainerMeta | undefined>;
  /**
   * The ids (64 hex) of the containers the runtime runs now, pod sandboxes included, each once. Ids that are
   * not 64 hex digits (a containerd container named by hand) are left out. Rejects like inspect().
   */
  list(signal?: AbortSignal): Promise<string[]>;
  /** Drops the connections. Idempotent; calls in flight reject. */
  close(): void;
}

/** Per-client settings. */
export interface ClientOptions {
  /** The deadline of each call in ms (default 2000). */
  readonly timeoutMs?: number;
  /** The largest response accepted, in bytes (default 4 MiB); a larger one rejects with TOO_LARGE. */
  readonly maxResponseBytes?: number;
}

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** The longest string kept from a response (names, images, digests, label keys and values). */
export const MAX_STRING = 4096;
/** The most labels kept per container. */
export const MAX_LABELS = 1024;
