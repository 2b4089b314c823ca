/**
 * Reads tracer output files after a run: ktrail's JSON lines (count, `seq` completeness, `lost_events`
 * records) and bpftrace's lines ("Lost N events"). Streams the file in chunks, so a few GB are fine.
 */
import { closeSync, openSync, readSync } from 'node:fs';

function eachLine(path: string, onLine: (line: string) => void): void {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let rest = '';
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const text = rest + buf.toString('latin1', 0, n);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        onLine(text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    if (rest.length > 0) onLine(rest);
  } finally {
    closeSync(fd);
  }
}

export interface KtrailScan {
  /** Event lines (not lost_events records). */
  readonly events: number;
  /** Highest seq seen; seqs are 1..maxSeq when nothing was lost. */
  readonly maxSeq: number;
  /** Seqs in 1..maxSeq never seen (gaps): each must be reported as lost. */
  readonly missingSeqs: number;
  readonly duplicateSeqs: number;
  /** Largest distance a seq arrived behind the highest one seen before it (the reorder window used). */
  readonly maxReorder: number;
  /** lostTotal of the last lost_events record (0 without one). */
  readonly reportedLost: number;
  readonly lostRecords: number;
}

export function scanKtrailJson(path: string): KtrailScan {
  let seen = new Uint8Array(1 << 20);
  let events = 0;
  let maxSeq = 0;
  let dup = 0;
  let reorder = 0;
  let reportedLost = 0;
  let lostRecords = 0;
  eachLine(path, (line) => {
    if (line.includes('"eventName":"lost_events"')) {
      lostRecords++;
      const m = /"lostTotal":(\d+)/.exec(line);
      if (m) reportedLost = Number(m[1]);
      return;
    }
    const at = line.lastIndexOf('"seq":');
    if (at < 0) return;
    events++;
    const seq = Number.parseInt(line.slice(at + 6, at + 26), 10);
    if (!Number.isFinite(seq) || seq < 1) return;
    if (seq >= seen.length) {
      let size = seen.length;
      while (size <= seq) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(seen);
      seen = grown;
    }
    if (seen[seq]) dup++;
    seen[seq] = 1;
    if (seq < maxSeq) reorder = Math.max(reorder, maxSeq - seq);
    else maxSeq = seq;
  });
  let missing = 0;
  for (let s = 1; s <= maxSeq; s++) if (!seen[s]) missing++;
  return {
    events,
    maxSeq,
    missingSeqs: missing,
    duplicateSeqs: dup,
    maxReorder: reorder,
    reportedLost,
    lostRecords,
  };
}

export interface BpftraceScan {
  readonly events: number;
  readonly lost: number;
}

export function scanBpftrace(path: string): BpftraceScan {
  let events = 0;
  let lost = 0;
  eachLine(path, (line) => {
    if (line.startsWith('{')) events++;
    else {
      const m = /^Lost (\d+) events/.exec(line);
      if (m) lost += Number(m[1]);
    }
  });
  return { events, lost };
}
