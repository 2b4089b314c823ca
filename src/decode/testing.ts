/** Test support for the decoder: records framed as the native ring reader hands them over. */

/** The native batch format: each record prefixed by its u32 length (little-endian), in one Buffer. */
export function batch(recs: readonly Uint8Array[]): Buffer {
  const out = Buffer.alloc(recs.reduce((n, r) => n + 4 + r.length, 0));
  let off = 0;
  for (const r of recs) {
    out.writeUInt32LE(r.length, off);
    out.set(r, off + 4);
    off += 4 + r.length;
  }
  return out;
}
