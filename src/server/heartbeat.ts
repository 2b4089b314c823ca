/**
 * ktrail's heartbeat: a round trip through the kernel that proves the tracer alive end to end. Every
 * interval the tracer calls kill(KT_HB_TAG << 16 | flags, 0); no process has such a pid, so the call does
 * nothing but fail with ESRCH, and the BPF sys_enter program, seeing it come from ktrail itself, emits a
 * header-only heartbeat_event record (bpf/ktrail.bpf.c kt_heartbeat). The record's kernel time says when the
 * call was made; its arrival in the pipeline (Pipeline onHeartbeat → receive) proves the program attached,
 * the ring writable, the poller thread delivering and the main thread processing batches.
 *
 * Healthy means: a heartbeat made within the last `staleAfterMs` has come back. Barriers use the same
 * records: `barrier(fn)` runs `fn` inside the pipeline at the first heartbeat made after the barrier was
 * asked for, which is the point where every record the kernel produced before it has been processed (the
 * BPF ring hands records over in reservation order). Policy reloads switch there (src/pipeline/reload.ts).
 *
 * Times are boot-clock nanoseconds (CLOCK_BOOTTIME, the clock of the records). Main thread only.
 */
import { kt_heartbeat } from '../abi/abi.gen.js';
import type { TraceEvent } from '../decode/event.js';

export interface HeartbeatOptions {
  /** The boot clock, ns. */
  readonly now: () => bigint;
  /** Turns a record's epoch timestamp back into boot ns (the pipeline's CLOCK_REALTIME - CLOCK_BOOTTIME). */
  readonly bootToEpochNs: bigint;
  /** Makes one heartbeat call (default: the kill described above). Throws only on an unexpected failure. */
  readonly send?: (numbered: boolean) => void;
  /** Between heartbeats, ms (default 1000). */
  readonly intervalMs?: number;
  /** Unhealthy once the newest heartbeat that came back was made longer ago than this, ms (default 3000). */
  readonly staleAfterMs?: number;
}

export interface Health {
  readonly ok: boolean;
  /** Why not, in words, when not ok. */
  readonly reason?: string;
}

export interface HeartbeatStats {
  readonly sent: number;
  readonly received: number;
  /** Boot ns of the newest heartbeat that came back (its kernel time), 0n before the first. */
  readonly lastMadeNs: bigint;
  /** Its round trip: kernel time to pipeline arrival, ns. */
  readonly lastRoundTripNs: bigint;
}

const PID_BASE = kt_heartbeat.KT_HB_TAG * 0x10000;

/** The heartbeat call: kill(KT_HB_TAG << 16 | flags, 0), which always fails with ESRCH. */
export function sendHeartbeat(numbered: boolean): void {
  try {
    process.kill(PID_BASE + (numbered ? kt_heartbeat.KT_HB_NUMBERED : 0), 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

interface Waiter {
  readonly after: bigint;
  readonly fn: () => void;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class Heartbeat {
  /** heartbeat_event is printed: heartbeats take a seq (set at start and by reloads). */
  numbered = false;
  readonly #o: HeartbeatOptions;
  readonly #send: (numbered: boolean) => void;
  readonly #startedNs: bigint;
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #received = 0;
  #lastMadeNs = 0n;
  #lastRoundTripNs = 0n;
  #waiters: Waiter[] = [];
  #stopped = false;
  /** The last failure of the heartbeat call itself, reported by health(). */
  #sendError: string | undefined;

  constructor(o: HeartbeatOptions) {
    this.#o = o;
    this.#send = o.send ?? sendHeartbeat;
    this.#startedNs = o.now();
  }

  /** Starts the periodic heartbeat (the first one at once). The timer does not keep the process alive. */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.beat();
    this.#timer = setInterval(() => this.beat(), this.#o.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Makes one heartbeat call now. */
  beat(): void {
    try {
      this.#send(this.numbered);
      this.#sent++;
      this.#sendError = undefined;
    } catch (e) {
      this.#sendError = e instanceof Error ? e.message : String(e);
    }
  }

  /** A heartbeat record arrived (Pipeline onHeartbeat); runs the barriers it completes, in order. */
  receive(ev: TraceEvent): void {
    const made = ev.timestamp - this.#o.bootToEpochNs;
    this.#received++;
    if (made > this.#lastMadeNs) {
      this.#lastMadeNs = made;
      this.#lastRoundTripNs = this.#o.now() - made;
    }
    if (this.#waiters.length === 0) return;
    const due = this.#waiters.filter((w) => made >= w.after);
    if (due.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => made < w.after);
    for (const w of due) {
      try {
        w.fn();
        w.resolve();
      } catch (e) {
        w.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /**
   * Runs `fn` inside the pipeline when the first heartbeat made from now on arrives, then resolves. Sends
   * one now; if it is lost (a full ring), the periodic ones that follow complete the barrier. Rejects when
   * the heartbeat stops first, or with what `fn` threw.
   */
  barrier(fn: () => void): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('the heartbeat is stopped'));
    const after = this.#o.now();
    const p = new Promise<void>((resolve, reject) => this.#waiters.push({ after, fn, resolve, reject }));
    this.beat();
    return p;
  }

  health(): Health {
    if (this.#stopped) return { ok: false, reason: 'ktrail is stopping' };
    const now = this.#o.now();
    const stale = BigInt(this.#o.staleAfterMs ?? 3000) * 1_000_000n;
    const secs = (ns: bigint) => (Number(ns / 1_000_000n) / 1000).toFixed(1);
    if (this.#lastMadeNs !== 0n && now - this.#lastMadeNs <= stale) return { ok: true };
    const cause = this.#sendError !== undefined ? `the heartbeat call failed: ${this.#sendError}` : undefined;
    if (this.#lastMadeNs === 0n) {
      if (now - this.#startedNs <= stale)
        return { ok: false, reason: cause ?? 'starting: no heartbeat back yet' };
      return {
        ok: false,
        reason: cause ?? `no heartbeat came back in ${secs(now - this.#startedNs)} s since start`,
      };
    }
    return {
      ok: false,
      reason:
        cause ??
        `the newest heartbeat that came back was made ${secs(now - this.#lastMadeNs)} s ago: the kernel ` +
          'program, the ring poller or the pipeline has stalled, or the ring is full',
    };
  }

  stats(): HeartbeatStats {
    return {
      sent: this.#sent,
      received: this.#received,
      lastMadeNs: this.#lastMadeNs,
      lastRoundTripNs: this.#lastRoundTripNs,
    };
  }

  /** Stops the timer and fails pending barriers. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(new Error('the heartbeat stopped before the barrier was reached'));
  }
}
