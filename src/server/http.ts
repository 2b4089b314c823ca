/**
 * The HTTP server of `--server`: `GET /metrics` (Prometheus text) and `GET /healthz` (200 `OK`, or 503
 * `NOT OK: <reason>`; Tracee answers both with 200, which probes cannot tell apart). HEAD works as GET
 * without a body; other paths are 404, other methods 405. Started before the capture, so that an address in
 * use fails before anything is attached. Main thread only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { KtrailError } from '../errors.js';
import type { Health } from './heartbeat.js';
import type { ServerPlan } from './options.js';

export interface Endpoints {
  /** The registry of /metrics, when served. */
  readonly metrics?: Registry;
  /** The health of /healthz, when served. */
  readonly health?: () => Health;
}

export interface RunningServer {
  /** The bound address (the port chosen when the plan asked for port 0 in tests). */
  readonly address: { readonly host: string; readonly port: number };
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

function reply(res: ServerResponse, head: boolean, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  plan: ServerPlan,
  e: Endpoints,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const served = (path === '/metrics' && plan.metrics) || (path === '/healthz' && plan.healthz);
  if (!served) return reply(res, false, 404, 'text/plain; charset=utf-8', 'not found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(res, false, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  const head = req.method === 'HEAD';
  if (path === '/healthz') {
    const h = e.health?.() ?? { ok: false, reason: 'no health source' };
    return reply(
      res,
      head,
      h.ok ? 200 : 503,
      'text/plain; charset=utf-8',
      h.ok ? 'OK' : `NOT OK: ${h.reason}`,
    );
  }
  try {
    const text = await e.metrics!.metrics();
    reply(res, head, 200, e.metrics!.contentType, text);
  } catch (err) {
    reply(
      res,
      head,
      500,
      'text/plain; charset=utf-8',
      `collecting metrics failed: ${(err as Error).message}\n`,
    );
  }
}

/** Listens on the plan's address; throws KtrailError (exit status 2) when it cannot. */
export async function startServer(plan: ServerPlan, endpoints: Endpoints): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    void handle(req, res, plan, endpoints);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = plan.host.includes(':') ? `[${plan.host}]:${plan.port}` : `${plan.host}:${plan.port}`;
      reject(
        new KtrailError('IO', `--server: listening on ${where}: ${err.code ?? err.message}`, {
          hint:
            err.code === 'EADDRINUSE'
              ? 'another program uses that port: pick another with --server http-address=HOST:PORT'
              : 'check the address: it must belong to this machine',
          exitCode: 2,
        }),
      );
    });
    server.listen({ host: plan.host === '' ? undefined : plan.host, port: plan.port }, () => resolve());
  });
  const a = server.address();
  const address =
    typeof a === 'object' && a !== null
      ? { host: a.address, port: a.port }
      : { host: plan.host, port: plan.port };
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
