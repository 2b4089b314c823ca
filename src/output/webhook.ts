/**
 * `-o webhook:URL`: classic JSON events POSTed to an HTTP(S) receiver in batches. Each request's body is one
 * JSON array of classic event objects (the same objects `-o json` prints one per line: events, findings,
 * lost_events records), `Content-Type: application/json` unless `contentType` says otherwise. Tracee posts
 * one event per request; a batch is ktrail's choice, so that a busy host does not make thousands of requests
 * a second.
 *
 * Never blocks the capture: `write` only queues lines (a bounded LineQueue; what does not fit is dropped and
 * counted). One request is in flight at a time, so the receiver sees batches in order. A request that fails
 * (no connection, no answer within the timeout, status 5xx, 408 or 429) is retried with back-off; other
 * statuses are final. A batch still failing after the retries is dropped and counted. Main thread only.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { backoffMs, LineQueue, pause } from './queue.js';
import type { Sink, SinkStats } from './sink.js';

export interface WebhookOptions {
  /** Where to POST (ktrail's own query parameters already removed). */
  readonly url: URL;
  /** Name in reports and metrics: the URL without credentials or query. */
  readonly name: string;
  /** Per request, ms (Tracee's `timeout`, default 10 s). */
  readonly timeoutMs: number;
  readonly contentType: string;
  /** Events per request at most. */
  readonly batch: number;
  /** Further attempts for a failing request. */
  readonly retries: number;
  /** Lines queued at most (and QUEUE_BYTES bytes). */
  readonly queue: number;
}

export const WEBHOOK_DEFAULTS = { timeoutMs: 10_000, batch: 100, retries: 3, queue: 10_000 } as const;
/** Bytes a webhook or NATS queue holds at most, whatever its line bound. */
export const QUEUE_BYTES = 64 << 20;
/** A request body's size bound: a batch stops early rather than pass it (a single larger event still goes). */
const MAX_BODY = 4 << 20;

/** How problems and recoveries are told (the live command logs them). */
export type SinkReporter = (level: 'info' | 'warn', message: string) => void;

interface Outcome {
  readonly ok: boolean;
  readonly retry: boolean;
  readonly why: string;
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

export function webhookSink(o: WebhookOptions, report: SinkReporter = () => {}): Sink {
  const queue = new LineQueue({ lines: o.queue, bytes: QUEUE_BYTES });
  const https = o.url.protocol === 'https:';
  const agent = https
    ? new HttpsAgent({ keepAlive: true, maxSockets: 1 })
    : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const stop = new AbortController();
  let running = false;
  let idle: (() => void) | undefined;
  let inFlight = 0;
  let written = 0;
  let failedLines = 0;
  let errors = 0;
  let retries = 0;
  let failing = false;
  let overflowing = false;

  const post = (body: Buffer): Promise<Outcome> =>
    new Promise((resolve) => {
      let settled = false;
      const finish = (r: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const req = (https ? httpsRequest : httpRequest)(o.url, {
        method: 'POST',
        agent,
        headers: {
          'content-type': o.contentType,
          'content-length': body.length,
          'user-agent': 'ktrail',
        },
      });
      const timer = setTimeout(() => {
        req.destroy();
        finish({ ok: false, retry: true, why: `no answer within ${o.timeoutMs} ms` });
      }, o.timeoutMs);
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        res.resume();
        res.on('error', () => finish({ ok: false, retry: true, why: 'the answer was cut off' }));
        res.on('end', () => {
          if (status >= 200 && status < 300) finish({ ok: true, retry: false, why: '' });
          else
            finish({
              ok: false,
              retry: status >= 500 || status === 408 || status === 429,
              why: `HTTP ${status}`,
            });
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) =>
        finish({ ok: false, retry: true, why: e.code ?? e.message }),
      );
      req.end(body);
    });

  const deliver = async (lines: Buffer[]): Promise<void> => {
    const parts: Buffer[] = [OPEN];
    lines.forEach((l, i) => {
      if (i > 0) parts.push(COMMA);
      parts.push(l);
    });
    parts.push(CLOSE);
    const body = Buffer.concat(parts);
    for (let attempt = 0; ; attempt++) {
      const r = await post(body);
      if (r.ok) {
        written += lines.length;
        if (failing) report('info', `webhook ${o.name}: delivering again`);
        failing = false;
        return;
      }
      errors++;
      if (!failing)
        report(
          'warn',
          `webhook ${o.name}: POST failed (${r.why}); ${r.retry ? `retrying each batch up to ${o.retries} times, ` : ''}events queue up to ${o.queue} and are dropped beyond`,
        );
      failing = true;
      if (
        !r.retry ||
        attempt >= o.retries ||
        stop.signal.aborted ||
        !(await pause(backoffMs(attempt + 1), stop.signal))
      ) {
        failedLines += lines.length;
        return;
      }
      retries++;
    }
  };

  const run = async () => {
    running = true;
    try {
      while (queue.length > 0 && !stop.signal.aborted) {
        const lines = queue.take(o.batch, MAX_BODY);
        inFlight = lines.length;
        await deliver(lines);
        inFlight = 0;
        if (overflowing && queue.length < o.queue / 2) overflowing = false;
      }
    } finally {
      running = false;
      inFlight = 0;
      idle?.();
    }
  };

  return {
    name: o.name,
    write(data) {
      const before = queue.dropped;
      queue.push(data);
      if (queue.dropped > before && !overflowing) {
        overflowing = true;
        report('warn', `webhook ${o.name}: queue full (${o.queue} events), dropping events until it drains`);
      }
      if (!running && queue.length > 0) {
        running = true;
        setImmediate(() => void run());
      }
    },
    stats(): SinkStats {
      return {
        written,
        dropped: queue.dropped + failedLines,
        queued: queue.length + inFlight,
        queuedBytes: queue.bytes,
        errors,
        retries,
      };
    },
    async close(signal) {
      const abort = () => {
        stop.abort();
        agent.destroy();
      };
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
      if (running) await new Promise<void>((r) => (idle = r));
      signal?.removeEventListener('abort', abort);
      queue.clear();
      agent.destroy();
    },
  };
}
