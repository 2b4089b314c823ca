/**
 * Tracee-compatible entity ids (COMPAT.md 2): murmur3-32 with seed 0x18273645 over 12 bytes, a big-endian u32
 * host id followed by a big-endian u64 start time (epoch ns floored to 100 ms). The hash reads its 4-byte blocks
 * little-endian, as murmur3 does on x86_64.
 */

const SEED = 0x18273645;
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** murmur3 x86 32-bit hash of `data` with `seed`. */
export function murmur3(data: Uint8Array, seed: number): number {
  let h = seed >>> 0;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const blocks = data.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    let k = dv.getUint32(i * 4, true);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = blocks * 4;
  const rest = data.length & 3;
  if (rest > 0) {
    // The last 1-3 bytes, folded in little-endian order.
    let k = 0;
    if (rest === 3) k ^= data[tail + 2]! << 16;
    if (rest >= 2) k ^= data[tail + 1]! << 8;
    k ^= data[tail]!;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const FLOOR_NS = 100_000_000n;
const scratch = new Uint8Array(12);
const scratchView = new DataView(scratch.buffer);

/** The entity id of a task: its host id and its start time in epoch ns. */
export function entityId(hostId: number, startTimeEpochNs: bigint): number {
  scratchView.setUint32(0, hostId >>> 0, false);
  scratchView.setBigUint64(4, startTimeEpochNs - (startTimeEpochNs % FLOOR_NS), false);
  return murmur3(scratch, SEED);
}
