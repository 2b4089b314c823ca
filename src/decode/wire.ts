/**
 * The userspace mirror of bpf/include/wire.h: offsets of `struct event_hdr_t` and the blob header.
 * test/e2e/wire-layout.test.ts compares these numbers with the BTF of the built object, so a change to the C
 * header that is not made here too fails a test.
 */

export const HDR = {
  ts: 0,
  seq: 8,
  durationNs: 16,
  startTime: 24,
  cgroupId: 32,
  matched: 40,
  retval: 48,
  args: 56,
  eventId: 104,
  syscallNr: 108,
  cpu: 112,
  hostPid: 116,
  hostTid: 120,
  hostPpid: 124,
  pid: 128,
  tid: 132,
  ppid: 136,
  uid: 140,
  gid: 144,
  mntNs: 148,
  pidNs: 152,
  flags: 156,
  size: 160,
  policyVersion: 164,
  comm: 168,
  uts: 184,
  leaderStartTime: 200,
  parentStartTime: 208,
  /** sizeof(struct event_hdr_t) */
  SIZE: 216,
} as const;

export const COMM_LEN = 16;
export const UTS_LEN = 16;
export const MAX_ARGS = 6;

/** sizeof(struct blob_hdr_t): u16 len, u8 status, u8 kind. */
export const BLOB_HDR_SIZE = 4;

/** enum arg_kind */
export const ArgKind = {
  NONE: 0,
  REG: 1,
  STR: 2,
  STR_ARR: 3,
  SOCKADDR: 4,
  BUF: 5,
  STRUCT: 6,
  INT_PTR: 7,
  /** NUL-separated strings (lifecycle argv/env, the kernel's cmdline layout). */
  STR_LIST: 8,
} as const;

/** enum blob_status */
export const BlobStatus = {
  OK: 0,
  NULL: 1,
  FAULT: 2,
  TRUNCATED: 3,
} as const;

/** Header flags (KT_F_*). */
export const HdrFlag = {
  COMPAT: 0x1,
  AT_ENTRY: 0x2,
  CONTAINER: 0x4,
  /** Emitted only for ktrail's process tree (the user did not select the event): never printed. */
  INTERNAL: 0x8,
} as const;

/** enum lifecycle_slot: index of lifecycle_cfg_map, by catalog event id. */
export const LifecycleSlot = { 714: 0, 715: 1, 716: 2 } as const;
