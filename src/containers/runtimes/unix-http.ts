/**
 * HTTP GET over a unix socket with node:http, bounded in time (the caller's signal) and in size. No
 * redirects are followed and nothing but GET is sent.
 */
import { Agent, request } from 'node:http';
import { ResponseError } from './errors.js';

export interface HttpResponse {
  readonly status: number;
  readonly body: Buffer;
}

/** A keep-alive agent for one socket's requests (a few connections, idle ones do not hold the process). */
export function socketAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 2, scheduling: 'lifo' });
}

/**
 * GETs `path` on the server at `socketPath`. Resolves with the status and the whole body; rejects when the
 * signal aborts (with its reason), on a connection or HTTP parse error, and with ResponseError TOO_LARGE as
 * soon as the announced or received body exceeds `maxBytes` (the connection is then dropped).
 */
export function httpGet(
  agent: Agent,
  socketPath: string,
  path: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: unknown, value?: HttpResponse) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err === undefined && value !== undefined) resolve(value);
      else reject(err);
    };
    const req = request({
      agent,
      socketPath,
      path,
      method: 'GET',
      headers: { accept: 'application/json' },
    });
    const onAbort = () => {
      finish(signal.reason);
      req.destroy();
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const tooLarge = (n: number) => {
      finish(new ResponseError('TOO_LARGE', `response of ${n} bytes or more (at most ${maxBytes})`));
      req.destroy();
    };
    req.on('error', (e) => finish(e));
    req.on('response', (res) => {
      const announced = Number(res.headers['content-length']);
      if (Number.isFinite(announced) && announced > maxBytes) {
        tooLarge(announced);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) tooLarge(size);
        else chunks.push(chunk);
      });
      res.on('error', (e) => finish(e));
      res.on('aborted', () => finish(new Error('the connection closed in the middle of the response')));
      res.on('end', () => {
        if (!res.complete) finish(new Error('the connection closed in the middle of the response'));
        else finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks, size) });
      });
    });
    req.end();
  });
}
