/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * wire.h: every struct that crosses between the kernel and userspace.
 *
 * Userspace never copies these layouts by hand: scripts/gen-abi.ts reads the BTF of the built object and writes
 * src/abi/abi.gen.ts (struct sizes and offsets, enum values, map sizes), which every TypeScript module imports.
 * `npm run gen:check` fails when this file or maps.h changed and abi.gen.ts was not regenerated.
 * Constants userspace needs are enum members, not #defines, so that they reach the BTF (ktrail.bpf.c anchors
 * every ABI type with kt_abi_anchor).
 * All integers are little-endian host order; records are not padded between the header and the payload.
 */
#ifndef KTRAIL_WIRE_H
#define KTRAIL_WIRE_H

/* Sizes of the record and of the per-syscall configuration. */
enum kt_wire_limit {
	KT_COMM_LEN = 16,
	KT_UTS_LEN = 16,
	KT_MAX_ARGS = 6,
	KT_MAX_SYSCALLS = 512, /* x86_64 numbers are below this */
	KT_NO_LEN_ARG = 0xff,  /* syscall_cfg_t.len_arg: the argument has no length argument */
	KT_NO_ARG = 0xff,      /* kevent_cfg_t argument positions: none */
	KT_KEVENTS = 2,        /* kernel events one syscall can give (mprotect: security_file_mprotect, mem_prot_alert) */
};

/* Per-argument wire kinds (src/catalog/types.ts DecodeSpec.wire). */
enum arg_kind {
	ARG_NONE = 0,     /* not a field */
	ARG_REG = 1,      /* the raw register only */
	ARG_STR = 2,      /* user NUL-terminated string */
	ARG_STR_ARR = 3,  /* user NULL-terminated array of string pointers */
	ARG_SOCKADDR = 4, /* user struct sockaddr; length from len_arg when != 0xff */
	ARG_BUF = 5,      /* user bytes; count = value of argument len_arg, capped at max */
	ARG_STRUCT = 6,   /* fixed-size user struct of max bytes */
	ARG_INT_PTR = 7,  /* user int[max/4] behind a pointer (pipe fds) */
	ARG_STR_LIST = 8, /* NUL-separated strings as the kernel keeps a cmdline (lifecycle argv/env) */
	ARG_PATH_JOIN = 9, /* a path: the kernel's path of a directory, '/', then the caller's (unresolved) path;
			    * userspace cleans it up lexically ('.', '..', '//') */
};

/*
 * Kernel events: records the kernel resolves around a syscall (from the returned fd, the dirfd, the cwd, the
 * socket or the VMA), named and shaped as Tracee's LSM-hook events. Payload as a lifecycle record: one blob
 * per field in catalog order.
 */
enum kt_kevent {
	KT_KE_NONE = 0,
	KT_KE_FILE_OPEN = 1,      /* security_file_open at exit of a successful open family call: the new fd's file */
	KT_KE_INODE_UNLINK = 2,   /* security_inode_unlink at exit of a successful unlink, unlinkat, rmdir */
	KT_KE_INODE_RENAME = 3,   /* security_inode_rename at exit of a successful rename family call */
	KT_KE_SOCK_CONNECT = 4,   /* security_socket_connect at exit of connect on a socket */
	KT_KE_SOCK_BIND = 5,      /* security_socket_bind at exit of bind on a socket */
	KT_KE_SOCK_ACCEPT = 6,    /* security_socket_accept at exit of accept, accept4 on a socket */
	KT_KE_SOCK_LISTEN = 7,    /* security_socket_listen at exit of listen on a socket */
	KT_KE_SB_MOUNT = 8,       /* security_sb_mount at exit of a successful mount */
	KT_KE_SB_UMOUNT = 9,      /* security_sb_umount at exit of a successful umount2 */
	KT_KE_FILE_MPROTECT = 10, /* security_file_mprotect at entry of mprotect, pkey_mprotect (VMA before) */
	KT_KE_MEM_PROT_ALERT = 11, /* mem_prot_alert: at entry of mprotect, at exit of a W+X mmap */
	KT_KE_MAGIC_WRITE = 12,   /* magic_write at exit of a write that started at offset 0 of a regular file */
};

/* kevent_cfg_t: one kernel event a syscall gives, and where the syscall keeps what it needs. */
struct kevent_cfg_t {
	__u64 selected;  /* policies selecting the kernel event; 0 = off */
	__u64 filtered;  /* policies with in-kernel filters on it (filter_map {event_id, policy}) */
	__u32 event_id;  /* catalog id of the kernel event */
	__u8 kind;       /* enum kt_kevent */
	__u8 path_arg;   /* the argument holding the caller's path (KT_NO_ARG: none) */
	__u8 dirfd_arg;  /* the argument holding the dirfd that path is relative to (KT_NO_ARG: the cwd) */
	__u8 path2_arg;  /* the second path (rename's new path), KT_NO_ARG: none */
	__u8 dirfd2_arg; /* its dirfd (KT_NO_ARG: the cwd) */
	__u8 pad[7];
};

