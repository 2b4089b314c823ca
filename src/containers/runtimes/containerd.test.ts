import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ContainerdClient } from './containerd.js';
import type { RuntimeError } from './errors.js';
import { ProtoSchema } from './grpc.js';
import { CONTAINERD_PROTO } from './proto/containerd.js';
import { CRI_PROTO } from './proto/cri.js';
import {
  type FakeGrpcServer,
  type GrpcHandler,
  startGrpcServer,
  startRawServer,
  tempDir,
  timed,
} from './testing.js';

const schema = new ProtoSchema(CONTAINERD_PROTO);
const svc = (name: string) => schema.serviceDefinition(`containerd.services.${name}`);

const WEB = 'a7c3e1f09b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e';
const PAUSE = 'b8d4f2a10c3e5d7f9a1b2c4d6e8f0a2b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f';
const DOCKERS = 'c9e5a3b21d4f6e8a0b2c3d5e7f9a1b3c4d6e8f0a2b3c5d7e9f1a2b4c6d8e0f1a';
const NOIMG = 'd0f6b4c32e5a7f9b1c3d4e6f8a0b2c4d5e7f9a1b3c4d6e8f0a2b3c5d7e9f1a2b';
const NGINX_DIGEST = 'sha256:32e76d4f34f80e479964a0fbd4c5b4f6967b5322c8d004e9cf0cb81c93510766';
const PAUSE_DIGEST = 'sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097';

/** Labels containerd's CRI plugin puts on a Kubernetes container (and one from the image). */
const WEB_LABELS = {
  'io.cri-containerd.kind': 'container',
  'io.kubernetes.container.name': 'web',
  'io.kubernetes.pod.name': 'web-7d4b9c8f6-x2x9q',
  'io.kubernetes.pod.namespace': 'shop',
  'io.kubernetes.pod.uid': '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
  maintainer: 'NGINX Docker Maintainers <docker-maint@nginx.com>',
};
const PAUSE_LABELS = {
  app: 'web',
  'io.cri-containerd.kind': 'sandbox',
  'io.kubernetes.pod.name': 'web-7d4b9c8f6-x2x9q',
  'io.kubernetes.pod.namespace': 'shop',
  'io.kubernetes.pod.uid': '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
  'pod-template-hash': '7d4b9c8f6',
};

interface FakeContainer {
  labels: Record<string, string>;
  image: string;
}

/** A containerd with three namespaces, answering like containerd does (header required, NOT_FOUND). */
function fakeContainerd() {
  const containers: Record<string, Record<string, FakeContainer>> = {
    default: {},
    moby: { [DOCKERS]: { labels: {}, image: '' } },
    'k8s.io': {
      [WEB]: { labels: WEB_LABELS, image: 'docker.io/library/nginx:1.25.3' },
      [PAUSE]: { labels: PAUSE_LABELS, image: 'registry.k8s.io/pause:3.9' },
      [NOIMG]: { labels: {}, image: 'docker.io/library/removed:1' },
    },
  };
  const images: Record<string, Record<string, string>> = {
    'k8s.io': { 'docker.io/library/nginx:1.25.3': NGINX_DIGEST, 'registry.k8s.io/pause:3.9': PAUSE_DIGEST },
  };
  const tasks: Record<string, { id: string; status: string }[]> = {
    moby: [{ id: DOCKERS, status: 'RUNNING' }],
    'k8s.io': [
      { id: WEB, status: 'RUNNING' },
      { id: PAUSE, status: 'PAUSED' },
      { id: NOIMG, status: 'STOPPED' },
      { id: 'e'.repeat(64), status: 'CREATED' },
      { id: 'nginx-by-hand', status: 'RUNNING' },
    ],
  };
  const ns = (headers: Record<string, string>) => {
    const n = headers['containerd-namespace'];
    if (n === undefined)
      return { error: status.FAILED_PRECONDITION, details: 'namespace is required: failed precondition' };
    if (!(n in containers)) return { error: status.NOT_FOUND, details: `namespace ${n}: not found` };
    return n;
  };
  const handlers: Record<string, Record<string, GrpcHandler>> = {
    'namespaces.v1.Namespaces': {
      List: () => ({ namespaces: Object.keys(containers).map((name) => ({ name, labels: {} })) }),
    },
    'containers.v1.Containers': {
      Get: (req, headers) => {
        const n = ns(headers);
        if (typeof n !== 'string') return n;
        const c = containers[n]?.[String(req['id'])];
        if (c === undefined)
          return {
            error: status.NOT_FOUND,
            details: `container "${req['id']}" in namespace "${n}": not found`,
          };
        return { container: { id: req['id'], labels: c.labels, image: c.image } };
      },
    },
    'images.v1.Images': {
      Get: (req, headers) => {
        const n = ns(headers);
        if (typeof n !== 'string') return n;
        const d = images[n]?.[String(req['name'])];
        if (d === undefined) return { error: status.NOT_FOUND, details: `image "${req['name']}": not found` };
        return {
          image: {
            name: req['name'],
            target: { media_type: 'application/vnd.oci.image.index.v1+json', digest: d, size: '2295' },
          },
        };
      },
    },
    'tasks.v1.Tasks': {
      List: (_req, headers) => {
        const n = ns(headers);
        if (typeof n !== 'string') return n;
        return { tasks: (tasks[n] ?? []).map((t, i) => ({ id: t.id, pid: 1000 + i, status: t.status })) };
      },
    },
  };
  return { containers, images, handlers };
}

