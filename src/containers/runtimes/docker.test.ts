import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerClient } from './docker.js';
import { RuntimeError } from './errors.js';
import { type FakeHttpServer, startHttpServer, startRawServer, tempDir, timed } from './testing.js';
import { MAX_LABELS } from './types.js';

const ID = 'f3a1c0de9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060a1b';
const SANDBOX = '0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeeff0';
const IMPORTED = '1111111111111111111111111111111111111111111111111111111111111111';
const NO_IMAGE = '2222222222222222222222222222222222222222222222222222222222222222';
const IMAGE_ID = 'sha256:5d0da3dc976460b72c77d94c8a1ad043720b0416bfc16c52c45d4847e53fadb6';
const PAUSE_ID = 'sha256:e6f1816883972d4be47bd48879a08919b96afcd344132622e4d444987919323c';
const BUSYBOX_ID = 'sha256:9c2d6f2b0b9e1c7d2b6a9e0b8e4a7f1c3d5e7a9b1c3d5e7f9a1b3c5d7e9f1a3b';

/** The shape of `GET /containers/{id}/json` from dockerd 20.10 (API 1.41), trimmed to a few fields. */
function inspectBody(id: string, name: string, image: string, configImage: string, labels: object | null) {
  return {
    Id: id,
    Created: '2024-05-02T09:14:03.171717171Z',
    Path: '/docker-entrypoint.sh',
    Args: ['nginx', '-g', 'daemon off;'],
    State: { Status: 'running', Running: true, Paused: false, Pid: 4242, ExitCode: 0, Error: '' },
    Image: image,
    Name: name,
    RestartCount: 0,
    Driver: 'overlay2',
    HostConfig: { NetworkMode: 'none', CgroupParent: '' },
    Config: {
      Hostname: id.slice(0, 12),
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['nginx', '-g', 'daemon off;'],
      Image: configImage,
      Labels: labels,
    },
  };
}

const K8S_LABELS = {
  'annotation.io.kubernetes.container.hash': '4c3d9d2a',
  'io.kubernetes.container.name': 'web',
  'io.kubernetes.docker.type': 'container',
  'io.kubernetes.pod.name': 'web-7d4b9c8f6-x2x9q',
  'io.kubernetes.pod.namespace': 'shop',
  'io.kubernetes.pod.uid': '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
  'io.kubernetes.sandbox.id': SANDBOX,
};

const CONTAINERS: Record<string, object> = {
  [ID]: inspectBody(
    ID,
    '/k8s_web_web-7d4b9c8f6-x2x9q_shop_8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e_0',
    IMAGE_ID,
    'nginx@sha256:32e76d4f34f80e479964a0fbd4c5b4f6967b5322c8d004e9cf0cb81c93510766',
    K8S_LABELS,
  ),
  [SANDBOX]: inspectBody(
    SANDBOX,
    '/k8s_POD_web-7d4b9c8f6-x2x9q_shop_8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e_0',
    PAUSE_ID,
    'registry.k8s.io/pause:3.9',
    {
      'io.kubernetes.container.name': 'POD',
      'io.kubernetes.docker.type': 'sandbox',
      'io.kubernetes.pod.name': 'web-7d4b9c8f6-x2x9q',
      'io.kubernetes.pod.namespace': 'shop',
      'io.kubernetes.pod.uid': '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
    },
  ),
  [IMPORTED]: inspectBody(IMPORTED, '/quiet_turing', BUSYBOX_ID, 'ktrail-e2e-busybox:latest', null),
  [NO_IMAGE]: inspectBody(NO_IMAGE, '/orphan', 'sha256:' + 'e'.repeat(64), 'gone:1', { a: 'b' }),
};