/*
 * syscall_cfg_t.ring_small: a record that can never outgrow KT_RING_SMALL payload bytes is reserved in the
 * ring and built there (no scratch copy) when the run takes that fast path (maps.h KT_SET_RING_RESERVE).
 */
enum kt_ring_small {
	KT_RS_NONE = 0,     /* built in the per-CPU scratch area, then copied */
	KT_RS_HDR = 1,      /* register arguments only: the header is the whole record */
	KT_RS_ONE_ARG = 2,  /* one pointer argument (STR, BUF, STRUCT or INT_PTR) whose blob always fits */
	KT_RING_SMALL = 128, /* payload bytes of a KT_RS_ONE_ARG reservation */
};

/* Per-syscall emission mode (SyscallFacts.emit). */
enum emit_mode {
	EMIT_EXIT = 0,       /* read pointer args at exit, emit at exit */
	EMIT_ENTRY_EXIT = 1, /* read pointer args at entry, emit at exit (execve) */
	EMIT_ENTRY = 2,      /* emit at entry only (exit, exit_group) */
};

/*
 * syscall_cfg_t: value of syscall_cfg_map[x86_64 nr], filled from the catalog at start-up.
 * The syscall is traced when `selected` or a kernel event's `selected` is not zero (kt_traced_bits says so
 * without a map lookup); otherwise it costs one load.
 */
struct syscall_cfg_t {
	__u64 selected;            /* bitmap of policies that select this event; 0 = not traced */
	__u64 filtered;            /* bitmap of policies with in-kernel filters on this event (filter_map) */
	__u64 scoped;              /* policies whose scope_map entry constrains anything (the same in every entry) */
	__u64 follow;              /* scoped policies with `follow` (the same in every entry) */
	__u32 event_id;            /* catalog id (== nr for syscalls) */
	__u8 emit;                 /* enum emit_mode */
	__u8 nargs;                /* fields before returnValue */
	__u8 kind[KT_MAX_ARGS];    /* enum arg_kind per argument register */
	__u8 len_arg[KT_MAX_ARGS]; /* for BUF/SOCKADDR: index of the length argument, KT_NO_LEN_ARG = none */
	__u16 max[KT_MAX_ARGS];    /* byte bound for STR/STR_ARR/BUF, size for STRUCT/INT_PTR */
	__u8 late_scope;           /* 1 = the syscall can change what scopes test (comm, uid, mntns): scope at exit */
	__u8 kev_entry;            /* 1 = its kernel events are built at entry (mprotect), none at exit */
	__u8 ring_small;           /* enum kt_ring_small: how a record can be built in place in the ring */
	__u8 ring_arg;             /* KT_RS_ONE_ARG: the argument whose blob follows the header */
	__u8 pad[4];
	struct kevent_cfg_t kev[KT_KEVENTS]; /* kernel events this syscall gives (kind KT_KE_NONE: unused) */
};

/*
 * ktrail's heartbeat: the tracer calls kill(KT_HB_TAG << 16 | flags, 0), a no-op (no pid is that large), and
 * sys_enter answers that call from ktrail's own process with a header-only record of event KT_HB_EVENT_ID
 * (Tracee's heartbeat_event), emitted at entry. Its arrival proves the program, the ring, the poller and the
 * pipeline alive. With KT_HB_NUMBERED the record takes a seq (heartbeat_event is printed), else it is internal.
 */
enum kt_heartbeat {
	KT_HB_NR = 62,          /* x86_64 kill */
	KT_HB_TAG = 0x4b54,     /* the pid argument's upper 16 bits ("KT") */
	KT_HB_NUMBERED = 0x1,   /* flag in the pid argument's lower 16 bits */
	KT_HB_EVENT_ID = 5005,  /* heartbeat_event */
};

/* event_hdr_t.flags bits. */
enum kt_hdr_flag {
	KT_F_COMPAT = 0x1,    /* 32-bit syscall (isCompat) */
	KT_F_AT_ENTRY = 0x2,  /* emitted at entry: no return value, no duration */
	KT_F_CONTAINER = 0x4, /* reserved: task runs in a started container */
	KT_F_INTERNAL = 0x8,  /* emitted only for ktrail's process tree: not selected, never printed */
	KT_F_NO_ENTRY = 0x10, /* sys_exit without its sys_enter (seccomp denial, ptrace skip, in flight at start):
			       * arguments from the registers at exit, no duration */
	KT_F_NEW_MNTNS = 0x20, /* sched_process_exec: the task's mount namespace is not its parent's (a runtime's
				* init handing over to a container's first program) */
};

/* Lifecycle slots: index of lifecycle_cfg_map (maps.h). */
enum lifecycle_slot {
	KT_LC_FORK = 0, /* sched_process_fork */
	KT_LC_EXEC = 1, /* sched_process_exec */
	KT_LC_EXIT = 2, /* sched_process_exit */
	KT_LC_CGROUP_MKDIR = 3, /* cgroup_mkdir */
	KT_LC_CGROUP_RMDIR = 4, /* cgroup_rmdir */
	KT_LC_COUNT = 5,
};

