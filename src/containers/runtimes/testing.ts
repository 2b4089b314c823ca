/**
 * Helpers for the runtime clients' unit tests (not a test file itself): a private temporary directory for
 * sockets, real servers on unix sockets (gRPC with grpc-js, HTTP with node:http, raw bytes with node:net),
 * and a recorder of what a gRPC server received.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import type { Message } from './grpc.js';

/** A fresh directory (mode 0700) and a function that removes it. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ktrail-rt-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fake gRPC method's answer: a message, a gRPC status error, or 'hang' (it never answers). */
export type GrpcAnswer = Message | { error: number; details: string } | 'hang';
/** A fake method: gets the decoded request and the request headers. */
export type GrpcHandler = (request: Message, headers: Record<string, string>) => GrpcAnswer;

/** One received call, for assertions. */
export interface ReceivedCall {
  readonly method: string;
  readonly request: Message;
  readonly headers: Record<string, string>;
}

export interface FakeGrpcServer {
  readonly calls: ReceivedCall[];
  close(): Promise<void>;
}

/** Starts a grpc-js server on `socket` serving `services` (definition and handlers by method name). */
export async function startGrpcServer(
  socket: string,
  services: readonly { definition: ServiceDefinition; handlers: Readonly<Record<string, GrpcHandler>> }[],
): Promise<FakeGrpcServer> {
  const server = new Server();
  const calls: ReceivedCall[] = [];
  const hanging: sendUnaryData<Message>[] = [];
  for (const { definition, handlers } of services) {
    const impl: Record<
      string,
      (call: ServerUnaryCall<Message, Message>, cb: sendUnaryData<Message>) => void
    > = {};
    for (const name of Object.keys(definition)) {
      impl[name] = (call, cb) => {
        const headers = flatten(call.metadata);
        calls.push({ method: name, request: call.request, headers });
        const handler = handlers[name];
        const answer: GrpcAnswer = handler
          ? handler(call.request, headers)
          : { error: status.UNIMPLEMENTED, details: `${name} is not implemented here` };
        if (answer === 'hang') hanging.push(cb);
        else if ('error' in answer && typeof answer['error'] === 'number')
          cb({ code: answer['error'], details: String(answer['details']) });
        else cb(null, answer as Message);
      };
    }
    server.addService(definition, impl);
  }
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return {
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        hanging.length = 0;
        resolve();
      }),
  };
}

function flatten(md: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) out[k] = String(v);
  return out;
}

export interface FakeHttpServer {
  /** Connections accepted so far. */
  readonly connections: () => number;
  /** Request paths received, in order. */
  readonly paths: string[];
  close(): Promise<void>;
}

/** Starts an HTTP server on `socket` with `handle` answering every request. */
export async function startHttpServer(
  socket: string,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<FakeHttpServer> {
  let connections = 0;
  const paths: string[] = [];
  const open = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    paths.push(req.url ?? '');
    handle(req, res);
  });
  server.on('connection', (s: Socket) => {
    connections++;
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await listen(server, socket);
  return {
    connections: () => connections,
    paths,
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Starts a raw server on `socket`; `onConnection` gets every accepted socket. */
export async function startRawServer(socket: string, onConnection: (s: Socket) => void): Promise<NetServer> {
  const open = new Set<Socket>();
  const server = createNetServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await listen(server, socket);
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const s of open) s.destroy();
    return close(cb);
  };
  return server;
}

function listen(server: NetServer, socket: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Milliseconds `fn` took to settle, and how (the value or the error). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}