function services(handlers: Record<string, Record<string, GrpcHandler>>) {
  return Object.entries(handlers).map(([name, h]) => ({ definition: svc(name), handlers: h }));
}

describe('ContainerdClient against a gRPC server that answers like containerd', () => {
  const tmp = tempDir();
  const socket = join(tmp.dir, 'containerd.sock');
  const fake = fakeContainerd();
  let server: FakeGrpcServer;
  let c: ContainerdClient;
  before(async () => {
    server = await startGrpcServer(socket, services(fake.handlers));
  });
  beforeEach(() => {
    c?.close();
    c = new ContainerdClient(socket);
    server.calls.length = 0;
  });
  after(async () => {
    c.close();
    await server.close();
    tmp.remove();
  });

  it('a Kubernetes container: found in k8s.io, name from its label, digest from the image store', async () => {
    assert.deepEqual(await c.inspect(WEB), {
      runtime: 'containerd',
      name: 'web',
      image: 'docker.io/library/nginx:1.25.3',
      imageDigest: NGINX_DIGEST,
      podName: 'web-7d4b9c8f6-x2x9q',
      podNamespace: 'shop',
      podUid: '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
      podSandbox: false,
      labels: WEB_LABELS,
    });
    assert.deepEqual(
      server.calls.map(
        (k) => `${k.method} ${k.headers['containerd-namespace'] ?? '-'} ${JSON.stringify(k.request)}`,
      ),
      [
        'List - {"filter":""}',
        `Get default {"id":"${WEB}"}`,
        `Get moby {"id":"${WEB}"}`,
        `Get k8s.io {"id":"${WEB}"}`,
        'Get k8s.io {"name":"docker.io/library/nginx:1.25.3"}',
      ],
    );
  });

  it('remembers the namespace: the next inspect of the id asks k8s.io directly', async () => {
    await c.inspect(WEB);
    server.calls.length = 0;
    assert.equal((await c.inspect(WEB))?.name, 'web');
    assert.deepEqual(
      server.calls.map((k) => `${k.method} ${k.headers['containerd-namespace'] ?? '-'}`),
      ['Get k8s.io', 'Get k8s.io'],
    );
  });

  it('a remembered namespace that no longer holds the id: searched again', async () => {
    await c.inspect(DOCKERS);
    const moved = fake.containers['moby']?.[DOCKERS];
    assert.ok(moved);
    delete fake.containers['moby']?.[DOCKERS];
    fake.containers['default'] = { [DOCKERS]: moved };
    try {
      server.calls.length = 0;
      assert.equal((await c.inspect(DOCKERS))?.runtime, 'containerd');
      assert.deepEqual(
        server.calls.map((k) => `${k.method} ${k.headers['containerd-namespace'] ?? '-'}`),
        ['Get moby', 'List -', 'Get default'],
      );
    } finally {
      fake.containers['default'] = {};
      if (fake.containers['moby']) fake.containers['moby'][DOCKERS] = moved;
    }
  });

  it('the sandbox: io.cri-containerd.kind=sandbox, no container name', async () => {
    assert.deepEqual(await c.inspect(PAUSE), {
      runtime: 'containerd',
      name: '',
      image: 'registry.k8s.io/pause:3.9',
      imageDigest: PAUSE_DIGEST,
      podName: 'web-7d4b9c8f6-x2x9q',
      podNamespace: 'shop',
      podUid: '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
      podSandbox: true,
      labels: PAUSE_LABELS,
    });
  });

  it("dockerd's container in moby: no labels, no image, so no image request", async () => {
    assert.deepEqual(await c.inspect(DOCKERS), {
      runtime: 'containerd',
      name: '',
      image: '',
      imageDigest: '',
      podName: '',
      podNamespace: '',
      podUid: '',
      podSandbox: false,
      labels: {},
    });
    assert.equal(server.calls.filter((k) => 'name' in k.request).length, 0);
  });

  it('an image the store no longer has: digest ""', async () => {
    const m = await c.inspect(NOIMG);
    assert.equal(m?.image, 'docker.io/library/removed:1');
    assert.equal(m?.imageDigest, '');
  });

  it('an id no namespace holds: undefined after asking each namespace once', async () => {
    assert.equal(await c.inspect('f'.repeat(64)), undefined);
    assert.deepEqual(
      server.calls.map((k) => `${k.method} ${k.headers['containerd-namespace'] ?? '-'}`),
      ['List -', 'Get default', 'Get moby', 'Get k8s.io'],
    );
  });

  it('list(): running and paused tasks of every namespace, 64-hex ids only', async () => {
    assert.deepEqual((await c.list()).sort(), [WEB, PAUSE, DOCKERS].sort());
    assert.deepEqual(
      server.calls.map((k) => `${k.method} ${k.headers['containerd-namespace'] ?? '-'}`),
      ['List -', 'List default', 'List moby', 'List k8s.io'],
    );
    // list() taught the client where WEB lives.
    server.calls.length = 0;
    await c.inspect(WEB);
    assert.equal(server.calls[0]?.headers['containerd-namespace'], 'k8s.io');
  });

  it('a malformed id: BAD_ID, nothing sent', async () => {
    await assert.rejects(c.inspect(WEB.toUpperCase()), { code: 'BAD_ID' });
    await assert.rejects(c.inspect(`${WEB}/../x`), { code: 'BAD_ID' });
    assert.equal(server.calls.length, 0);
  });
});

