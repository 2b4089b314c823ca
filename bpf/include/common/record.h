/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * record.h: building blocks of kernel records (lifecycle and kernel events), built in a kscratch_t. Every
 * field of such a record is one blob (wire.h): integers as 8-byte ARG_REG blobs, strings as ARG_STR, argv as
 * ARG_STR_LIST, paths as ARG_STR (resolved by the kernel) or ARG_PATH_JOIN (a resolved directory plus the
 * caller's path). Paths are rebuilt from the dentry chain: bpf_d_path is not allowed in tracepoint programs.
 * Every writer takes the current payload offset and returns the next one; the offset is checked against
 * KT_KS_PAYLOAD_MAX so the verifier sees each write in bounds. The worst record fits, so no blob is ever
 * skipped for lack of room.
 */
#ifndef KTRAIL_COMMON_RECORD_H
#define KTRAIL_COMMON_RECORD_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "wire.h"
#include "maps.h"
#include "common/task.h"

#define KT_PF_KTHREAD 0x00200000 /* task->flags: kernel thread */
#define KT_S_IFMT 00170000
#define KT_S_IFREG 0100000
#define KT_S_IFSOCK 0140000
#define KT_PIPEFS_MAGIC 0x50495045
#define KT_SOCKFS_MAGIC 0x534F434B
#define KT_ANON_INODE_FS_MAGIC 0x09041934
#define KT_SPECIAL_MAX 64        /* bytes of a pseudo file's name (pipe:[ino], anon_inode:[eventpoll], memfd:NAME) */

/* Walk results (kt_ks_walk): the step count in the low 16 bits, then these. */
#define KT_WALK_ROOT 0x10000     /* the root of the mount tree was reached within KT_PATH_WALK steps */
#define KT_WALK_DETACHED 0x20000 /* it ended at a dentry that is its own parent below a mount's root: a pseudo or
				  * disconnected file (memfd, pipe, socket, anon inode); dents[steps-1] holds it */

/* The kernel record scratch area of this CPU (programs do not migrate while they run). */
static __always_inline struct kscratch_t *kt_kscratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&kscratch_map, &cpu);
}