/*
 * lifecycle_cfg_t: value of lifecycle_cfg_map[slot]. A record is emitted when some policy of `selected` has a
 * scope matching the task (the user asked for the event; matched = those policies) or else when `internal`
 * != 0 (the process tree needs it; flagged KT_F_INTERNAL, never filtered). Internal-only records skip what the tree does not need (thread creation, non-last thread
 * exits, the exec stdin/pwd paths).
 */
struct lifecycle_cfg_t {
	__u64 selected;  /* bitmap of policies that select this event; 0 = not selected; scopes apply */
	__u64 scoped;    /* as syscall_cfg_t.scoped */
	__u64 follow;    /* as syscall_cfg_t.follow; fork reads it to pass follow marks on */
	__u32 event_id;  /* catalog id */
	__u32 internal;  /* 1 = emit for the process tree even when not selected */
};

/*
 * event_hdr_t: the first bytes of every event record.
 * Timestamps are from the boot clock (bpf_ktime_get_boot_ns), converted to epoch ns in userspace.
 */
struct event_hdr_t {
	__u64 ts;                 /* emission time, boot ns */
	__u64 seq;                /* per-run sequence number, from 1, taken before the reservation */
	__u64 duration_ns;        /* exit - entry on the same thread; 0 when emitted at entry */
	__u64 start_time;         /* thread start, boot ns (task->start_boottime) */
	__u64 cgroup_id;          /* bpf_get_current_cgroup_id() */
	__u64 matched;            /* bitmap of matching policies */
	__s64 retval;             /* syscall return value (-errno on failure); 0 at entry */
	__u64 args[KT_MAX_ARGS];  /* raw argument registers at entry */
	__u32 event_id;           /* catalog id */
	__u32 syscall_nr;         /* x86_64 number of the syscall in flight (or 0xffffffff) */
	__u32 cpu;
	__u32 host_pid;           /* tgid in the initial pid namespace */
	__u32 host_tid;
	__u32 host_ppid;          /* real_parent's tgid */
	__u32 pid;                /* the same in the task's own pid namespace */
	__u32 tid;
	__u32 ppid;
	__u32 uid;                /* effective uid, in the initial user namespace (cred->euid) */
	__u32 gid;                /* effective gid (cred->egid) */
	__u32 mnt_ns;             /* mount namespace inode number */
	__u32 pid_ns;             /* pid namespace inode number */
	__u32 flags;              /* KT_F_* */
	__u32 size;               /* whole record length in bytes, header included */
	__u32 policy_version;     /* reserved for policy reloads; 0 */
	char comm[KT_COMM_LEN];
	char uts[KT_UTS_LEN];     /* utsname nodename, truncated */
	__u64 leader_start_time;  /* the thread group leader's start, boot ns (processEntityId) */
	__u64 parent_start_time;  /* real_parent's group leader's start, boot ns (parentEntityId) */
};

/*
 * Payload of a syscall record: after the header, one blob for each argument whose kind is not
 * ARG_REG/ARG_NONE, in argument order. Payload of a lifecycle (non-syscall) record: one blob for EVERY field
 * in catalog order; an integer field is an ARG_REG blob of 8 bytes (u64 little-endian, sign-extended for
 * signed types). Header args[] are zero in lifecycle records. Each blob is a blob_hdr_t followed by `len` bytes:
 *   STR      bytes of the string without its NUL
 *   STR_ARR  u32 count, then for each string a u16 length and its bytes (no NUL)
 *   SOCKADDR the raw sockaddr bytes (family first)
 *   BUF, STRUCT, INT_PTR  the raw bytes
 *   REG      (lifecycle records only) the u64 value
 *   STR_LIST NUL-separated strings, each followed by its NUL (the last one's NUL may be missing when cut)
 */
struct blob_hdr_t {
	__u16 len;    /* payload bytes that follow */
	__u8 status;  /* enum blob_status */
	__u8 kind;    /* enum arg_kind, for sanity checks */
};

enum blob_status {
	BLOB_OK = 0,
	BLOB_NULL = 1,      /* the pointer was NULL */
	BLOB_FAULT = 2,     /* the read failed (bad or non-resident address); len is 0 */
	BLOB_TRUNCATED = 3, /* the value was longer than the bound; len bytes were kept */
};

/*
 * stats_t: value of the per-CPU stats_map[event_id]; userspace sums the CPUs.
 */
struct stats_t {
	__u64 submitted; /* records committed to the ring buffer */
	__u64 lost;      /* reservations that failed (ring full) */
	__u64 read_errors; /* user-memory reads that failed (BLOB_FAULT) */
	__u64 filtered;  /* dropped by in-kernel scopes and filters (no policy could match) */
};

#endif /* KTRAIL_WIRE_H */
