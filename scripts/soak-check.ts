/**
 * The checks of the soak (scripts/soak.ts), apart from the run so that they are unit-tested
 * (soak-check.test.ts): reading the JSON-lines output (`seq` numbers, `lost_events` records), ktrail's JSON
 * summary line and its /metrics, and judging RSS samples. Pure.
 */

/** One line of `-o json` output, as far as the soak cares. */
export type OutputLine =
  | { readonly kind: 'event'; readonly seq: number }
  | { readonly kind: 'lost'; readonly total: bigint; readonly lost: ReadonlyMap<string, bigint> }
  | { readonly kind: 'other' };

/**
 * Reads one output line. Events carry `"seq":N` as a top-level key (a string value cannot hold the bytes
 * `"seq":` unescaped, so the last occurrence is the key); `lost_events` lines are parsed whole.
 */
export function readOutputLine(line: string): OutputLine {
  if (line.includes('"eventName":"lost_events"')) {
    // Counts stay far below 2^53; only the timestamp is larger, and it is not used.
    const o = JSON.parse(line) as { lostTotal?: number; lost?: Record<string, number> };
    if (o.lost === undefined || o.lostTotal === undefined)
      throw new Error(`a lost_events line without counts: ${line}`);
    return {
      kind: 'lost',
      total: BigInt(o.lostTotal),
      lost: new Map(Object.entries(o.lost).map(([k, v]) => [k, BigInt(v)])),
    };
  }
  const at = line.lastIndexOf('"seq":');
  if (at < 0) return { kind: 'other' };
  const m = /^"seq":(\d+)/.exec(line.slice(at));
  if (m === null) throw new Error(`a seq that is not a number: ${line.slice(at, at + 40)}`);
  return { kind: 'event', seq: Number(m[1]) };
}

/** The `seq` numbers met, in a bitmap: duplicates, count, highest, and the numbers missing below it. */
export class SeqTracker {
  #bits = new Uint8Array(1 << 20);
  count = 0;
  duplicates = 0;
  zero = 0;
  max = 0;

  add(seq: number): void {
    if (seq <= 0) {
      this.zero++;
      return;
    }
    const byte = seq >>> 3;
    if (byte >= this.#bits.length) {
      let size = this.#bits.length;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#bits);
      this.#bits = grown;
    }
    const bit = 1 << (seq & 7);
    if ((this.#bits[byte]! & bit) !== 0) {
      this.duplicates++;
      return;
    }
    this.#bits[byte]! |= bit;
    this.count++;
    if (seq > this.max) this.max = seq;
  }

  /** Numbers from 1 to the highest seen that were never seen. */
  gaps(): number {
    return this.max - this.count;
  }
}

/** The summary ktrail logs at stop with `--log format=json`. */
export interface Summary {
  readonly reason: string;
  readonly events: number;
  readonly lost: bigint;
  readonly userFiltered: number;
  readonly dropped: number;
  readonly undecodable: number;
  /** Per event, from the message: `SIGINT: N events, L lost (delete_module 5, openat 2)`. */
  readonly lostByEvent: ReadonlyMap<string, bigint>;
}

/** The last summary among ktrail's JSON log lines (the one with a `reason`), or undefined. */
export function readSummary(logLines: readonly string[]): Summary | undefined {
  for (let i = logLines.length - 1; i >= 0; i--) {
    const line = logLines[i]!;
    if (!line.startsWith('{') || !line.includes('"reason":')) continue;
    const o = JSON.parse(line) as Record<string, unknown>;
    const msg = String(o['msg']);
    const list = /^[^:]+: \d+ events, \d+ lost \(([^)]*)\)/.exec(msg)?.[1];
    const lostByEvent = new Map<string, bigint>();
    for (const part of list === undefined ? [] : list.split(', ')) {
      const [name, n] = part.split(' ');
      if (name !== undefined && n !== undefined) lostByEvent.set(name, BigInt(n));
    }
    return {
      reason: String(o['reason']),
      events: Number(o['events']),
      lost: BigInt(String(o['lost'])),
      userFiltered: Number(o['userFiltered'] ?? 0),
      dropped: Number(o['dropped'] ?? 0),
      undecodable: Number(o['undecodable'] ?? 0),
      lostByEvent,
    };
  }
  return undefined;
}

