/**
 * `-o nats:nats://HOST:PORT?subject=S`: every classic JSON event (one line of `-o json`: events, findings,
 * lost_events records) becomes one message on subject S, published through JetStream, so that the fleet's
 * bus stores it. A message counts as delivered only when the stream acknowledged it (PubAck). Each carries a
 * message id (`Nats-Msg-Id`, this run's id and a counter), so a retry after a lost acknowledgement is stored
 * once (within the stream's duplicate window).
 *
 * Start-up checks what can be checked before anything is traced: the server answers, JetStream is enabled,
 * and some stream stores the subject (ktrail does not create streams; that is the fleet's configuration).
 *
 * Never blocks the capture: `write` queues lines (a bounded LineQueue, drops counted); up to MAX_IN_FLIGHT
 * publishes are outstanding; a failed publish (no acknowledgement within the timeout, no stream, a
 * disconnection) is retried with back-off, then dropped and counted. The client reconnects by itself.
 * Main thread only.
 */
import { randomBytes } from 'node:crypto';
import type { JetStreamClient, NatsConnection } from 'nats';
import { KtrailError } from '../errors.js';
import { backoffMs, LineQueue, pause } from './queue.js';
import type { Sink, SinkStats } from './sink.js';
import { QUEUE_BYTES, type SinkReporter } from './webhook.js';

export interface NatsOptions {
  /** `nats://host:port`, without credentials. */
  readonly server: string;
  /** Name in reports and metrics: the server URL and the subject. */
  readonly name: string;
  readonly subject: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** Wait for a publish acknowledgement, ms. */
  readonly timeoutMs: number;
  /** Further attempts for a failing publish. */
  readonly retries: number;
  /** Lines queued at most (and QUEUE_BYTES bytes). */
  readonly queue: number;
}

const MAX_IN_FLIGHT = 256;

function why(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return err.message ?? err.code ?? String(e);
}

/** Connects and checks the server, JetStream and the subject's stream; throws KtrailError (exit status 2). */
export async function openNatsSink(o: NatsOptions, report: SinkReporter = () => {}): Promise<Sink> {
  // The client library is loaded only by runs that publish to NATS (about 60 ms of start-up).
  const { connect } = await import('nats');
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: o.server,
      name: 'ktrail',
      ...(o.user !== undefined ? { user: o.user, pass: o.pass ?? '' } : {}),
      ...(o.token !== undefined ? { token: o.token } : {}),
      timeout: 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
    });
  } catch (e) {
    throw new KtrailError('IO', `--output nats: connecting to ${o.server}: ${why(e)}`, {
      hint: 'check that nats-server runs there and accepts this client',
      exitCode: 2,
    });
  }
  let js: JetStreamClient;
  try {
    const jsm = await nc.jetstreamManager({ timeout: 5000 });
    await jsm.streams.find(o.subject);
    js = nc.jetstream({ timeout: o.timeoutMs });
  } catch (e) {
    await nc.close().catch(() => {});
    const text = why(e);
    const noStream = /no stream matches subject/i.test(text);
    throw new KtrailError(
      'IO',
      noStream
        ? `--output nats: no JetStream stream on ${o.server} stores subject '${o.subject}'`
        : `--output nats: JetStream on ${o.server}: ${text}`,
      {
        hint: noStream
          ? `create one first, e.g. nats stream add KTRAIL --subjects '${o.subject}'`
          : 'start nats-server with JetStream enabled (-js)',
        exitCode: 2,
      },
    );
  }
  return natsSink(nc, js, o, report);
}

function natsSink(nc: NatsConnection, js: JetStreamClient, o: NatsOptions, report: SinkReporter): Sink {
  const queue = new LineQueue({ lines: o.queue, bytes: QUEUE_BYTES });
  const run = randomBytes(6).toString('hex');
  const stop = new AbortController();
  let counter = 0;
  let active = 0;
  let written = 0;
  let failedLines = 0;
  let errors = 0;
  let retries = 0;
  let failing = false;
  let overflowing = false;
  let idle: (() => void) | undefined;

  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect')
        report('warn', `nats ${o.name}: disconnected; reconnecting, events queue meanwhile`);
      else if (s.type === 'reconnect') report('info', `nats ${o.name}: reconnected`);
    }
  })().catch(() => {});

  const publish = async (line: Buffer, msgID: string): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await js.publish(o.subject, line, { msgID, timeout: o.timeoutMs });
        written++;
        if (failing) report('info', `nats ${o.name}: publishing again`);
        failing = false;
        return;
      } catch (e) {
        errors++;
        if (!failing)
          report(
            'warn',
            `nats ${o.name}: publish failed (${why(e)}); retrying each event up to ${o.retries} times`,
          );
        failing = true;
        if (
          attempt >= o.retries ||
          stop.signal.aborted ||
          !(await pause(backoffMs(attempt + 1), stop.signal))
        ) {
          failedLines++;
          return;
        }
        retries++;
      }
    }
  };

  const pump = () => {
    while (active < MAX_IN_FLIGHT && queue.length > 0 && !stop.signal.aborted) {
      const [line] = queue.take(1);
      active++;
      void publish(line!, `${run}.${++counter}`).finally(() => {
        active--;
        if (overflowing && queue.length < o.queue / 2) overflowing = false;
        pump();
        if (active === 0 && (queue.length === 0 || stop.signal.aborted)) idle?.();
      });
    }
  };

  return {
    name: o.name,
    write(data) {
      const before = queue.dropped;
      queue.push(data);
      if (queue.dropped > before && !overflowing) {
        overflowing = true;
        report('warn', `nats ${o.name}: queue full (${o.queue} events), dropping events until it drains`);
      }
      pump();
    },
    stats(): SinkStats {
      return {
        written,
        dropped: queue.dropped + failedLines,
        queued: queue.length + active,
        queuedBytes: queue.bytes,
        errors,
        retries,
      };
    },
    async close(signal) {
      // Closing the connection fails the publishes still waiting for an acknowledgement at once.
      const abort = () => {
        stop.abort();
        void nc.close().catch(() => {});
      };
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
      if (active > 0 || queue.length > 0) {
        const done = new Promise<void>((r) => (idle = r));
        pump();
        await done;
      }
      signal?.removeEventListener('abort', abort);
      queue.clear();
      await nc.close().catch(() => {});
    },
  };
}
