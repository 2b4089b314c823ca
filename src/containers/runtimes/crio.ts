/**
 * The CRI-O client: the Kubernetes CRI (runtime.v1.RuntimeService, gRPC) on CRI-O's socket.
 *   ContainerStatus (verbose)   name, image, image ref, labels, annotations; NOT_FOUND for an unknown id
 *   PodSandboxStatus            for an id CRI-O knows only as a pod sandbox: ContainerStatus does not answer
 *                               for its infra container, whose cgroup still bears the sandbox's id
 *   ListContainers / ListPodSandbox   for list(): running containers and ready sandboxes
 */
import { CONTAINER_ID, LABEL, labels, makeMeta, obj, RuntimeClientBase, str } from './client.js';
import { ResponseError } from './errors.js';
import { GrpcChannel, type Message, ProtoSchema, type UnaryMethod } from './grpc.js';
import { CRI_PROTO } from './proto/cri.js';
import type { ClientOptions, ContainerMeta, RuntimeClient } from './types.js';

const schema = new ProtoSchema(CRI_PROTO);
const SERVICE = 'runtime.v1.RuntimeService';

interface Methods {
  containerStatus: UnaryMethod;
  podSandboxStatus: UnaryMethod;
  listContainers: UnaryMethod;
  listPodSandbox: UnaryMethod;
}
let methods: Methods | undefined;
function rpc(): Methods {
  methods ??= {
    containerStatus: schema.method(SERVICE, 'ContainerStatus'),
    podSandboxStatus: schema.method(SERVICE, 'PodSandboxStatus'),
    listContainers: schema.method(SERVICE, 'ListContainers'),
    listPodSandbox: schema.method(SERVICE, 'ListPodSandbox'),
  };
  return methods;
}

export class CrioClient extends RuntimeClientBase implements RuntimeClient {
  private readonly channel: GrpcChannel;

  constructor(socket: string, opts: ClientOptions = {}) {
    super('crio', socket, opts);
    this.channel = new GrpcChannel(socket, this.maxResponseBytes);
  }

  inspect(id: string, signal?: AbortSignal): Promise<ContainerMeta | undefined> {
    return this.call(`inspect ${String(id).slice(0, 80)}`, signal, async (s) => {
      this.checkId(id);
      const cs = rpc().containerStatus;
      const res = await this.step(cs.name, s, () =>
        this.channel.unary(cs, { container_id: id, verbose: true }, {}, s),
      );
      if (res !== undefined) return this.step(cs.name, s, async () => containerMeta(id, res));
      const ps = rpc().podSandboxStatus;
      const sb = await this.step(ps.name, s, () => this.channel.unary(ps, { pod_sandbox_id: id }, {}, s));
      if (sb === undefined) return undefined;
      return this.step(ps.name, s, async () => sandboxMeta(id, sb));
    });
  }

  list(signal?: AbortSignal): Promise<string[]> {
    return this.call('list', signal, async (s) => {
      const ids = new Set<string>();
      const lc = rpc().listContainers;
      const containers = await this.step(lc.name, s, () =>
        this.channel.unary(lc, { filter: { state: { state: 'CONTAINER_RUNNING' } } }, {}, s),
      );
      await this.step(lc.name, s, async () => collect(containers?.['containers'], 'containers', ids));
      const lp = rpc().listPodSandbox;
      const sandboxes = await this.step(lp.name, s, () =>
        this.channel.unary(lp, { filter: { state: { state: 'SANDBOX_READY' } } }, {}, s),
      );
      await this.step(lp.name, s, async () => collect(sandboxes?.['items'], 'items', ids));
      return [...ids];
    });
  }

  close(): void {
    this.markClosed();
    this.channel.close();
  }
}

function collect(list: unknown, field: string, into: Set<string>): void {
  if (!Array.isArray(list)) throw new ResponseError('PROTOCOL', `${field} is not a list`);
  for (const item of list as Message[]) {
    const id = str(item['id'], `${field}[].id`);
    if (CONTAINER_ID.test(id)) into.add(id);
  }
}

function status(res: Message, id: string): Message {
  const st = obj(res['status'], 'status');
  if (st === undefined) throw new ResponseError('PROTOCOL', 'the response has no status');
  const got = str(st['id'], 'status.id');
  if (got !== id) throw new ResponseError('PROTOCOL', `status.id is ${JSON.stringify(got.slice(0, 80))}`);
  return st;
}

function containerMeta(id: string, res: Message): ContainerMeta {
  const st = status(res, id);
  const annotations = obj(st['annotations'], 'status.annotations') ?? {};
  const type = Object.hasOwn(annotations, LABEL.crioType)
    ? str(annotations[LABEL.crioType], `status.annotations[${LABEL.crioType}]`)
    : '';
  return makeMeta('crio', {
    name: str(obj(st['metadata'], 'status.metadata')?.['name'], 'status.metadata.name'),
    image: str(obj(st['image'], 'status.image')?.['image'], 'status.image.image'),
    imageDigest: str(st['image_ref'], 'status.image_ref'),
    podSandbox: type === 'sandbox',
    labels: labels(st['labels'], 'status.labels'),
  });
}

function sandboxMeta(id: string, res: Message): ContainerMeta {
  const st = status(res, id);
  const md = obj(st['metadata'], 'status.metadata');
  return makeMeta('crio', {
    name: '',
    image: '',
    imageDigest: '',
    podSandbox: true,
    labels: labels(st['labels'], 'status.labels'),
    pod: {
      name: str(md?.['name'], 'status.metadata.name'),
      namespace: str(md?.['namespace'], 'status.metadata.namespace'),
      uid: str(md?.['uid'], 'status.metadata.uid'),
    },
  });
}
