/**
 * Edit distance for "did you mean" hints: one implementation for event names, flags, commands and value names.
 * Pure.
 */

/** Levenshtein distance (insert, delete, substitute each cost 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Up to `limit` candidates closest to `name` by edit distance, nearest first (ties by name), keeping only those
 * within `maxDistance` (default: a third of the longer length, at least 2), so unrelated names are not suggested.
 */
export function closestNames(
  candidates: Iterable<string>,
  name: string,
  limit = 3,
  maxDistance?: number,
): string[] {
  const scored: [string, number][] = [];
  for (const c of candidates) {
    const d = editDistance(name, c);
    const bound = maxDistance ?? Math.max(2, Math.floor(Math.max(name.length, c.length) / 3));
    if (d <= bound) scored.push([c, d]);
  }
  scored.sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return scored.slice(0, limit).map(([c]) => c);
}
