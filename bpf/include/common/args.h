/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * args.h: copies pointer arguments out of user memory into payload blobs (layout in wire.h).
 * Every size handed to a helper is clamped first with a branch the verifier can see.
 */
#ifndef KTRAIL_COMMON_ARGS_H
#define KTRAIL_COMMON_ARGS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "wire.h"
#include "maps.h"

#define KT_AF_UNIX 1
#define KT_AF_INET 2
#define KT_AF_INET6 10

/* Count one failed user read for `event_id` (stats_map.read_errors). */
static __always_inline void kt_count_read_error(__u32 event_id)
{
	struct stats_t *st = bpf_map_lookup_elem(&stats_map, &event_id);
	if (st)
		st->read_errors++;
}

/* STR: at most `max` bytes of the string. Reads max + 2 bytes so "exactly max" is told from "longer". */
static __always_inline __u32 kt_read_str(__u8 *data, __u32 max, const void *uptr, __u8 *status)
{
	if (max == 0 || max > KT_STR_MAX)
		max = KT_STR_MAX;
	long n = bpf_probe_read_user_str(data, max + 2, uptr);
	if (n <= 0) {
		*status = BLOB_FAULT;
		return 0;
	}
	__u32 len = n - 1;
	if (len > max) {
		*status = BLOB_TRUNCATED;
		return max;
	}
	return len;
}

/*
 * STR_ARR: u32 count, then per string a u16 length and its bytes, within `max` bytes after the count and
 * at most KT_STR_ARR_PTRS strings. `ptr_size` is 4 for compat tasks. A global (separately verified)
 * function: its 32-step loop would otherwise be re-verified for every argument of every caller.
 * Returns the blob length in the low 24 bits and the blob status above them.
 */
__noinline int kt_read_str_arr(struct scratch_t *s, __u32 data_off, __u32 max, __u64 uarr, __u32 ptr_size)
{
	__u32 used = 0, count = 0;
	__u8 status = BLOB_OK;

	if (!s || data_off > (KT_MAX_ARGS - 1) * KT_BLOB_SPAN + sizeof(struct blob_hdr_t))
		return 0;
	__u8 *data = s->payload + data_off;
	if (max == 0 || max > KT_STR_MAX)
		max = KT_STR_MAX;
	for (int i = 0; i < KT_STR_ARR_PTRS; i++) {
		__u64 p = 0;
		if (bpf_probe_read_user(&p, ptr_size == 4 ? 4 : 8, (const void *)(uarr + (__u64)i * ptr_size)) < 0) {
			if (i == 0)
				return BLOB_FAULT << 24;
			status = BLOB_TRUNCATED;
			goto done;
		}
		if (p == 0)
			goto done;
		if (used + 3 > max) {
			status = BLOB_TRUNCATED;
			goto done;
		}
		__u32 room = max - used - 2;
		if (room > KT_STR_MAX || used > KT_STR_MAX)
			goto done;
		long n = bpf_probe_read_user_str(data + 4 + used + 2, room, (const void *)p);
		if (n <= 0) {
			status = BLOB_TRUNCATED;
			goto done;
		}
		__u16 slen = n - 1;
		*(__u16 *)(data + 4 + used) = slen;
		used += 2 + slen;
		count++;
		if ((__u32)n == room) { /* the string filled the room: it may go on */
			status = BLOB_TRUNCATED;
			goto done;
		}
	}
	status = BLOB_TRUNCATED; /* 32 pointers read and the array goes on */
done:
	*(__u32 *)data = count;
	return (4 + used) | (status << 24);
}

