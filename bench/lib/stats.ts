/** Summaries of repeated measurements: median with min and max, never a mean (the VM is noisy). */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, samples: [] };
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, samples: [...samples] };
}

/** `123 (110-140)` with `digits` decimals. */
export function fmtSummary(x: Summary | undefined, digits = 0, unit = ''): string {
  if (x === undefined || !Number.isFinite(x.median)) return 'n/a';
  const f = (v: number) => fmtNum(v, digits);
  return `${f(x.median)}${unit} (${f(x.min)}-${f(x.max)})`;
}

export function fmtNum(v: number, digits = 0): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtRatio(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a';
}