/** The value of `name` (with its labels, exactly as exposed) in Prometheus text, or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return undefined;
}

/** Sum of a metric over all its label sets whose labels match `labelFilter`. */
export function metricSum(
  text: string,
  family: string,
  labelFilter: (labels: string) => boolean = () => true,
) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${family}{`)) continue;
    const close = line.indexOf('} ');
    if (close < 0) continue;
    if (labelFilter(line.slice(family.length + 1, close))) sum += Number(line.slice(close + 2));
  }
  return sum;
}

/** Per-event values of a labelled counter (`family{event_name="x"} N`). */
export function metricByEvent(text: string, family: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^${family}\\{event_name="([^"]+)"\\} (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m !== null) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

export interface RssSample {
  /** Seconds since the start of the run. */
  readonly t: number;
  readonly kib: number;
}

export interface RssVerdict {
  readonly maxMiB: number;
  readonly firstThirdMaxMiB: number;
  readonly lastThirdMaxMiB: number;
  readonly bounded: boolean;
  readonly why: string;
}

/**
 * RSS stayed bounded when its maximum is under `capMiB` and the maximum of the last third of the run is no
 * more than `growth` (0.2: +20 %) above the maximum of the first third. The thirds split the time from
 * `warmupUntil` (seconds) to the last sample: the samples before it (start-up, and the first stall until its
 * drain, the workload's peak) count for the cap only, so that both thirds see the same workload.
 */
export function judgeRss(
  samples: readonly RssSample[],
  capMiB: number,
  growth: number,
  warmupUntil = 0,
): RssVerdict {
  const judged = samples.filter((s) => s.t >= warmupUntil);
  if (judged.length < 3) {
    return {
      maxMiB: 0,
      firstThirdMaxMiB: 0,
      lastThirdMaxMiB: 0,
      bounded: false,
      why: `fewer than 3 samples after ${warmupUntil} s`,
    };
  }
  const start = judged[0]!.t;
  const end = judged[judged.length - 1]!.t;
  const third = (end - start) / 3;
  const mib = (k: number) => Math.round((k / 1024) * 10) / 10;
  const maxOf = (xs: readonly RssSample[]) => Math.max(...xs.map((s) => s.kib));
  const max = maxOf(samples);
  const firstMax = maxOf(judged.filter((s) => s.t <= start + third));
  const lastMax = maxOf(judged.filter((s) => s.t >= end - third));
  const problems: string[] = [];
  if (max >= capMiB * 1024) problems.push(`the maximum ${mib(max)} MiB reached the cap of ${capMiB} MiB`);
  if (lastMax > firstMax * (1 + growth))
    problems.push(
      `the last third's maximum ${mib(lastMax)} MiB is more than ${Math.round(growth * 100)} % above the first third's ${mib(firstMax)} MiB`,
    );
  return {
    maxMiB: mib(max),
    firstThirdMaxMiB: mib(firstMax),
    lastThirdMaxMiB: mib(lastMax),
    bounded: problems.length === 0,
    why: problems.join('; '),
  };
}

/**
 * The `lost_events` records in order: each one's total is the sum of its parts, and no per-event counter ever
 * goes down. Returns the problems found (none: []).
 */
export function checkLostRecords(
  records: readonly { total: bigint; lost: ReadonlyMap<string, bigint> }[],
): string[] {
  const problems: string[] = [];
  const last = new Map<string, bigint>();
  records.forEach((r, i) => {
    let sum = 0n;
    for (const v of r.lost.values()) sum += v;
    if (sum !== r.total)
      problems.push(`lost_events record ${i + 1}: lostTotal ${r.total}, its parts add up to ${sum}`);
    for (const [name, v] of r.lost) {
      const before = last.get(name) ?? 0n;
      if (v < before) problems.push(`lost_events record ${i + 1}: ${name} went down from ${before} to ${v}`);
      last.set(name, v);
    }
    for (const name of last.keys())
      if (!r.lost.has(name))
        problems.push(`lost_events record ${i + 1}: ${name} is missing (was ${last.get(name)})`);
  });
  return problems;
}

/** Two per-event maps as `a 1, b 2` (sorted), for messages and comparisons. */
export function showCounts(m: ReadonlyMap<string, bigint | number>): string {
  return [...m]
    .filter(([, v]) => Number(v) !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