/** `GET /images/{id}/json` (trimmed). */
const IMAGES: Record<string, object> = {
  [IMAGE_ID]: {
    Id: IMAGE_ID,
    RepoTags: ['nginx:1.25.3', 'nginx:latest'],
    RepoDigests: ['nginx@sha256:32e76d4f34f80e479964a0fbd4c5b4f6967b5322c8d004e9cf0cb81c93510766'],
    Size: 187000000,
  },
  [PAUSE_ID]: {
    Id: PAUSE_ID,
    RepoTags: ['registry.k8s.io/pause:3.9'],
    RepoDigests: [
      'registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097',
    ],
  },
  // docker import: a tag but no RepoDigests.
  [BUSYBOX_ID]: { Id: BUSYBOX_ID, RepoTags: ['ktrail-e2e-busybox:latest'], RepoDigests: [] },
};

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers the Docker API paths like dockerd does (404 with a message for unknown ids and images). */
function dockerd(path: string, res: ServerResponse): void {
  let m = /^\/containers\/([^/]+)\/json$/.exec(path);
  if (m?.[1] !== undefined) {
    const c = CONTAINERS[m[1]];
    if (c === undefined) json(res, 404, { message: `No such container: ${m[1]}` });
    else json(res, 200, c);
    return;
  }
  m = /^\/images\/([^/]+)\/json$/.exec(path);
  if (m?.[1] !== undefined) {
    const i = IMAGES[decodeURIComponent(m[1])];
    if (i === undefined) json(res, 404, { message: `No such image: ${decodeURIComponent(m[1])}` });
    else json(res, 200, i);
    return;
  }
  if (path === '/containers/json') {
    json(res, 200, [
      { Id: ID, Names: ['/k8s_web'], State: 'running' },
      { Id: SANDBOX, Names: ['/k8s_POD'], State: 'running' },
      { Id: 'not-hex', Names: ['/odd'], State: 'running' },
      { Id: ID, Names: ['/k8s_web'], State: 'running' },
    ]);
    return;
  }
  json(res, 404, { message: 'page not found' });
}

