/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * maps.h: every map of ktrail.bpf.c, one purpose line each, plus the kernel-only structs they hold and the
 * run-wide settings (read-only data). Userspace (src/capture/session.ts) writes the settings before load and
 * fills the configuration maps after load and before attach. Enum members reach src/abi/abi.gen.ts (wire.h).
 */
#ifndef KTRAIL_MAPS_H
#define KTRAIL_MAPS_H

#include "wire.h"

enum kt_map_limit {
	KT_MAX_EVENT_IDS = 1024, /* stats_map entries: event ids stay below this */
	KT_MAX_THREADS = 16384,  /* threads that can be inside a traced syscall at once */
	KT_MAX_PENDING = 1024,   /* threads inside an EMIT_ENTRY_EXIT syscall (execve) at once */
	/* Per-kind byte bounds the kernel enforces whatever the configuration says. */
	KT_STR_MAX = 4096,       /* STR and STR_ARR (whole array) */
	KT_STR_ARR_PTRS = 32,    /* STR_ARR: pointers read at most */
	KT_SOCKADDR_MAX = 128,
	KT_BUF_MAX = 256,        /* BUF, STRUCT, INT_PTR */
};

/* One blob can take its header, a u32 count and KT_STR_MAX bytes plus the NUL a string read leaves. */
#define KT_BLOB_SPAN (sizeof(struct blob_hdr_t) + 4 + KT_STR_MAX + 8)
/* The payload area holds KT_MAX_ARGS worst-case blobs, so no bound check can fail for lack of room. */
#define KT_PAYLOAD_MAX (KT_MAX_ARGS * KT_BLOB_SPAN)
/*
 * The scratch payload area adds one more string of slack: the verifier bounds a write's start and its size
 * separately, so the area must hold the largest start plus the largest size. The slack is never emitted.
 */
#define KT_SCRATCH_PAYLOAD (KT_PAYLOAD_MAX + KT_STR_MAX + 16)

/* Kernel records (lifecycle and kernel events, built in kscratch_t): bounds of what they carry. */
#define KT_PATH_MAX 4096        /* a path rebuilt from dentries (pathname, stdin_path, pwd) */
#define KT_PATH_WALK 48         /* walk steps (components + mount crossings); deeper paths keep the last ones */
#define KT_PATH_DENTS 64        /* KT_PATH_WALK rounded up to a power of two (dentry slots) */
#define KT_CMDLINE_MAX 4096     /* argv: bytes of mm->arg_start..arg_end kept (NUL-separated) */
#define KT_MAGIC_BYTES 32       /* magic_write: bytes kept from the start of the write */
/* Worst record: six 4 KiB strings plus the fixed-size blobs of 24 fields (the exec record has 18). */
#define KT_KS_PAYLOAD_MAX (6 * KT_BLOB_SPAN + 24 * (sizeof(struct blob_hdr_t) + 8))

/*
 * kt_settings_t: the run's settings, the whole of the .rodata.settings section (kt_settings in ktrail.bpf.c).
 * Userspace writes them before load and they never change, so the verifier sees them as constants.
 */
struct kt_settings_t {
	__u64 wakeup_fill;  /* force a consumer wakeup once this many bytes wait in events_map */
	__u64 start_ns;     /* ktrail's start, boot ns: `pid=new` means thread start >= this */
	__u32 self_tgid;    /* ktrail's own process: never traced */
	__u32 flags;        /* enum kt_setting_flag: the fast paths this run takes */
};

/*
 * kt_settings_t.flags: each bit selects a fast path over the slower one the object keeps as its fallback.
 * Userspace sets them from the feature probes (src/capture/features.ts); benchmarks clear one at a time to
 * measure what it buys. Being read-only data, the verifier drops the path not taken.
 */
enum kt_setting_flag {
	KT_SET_TASK_STORAGE = 0x1, /* pair entry and exit in task_entry_storage (else the task_entry_map LRU hash) */
	KT_SET_DIRECT_TASK = 0x2,  /* tp_btf programs read the task's fields with direct loads (else probe reads) */
	KT_SET_WAKE_CROSSING = 0x4, /* wake the consumer when the fill crosses wakeup_fill (else on every record
				     * past it) */
	KT_SET_RING_RESERVE = 0x8, /* build small syscall records in place in the ring (else in scratch_map, then
				    * bpf_ringbuf_output) */
	KT_SET_STR_ONCE = 0x10,    /* a path both the syscall record and security_file_open carry is read from
				    * the caller once (else once for each) */
};

