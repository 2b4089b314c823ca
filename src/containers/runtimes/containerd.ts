/**
 * The containerd client (gRPC on containerd's socket). Containers live in namespaces (`moby` for dockerd's,
 * `k8s.io` for Kubernetes', `default` for ctr's), so an id is looked up in every namespace, the one that held
 * it last time first:
 *   namespaces.v1.Namespaces/List   the namespace names
 *   containers.v1.Containers/Get    the container: labels and image name (NOT_FOUND: not in this namespace)
 *   images.v1.Images/Get            the image's target digest (NOT_FOUND: digest '')
 *   tasks.v1.Tasks/List             for list(): the tasks and their status
 */
import { CONTAINER_ID, LABEL, label, labels, makeMeta, obj, RuntimeClientBase, str } from './client.js';
import { ResponseError } from './errors.js';
import { GrpcChannel, type Message, ProtoSchema, type UnaryMethod } from './grpc.js';
import { CONTAINERD_PROTO, NAMESPACE_HEADER } from './proto/containerd.js';
import type { ClientOptions, ContainerMeta, RuntimeClient } from './types.js';

const schema = new ProtoSchema(CONTAINERD_PROTO);
/** containerd's rule for namespace names (pkg/identifiers): what may go into the request header. */
const NAMESPACE_NAME = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const MAX_NAMESPACE = 76;
/** Namespaces searched at most per call, and container ids whose namespace is remembered. */
const MAX_NAMESPACES = 256;
const MAX_REMEMBERED = 4096;
/** Task states whose container has processes: it runs, or is (being) paused. */
const LIVE = new Set(['RUNNING', 'PAUSED', 'PAUSING']);

interface Methods {
  listNamespaces: UnaryMethod;
  getContainer: UnaryMethod;
  getImage: UnaryMethod;
  listTasks: UnaryMethod;
}
let methods: Methods | undefined;
function rpc(): Methods {
  methods ??= {
    listNamespaces: schema.method('containerd.services.namespaces.v1.Namespaces', 'List'),
    getContainer: schema.method('containerd.services.containers.v1.Containers', 'Get'),
    getImage: schema.method('containerd.services.images.v1.Images', 'Get'),
    listTasks: schema.method('containerd.services.tasks.v1.Tasks', 'List'),
  };
  return methods;
}

export class ContainerdClient extends RuntimeClientBase implements RuntimeClient {
  private readonly channel: GrpcChannel;
  /** Container id → the namespace it was found in (oldest forgotten first). */
  private readonly namespaceOf = new Map<string, string>();

  constructor(socket: string, opts: ClientOptions = {}) {
    super('containerd', socket, opts);
    this.channel = new GrpcChannel(socket, this.maxResponseBytes);
  }

  inspect(id: string, signal?: AbortSignal): Promise<ContainerMeta | undefined> {
    return this.call(`inspect ${String(id).slice(0, 80)}`, signal, async (s) => {
      this.checkId(id);
      const known = this.namespaceOf.get(id);
      if (known !== undefined) {
        const c = await this.getContainer(known, id, s);
        if (c !== undefined) return this.meta(known, c, s);
        this.namespaceOf.delete(id);
      }
      for (const ns of await this.namespaces(s)) {
        if (ns === known) continue;
        const c = await this.getContainer(ns, id, s);
        if (c !== undefined) {
          this.remember(id, ns);
          return this.meta(ns, c, s);
        }
      }
      return undefined;
    });
  }

  list(signal?: AbortSignal): Promise<string[]> {
    return this.call('list', signal, async (s) => {
      const ids = new Set<string>();
      for (const ns of await this.namespaces(s)) {
        const m = rpc().listTasks;
        const request = `${m.name} in namespace ${ns}`;
        const res = await this.step(request, s, () =>
          this.channel.unary(m, {}, { [NAMESPACE_HEADER]: ns }, s),
        );
        await this.step(request, s, async () => {
          const tasks = res?.['tasks'];
          if (!Array.isArray(tasks)) throw new ResponseError('PROTOCOL', 'tasks is not a list');
          for (const t of tasks as Message[]) {
            const id = str(t['id'], 'tasks[].id');
            if (LIVE.has(String(t['status'])) && CONTAINER_ID.test(id)) {
              ids.add(id);
              this.remember(id, ns);
            }
          }
        });
      }
      return [...ids];
    });
  }

  close(): void {
    this.markClosed();
    this.channel.close();
  }

  /** The namespace names, in the server's order; names containerd itself would refuse are skipped. */
  private async namespaces(signal: AbortSignal): Promise<string[]> {
    const m = rpc().listNamespaces;
    const res = await this.step(m.name, signal, () => this.channel.unary(m, {}, {}, signal));
    return this.step(m.name, signal, async () => {
      const list = res?.['namespaces'];
      if (!Array.isArray(list)) throw new ResponseError('PROTOCOL', 'namespaces is not a list');
      return (list as Message[])
        .map((n) => str(n['name'], 'namespaces[].name'))
        .filter((n) => n.length <= MAX_NAMESPACE && NAMESPACE_NAME.test(n))
        .slice(0, MAX_NAMESPACES);
    });
  }

  /** The container `id` in namespace `ns`, or undefined. */
  private async getContainer(ns: string, id: string, signal: AbortSignal): Promise<Message | undefined> {
    const m = rpc().getContainer;
    const request = `${m.name} in namespace ${ns}`;
    const res = await this.step(request, signal, () =>
      this.channel.unary(m, { id }, { [NAMESPACE_HEADER]: ns }, signal),
    );
    if (res === undefined) return undefined;
    return this.step(request, signal, async () => {
      const c = obj(res['container'], 'container');
      if (c === undefined) throw new ResponseError('PROTOCOL', 'the response has no container');
      const got = str(c['id'], 'container.id');
      if (got !== id)
        throw new ResponseError('PROTOCOL', `container.id is ${JSON.stringify(got.slice(0, 80))}`);
      return c;
    });
  }

  private async meta(ns: string, c: Message, signal: AbortSignal): Promise<ContainerMeta> {
    const m = rpc().getImage;
    const request = `${m.name} in namespace ${ns}`;
    const fields = await this.step(`${rpc().getContainer.name} in namespace ${ns}`, signal, async () => ({
      image: str(c['image'], 'container.image'),
      labels: labels(c['labels'], 'container.labels'),
    }));
    let imageDigest = '';
    if (fields.image !== '') {
      const res = await this.step(request, signal, () =>
        this.channel.unary(m, { name: fields.image }, { [NAMESPACE_HEADER]: ns }, signal),
      );
      imageDigest = await this.step(request, signal, async () => {
        const target = obj(obj(res?.['image'], 'image')?.['target'], 'image.target');
        return str(target?.['digest'], 'image.target.digest');
      });
    }
    return makeMeta('containerd', {
      name: label(fields.labels, LABEL.containerName),
      image: fields.image,
      imageDigest,
      podSandbox: label(fields.labels, LABEL.containerdKind) === 'sandbox',
      labels: fields.labels,
    });
  }

  private remember(id: string, ns: string): void {
    this.namespaceOf.delete(id);
    this.namespaceOf.set(id, ns);
    if (this.namespaceOf.size > MAX_REMEMBERED) {
      const oldest = this.namespaceOf.keys().next().value;
      if (oldest !== undefined) this.namespaceOf.delete(oldest);
    }
  }
}