describe('DockerClient against an HTTP server that answers like dockerd', () => {
  const tmp = tempDir();
  const socket = join(tmp.dir, 'docker.sock');
  let server: FakeHttpServer;
  before(async () => {
    server = await startHttpServer(socket, (req, res) => dockerd(req.url ?? '', res));
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('a Kubernetes container: name without "/", the first tag and digest of its image, pod labels', async () => {
    const c = new DockerClient(socket);
    try {
      assert.deepEqual(await c.inspect(ID), {
        runtime: 'docker',
        name: 'k8s_web_web-7d4b9c8f6-x2x9q_shop_8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e_0',
        image: 'nginx:1.25.3',
        imageDigest: 'nginx@sha256:32e76d4f34f80e479964a0fbd4c5b4f6967b5322c8d004e9cf0cb81c93510766',
        podName: 'web-7d4b9c8f6-x2x9q',
        podNamespace: 'shop',
        podUid: '8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e',
        podSandbox: false,
        labels: K8S_LABELS,
      });
      assert.deepEqual(server.paths.slice(-2), [
        `/containers/${ID}/json`,
        `/images/${encodeURIComponent(IMAGE_ID)}/json`,
      ]);
    } finally {
      c.close();
    }
  });

  it('the sandbox (pause) container: io.kubernetes.docker.type=sandbox', async () => {
    const c = new DockerClient(socket);
    try {
      const m = await c.inspect(SANDBOX);
      assert.equal(m?.podSandbox, true);
      assert.equal(m?.name, 'k8s_POD_web-7d4b9c8f6-x2x9q_shop_8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e_0');
      assert.equal(m?.image, 'registry.k8s.io/pause:3.9');
      assert.equal(
        m?.imageDigest,
        'registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097',
      );
      assert.equal(m?.podName, 'web-7d4b9c8f6-x2x9q');
    } finally {
      c.close();
    }
  });

  it('an imported image (no RepoDigests): the digest is the image id; null labels are {}', async () => {
    const c = new DockerClient(socket);
    try {
      assert.deepEqual(await c.inspect(IMPORTED), {
        runtime: 'docker',
        name: 'quiet_turing',
        image: 'ktrail-e2e-busybox:latest',
        imageDigest: BUSYBOX_ID,
        podName: '',
        podNamespace: '',
        podUid: '',
        podSandbox: false,
        labels: {},
      });
    } finally {
      c.close();
    }
  });

  it("an image that is gone (404): Config.Image and the container's image id", async () => {
    const c = new DockerClient(socket);
    try {
      const m = await c.inspect(NO_IMAGE);
      assert.equal(m?.image, 'gone:1');
      assert.equal(m?.imageDigest, `sha256:${'e'.repeat(64)}`);
      assert.deepEqual(m?.labels, { a: 'b' });
    } finally {
      c.close();
    }
  });

  it('an unknown id (404) is undefined', async () => {
    const c = new DockerClient(socket);
    try {
      assert.equal(await c.inspect('9'.repeat(64)), undefined);
    } finally {
      c.close();
    }
  });

  it('a podman socket: the same API, runtime "podman" in results and errors', async () => {
    const c = new DockerClient(socket, { runtime: 'podman' });
    try {
      assert.equal((await c.inspect(IMPORTED))?.runtime, 'podman');
      await assert.rejects(c.inspect('x'), (e: RuntimeError) => {
        assert.equal(e.code, 'BAD_ID');
        assert.equal(
          e.message,
          `podman (${socket}): inspect "x": not a container id (64 lowercase hex digits)`,
        );
        return true;
      });
    } finally {
      c.close();
    }
  });

  it("list(): the running containers' ids, each once, 64-hex ids only", async () => {
    const c = new DockerClient(socket);
    try {
      assert.deepEqual(await c.list(), [ID, SANDBOX]);
    } finally {
      c.close();
    }
  });

  it('keeps the connection: consecutive calls reuse one socket', async () => {
    const c = new DockerClient(socket);
    const before = server.connections();
    try {
      await c.inspect(ID);
      await c.inspect(SANDBOX);
      await c.list();
      assert.equal(server.connections() - before, 1);
    } finally {
      c.close();
    }
  });

  it('calls may overlap', async () => {
    const c = new DockerClient(socket);
    try {
      const all = await Promise.all([c.inspect(ID), c.inspect(SANDBOX), c.inspect(IMPORTED), c.list()]);
      assert.deepEqual(
        all.map((m) => (Array.isArray(m) ? m.length : m?.name)),
        [
          'k8s_web_web-7d4b9c8f6-x2x9q_shop_8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e_0',
          'k8s_POD_web-7d4b9c8f6-x2x9q_shop_8f14e45f-ceea-467f-a9e4-5b6c4d0a1f3e_0',
          'quiet_turing',
          2,
        ],
      );
    } finally {
      c.close();
    }
  });

  it('the result and its labels are frozen', async () => {
    const c = new DockerClient(socket);
    try {
      const m = await c.inspect(ID);
      assert.ok(Object.isFrozen(m) && Object.isFrozen(m?.labels));
    } finally {
      c.close();
    }
  });

  it('a closed client rejects with CLOSED', async () => {
    const c = new DockerClient(socket);
    c.close();
    c.close();
    await assert.rejects(c.inspect(ID), { name: 'RuntimeError', code: 'CLOSED' });
    await assert.rejects(c.list(), { name: 'RuntimeError', code: 'CLOSED' });
  });

  it('an already aborted signal rejects with ABORTED without connecting', async () => {
    const c = new DockerClient(socket);
    const before = server.connections();
    try {
      await assert.rejects(c.inspect(ID, AbortSignal.abort()), { code: 'ABORTED' });
      assert.equal(server.connections(), before);
    } finally {
      c.close();
    }
  });
});

/**
 * One server per test case: `handle` answers every request; the client's deadline is 300 ms unless `opts`
 * says otherwise (tests of other ends than the deadline give 5 s, so a loaded machine cannot turn them into
 * timeouts).
 */
async function withServer(
  handle: (path: string, res: ServerResponse) => void,
  run: (c: DockerClient, socket: string) => Promise<void>,
  opts: { timeoutMs?: number; maxResponseBytes?: number } = {},
): Promise<void> {
  const tmp = tempDir();
  const socket = join(tmp.dir, 'docker.sock');
  const server = await startHttpServer(socket, (req, res) => handle(req.url ?? '', res));
  const c = new DockerClient(socket, { timeoutMs: 300, ...opts });
  try {
    await run(c, socket);
  } finally {
    c.close();
    await server.close();
    tmp.remove();
  }
}

/** Asserts that `p` rejects with a RuntimeError of `code` whose message is exactly `message`. */
async function rejectsWith(
  p: Promise<unknown>,
  code: string,
  message: string | RegExp,
): Promise<RuntimeError> {
  let caught: unknown;
  await p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => {
      caught = e;
    },
  );
  assert.ok(caught instanceof RuntimeError, `not a RuntimeError: ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

describe('DockerClient against broken or hostile servers', () => {
  it('a server that never answers: TIMEOUT at the deadline', async () => {
    await withServer(
      () => {},
      async (c, socket) => {
        const t = await timed(() => c.inspect(ID));
        assert.ok(t.ms >= 290 && t.ms < 1500, `settled after ${t.ms} ms`);
        await rejectsWith(
          Promise.reject(t.error),
          'TIMEOUT',
          `docker (${socket}): GET /containers/${ID}/json: timed out after 300 ms`,
        );
      },
    );
  });

  it('a body that trickles in: TIMEOUT at the deadline', async () => {
    await withServer(
      (_path, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"Id":');
        const t = setInterval(() => res.write(' '), 50);
        res.on('close', () => clearInterval(t));
      },
      async (c) => {
        const t = await timed(() => c.inspect(ID));
        assert.ok(t.ms >= 290 && t.ms < 1500, `settled after ${t.ms} ms`);
        assert.equal((t.error as RuntimeError).code, 'TIMEOUT');
      },
    );
  });

  it("the caller's signal aborts a call in flight: ABORTED, the reason in the message", async () => {
    await withServer(
      () => {},
      async (c, socket) => {
        const ctl = new AbortController();
        setTimeout(() => ctl.abort(new Error('shutting down')), 50);
        const t = await timed(() => c.inspect(ID, ctl.signal));
        assert.ok(t.ms < 2500, `settled after ${t.ms} ms`);
        await rejectsWith(
          Promise.reject(t.error),
          'ABORTED',
          `docker (${socket}): GET /containers/${ID}/json: aborted: shutting down`,
        );
      },
      { timeoutMs: 5000 },
    );
  });

  it('close() ends a call in flight with CLOSED', async () => {
    await withServer(
      () => {},
      async (c) => {
        const p = c.inspect(ID);
        setTimeout(() => c.close(), 30);
        const t = await timed(() => p);
        assert.ok(t.ms < 2500, `settled after ${t.ms} ms`);
        assert.equal((t.error as RuntimeError).code, 'CLOSED');
      },
      { timeoutMs: 5000 },
    );
  });

  it('an announced body over the cap: TOO_LARGE before reading it', async () => {
    let wrote = 0;
    await withServer(
      (_path, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 5 * 1024 * 1024 });
        res.write('{');
        wrote++;
      },
      async (c, socket) => {
        await rejectsWith(
          c.inspect(ID),
          'TOO_LARGE',
          `docker (${socket}): GET /containers/${ID}/json: response of 5242880 bytes or more (at most 4194304)`,
        );
        assert.equal(wrote, 1);
      },
      { maxResponseBytes: 4 * 1024 * 1024 },
    );
  });

  it('an endless chunked body: TOO_LARGE once the cap is passed, well before the deadline', async () => {
    let sent = 0;
    await withServer(
      (_path, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) sent += chunk.length;
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      },
      async (c) => {
        const t = await timed(() => c.inspect(ID));
        assert.equal((t.error as RuntimeError).code, 'TOO_LARGE', String(t.error));
        assert.match((t.error as Error).message, /response of \d+ bytes or more \(at most 1048576\)$/);
        assert.ok(t.ms < 2500, `settled after ${t.ms} ms`);
        assert.ok(sent < 16 * 1024 * 1024, `the server got to send ${sent} bytes`);
      },
      { maxResponseBytes: 1024 * 1024, timeoutMs: 5000 },
    );
  });

  it('a body that is not JSON: PROTOCOL', async () => {
    await withServer(
      (_path, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('<html>hello</html>');
      },
      async (c, socket) => {
        await rejectsWith(
          c.inspect(ID),
          'PROTOCOL',
          new RegExp(`^docker \\(${socket}\\): GET /containers/${ID}/json: the response is not JSON \\(`),
        );
      },
    );
  });

  it("a server error: PROTOCOL with the status and dockerd's message", async () => {
    await withServer(
      (_path, res) => json(res, 500, { message: 'Error response from daemon: boom\u0007' }),
      async (c, socket) => {
        await rejectsWith(
          c.list(),
          'PROTOCOL',
          `docker (${socket}): GET /containers/json: HTTP 500: Error response from daemon: boom?`,
        );
      },
    );
  });

  it('fields of the wrong type, a foreign Id, an over-long name: PROTOCOL naming the field', async () => {
    const bodies: Record<string, unknown> = {
      a: { ...inspectBody(ID, '/x', IMAGE_ID, 'i', null), Name: 42 },
      b: { ...inspectBody(ID, '/x', IMAGE_ID, 'i', null), Config: { Labels: { k: 1 } } },
      c: inspectBody('9'.repeat(64), '/x', IMAGE_ID, 'i', null),
      d: inspectBody(ID, `/${'n'.repeat(5000)}`, IMAGE_ID, 'i', null),
      e: [inspectBody(ID, '/x', IMAGE_ID, 'i', null)],
      f: { ...inspectBody(ID, '/x', '', 'i', null), Config: 'x' },
    };
    const expect: Record<string, string> = {
      a: 'Name is a number, not a string',
      b: 'Config.Labels["k"] is a number, not a string',
      c: `Id is "${'9'.repeat(64)}"`,
      d: 'Name is 5001 characters long (at most 4096)',
      e: 'the response is an array, not an object',
      f: 'Config is a string, not an object',
    };
    for (const key of Object.keys(bodies)) {
      await withServer(
        (_path, res) => json(res, 200, bodies[key]),
        async (c, socket) => {
          await rejectsWith(
            c.inspect(ID),
            'PROTOCOL',
            `docker (${socket}): GET /containers/${ID}/json: ${expect[key]}`,
          );
        },
      );
    }
  });

  it('an image answer of the wrong shape: PROTOCOL naming the image request', async () => {
    await withServer(
      (path, res) => {
        if (path.startsWith('/containers/')) json(res, 200, inspectBody(ID, '/x', IMAGE_ID, 'i', null));
        else json(res, 200, { Id: IMAGE_ID, RepoTags: 'nginx:1' });
      },
      async (c, socket) => {
        await rejectsWith(
          c.inspect(ID),
          'PROTOCOL',
          `docker (${socket}): GET /images/${encodeURIComponent(IMAGE_ID)}/json: RepoTags is a string, not an array`,
        );
      },
    );
  });

  it('labels: over-long ones left out, at most MAX_LABELS kept, "__proto__" stays a plain key', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < MAX_LABELS + 500; i++) many[`k${String(i).padStart(5, '0')}`] = 'v';
    const body = inspectBody(ID, '/x', '', 'i', null);
    const text = JSON.stringify(body).replace(
      '"Labels":null',
      `"Labels":{"__proto__":"p","long":"${'x'.repeat(5000)}","${'y'.repeat(5000)}":"v",${JSON.stringify(many).slice(1, -1)}}`,
    );
    await withServer(
      (_path, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(text);
      },
      async (c) => {
        const m = await c.inspect(ID);
        const keys = Object.keys(m?.labels ?? {});
        assert.equal(keys.length, MAX_LABELS);
        assert.equal(keys[0], '__proto__');
        assert.equal(Object.getPrototypeOf(m?.labels), Object.prototype);
        assert.equal(Object.hasOwn(m?.labels ?? {}, 'long'), false);
        assert.equal(keys.at(-1), `k${String(MAX_LABELS - 2).padStart(5, '0')}`);
      },
    );
  });

  it('a socket that speaks something else than HTTP: TRANSPORT', async () => {
    const tmp = tempDir();
    const socket = join(tmp.dir, 'garbage.sock');
    const server = await startRawServer(socket, (s) =>
      s.end('SSH-2.0-OpenSSH_9.2\r\n\u0000\u0001garbage\r\n\r\n'),
    );
    const c = new DockerClient(socket, { timeoutMs: 5000 });
    try {
      const t = await timed(() => c.inspect(ID));
      assert.ok(t.ms < 2500, `settled after ${t.ms} ms`);
      await rejectsWith(
        Promise.reject(t.error),
        'TRANSPORT',
        new RegExp(`^docker \\(${socket}\\): GET /containers/`),
      );
    } finally {
      c.close();
      await new Promise((r) => server.close(r));
      tmp.remove();
    }
  });

  it('no socket: TRANSPORT with a hint', async () => {
    const tmp = tempDir();
    const socket = join(tmp.dir, 'none.sock');
    const c = new DockerClient(socket);
    try {
      const e = await rejectsWith(
        c.list(),
        'TRANSPORT',
        `docker (${socket}): GET /containers/json: connect ENOENT ${socket}`,
      );
      assert.equal(e.hint, 'nothing listens on the socket: is the runtime running?');
    } finally {
      c.close();
      tmp.remove();
    }
  });

  it('rejects a bad deadline or cap at construction', () => {
    assert.throws(() => new DockerClient('/x', { timeoutMs: 0 }), RangeError);
    assert.throws(() => new DockerClient('/x', { maxResponseBytes: 1.5 }), RangeError);
  });
});