/* Append an ARG_REG blob holding `v`. */
static __always_inline __u32 kt_ks_put_u64(struct kscratch_t *s, __u32 off, __u64 v)
{
	if (off > KT_KS_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	bh->len = 8;
	bh->status = BLOB_OK;
	bh->kind = ARG_REG;
	__builtin_memcpy(s->payload + off + sizeof(*bh), &v, sizeof(v));
	return off + sizeof(*bh) + 8;
}

/* Append an empty blob of `kind` (a field this hook cannot fill, or not wanted for this record). */
static __always_inline __u32 kt_ks_put_empty(struct kscratch_t *s, __u32 off, __u8 kind, __u8 status)
{
	if (off > KT_KS_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	bh->len = 0;
	bh->status = status;
	bh->kind = kind;
	return off + sizeof(*bh);
}

/* Count a failed read of the caller's memory for the record being built (its header's event id). */
static __always_inline void kt_ks_read_error(struct kscratch_t *s)
{
	__u32 id = s->hdr.event_id;
	struct stats_t *st = bpf_map_lookup_elem(&stats_map, &id);
	if (st)
		st->read_errors++;
}

/*
 * Append a string (at most KT_STR_MAX bytes) as an ARG_STR blob: kernel memory when `user` is 0, the caller's
 * memory otherwise (a failed user read is counted). A global function: verified once.
 */
__noinline int kt_ks_put_str(struct kscratch_t *s, __u32 off, __u64 src, __u32 user)
{
	__u8 status = BLOB_OK;
	__u32 len = 0;

	if (!s || off > KT_KS_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	__u8 *data = s->payload + off + sizeof(*bh);
	if (!src) {
		status = BLOB_NULL;
	} else {
		long n = user ? bpf_probe_read_user_str(data, KT_STR_MAX + 2, (const void *)src)
			      : bpf_probe_read_kernel_str(data, KT_STR_MAX + 2, (const void *)src);
		if (n <= 0) {
			status = BLOB_FAULT;
			if (user)
				kt_ks_read_error(s);
		} else {
			len = n - 1;
			if (len > KT_STR_MAX) {
				len = KT_STR_MAX;
				status = BLOB_TRUNCATED;
			}
		}
	}
	bh->len = len;
	bh->status = status;
	bh->kind = ARG_STR;
	return off + sizeof(*bh) + len;
}

/* kt_ks_put_bytes `how`: the caller's memory (else kernel memory); the blob kind in bits 8..15. */
#define KT_BYTES_USER 0x1
#define KT_BYTES_KIND(k) ((k) << 8)

/* Append `len` bytes (at most KT_SOCKADDR_MAX) as a blob, read as `how` says. A global function. */
__noinline int kt_ks_put_bytes(struct kscratch_t *s, __u32 off, __u64 src, __u32 len, __u32 how)
{
	__u8 status = BLOB_OK;
	bool user = how & KT_BYTES_USER;
	__u8 kind = how >> 8;

	if (!s || off > KT_KS_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	__u8 *data = s->payload + off + sizeof(*bh);
	if (len > KT_SOCKADDR_MAX) {
		len = KT_SOCKADDR_MAX;
		status = BLOB_TRUNCATED;
	}
	if (!src) {
		status = BLOB_NULL;
		len = 0;
	} else if (len > 0) {
		long r = user ? bpf_probe_read_user(data, len, (const void *)src)
			      : bpf_probe_read_kernel(data, len, (const void *)src);
		if (r < 0) {
			status = BLOB_FAULT;
			len = 0;
			if (user)
				kt_ks_read_error(s);
		}
	}
	bh->len = len;
	bh->status = status;
	bh->kind = kind;
	return off + sizeof(*bh) + len;
}

/*
 * Walk from (dentry, vfsmount) up to the root of the mount tree, crossing mounts, and record the dentry of
 * each step in s->dents[step] (0 for a mount crossing), leaf first. Returns the number of steps with the
 * KT_WALK_* bits. The walk ignores the task's chroot: the path is the one from the root of the mount
 * namespace. Indexing by step, not by component count, keeps the verifier's states equal from one iteration
 * to the next so the loop is checked quickly.
 */
static __always_inline int kt_ks_walk(struct kscratch_t *s, __u64 dentry, __u64 vfsmnt)
{
	if (!s || !dentry || !vfsmnt)
		return KT_WALK_ROOT;
	struct dentry *d = (struct dentry *)dentry;
	struct mount *mnt = (struct mount *)(vfsmnt - bpf_core_field_offset(struct mount, mnt));
	bool detached = false;
	for (int i = 0; i < KT_PATH_WALK; i++) {
		struct dentry *root = BPF_CORE_READ(mnt, mnt.mnt_root);
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		if (d == root && !detached) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
			if (!up || up == mnt) {
				/* The top of a mount tree. A mount that is not its namespace's root was detached
				 * (umount -l of a bind mount, as runc does with its own binary): go on up the
				 * dentries of its file system, so the path names the file, not "/". */
				struct mnt_namespace *ns = BPF_CORE_READ(mnt, mnt_ns);
				if ((ns && BPF_CORE_READ(ns, root) == mnt) || d == parent)
					return i | KT_WALK_ROOT;
				detached = true;
				s->dents[i] = (__u64)d;
				d = parent;
				continue;
			}
			s->dents[i] = 0;
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			continue;
		}
		if (!parent || d == parent) { /* a pseudo file, or the top of a disconnected tree */
			if (detached) /* the root of a detached mount's file system: the path is complete */
				return i | KT_WALK_ROOT;
			s->dents[i] = (__u64)d;
			return (i + 1) | KT_WALK_ROOT | KT_WALK_DETACHED;
		}
		s->dents[i] = (__u64)d;
		d = parent;
	}
	return KT_PATH_WALK;
}

/* State of one path copy, shared with the bpf_loop callback below. */
struct kt_path_ctx {
	__u32 base;   /* where the path's bytes start in the scratch payload */
	__u32 steps;  /* dentry slots filled by kt_ks_walk */
	__u32 skip;   /* slots at the top already written (a detached top's special name) */
	__u32 used;   /* bytes of the path written so far */
	__u8 status;
};

/*
 * One bpf_loop step of a path copy: append "/name" for walk slot steps-1-i. A callback is verified once,
 * where an open-coded loop made the verifier walk every iteration (about a second for the exec program).
 */
static long kt_path_name_cb(__u32 i, struct kt_path_ctx *c)
{
	struct kscratch_t *s = kt_kscratch();
	if (!s || i >= c->steps)
		return 1;
	if (i < c->skip)
		return 0;
	__u64 d = s->dents[(c->steps - 1 - i) & (KT_PATH_DENTS - 1)];
	if (!d)
		return 0;
	__u32 used = c->used;
	__u32 base = c->base;
	if (used > KT_PATH_MAX - 2 || base > KT_KS_PAYLOAD_MAX) {
		c->status = BLOB_TRUNCATED;
		return 1;
	}
	const unsigned char *name = BPF_CORE_READ((struct dentry *)d, d_name.name);
	s->payload[base + used] = '/';
	used++;
	__u32 room = KT_PATH_MAX - used;
	if (room > KT_PATH_MAX)
		return 1;
	long r = bpf_probe_read_kernel_str(s->payload + base + used, room, name);
	if (r <= 0) {
		c->status = BLOB_TRUNCATED;
		c->used = used;
		return 1;
	}
	used += r - 1;
	c->used = used;
	if ((__u32)r == room) {
		c->status = BLOB_TRUNCATED;
		return 1;
	}
	return 0;
}

/*
 * The name the kernel shows for a pseudo file at the top of a detached walk, written at payload[base]
 * (at most KT_SPECIAL_MAX bytes, no NUL): "pipe:[ino]", "socket:[ino]", "anon_inode:NAME", else the dentry's
 * own name ("memfd:NAME"). Returns the bytes written.
 */
static __always_inline __u32 kt_special_name(struct kscratch_t *s, __u32 base, struct dentry *d)
{
	if (base > KT_KS_PAYLOAD_MAX)
		return 0;
	__u8 *dst = s->payload + base;
	unsigned long magic = BPF_CORE_READ(d, d_sb, s_magic);
	__u64 ino = BPF_CORE_READ(d, d_inode, i_ino);
	long n;
	if (magic == KT_PIPEFS_MAGIC) {
		static const char fmt[] = "pipe:[%llu]";
		n = bpf_snprintf((char *)dst, KT_SPECIAL_MAX, fmt, &ino, sizeof(ino));
	} else if (magic == KT_SOCKFS_MAGIC) {
		static const char fmt[] = "socket:[%llu]";
		n = bpf_snprintf((char *)dst, KT_SPECIAL_MAX, fmt, &ino, sizeof(ino));
	} else if (magic == KT_ANON_INODE_FS_MAGIC) {
		__builtin_memcpy(dst, "anon_inode:", 11);
		n = bpf_probe_read_kernel_str(dst + 11, KT_SPECIAL_MAX - 11, BPF_CORE_READ(d, d_name.name));
		n = n > 0 ? n + 11 : 12;
	} else {
		n = bpf_probe_read_kernel_str(dst, KT_SPECIAL_MAX, BPF_CORE_READ(d, d_name.name));
	}
	if (n <= 1)
		return 0;
	return n - 1 > KT_SPECIAL_MAX ? KT_SPECIAL_MAX : n - 1; /* without the NUL */
}

/* True when the dentry was unlinked while something still used it (the kernel's d_unlinked). */
static __always_inline bool kt_unlinked(struct dentry *d)
{
	return BPF_CORE_READ(d, d_hash.pprev) == 0 && BPF_CORE_READ(d, d_parent) != d;
}

/*
 * Write the path of (dentry, vfsmount) at payload[base]: "/a/b" from the root of the mount namespace, the
 * special name of a pseudo file, " (deleted)" after an unlinked file. A path that does not fit KT_PATH_MAX
 * bytes or KT_PATH_WALK steps keeps what fits and sets *status to BLOB_TRUNCATED. Returns the bytes written.
 */
static __always_inline __u32 kt_path_into(struct kscratch_t *s, __u32 base, __u64 dentry, __u64 vfsmnt,
					  __u8 *status)
{
	struct kt_path_ctx c = {.base = base, .status = BLOB_OK};

	int w = kt_ks_walk(s, dentry, vfsmnt);
	c.steps = w & 0xffff;
	if (!(w & KT_WALK_ROOT))
		c.status = BLOB_TRUNCATED;
	if (c.steps > KT_PATH_WALK)
		c.steps = KT_PATH_WALK;
	if ((w & KT_WALK_DETACHED) && c.steps > 0) {
		__u64 top = s->dents[(c.steps - 1) & (KT_PATH_DENTS - 1)];
		c.used = kt_special_name(s, base, (struct dentry *)top);
		c.skip = 1;
	}
	bpf_loop(KT_PATH_WALK, kt_path_name_cb, &c, 0);
	if (c.used == 0 && base <= KT_KS_PAYLOAD_MAX) { /* the root itself */
		s->payload[base] = '/';
		c.used = 1;
	}
	if (c.used > KT_PATH_MAX)
		c.used = KT_PATH_MAX;
	if (!(w & KT_WALK_DETACHED) && dentry && kt_unlinked((struct dentry *)dentry)) {
		__u32 at = base + c.used;
		if (c.used <= KT_PATH_MAX - 10 && at <= KT_KS_PAYLOAD_MAX + KT_PATH_MAX) {
			__builtin_memcpy(s->payload + at, " (deleted)", 10);
			c.used += 10;
		} else {
			c.status = BLOB_TRUNCATED;
		}
	}
	*status = c.status;
	return c.used;
}

/* Append the path of (dentry, vfsmount) as an ARG_STR blob (kt_path_into). A global function: verified once. */
__noinline int kt_ks_put_path(struct kscratch_t *s, __u32 off, __u64 dentry, __u64 vfsmnt)
{
	__u8 status = BLOB_OK;
	__u32 len = 0;

	if (!s || off > KT_KS_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	if (!dentry || !vfsmnt)
		status = BLOB_NULL;
	else
		len = kt_path_into(s, off + sizeof(*bh), dentry, vfsmnt, &status);
	if (len > KT_PATH_MAX)
		len = KT_PATH_MAX;
	bh->len = len;
	bh->status = status;
	bh->kind = ARG_STR;
	return off + sizeof(*bh) + len;
}

/*
 * Append an ARG_PATH_JOIN blob: the path of the directory (dentry, vfsmount), '/', then the caller's path
 * `upath` as written (user memory, read now; counted as a read error when it faults). When the caller's path
 * is absolute, (dentry, vfsmount) must be the task's root. Userspace removes '.', '..' and doubled slashes.
 * A global function: verified once.
 */
__noinline int kt_ks_put_path_join(struct kscratch_t *s, __u32 off, __u64 dentry, __u64 vfsmnt, __u64 upath)
{
	__u8 status = BLOB_OK;
	__u32 len = 0;

	if (!s || off > KT_KS_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	__u32 base = off + sizeof(*bh);
	if (!upath) {
		status = BLOB_NULL;
		goto out;
	}
	if (dentry && vfsmnt)
		len = kt_path_into(s, base, dentry, vfsmnt, &status);
	if (len > KT_PATH_MAX - 2) {
		status = BLOB_TRUNCATED;
		goto out;
	}
	if (base + len > KT_KS_PAYLOAD_MAX + KT_PATH_MAX)
		goto out;
	s->payload[base + len] = '/';
	len++;
	__u32 room = KT_PATH_MAX - len;
	if (room > KT_PATH_MAX || base + len > KT_KS_PAYLOAD_MAX + KT_PATH_MAX)
		goto out;
	long n = bpf_probe_read_user_str(s->payload + base + len, room, (const void *)upath);
	if (n <= 0) {
		status = BLOB_FAULT;
		kt_ks_read_error(s);
		goto out;
	}
	len += n - 1;
	if ((__u32)n == room)
		status = BLOB_TRUNCATED;
out:
	if (len > KT_PATH_MAX)
		len = KT_PATH_MAX;
	bh->len = len;
	bh->status = status;
	bh->kind = ARG_PATH_JOIN;
	return off + sizeof(*bh) + len;
}

/*
 * Append the current task's command line (mm->arg_start..arg_end, NUL-separated, at most KT_CMDLINE_MAX
 * bytes) as an ARG_STR_LIST blob. At sched_process_exec the new stack holds what execve copied, resident.
 */
__noinline int kt_ks_put_cmdline(struct kscratch_t *s, __u32 off, __u64 start, __u64 end)
{
	__u8 status = BLOB_OK;
	__u64 len = 0;

	if (!s || off > KT_KS_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	__u8 *data = s->payload + off + sizeof(*bh);
	if (!start || end <= start) {
		status = BLOB_NULL;
		goto out;
	}
	len = end - start;
	if (len > KT_CMDLINE_MAX) {
		len = KT_CMDLINE_MAX;
		status = BLOB_TRUNCATED;
	}
	if (bpf_probe_read_user(data, len, (const void *)start) < 0) {
		status = BLOB_FAULT;
		len = 0;
	}
out:
	bh->len = len;
	bh->status = status;
	bh->kind = ARG_STR_LIST;
	return off + sizeof(*bh) + len;
}

/* The inode's ctime in ns, whichever way this kernel stores it. */
static __always_inline __u64 kt_inode_ctime(struct inode *ino)
{
	if (bpf_core_field_exists(ino->i_ctime_sec))
		/* Bit 31 of i_ctime_nsec is I_CTIME_QUERIED (multigrain timestamps, 6.13+), not time. */
		return (__u64)BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ULL +
		       (BPF_CORE_READ(ino, i_ctime_nsec) & 0x7fffffffU);
	return 0;
}

/* The five id fields of one task (tid, ns tid, pid, ns pid, start time) as ARG_REG blobs. */
static __always_inline __u32 kt_ks_put_task_ids(struct kscratch_t *s, __u32 off, struct task_struct *t)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	off = kt_ks_put_u64(s, off, (__u32)BPF_CORE_READ(t, pid));
	off = kt_ks_put_u64(s, off, kt_pid_vnr(BPF_CORE_READ(t, thread_pid)));
	off = kt_ks_put_u64(s, off, (__u32)BPF_CORE_READ(t, tgid));
	off = kt_ks_put_u64(s, off, kt_pid_vnr(BPF_CORE_READ(leader, thread_pid)));
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(t, start_boottime));
	return off;
}

/* The file behind fd `fd` of the current task, or NULL. */
static __always_inline struct file *kt_fd_file(__s64 fd)
{
	if (fd < 0 || fd > 0x7fffffff)
		return NULL;
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((__u64)fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), fds + fd);
	return f;
}

#endif /* KTRAIL_COMMON_RECORD_H */