/* kt_settings: the run's settings; `const volatile` so that userspace can set them before load only. */
const volatile struct kt_settings_t kt_settings SEC(".rodata.settings") = {};

/*
 * kt_traced: bit nr of `bits` set when x86_64 syscall nr is traced (syscall_cfg_t selects it or one of its
 * kernel events); bit id of `raw` set when the syscall id a tracepoint sees may be traced: a traced x86_64
 * number, or an i386 number whose x86_64 equivalent is traced. Writable data userspace updates with the
 * configuration, read with plain loads: `raw` is the first test at sys_enter and sys_exit, so an untraced
 * syscall costs neither a map lookup nor a look at the task.
 */
struct kt_traced_t {
	__u64 bits[KT_MAX_SYSCALLS / 64];
	__u64 raw[KT_MAX_SYSCALLS / 64];
};
struct kt_traced_t kt_traced SEC(".data.traced") = {};

static __always_inline bool kt_is_traced(__u32 nr)
{
	if (nr >= KT_MAX_SYSCALLS)
		return false;
	return (kt_traced.bits[(nr / 64) & (KT_MAX_SYSCALLS / 64 - 1)] >> (nr % 64)) & 1;
}

/* False when the raw syscall id `id` (native or compat numbering, as the tracepoint gives it) is untraced. */
static __always_inline bool kt_maybe_traced(long id)
{
	if ((unsigned long)id >= KT_MAX_SYSCALLS)
		return false;
	return (kt_traced.raw[((__u32)id / 64) & (KT_MAX_SYSCALLS / 64 - 1)] >> ((__u32)id % 64)) & 1;
}

enum kt_policy_limit {
	KT_MAX_POLICIES = 64,    /* one bit per policy in every bitmap */
	KT_SCOPE_COMMS = 8,      /* comm names per policy scope */
	KT_FILTER_STR_MAX = 64,  /* bytes of a string match */
	KT_FILTER_CMPS = 3,      /* numeric compares per (event, policy): 2 on arguments + 1 on the return value */
	KT_FOLLOW_DEPTH = 16,    /* ancestors walked for `follow` marks before giving up (and matching) */
	KT_MAX_FOLLOW = 65536,   /* processes holding follow marks at once */
	KT_MAX_SCOPE_NS = 1024,  /* (policy, namespace) pairs in scope_ns_map */
	KT_MAX_FILTERS = 4096,   /* (event, policy) pairs in filter_map */
	KT_KFILTER_FIELDS = 16,  /* fields of a kernel event an in-kernel filter can test */
};

/* scope_t flags: which constraints of a policy's scope the kernel checks (all must hold). */
enum kt_scope_flag {
	KT_SC_UID = 0x1,      /* uid_min <= euid <= uid_max */
	KT_SC_PID = 0x2,      /* pid_min <= host tgid <= pid_max */
	KT_SC_COMM = 0x4,     /* comm is one of comm[0..ncomm) */
	KT_SC_MNTNS = 0x8,    /* (policy, 0, mnt ns inode) is in scope_ns_map */
	KT_SC_PIDNS = 0x10,   /* (policy, 1, pid ns inode) is in scope_ns_map */
	KT_SC_NEW_PID = 0x20, /* thread start >= kt_settings_t.start_ns */
	KT_SC_FOLLOW = 0x40,  /* descendants of a matching process match too (follow_map) */
	KT_SC_NEVER = 0x80,   /* an empty range: no process matches */
};

/* scope_t: value of scope_map[policy]; the policy's scope as the kernel checks it (a relaxation). */
struct scope_t {
	__u64 uid_min, uid_max;
	__u64 pid_min, pid_max;
	char comm[KT_SCOPE_COMMS][KT_COMM_LEN]; /* NUL-padded names */
	__u32 flags;                            /* KT_SC_* */
	__u32 ncomm;
};

