import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { CrioClient } from './crio.js';
import type { RuntimeError } from './errors.js';
import { type Message, ProtoSchema } from './grpc.js';
import { CRI_PROTO } from './proto/cri.js';
import { type FakeGrpcServer, type GrpcHandler, startGrpcServer, tempDir, timed } from './testing.js';

const cri = new ProtoSchema(CRI_PROTO);
const definition = cri.serviceDefinition('runtime.v1.RuntimeService');

const WEB = '5e8c1f3a7b9d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f2a4c6e8b0d1f';
const INFRA = '6f9d2a4b8c0e3f5a7b9d1c2e4f6a8b0d3c5e7f9a1b2d4f6c8e0a3b5d7f9c1e2a';
const ODD = '7a0e3b5c9d1f4a6b8c0e2d3f5a7b9c1e4d6f8a0b2c3e5a7d9f1b4c6e8a0d2f3b';
const EXITED = '8b1f4c6d0e2a5b7c9d1f3e4a6b8c0d2f5e7a9b1c3d4f6b8e0a2c5d7f9b1e3a4c';
const IMAGE_REF =
  'quay.io/crio/nginx@sha256:32e76d4f34f80e479964a0fbd4c5b4f6967b5322c8d004e9cf0cb81c93510766';
const POD = {
  'io.kubernetes.pod.name': 'web-7d4b9c8f6-x2x9q',
  'io.kubernetes.pod.namespace': 'shop',
  'io.kubernetes.pod.uid': '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
};
/** Labels CRI-O reports for a Kubernetes container (kubelet's). */
const WEB_LABELS = { 'io.kubernetes.container.name': 'web', ...POD };

/** ContainerStatus answers of CRI-O's shape (verbose `info` included, which the client skips). */
const STATUS: Record<string, Message> = {
  [WEB]: {
    status: {
      id: WEB,
      metadata: { name: 'web', attempt: 0 },
      state: 'CONTAINER_RUNNING',
      image: { image: 'quay.io/crio/nginx:1.25' },
      image_ref: IMAGE_REF,
      labels: WEB_LABELS,
      annotations: {
        'io.kubernetes.container.hash': '4c3d9d2a',
        'io.kubernetes.cri-o.ContainerType': 'container',
        'io.kubernetes.cri-o.SandboxID': INFRA,
      },
    },
  },
  // Tracee's marker, should CRI-O ever answer ContainerStatus for a sandbox's container.
  [ODD]: {
    status: {
      id: ODD,
      metadata: { name: 'POD' },
      image: { image: 'registry.k8s.io/pause:3.9' },
      image_ref:
        'registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097',
      labels: POD,
      annotations: { 'io.kubernetes.cri-o.ContainerType': 'sandbox' },
    },
  },
};
/** PodSandboxStatus answers: CRI-O knows the infra container's id only as the sandbox's. */
const SANDBOXES: Record<string, Message> = {
  [INFRA]: {
    status: {
      id: INFRA,
      metadata: {
        name: 'web-7d4b9c8f6-x2x9q',
        uid: '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
        namespace: 'shop',
        attempt: 0,
      },
      state: 'SANDBOX_READY',
      labels: { app: 'web', ...POD },
      annotations: { 'io.kubernetes.cri-o.ContainerType': 'sandbox' },
    },
  },
};

const HANDLERS: Record<string, GrpcHandler> = {
  ContainerStatus: (req) =>
    STATUS[String(req['container_id'])] ?? {
      error: status.NOT_FOUND,
      details: `could not find container "${req['container_id']}": container with ID starting with ${req['container_id']} not found: ID does not exist`,
    },
  PodSandboxStatus: (req) =>
    SANDBOXES[String(req['pod_sandbox_id'])] ?? {
      error: status.NOT_FOUND,
      details: `could not find pod "${req['pod_sandbox_id']}": PodSandbox with ID starting with ${req['pod_sandbox_id']} not found`,
    },
  // CRI-O applies the state filter; this fake does too, and only when the filter carries a state.
  ListContainers: (req) => {
    const all = [
      { id: WEB, pod_sandbox_id: INFRA, state: 'CONTAINER_RUNNING' },
      { id: EXITED, pod_sandbox_id: INFRA, state: 'CONTAINER_EXITED' },
      { id: 'short', pod_sandbox_id: INFRA, state: 'CONTAINER_RUNNING' },
    ];
    const want = ((req['filter'] as Message | null)?.['state'] as Message | null)?.['state'];
    return { containers: want === undefined ? all : all.filter((c) => c.state === want) };
  },
  ListPodSandbox: (req) => {
    const all = [
      { id: INFRA, state: 'SANDBOX_READY' },
      { id: 'f'.repeat(64), state: 'SANDBOX_NOTREADY' },
    ];
    const want = ((req['filter'] as Message | null)?.['state'] as Message | null)?.['state'];
    return { items: want === undefined ? all : all.filter((s) => s.state === want) };
  },
};

