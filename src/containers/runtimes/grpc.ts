/**
 * Unary gRPC calls over a unix socket with @grpc/grpc-js, messages encoded and decoded by protobufjs from the
 * proto3 text in proto/. A decoded response is a plain object (snake_case field names as in the .proto, enums
 * as their names, 64-bit integers as strings, absent fields at their defaults): still to be checked by the
 * caller like any untrusted value.
 */
import { createRequire } from 'node:module';
import type { ChannelOptions, Client, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { ResponseError } from './errors.js';

// grpc-js and protobufjs are loaded on first use (about 110 ms of start-up otherwise, for every run that never
// asks containerd or CRI-O anything). Both are CommonJS: require keeps the first use synchronous.
const requireCjs = createRequire(import.meta.url);
let grpcModule: typeof import('@grpc/grpc-js') | undefined;
let protobufModule: typeof protobuf | undefined;
const grpc = () => (grpcModule ??= requireCjs('@grpc/grpc-js') as typeof import('@grpc/grpc-js'));
const pb = () => (protobufModule ??= requireCjs('protobufjs') as typeof protobuf);

/** One parsed schema: the proto3 files of one API in a single root. */
export class ProtoSchema {
  private root: protobuf.Root | undefined;

  constructor(private readonly files: readonly string[]) {}

  /** The unary method `service`/`method` (service with its package, e.g. `runtime.v1.RuntimeService`). */
  method(service: string, method: string): UnaryMethod {
    const svc = this.resolve().lookupService(service);
    const m = svc.methods[method];
    if (m?.resolvedRequestType == null || m.resolvedResponseType == null)
      throw new Error(`${service} has no method ${method}`);
    return {
      path: `/${service}/${method}`,
      name: `${service}/${method}`,
      request: m.resolvedRequestType,
      response: m.resolvedResponseType,
    };
  }

  /**
   * A grpc-js service definition of `service` for a server (the tests' fake runtimes): requests are decoded
   * and responses encoded with this schema.
   */
  serviceDefinition(service: string): ServiceDefinition {
    const svc = this.resolve().lookupService(service);
    const def: Record<string, unknown> = {};
    for (const name of Object.keys(svc.methods)) {
      const m = this.method(service, name);
      def[name] = {
        path: m.path,
        requestStream: false,
        responseStream: false,
        requestSerialize: encoder(m.request),
        requestDeserialize: decoder(m.request),
        responseSerialize: encoder(m.response),
        responseDeserialize: decoder(m.response),
        originalName: name,
      };
    }
    return def as ServiceDefinition;
  }

  private resolve(): protobuf.Root {
    if (this.root === undefined) {
      const root = new (pb().Root)();
      for (const text of this.files) pb().parse(text, root, { keepCase: true });
      root.resolveAll();
      this.root = root;
    }
    return this.root;
  }
}

export interface UnaryMethod {
  /** The HTTP/2 path, `/package.Service/Method`. */
  readonly path: string;
  /** For messages: `package.Service/Method`. */
  readonly name: string;
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
}

/** A decoded message. */
export type Message = Record<string, unknown>;

function encoder(type: protobuf.Type): (value: Message) => Buffer {
  return (value) => {
    const msg = type.fromObject(value);
    return Buffer.from(type.encode(msg).finish());
  };
}

function decoder(type: protobuf.Type): (buf: Buffer) => Message {
  return (buf) =>
    type.toObject(type.decode(buf), {
      longs: String,
      enums: String,
      defaults: true,
      arrays: true,
      objects: true,
    });
}

/**
 * One gRPC channel to a unix socket. It connects on the first call and reconnects after a failure within
 * 2 s at most (grpc-js would otherwise back off up to 2 minutes after a runtime restart). Calls fail at once
 * while nothing listens (no wait-for-ready).
 */
export class GrpcChannel {
  private readonly client: Client;

  constructor(socket: string, maxResponseBytes: number) {
    const options: ChannelOptions = {
      'grpc.max_receive_message_length': maxResponseBytes,
      'grpc.max_send_message_length': 64 * 1024,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
      'grpc.enable_retries': 0,
    };
    const { Client: GrpcClient, credentials } = grpc();
    this.client = new GrpcClient(`unix:${socket}`, credentials.createInsecure(), options);
  }

  /**
   * Calls `method` with `request` and the request `headers`. Resolves with the decoded response, or undefined
   * when the server answers NOT_FOUND. Rejects when `signal` aborts (with its reason; the call is cancelled),
   * with ResponseError TOO_LARGE or PROTOCOL for an oversized, undecodable or failed answer, and with an
   * Error carrying an errno `code` (ENOENT, ECONNREFUSED, EACCES) when the socket cannot be reached.
   */
  unary(
    method: UnaryMethod,
    request: Message,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<Message | undefined> {
    return new Promise<Message | undefined>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const md = new (grpc().Metadata)();
      for (const [k, v] of Object.entries(headers)) md.set(k, v);
      let done = false;
      const onAbort = () => {
        if (done) return;
        done = true;
        reject(signal.reason);
        call.cancel();
      };
      const call = this.client.makeUnaryRequest<Message, Message>(
        method.path,
        encoder(method.request),
        decoder(method.response),
        request,
        md,
        {},
        (err: ServiceError | null, value?: Message) => {
          if (done) return;
          done = true;
          signal.removeEventListener('abort', onAbort);
          if (err === null) resolve(value);
          else if (err.code === grpc().status.NOT_FOUND) resolve(undefined);
          else reject(describe(err));
        },
      );
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The error a failed call rejects with. */
function describe(err: ServiceError): Error {
  const details = printable(err.details);
  const name = grpc().status[err.code] ?? String(err.code);
  if (err.code === grpc().status.RESOURCE_EXHAUSTED && /larger than max/i.test(details))
    return new ResponseError('TOO_LARGE', details);
  if (err.code === grpc().status.UNAVAILABLE) {
    const e: NodeJS.ErrnoException = new Error(`gRPC ${name}: ${details}`);
    const errno = /\b(ENOENT|ECONNREFUSED|EACCES|EPERM|ECONNRESET)\b/.exec(details)?.[1];
    if (errno !== undefined) e.code = errno;
    return e;
  }
  if (err.code === grpc().status.UNIMPLEMENTED)
    return new ResponseError('PROTOCOL', `gRPC ${name}: ${details} (is this socket the runtime's?)`);
  return new ResponseError('PROTOCOL', `gRPC ${name}: ${details}`);
}

/** A server-provided text cut to 300 printable ASCII characters. */
function printable(s: unknown): string {
  if (typeof s !== 'string') return '';
  // grpc-js appends an empty "Resolution note: " to connection failures.
  return s
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/\s*Resolution note:\s*$/, '')
    .slice(0, 300);
}
