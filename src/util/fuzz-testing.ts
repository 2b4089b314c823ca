/**
 * Test support for the property-based fuzz tests (`*.fuzz.test.ts`). Not used by production code.
 *
 * Runs are deterministic: a fixed seed and a modest number of runs keep `npm test` fast. For a longer hunt,
 * set KTRAIL_FUZZ_RUNS (runs per property, e.g. 100000) and optionally KTRAIL_FUZZ_SEED; a failure prints the
 * seed and the shrunk counterexample, which then becomes a regression unit test.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KtrailError } from '../errors.js';

export const FUZZ_SEED = 0x6b747261; // "ktra"

/** Each input must finish within this bound (generous: the inputs are capped at a few KiB). */
export const PER_INPUT_MS = 2000;

/** The heap may not grow past this while fuzzing (a leak or an expansion bomb would). */
const HEAP_LIMIT_BYTES = 1024 * 1024 * 1024;

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not '${v}'`);
  return n;
}

/** fast-check parameters: the fixed seed (or KTRAIL_FUZZ_SEED) and `runs` (or KTRAIL_FUZZ_RUNS). */
export function fuzzParams(runs: number): { seed: number; numRuns: number } {
  return { seed: envInt('KTRAIL_FUZZ_SEED') ?? FUZZ_SEED, numRuns: envInt('KTRAIL_FUZZ_RUNS') ?? runs };
}

/**
 * Runs `fn` on one input and checks the contract every fuzz property shares: it finishes within
 * PER_INPUT_MS, the heap stays bounded, and anything it throws passes `allowed` (the module's documented
 * error types). Returns what `fn` returned, or undefined when it threw an allowed error.
 */
export function within<T>(fn: () => T, allowed: (e: unknown) => boolean): T | undefined {
  const t0 = performance.now();
  let out: T | undefined;
  try {
    out = fn();
  } catch (e) {
    if (!allowed(e)) throw e;
  }
  const ms = performance.now() - t0;
  assert.ok(ms < PER_INPUT_MS, `one input took ${ms.toFixed(0)} ms (bound ${PER_INPUT_MS} ms)`);
  const heap = process.memoryUsage().heapUsed;
  assert.ok(heap < HEAP_LIMIT_BYTES, `heap grew to ${heap} bytes`);
  return out;
}

/** Async form of `within`. */
export async function withinAsync<T>(
  fn: () => Promise<T>,
  allowed: (e: unknown) => boolean,
): Promise<T | undefined> {
  const t0 = performance.now();
  let out: T | undefined;
  try {
    out = await fn();
  } catch (e) {
    if (!allowed(e)) throw e;
  }
  const ms = performance.now() - t0;
  assert.ok(ms < PER_INPUT_MS, `one input took ${ms.toFixed(0)} ms (bound ${PER_INPUT_MS} ms)`);
  return out;
}

/** Random edits of a text: insertions, deletions and replacements of a few characters drawn from `alphabet`. */
export function mutatedText(
  base: fc.Arbitrary<string>,
  alphabet: fc.Arbitrary<string>,
): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat(),
    del: fc.nat({ max: 4 }),
    ins: fc.string({ unit: alphabet, maxLength: 4 }),
  });
  return fc.tuple(base, fc.array(edit, { maxLength: 6 })).map(([text, edits]) => {
    let t = text;
    for (const e of edits) {
      const at = t.length === 0 ? 0 : e.at % (t.length + 1);
      t = t.slice(0, at) + e.ins + t.slice(at + e.del);
    }
    return t;
  });
}

/** Random edits of bytes: flips, overwrites, truncation and insertions. */
export function mutatedBytes(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 1, max: 255 }) }),
    fc.record({
      kind: fc.constant('word' as const),
      at: fc.nat(),
      byte: fc.constantFrom(0, 0xff, 0x7f, 0x80),
    }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), byte: fc.constant(0) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 8 }).map((edits) => {
    let b = new Uint8Array(base);
    for (const e of edits) {
      if (b.length === 0) break;
      const at = e.at % b.length;
      if (e.kind === 'set') b[at] = e.byte;
      else if (e.kind === 'flip') b[at] = (b[at] ?? 0) ^ e.byte;
      else if (e.kind === 'word') b.fill(e.byte, at - (at % 4), Math.min(b.length, at - (at % 4) + 4));
      else b = b.slice(0, at);
    }
    return b;
  });
}

/**
 * True for what a user-input parser may throw: a KtrailError with exit status 2 whose message reads as words
 * (no 'undefined', no '[object Object]').
 */
export function isInputError(e: unknown): boolean {
  return (
    e instanceof KtrailError &&
    e.exitCode === 2 &&
    e.message !== '' &&
    !/\bundefined\b|\[object Object\]/.test(e.message) &&
    !/\bundefined\b|\[object Object\]/.test(e.hint ?? '')
  );
}
