/**
 * The bounded line queue in front of a network sink (webhook, NATS): `push` never blocks and never grows the
 * queue past its bounds; lines that do not fit are dropped and counted. Lines are byte views into one copy of
 * the batch they came in. Also: Go-style durations and the retry back-off the sinks share. Pure.
 */

export interface QueueLimits {
  /** Lines queued at most. */
  readonly lines: number;
  /** Bytes queued at most. */
  readonly bytes: number;
}

export class LineQueue {
  readonly limits: QueueLimits;
  #items: Buffer[] = [];
  #head = 0;
  #bytes = 0;
  dropped = 0;

  constructor(limits: QueueLimits) {
    this.limits = limits;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Splits `data` into lines (without their newline) and queues those that fit; returns how many did. */
  push(data: string | Uint8Array): number {
    const copy = Buffer.from(typeof data === 'string' ? Buffer.from(data) : data);
    let taken = 0;
    let start = 0;
    while (start < copy.length) {
      let end = copy.indexOf(10, start);
      if (end < 0) end = copy.length;
      if (end > start) {
        if (this.length < this.limits.lines && this.#bytes + (end - start) <= this.limits.bytes) {
          this.#items.push(copy.subarray(start, end));
          this.#bytes += end - start;
          taken++;
        } else this.dropped++;
      }
      start = end + 1;
    }
    return taken;
  }

  /** Removes and returns up to `n` lines (at most `maxBytes` of them, but always at least one). */
  take(n: number, maxBytes = Number.POSITIVE_INFINITY): Buffer[] {
    const out: Buffer[] = [];
    let size = 0;
    while (out.length < n && this.#head < this.#items.length) {
      const b = this.#items[this.#head]!;
      if (out.length > 0 && size + b.length > maxBytes) break;
      out.push(b);
      size += b.length;
      this.#items[this.#head++] = EMPTY;
      this.#bytes -= b.length;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  /** Drops everything queued (counted) and returns how many lines that was. */
  clear(): number {
    const n = this.length;
    this.dropped += n;
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    return n;
  }
}

const EMPTY = Buffer.alloc(0);

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration (`5s`, `1m30s`, `250ms`, `1.5s`) in ms; undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) return undefined;
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = re.lastIndex;
  }
  return at === 0 ? undefined : ms;
}

/** Wait before retry `attempt` (1, 2, ...): 250 ms doubling, at most 10 s. */
export function backoffMs(attempt: number): number {
  return Math.min(250 * 2 ** (attempt - 1), 10_000);
}

/** Resolves after `ms`, or early (false) when `signal` aborts; true when the time ran out. */
export function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve(true);
    }, ms);
    const stop = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}