/* scope_ns_key_t: key of scope_ns_map; kind 0 = mount namespace, 1 = pid namespace. */
struct scope_ns_key_t {
	__u32 policy;
	__u32 kind;
	__u64 ns;
};

/* filter_key_t: key of filter_map. */
struct filter_key_t {
	__u32 event_id;
	__u32 policy;
};

/* Operators of filter_cmp_t and narrowing types (how an argument register is read, src/decode narrowRegister). */
enum kt_cmp_op { KT_OP_EQ = 0, KT_OP_NE = 1, KT_OP_LT = 2, KT_OP_GT = 3, KT_OP_LE = 4, KT_OP_GE = 5, KT_OP_NEVER = 6 };
enum kt_cmp_type {
	KT_T_U64 = 0, KT_T_S64 = 1, KT_T_U32 = 2, KT_T_S32 = 3, KT_T_U16 = 4, KT_T_U8 = 5, KT_T_BOOL = 6,
};
enum kt_cmp_target {
	KT_CMP_RETVAL = 0xff, /* filter_cmp_t.target: the return value (never holds for records emitted at entry) */
};

/* filter_cmp_t: one numeric compare; signed types compare as s64, the others as u64. */
struct filter_cmp_t {
	__u64 value;
	__u8 target; /* argument register index, or KT_CMP_RETVAL */
	__u8 type;   /* enum kt_cmp_type */
	__u8 op;     /* enum kt_cmp_op */
	__u8 pad[5];
};

/* filter_t.flags bits and string match kinds. */
enum kt_filter_flag {
	KT_FL_STR = 0x1,  /* the string match is on */
	KT_FL_CMP0 = 0x2, /* compare 0 is on; compare i is KT_FL_CMP0 << i (KT_FL_CMP) */
};
#define KT_FL_CMP(i) (KT_FL_CMP0 << (i))
enum kt_str_kind {
	KT_STR_EXACT = 0,
	KT_STR_PREFIX = 1,
};

/* filter_t: value of filter_map[{event, policy}]; every enabled part must hold for the policy to stay. */
struct filter_t {
	__u8 flags;    /* KT_FL_* */
	__u8 str_arg;  /* argument index of the ARG_STR field */
	__u8 str_kind; /* KT_STR_EXACT or KT_STR_PREFIX */
	__u8 str_len;  /* bytes of str used, <= KT_FILTER_STR_MAX */
	__u32 pad;
	__u8 str[KT_FILTER_STR_MAX];
	struct filter_cmp_t cmp[KT_FILTER_CMPS];
};

/* entry_t: what sys_enter leaves for sys_exit on the same thread. */
struct entry_t {
	__u64 ts;                /* entry time, boot ns */
	__u64 args[KT_MAX_ARGS]; /* raw argument registers */
	__u32 nr;                /* x86_64 number (translated for compat tasks); KT_NR_NONE once taken */
	__u32 flags;             /* KT_F_COMPAT */
	__u32 payload_len;       /* EMIT_ENTRY_EXIT: bytes saved in pending_map */
	__u32 tid;               /* the thread's id at entry: pending_map's key (an exec from a thread ends
				  * with the leader's id) */
	__u64 matched;           /* policies still matching after the entry's scope checks */
	__u64 str_src;           /* at exit only: the kernel copy of the path argument the syscall record read
				  * (KT_SET_STR_ONCE), which security_file_open copies instead of reading the
				  * caller's memory again; 0 = none */
};

/* entry_t.nr of a task_entry_storage slot whose entry was taken by its exit (or never written). */
#define KT_NR_NONE 0xffffffff

/* entry_t.flags bits (kernel only, above the KT_F_* header flags). */
#define KT_E_LATE_SCOPE 0x10000 /* the scopes run at exit (late_scope) */
#define KT_E_MAGIC 0x20000      /* the write starts at offset 0 of a regular file: magic_write at exit */

/* scratch_t: per-CPU area where one record is built, header first, payload right after it. */
struct scratch_t {
	struct event_hdr_t hdr;
	__u8 payload[KT_SCRATCH_PAYLOAD];
};