/* SOCKADDR: `len` bytes when the length argument is known, else sized from the address family. */
static __always_inline __u32 kt_read_sockaddr(__u8 *data, __u64 len, bool has_len, const void *uptr,
					      __u8 *status)
{
	if (!has_len) {
		__u16 family = 0;
		if (bpf_probe_read_user(&family, sizeof(family), uptr) < 0) {
			*status = BLOB_FAULT;
			return 0;
		}
		len = family == KT_AF_INET6 ? 28 : family == KT_AF_UNIX ? 110 : 16;
	}
	if (len > KT_SOCKADDR_MAX) {
		len = KT_SOCKADDR_MAX;
		*status = BLOB_TRUNCATED;
	}
	if (len == 0)
		return 0;
	if (bpf_probe_read_user(data, len, uptr) < 0) {
		*status = BLOB_FAULT;
		return 0;
	}
	return len;
}

/* BUF, STRUCT, INT_PTR: `len` raw bytes, at most `max` (and KT_BUF_MAX). */
static __always_inline __u32 kt_read_bytes(__u8 *data, __u64 len, __u32 max, const void *uptr, __u8 *status)
{
	if (max > KT_BUF_MAX)
		max = KT_BUF_MAX;
	if (len > max) {
		len = max;
		*status = BLOB_TRUNCATED;
	}
	if (len == 0)
		return 0;
	if (bpf_probe_read_user(data, len, uptr) < 0) {
		*status = BLOB_FAULT;
		return 0;
	}
	return len;
}

/*
 * Append the blob of argument `i` at payload[off] and return the new offset. Register-only arguments
 * append nothing. A global function, verified once rather than once per argument.
 */
__noinline int kt_put_arg(struct scratch_t *s, __u32 off, const struct syscall_cfg_t *cfg, int i,
			  const struct entry_t *e)
{
	__u8 status = BLOB_OK;
	__u32 len = 0;

	if (!s || !cfg || !e || i < 0 || i >= KT_MAX_ARGS)
		return off;
	__u8 kind = cfg->kind[i];
	__u8 len_arg = cfg->len_arg[i];
	__u32 max = cfg->max[i];
	bool compat = (e->flags & KT_F_COMPAT) != 0;

	if (kind == ARG_NONE || kind == ARG_REG || kind > ARG_INT_PTR)
		return off;
	if (off > (KT_MAX_ARGS - 1) * KT_BLOB_SPAN)
		return off;

	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	__u8 *data = s->payload + off + sizeof(*bh);
	__u64 uptr = e->args[i];
	bool has_len = len_arg < KT_MAX_ARGS;
	__u64 len_val = has_len ? e->args[len_arg] : 0;

	if (!uptr) {
		status = BLOB_NULL;
	} else {
		switch (kind) {
		case ARG_STR:
			len = kt_read_str(data, max, (const void *)uptr, &status);
			break;
		case ARG_STR_ARR: {
			int r = kt_read_str_arr(s, off + sizeof(*bh), max, uptr, compat ? 4 : 8);
			len = r & 0xffffff;
			status = r >> 24;
			break;
		}
		case ARG_SOCKADDR:
			len = kt_read_sockaddr(data, len_val, has_len, (const void *)uptr, &status);
			break;
		case ARG_BUF:
			len = kt_read_bytes(data, has_len ? len_val : max, max, (const void *)uptr, &status);
			break;
		default: /* ARG_STRUCT, ARG_INT_PTR */
			len = kt_read_bytes(data, max, max, (const void *)uptr, &status);
			break;
		}
		if (status == BLOB_FAULT)
			kt_count_read_error(cfg->event_id);
	}
	bh->len = len;
	bh->status = status;
	bh->kind = kind;
	return off + sizeof(*bh) + len;
}

/* Append the blobs of every argument; returns the payload length. */
static __always_inline __u32 kt_put_args(struct scratch_t *s, const struct syscall_cfg_t *cfg,
					 const struct entry_t *e)
{
	__u32 off = 0;
	for (int i = 0; i < KT_MAX_ARGS; i++) {
		/* Register-only arguments append nothing: skip the call. */
		__u8 kind = cfg->kind[i];
		if (kind == ARG_NONE || kind == ARG_REG || kind > ARG_INT_PTR)
			continue;
		off = kt_put_arg(s, off, cfg, i, e);
	}
	return off;
}

#endif /* KTRAIL_COMMON_ARGS_H */
