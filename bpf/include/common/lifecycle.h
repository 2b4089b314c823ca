/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * lifecycle.h: building blocks of the sched_process_{fork,exec,exit} records. Every field of a lifecycle
 * record is one blob (wire.h): integers as 8-byte ARG_REG blobs, strings as ARG_STR, argv as ARG_STR_LIST.
 * Paths are rebuilt from the dentry chain (bpf_d_path is not allowed in tracepoint programs).
 * Every writer takes the current payload offset and returns the next one; the offset is checked against
 * KT_LC_PAYLOAD_MAX so the verifier sees each write in bounds. The worst exec record fits, so no blob is
 * ever skipped for lack of room.
 */
#ifndef KTRAIL_COMMON_LIFECYCLE_H
#define KTRAIL_COMMON_LIFECYCLE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "wire.h"
#include "maps.h"

#define KT_PF_KTHREAD 0x00200000 /* task->flags: kernel thread */
#define KT_S_IFMT 00170000

/* Append an ARG_REG blob holding `v`. */
static __always_inline __u32 kt_lc_put_u64(struct lc_scratch_t *s, __u32 off, __u64 v)
{
	if (off > KT_LC_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	bh->len = 8;
	bh->status = BLOB_OK;
	bh->kind = ARG_REG;
	__builtin_memcpy(s->payload + off + sizeof(*bh), &v, sizeof(v));
	return off + sizeof(*bh) + 8;
}

/* Append an empty blob of `kind` (a field this hook cannot fill, or not wanted for this record). */
static __always_inline __u32 kt_lc_put_empty(struct lc_scratch_t *s, __u32 off, __u8 kind)
{
	if (off > KT_LC_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	bh->len = 0;
	bh->status = BLOB_OK;
	bh->kind = kind;
	return off + sizeof(*bh);
}

/* Append a kernel string (at most KT_STR_MAX bytes) as an ARG_STR blob. A global function: verified once. */
__noinline int kt_lc_put_kstr(struct lc_scratch_t *s, __u32 off, __u64 src)
{
	__u8 status = BLOB_OK;
	__u32 len = 0;

	if (!s || off > KT_LC_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	__u8 *data = s->payload + off + sizeof(*bh);
	if (!src) {
		status = BLOB_NULL;
	} else {
		long n = bpf_probe_read_kernel_str(data, KT_STR_MAX + 2, (const void *)src);
		if (n <= 0) {
			status = BLOB_FAULT;
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

/*
 * Walk from (dentry, vfsmount) up to the root of the mount tree, crossing mounts, and record the dentry of
 * each step in s->dents[step] (0 for a mount crossing), leaf first. Returns the number of steps, with bit 16
 * set when the root was reached within KT_PATH_WALK steps. Indexing by step, not by component count, keeps
 * the verifier's states equal from one iteration to the next so the loop is checked quickly.
 */
__noinline int kt_lc_walk(struct lc_scratch_t *s, __u64 dentry, __u64 vfsmnt)
{
	if (!s || !dentry || !vfsmnt)
		return 1 << 16;
	struct dentry *d = (struct dentry *)dentry;
	struct mount *mnt = (struct mount *)(vfsmnt - bpf_core_field_offset(struct mount, mnt));
	for (int i = 0; i < KT_PATH_WALK; i++) {
		struct dentry *root = BPF_CORE_READ(mnt, mnt.mnt_root);
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		if (d == root) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
			if (!up || up == mnt)
				return i | (1 << 16);
			s->dents[i] = 0;
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			continue;
		}
		if (!parent || d == parent) /* a disconnected tree's top */
			return i | (1 << 16);
		s->dents[i] = (__u64)d;
		d = parent;
	}
	return KT_PATH_WALK;
}

/* State of one path copy, shared with the bpf_loop callback below. */
struct kt_path_ctx {
	__u32 off;    /* where the blob header is in lc scratch payload */
	__u32 steps;  /* dentry slots filled by kt_lc_walk */
	__u32 used;   /* bytes of the path written so far */
	__u8 status;
};

/*
 * One bpf_loop step of kt_lc_put_path: append "/name" for walk slot steps-1-i. A callback is verified once,
 * where an open-coded loop made the verifier walk every iteration (about a second for the exec program).
 * The scratch slot is looked up again here (the same CPU's slot: programs do not migrate while they run).
 */
static long kt_path_name_cb(__u32 i, struct kt_path_ctx *c)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct lc_scratch_t *s = bpf_map_lookup_elem(&lc_scratch_map, &cpu);
	if (!s || i >= c->steps)
		return 1;
	__u64 d = s->dents[(c->steps - 1 - i) & (KT_PATH_DENTS - 1)];
	if (!d)
		return 0;
	__u32 used = c->used;
	__u32 base = c->off + sizeof(struct blob_hdr_t);
	if (used > KT_PATH_MAX - 2 || base > KT_LC_PAYLOAD_MAX) {
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
 * Append the path of (dentry, vfsmount) as an ARG_STR blob (kt_lc_walk, then the names root first). Deleted
 * files keep their last name (no " (deleted)" suffix); a path that does not fit KT_PATH_MAX bytes or
 * KT_PATH_WALK steps keeps what fits and is marked BLOB_TRUNCATED.
 */
__noinline int kt_lc_put_path(struct lc_scratch_t *s, __u32 off, __u64 dentry, __u64 vfsmnt)
{
	struct kt_path_ctx c = {.off = off, .status = BLOB_OK};

	if (!s || off > KT_LC_PAYLOAD_MAX)
		return off;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	__u8 *data = s->payload + off + sizeof(*bh);
	if (!dentry || !vfsmnt) {
		c.status = BLOB_NULL;
		goto out;
	}
	int w = kt_lc_walk(s, dentry, vfsmnt);
	c.steps = w & 0xffff;
	if (!(w >> 16))
		c.status = BLOB_TRUNCATED;
	if (c.steps > KT_PATH_WALK)
		c.steps = KT_PATH_WALK;
	bpf_loop(KT_PATH_WALK, kt_path_name_cb, &c, 0);
	if (c.used == 0) { /* the root itself */
		data[0] = '/';
		c.used = 1;
	}
out:
	if (c.used > KT_PATH_MAX)
		c.used = KT_PATH_MAX;
	bh->len = c.used;
	bh->status = c.status;
	bh->kind = ARG_STR;
	return off + sizeof(*bh) + c.used;
}

/*
 * Append the current task's command line (mm->arg_start..arg_end, NUL-separated, at most KT_CMDLINE_MAX
 * bytes) as an ARG_STR_LIST blob. At sched_process_exec the new stack holds what execve copied, resident.
 */
__noinline int kt_lc_put_cmdline(struct lc_scratch_t *s, __u32 off, __u64 start, __u64 end)
{
	__u8 status = BLOB_OK;
	__u64 len = 0;

	if (!s || off > KT_LC_PAYLOAD_MAX)
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
static __always_inline __u32 kt_lc_put_task_ids(struct lc_scratch_t *s, __u32 off, struct task_struct *t)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	off = kt_lc_put_u64(s, off, (__u32)BPF_CORE_READ(t, pid));
	off = kt_lc_put_u64(s, off, kt_pid_vnr(BPF_CORE_READ(t, thread_pid)));
	off = kt_lc_put_u64(s, off, (__u32)BPF_CORE_READ(t, tgid));
	off = kt_lc_put_u64(s, off, kt_pid_vnr(BPF_CORE_READ(leader, thread_pid)));
	off = kt_lc_put_u64(s, off, BPF_CORE_READ(t, start_boottime));
	return off;
}

#endif /* KTRAIL_COMMON_LIFECYCLE_H */