/* kt_small_rec_t: a KT_RS_ONE_ARG syscall record reserved in the ring (wire.h enum kt_ring_small). */
struct kt_small_rec_t {
	struct event_hdr_t hdr;
	__u8 payload[KT_RING_SMALL];
};

/* pending_t: payload read at entry for EMIT_ENTRY_EXIT syscalls, emitted at exit. */
struct pending_t {
	__u8 payload[KT_SCRATCH_PAYLOAD];
};

/*
 * kscratch_t: per-CPU area where one kernel record (lifecycle or kernel event) is built, separate from the
 * syscall scratch: sys_exit builds the syscall record there and then kernel events here.
 */
struct kscratch_t {
	struct event_hdr_t hdr;
	/* Slack: a path write is bounded by its start (up to one path in) plus its size (up to one path). */
	__u8 payload[KT_KS_PAYLOAD_MAX + 2 * KT_PATH_MAX + 16];
	__u64 dents[KT_PATH_DENTS]; /* path walk: one dentry per step, leaf first; 0 = mount crossing */
};

/* syscall_cfg_map: what to do for each x86_64 syscall number; selected == 0 means untraced. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KT_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct syscall_cfg_t);
} syscall_cfg_map SEC(".maps");

/* compat_nr_map: i386 syscall number -> x86_64 number + 1 (0 = no x86_64 equivalent, untraced). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KT_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u32);
} compat_nr_map SEC(".maps");

/* seq_map: the run's sequence counter; the next record takes value + 1. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seq_map SEC(".maps");

/* stats_map: per-CPU counters per event id (struct stats_t); userspace sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KT_MAX_EVENT_IDS);
	__type(key, __u32);
	__type(value, struct stats_t);
} stats_map SEC(".maps");

/*
 * task_entry_storage: per task, the traced syscall it is inside (KT_SET_TASK_STORAGE). Freed with the task;
 * an entry its exit never took is overwritten by the next traced entry, and an exit takes only an entry of
 * its own syscall number. On a kernel without task storage, userspace turns it into a one-entry hash that
 * nothing uses.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct entry_t);
} task_entry_storage SEC(".maps");

/*
 * task_entry_map: tid -> the traced syscall it is inside, when task storage is not used (LRU so a lost exit
 * cannot leak entries); shrunk to one entry by userspace otherwise.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KT_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct entry_t);
} task_entry_map SEC(".maps");

/* pending_map: tid -> payload read at entry (execve), allocated on demand. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_PENDING);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pending_t);
} pending_map SEC(".maps");

/* scratch_map: one record under construction per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_t);
} scratch_map SEC(".maps");

/* lifecycle_cfg_map: per enum lifecycle_slot, whether and for whom sched_process_* records are emitted. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KT_LC_COUNT);
	__type(key, __u32);
	__type(value, struct lifecycle_cfg_t);
} lifecycle_cfg_map SEC(".maps");

/*
 * kscratch_map: one kernel record under construction per CPU, indexed by CPU number. A plain array because
 * a worst record is larger than a per-CPU value may be (32 KiB); userspace sets max_entries to the number
 * of possible CPUs before load.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kscratch_t);
} kscratch_map SEC(".maps");

/* scope_map: per policy index, its scope (struct scope_t); read only for policies in the cfg's `scoped`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KT_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct scope_t);
} scope_map SEC(".maps");

/* scope_ns_map: the mntns/pidns sets of the scopes (present = in the set). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_SCOPE_NS);
	__type(key, struct scope_ns_key_t);
	__type(value, __u8);
} scope_ns_map SEC(".maps");

/* filter_map: per (event id, policy), the argument and return-value filters run in the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_FILTERS);
	__type(key, struct filter_key_t);
	__type(value, struct filter_t);
} filter_map SEC(".maps");

/*
 * follow_map: host tgid -> bitmap of follow policies whose scope this process or an ancestor matched since
 * ktrail started; set at sys_enter, exec and fork (the parent), inherited at fork, deleted at group exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_FOLLOW);
	__type(key, __u32);
	__type(value, __u64);
} follow_map SEC(".maps");

/* events_map: the ring buffer every record goes through; size set by userspace before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events_map SEC(".maps");

#endif /* KTRAIL_MAPS_H */