async function withContainerd(
  handlers: Record<string, Record<string, GrpcHandler>>,
  run: (c: ContainerdClient, socket: string) => Promise<void>,
  opts: { timeoutMs?: number; maxResponseBytes?: number } = {},
): Promise<void> {
  const tmp = tempDir();
  const socket = join(tmp.dir, 'containerd.sock');
  const server = await startGrpcServer(socket, services(handlers));
  const c = new ContainerdClient(socket, { timeoutMs: 300, ...opts });
  try {
    await run(c, socket);
  } finally {
    c.close();
    await server.close();
    tmp.remove();
  }
}

const ONE_NS = { 'namespaces.v1.Namespaces': { List: () => ({ namespaces: [{ name: 'k8s.io' }] }) } };

describe('ContainerdClient against broken or hostile servers', () => {
  it('a Get that never answers: TIMEOUT at the deadline, naming method and namespace', async () => {
    await withContainerd(
      { ...ONE_NS, 'containers.v1.Containers': { Get: () => 'hang' } },
      async (c, socket) => {
        const t = await timed(() => c.inspect(WEB));
        assert.ok(t.ms >= 290 && t.ms < 1500, `settled after ${t.ms} ms`);
        const e = t.error as RuntimeError;
        assert.equal(e.code, 'TIMEOUT');
        assert.equal(
          e.message,
          `containerd (${socket}): containerd.services.containers.v1.Containers/Get in namespace k8s.io: timed out after 300 ms`,
        );
      },
    );
  });

  it("the caller's signal: ABORTED", async () => {
    await withContainerd(
      { ...ONE_NS, 'containers.v1.Containers': { Get: () => 'hang' } },
      async (c) => {
        const ctl = new AbortController();
        setTimeout(() => ctl.abort(), 30);
        const t = await timed(() => c.inspect(WEB, ctl.signal));
        assert.ok(t.ms < 2500, `settled after ${t.ms} ms`);
        assert.equal((t.error as RuntimeError).code, 'ABORTED');
      },
      { timeoutMs: 5000 },
    );
  });

  it('a response over the cap: TOO_LARGE', async () => {
    const big = { a: 'x'.repeat(4000) };
    const labels: Record<string, string> = {};
    for (let i = 0; i < 1200; i++) labels[`k${i}`] = big.a;
    await withContainerd(
      { ...ONE_NS, 'containers.v1.Containers': { Get: (req) => ({ container: { id: req['id'], labels } }) } },
      async (c) => {
        const t = await timed(() => c.inspect(WEB));
        assert.equal((t.error as RuntimeError).code, 'TOO_LARGE', String(t.error));
        assert.match(
          (t.error as Error).message,
          /Containers\/Get in namespace k8s\.io: .*Received message larger than max \(\d+ vs 4194304\)$/,
        );
      },
    );
  });

  it('a container with a foreign id or an over-long image name: PROTOCOL', async () => {
    for (const [container, why] of [
      [{ id: PAUSE, image: 'x' }, `container.id is "${PAUSE}"`],
      [{ id: WEB, image: 'x'.repeat(4097) }, 'container.image is 4097 characters long (at most 4096)'],
      [undefined, 'the response has no container'],
    ] as const) {
      await withContainerd(
        { ...ONE_NS, 'containers.v1.Containers': { Get: () => ({ container }) } },
        async (c, socket) => {
          await assert.rejects(c.inspect(WEB), {
            code: 'PROTOCOL',
            message: `containerd (${socket}): containerd.services.containers.v1.Containers/Get in namespace k8s.io: ${why}`,
          });
        },
      );
    }
  });

  it('namespace names containerd would refuse are not searched (nor sent as a header)', async () => {
    const asked: string[] = [];
    await withContainerd(
      {
        'namespaces.v1.Namespaces': {
          List: () => ({
            namespaces: [
              { name: 'bad\nname' },
              { name: '../x' },
              { name: 'n'.repeat(77) },
              { name: 'ok.ns-1' },
            ],
          }),
        },
        'containers.v1.Containers': {
          Get: (_req, h) => {
            asked.push(h['containerd-namespace'] ?? '');
            return { error: status.NOT_FOUND, details: 'not found' };
          },
        },
      },
      async (c) => {
        assert.equal(await c.inspect(WEB), undefined);
        assert.deepEqual(asked, ['ok.ns-1']);
      },
    );
  });

  it('another runtime on the socket (CRI only): PROTOCOL naming UNIMPLEMENTED', async () => {
    const tmp = tempDir();
    const socket = join(tmp.dir, 'crio.sock');
    const cri = new ProtoSchema(CRI_PROTO);
    const server = await startGrpcServer(socket, [
      { definition: cri.serviceDefinition('runtime.v1.RuntimeService'), handlers: {} },
    ]);
    const c = new ContainerdClient(socket);
    try {
      await assert.rejects(c.inspect(WEB), (e: RuntimeError) => {
        assert.equal(e.code, 'PROTOCOL');
        assert.match(
          e.message,
          new RegExp(
            `^containerd \\(${socket}\\): containerd.services.namespaces.v1.Namespaces/List: gRPC UNIMPLEMENTED: .*\\(is this socket the runtime's\\?\\)$`,
          ),
        );
        return true;
      });
    } finally {
      c.close();
      await server.close();
      tmp.remove();
    }
  });

  it('a socket that does not speak HTTP/2: TRANSPORT within the deadline', async () => {
    const tmp = tempDir();
    const socket = join(tmp.dir, 'garbage.sock');
    const server = await startRawServer(socket, (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const c = new ContainerdClient(socket, { timeoutMs: 5000 });
    try {
      const t = await timed(() => c.list());
      assert.ok(t.ms < 2500, `settled after ${t.ms} ms`);
      assert.equal((t.error as RuntimeError).code, 'TRANSPORT', String(t.error));
      assert.match(
        (t.error as Error).message,
        new RegExp(
          `^containerd \\(${socket}\\): containerd.services.namespaces.v1.Namespaces/List: gRPC UNAVAILABLE: No connection established. Last error: Protocol error \\(.*\\)\\.?$`,
        ),
      );
    } finally {
      c.close();
      await new Promise((r) => server.close(r));
      tmp.remove();
    }
  });

  it('no socket: TRANSPORT at once, with a hint', async () => {
    const tmp = tempDir();
    const socket = join(tmp.dir, 'none.sock');
    const c = new ContainerdClient(socket);
    try {
      const t = await timed(() => c.inspect(WEB));
      const e = t.error as RuntimeError;
      assert.equal(e.code, 'TRANSPORT', String(e));
      assert.match(
        e.message,
        new RegExp(
          `^containerd \\(${socket}\\): containerd.services.namespaces.v1.Namespaces/List: gRPC UNAVAILABLE: .*ENOENT`,
        ),
      );
      assert.equal(e.hint, 'nothing listens on the socket: is the runtime running?');
      assert.ok(t.ms < 1500, `settled after ${t.ms} ms`);
    } finally {
      c.close();
      tmp.remove();
    }
  });

  it('close(): calls in flight and later calls reject with CLOSED', async () => {
    await withContainerd(
      { ...ONE_NS, 'containers.v1.Containers': { Get: () => 'hang' } },
      async (c) => {
        const p = c.inspect(WEB);
        setTimeout(() => c.close(), 30);
        assert.equal(((await timed(() => p)).error as RuntimeError).code, 'CLOSED');
        await assert.rejects(c.list(), { code: 'CLOSED' });
      },
      { timeoutMs: 5000 },
    );
  });
});