describe('CrioClient against a gRPC server that answers like CRI-O', () => {
  const tmp = tempDir();
  const socket = join(tmp.dir, 'crio.sock');
  let server: FakeGrpcServer;
  let c: CrioClient;
  before(async () => {
    server = await startGrpcServer(socket, [{ definition, handlers: HANDLERS }]);
  });
  beforeEach(() => {
    c?.close();
    c = new CrioClient(socket);
    server.calls.length = 0;
  });
  after(async () => {
    c.close();
    await server.close();
    tmp.remove();
  });

  it('a container: name from metadata, image and image ref, pod labels; asked verbosely', async () => {
    assert.deepEqual(await c.inspect(WEB), {
      runtime: 'crio',
      name: 'web',
      image: 'quay.io/crio/nginx:1.25',
      imageDigest: IMAGE_REF,
      podName: 'web-7d4b9c8f6-x2x9q',
      podNamespace: 'shop',
      podUid: '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
      podSandbox: false,
      labels: WEB_LABELS,
    });
    assert.deepEqual(
      server.calls.map((k) => [k.method, k.request]),
      [['ContainerStatus', { container_id: WEB, verbose: true }]],
    );
  });

  it('the annotation io.kubernetes.cri-o.ContainerType=sandbox marks a sandbox', async () => {
    const m = await c.inspect(ODD);
    assert.equal(m?.podSandbox, true);
    assert.equal(m?.name, 'POD');
  });

  it('a sandbox id (the infra container): ContainerStatus says NOT_FOUND, PodSandboxStatus answers', async () => {
    assert.deepEqual(await c.inspect(INFRA), {
      runtime: 'crio',
      name: '',
      image: '',
      imageDigest: '',
      podName: 'web-7d4b9c8f6-x2x9q',
      podNamespace: 'shop',
      podUid: '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
      podSandbox: true,
      labels: { app: 'web', ...POD },
    });
    assert.deepEqual(
      server.calls.map((k) => k.method),
      ['ContainerStatus', 'PodSandboxStatus'],
    );
  });

  it('an id CRI-O does not know: undefined', async () => {
    assert.equal(await c.inspect('0'.repeat(64)), undefined);
  });

  it('list(): running containers and ready sandboxes, asked with the state filters', async () => {
    assert.deepEqual(await c.list(), [WEB, INFRA]);
    assert.deepEqual(
      server.calls.map((k) => [k.method, k.request]),
      [
        ['ListContainers', { filter: { id: '', state: { state: 'CONTAINER_RUNNING' } } }],
        ['ListPodSandbox', { filter: { id: '', state: { state: 'SANDBOX_READY' } } }],
      ],
    );
  });
});

describe('CrioClient against broken servers', () => {
  it('a ContainerStatus that never answers: TIMEOUT at the deadline', async () => {
    const tmp = tempDir();
    const socket = join(tmp.dir, 'crio.sock');
    const server = await startGrpcServer(socket, [
      { definition, handlers: { ContainerStatus: () => 'hang' } },
    ]);
    const c = new CrioClient(socket, { timeoutMs: 300 });
    try {
      const t = await timed(() => c.inspect(WEB));
      assert.ok(t.ms >= 290 && t.ms < 1500, `settled after ${t.ms} ms`);
      assert.equal(
        (t.error as RuntimeError).message,
        `crio (${socket}): runtime.v1.RuntimeService/ContainerStatus: timed out after 300 ms`,
      );
      assert.equal((t.error as RuntimeError).code, 'TIMEOUT');
    } finally {
      c.close();
      await server.close();
      tmp.remove();
    }
  });

  it('a status for another id, or a failure status: PROTOCOL', async () => {
    const tmp = tempDir();
    const socket = join(tmp.dir, 'crio.sock');
    const server = await startGrpcServer(socket, [
      {
        definition,
        handlers: {
          ContainerStatus: () => STATUS[WEB] ?? {},
          ListContainers: () => ({ error: status.INTERNAL, details: 'storage is\nbroken' }),
        },
      },
    ]);
    const c = new CrioClient(socket);
    try {
      await assert.rejects(c.inspect(ODD), {
        code: 'PROTOCOL',
        message: `crio (${socket}): runtime.v1.RuntimeService/ContainerStatus: status.id is "${WEB}"`,
      });
      await assert.rejects(c.list(), {
        code: 'PROTOCOL',
        message: `crio (${socket}): runtime.v1.RuntimeService/ListContainers: gRPC INTERNAL: storage is?broken`,
      });
    } finally {
      c.close();
      await server.close();
      tmp.remove();
    }
  });
});
