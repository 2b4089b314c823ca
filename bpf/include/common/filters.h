/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * filters.h: policy scopes and per-event filters evaluated in the kernel (maps in maps.h, values encoded by
 * src/capture/filters.ts from the KernelPlan of src/policy/compile.ts).
 *
 * Contract: everything here is a relaxation of src/policy/match.ts. A check only clears a policy's bit when
 * userspace would clear it too for the same record; whenever the kernel cannot tell (a faulted or truncated
 * string, a missing map entry, an ancestor chain deeper than KT_FOLLOW_DEPTH, bytes userspace would decode
 * differently) the policy stays. Userspace re-checks every record that goes up.
 */
#ifndef KTRAIL_COMMON_FILTERS_H
#define KTRAIL_COMMON_FILTERS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "wire.h"
#include "maps.h"
#include "common/task.h"
#include "common/record.h"

static const __u32 kt_zero = 0;

/*
 * What scopes test about the current task (the same values kt_fill_task puts in the header). Each field is
 * read on first use only (`have` bits), so a scope that tests one thing costs one read.
 */
struct kt_task_ctx {
	__u64 since;   /* kt_settings.start_ns */
	__u32 tgid;    /* host pid */
	__u32 have;    /* KT_SC_UID / KT_SC_COMM / KT_SC_MNTNS / KT_SC_PIDNS: field below already read */
	__u32 uid;     /* euid */
	__u32 mnt_ns;
	__u32 pid_ns;
	__u32 pad;
	char comm[KT_COMM_LEN]; /* NUL-padded after the first NUL */
};

static __always_inline void kt_task_ctx_fill(struct kt_task_ctx *t)
{
	t->tgid = bpf_get_current_pid_tgid() >> 32;
	t->since = kt_settings.start_ns;
	t->have = 0;
}

/* The current comm as userspace reads it: stop at the first NUL, compare NUL-padded 16-byte words. */
static __always_inline void kt_read_comm(struct kt_task_ctx *t)
{
	bpf_get_current_comm(t->comm, sizeof(t->comm));
	bool end = false;
	for (int i = 0; i < KT_COMM_LEN; i++) {
		if (end)
			t->comm[i] = 0;
		else if (t->comm[i] == 0)
			end = true;
	}
}

/* True when `b` starts with a UTF-8 byte order mark, which userspace's decoder drops. */
static __always_inline bool kt_has_bom(const __u8 *b)
{
	return b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf;
}

/*
 * 1 when the task in `t` satisfies every constraint the kernel keeps for policy `policy` (follow not
 * considered). A global function: verified once, called once per scoped policy.
 */
__noinline int kt_scope_match(__u32 policy, struct kt_task_ctx *t)
{
	if (!t)
		return 1;
	struct scope_t *sc = bpf_map_lookup_elem(&scope_map, &policy);
	if (!sc)
		return 1;
	__u32 f = sc->flags;
	struct task_struct *task = bpf_get_current_task_btf();
	if (f & KT_SC_NEVER)
		return 0;
	if ((f & KT_SC_PID) && (t->tgid < sc->pid_min || t->tgid > sc->pid_max))
		return 0;
	if ((f & KT_SC_NEW_PID) && task->start_boottime < t->since)
		return 0;
	if (f & KT_SC_UID) {
		if (!(t->have & KT_SC_UID)) {
			t->uid = task->cred->euid.val;
			t->have |= KT_SC_UID;
		}
		if (t->uid < sc->uid_min || t->uid > sc->uid_max)
			return 0;
	}
	if ((f & KT_SC_COMM) && !(t->have & KT_SC_COMM)) {
		kt_read_comm(t);
		t->have |= KT_SC_COMM;
	}
	if ((f & KT_SC_COMM) && !kt_has_bom((__u8 *)t->comm)) {
		__u64 w0, w1;
		bool hit = false;
		__builtin_memcpy(&w0, t->comm, 8);
		__builtin_memcpy(&w1, t->comm + 8, 8);
		for (int i = 0; i < KT_SCOPE_COMMS; i++) {
			if (i >= sc->ncomm)
				break;
			__u64 c0, c1;
			__builtin_memcpy(&c0, sc->comm[i], 8);
			__builtin_memcpy(&c1, sc->comm[i] + 8, 8);
			if (c0 == w0 && c1 == w1) {
				hit = true;
				break;
			}
		}
		if (!hit)
			return 0;
	}
	if (f & KT_SC_MNTNS) {
		if (!(t->have & KT_SC_MNTNS)) {
			t->mnt_ns = task->nsproxy->mnt_ns->ns.inum;
			t->have |= KT_SC_MNTNS;
		}
		struct scope_ns_key_t k = { .policy = policy, .kind = 0, .ns = t->mnt_ns };
		if (!bpf_map_lookup_elem(&scope_ns_map, &k))
			return 0;
	}
	if (f & KT_SC_PIDNS) {
		if (!(t->have & KT_SC_PIDNS)) {
			t->pid_ns = kt_pid_ns_inum(BPF_CORE_READ(task, thread_pid));
			t->have |= KT_SC_PIDNS;
		}
		struct scope_ns_key_t k = { .policy = policy, .kind = 1, .ns = t->pid_ns };
		if (!bpf_map_lookup_elem(&scope_ns_map, &k))
			return 0;
	}
	return 1;
}

/* Add `bits` to the follow marks of process `tgid`. */
static __always_inline void kt_follow_mark(__u32 tgid, __u64 bits)
{
	__u64 *v = bpf_map_lookup_elem(&follow_map, &tgid);
	if (v) {
		if ((*v & bits) != bits)
			__sync_fetch_and_or(v, bits);
		return;
	}
	bpf_map_update_elem(&follow_map, &tgid, &bits, BPF_NOEXIST);
}

/*
 * The follow marks of `want` held by the current process or one of its ancestors. Processes forked since
 * ktrail started inherit their parent's marks (so the first lookup usually answers); older ones are found
 * by walking real_parent. A chain deeper than KT_FOLLOW_DEPTH counts as marked (a relaxation).
 */
__noinline __u64 kt_follow_bits(__u32 tgid, __u64 want)
{
	__u64 *v = bpf_map_lookup_elem(&follow_map, &tgid);
	__u64 got = v ? *v : 0;
	if ((got & want) == want)
		return got;
	struct task_struct *p = (struct task_struct *)bpf_get_current_task();
	for (int i = 0; i < KT_FOLLOW_DEPTH; i++) {
		p = BPF_CORE_READ(p, real_parent);
		if (!p)
			return got;
		__u32 pt = BPF_CORE_READ(p, tgid);
		v = bpf_map_lookup_elem(&follow_map, &pt);
		if (v)
			got |= *v;
		if ((got & want) == want || pt <= 1)
			return got;
	}
	return got | want;
}

/* bpf_loop state of kt_scopes: one iteration per policy index until `todo` is empty. */
struct kt_scope_loop {
	__u64 todo;
	__u64 ok;
	struct kt_task_ctx t;
};

static long kt_scope_step(__u64 i, void *arg)
{
	struct kt_scope_loop *c = arg;
	__u64 b = 1ULL << (i & 63);
	if (c->todo & b) {
		c->todo &= ~b;
		if (kt_scope_match(i, &c->t))
			c->ok |= b;
	}
	return c->todo ? 0 : 1;
}

/*
 * Of the policies in `want`, those whose scope the current task matches, directly or through `follow`
 * (`scoped` and `follow` as in syscall_cfg_t). Every follow policy's own scope is evaluated too, so a process
 * matching one is marked for its descendants whatever event it is in (userspace marks from every record).
 */
__noinline __u64 kt_scopes(__u64 want, __u64 scoped, __u64 follow)
{
	struct kt_scope_loop c = {};
	__u64 fw = follow;

	c.todo = (want & scoped) | fw;
	c.ok = want & ~scoped;
	kt_task_ctx_fill(&c.t);
	/* bpf_loop: the step is verified once, not once per policy and path. */
	if (c.todo)
		bpf_loop(KT_MAX_POLICIES, kt_scope_step, &c, 0);
	__u64 ok = c.ok;
	__u64 own = ok & fw;
	if (own)
		kt_follow_mark(c.t.tgid, own);
	__u64 miss = want & fw & ~ok;
	if (miss)
		ok |= kt_follow_bits(c.t.tgid, miss) & miss;
	return ok & want;
}

/* One compare of a narrowed register (or the return value) against a constant. */
static __always_inline bool kt_cmp(__u64 v, const struct filter_cmp_t *c)
{
	bool sgn = false;
	switch (c->type) {
	case KT_T_S64:
		sgn = true;
		break;
	case KT_T_U32:
		v = (__u32)v;
		break;
	case KT_T_S32:
		v = (__u64)(__s64)(__s32)v;
		sgn = true;
		break;
	case KT_T_U16:
		v = (__u16)v;
		break;
	case KT_T_U8:
		v = (__u8)v;
		break;
	case KT_T_BOOL:
		v = v != 0;
		break;
	default:
		break;
	}
	bool eq = v == c->value;
	bool lt = sgn ? (__s64)v < (__s64)c->value : v < c->value;
	switch (c->op) {
	case KT_OP_EQ:
		return eq;
	case KT_OP_NE:
		return !eq;
	case KT_OP_LT:
		return lt;
	case KT_OP_GT:
		return !lt && !eq;
	case KT_OP_LE:
		return lt || eq;
	case KT_OP_GE:
		return !lt;
	case KT_OP_NEVER:
		return false;
	default:
		return true;
	}
}

/* bpf_loop state of the filter passes: one iteration per policy index until `todo` is empty. */
struct kt_filter_loop {
	__u64 todo;
	__u64 matched;
	__u64 args[KT_MAX_ARGS];
	__s64 retval;
	__u32 event_id;
	__u32 nr;          /* syscall_cfg_map key */
	__u32 payload_len;
	__u32 at_entry;
};

/*
 * 1 when the numeric compares of (event_id, policy) hold for the registers and return value in `e`. A
 * compare on the return value never holds for a record emitted at entry (as in userspace).
 */
__noinline int kt_filter_nums(__u32 policy, struct kt_filter_loop *e)
{
	if (!e)
		return 1;
	struct filter_key_t k = { .event_id = e->event_id, .policy = policy };
	struct filter_t *f = bpf_map_lookup_elem(&filter_map, &k);
	if (!f)
		return 1;
	for (int i = 0; i < KT_FILTER_CMPS; i++) {
		if (!(f->flags & KT_FL_CMP(i)))
			continue;
		const struct filter_cmp_t *c = &f->cmp[i];
		__u64 v;
		__u8 target = c->target;
		if (target == KT_CMP_RETVAL) {
			if (e->at_entry)
				return 0;
			v = (__u64)e->retval;
		} else if (target < KT_MAX_ARGS) {
			v = e->args[target];
		} else {
			continue;
		}
		if (!kt_cmp(v, c))
			return 0;
	}
	return 1;
}

/*
 * The header of argument `arg`'s blob in the payload built in `s` (`len` bytes) when that argument is a string
 * read whole (BLOB_OK: the NUL the read left follows it); else NULL.
 */
static __always_inline struct blob_hdr_t *kt_whole_str(struct scratch_t *s, const struct syscall_cfg_t *cfg,
						       __u32 arg, __u32 len)
{
	__u32 off = 0;
	for (int j = 0; j < KT_MAX_ARGS; j++) {
		if (j >= arg)
			break;
		__u8 kind = cfg->kind[j];
		if (kind == ARG_NONE || kind == ARG_REG || kind > ARG_INT_PTR)
			continue;
		if (off > KT_PAYLOAD_MAX)
			return NULL;
		struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
		off += sizeof(*bh) + bh->len;
	}
	if (off > KT_PAYLOAD_MAX || off + sizeof(struct blob_hdr_t) > len)
		return NULL;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	if (bh->status != BLOB_OK || bh->kind != ARG_STR)
		return NULL;
	return bh;
}

/*
 * 1 when the string match of (event_id, policy) holds for the argument's blob in the payload built in `s`
 * (`payload_len` bytes). NULL, faulted and truncated strings pass: userspace decides those.
 */
__noinline int kt_filter_str(struct scratch_t *s, const struct syscall_cfg_t *cfg, __u32 policy, __u32 payload_len)
{
	if (!s || !cfg)
		return 1;
	struct filter_key_t k = { .event_id = cfg->event_id, .policy = policy };
	struct filter_t *f = bpf_map_lookup_elem(&filter_map, &k);
	if (!f || !(f->flags & KT_FL_STR))
		return 1;
	__u32 arg = f->str_arg;
	if (arg >= KT_MAX_ARGS || cfg->kind[arg] != ARG_STR)
		return 1;
	struct blob_hdr_t *bh = kt_whole_str(s, cfg, arg, payload_len);
	if (!bh)
		return 1;
	__u32 len = bh->len;
	__u32 n = f->str_len;
	__u8 *d = (__u8 *)(bh + 1);
	if (n > KT_FILTER_STR_MAX || (len >= 3 && kt_has_bom(d)))
		return 1;
	if (f->str_kind == KT_STR_EXACT ? len != n : len < n)
		return 0;
	for (int i = 0; i < KT_FILTER_STR_MAX; i++) {
		if (i >= n)
			break;
		if (d[i] != f->str[i])
			return 0;
	}
	return 1;
}

static long kt_filter_num_step(__u64 i, void *arg)
{
	struct kt_filter_loop *c = arg;
	__u64 b = 1ULL << (i & 63);
	if (c->todo & b) {
		c->todo &= ~b;
		if (!kt_filter_nums(i, c))
			c->matched &= ~b;
	}
	return c->todo ? 0 : 1;
}

static long kt_filter_str_step(__u64 i, void *arg)
{
	struct kt_filter_loop *c = arg;
	__u64 b = 1ULL << (i & 63);
	if (c->todo & b) {
		c->todo &= ~b;
		struct syscall_cfg_t *cfg = bpf_map_lookup_elem(&syscall_cfg_map, &c->nr);
		struct scratch_t *s = bpf_map_lookup_elem(&scratch_map, &kt_zero);
		if (!kt_filter_str(s, cfg, i, c->payload_len))
			c->matched &= ~b;
	}
	return c->todo ? 0 : 1;
}

/*
 * The policies of `matched` whose numeric compares on this event (syscall `nr`, registers of `e`) hold. The
 * filter passes are global functions: their loop state stays off the calling program's stack.
 */
__noinline __u64 kt_filters_num(const struct syscall_cfg_t *cfg, const struct entry_t *e, __s64 retval,
				int at_entry, __u64 matched)
{
	if (!cfg || !e)
		return matched;
	struct kt_filter_loop c = {};
	c.todo = matched & cfg->filtered;
	c.matched = matched;
	__builtin_memcpy(c.args, e->args, sizeof(c.args));
	c.retval = retval;
	c.event_id = cfg->event_id;
	c.at_entry = at_entry;
	if (c.todo)
		bpf_loop(KT_MAX_POLICIES, kt_filter_num_step, &c, 0);
	return c.matched;
}

/* The policies of `matched` whose string match holds on the payload built in the scratch area. */
__noinline __u64 kt_filters_str(__u32 nr, const struct syscall_cfg_t *cfg, __u32 payload_len, __u64 matched)
{
	if (!cfg)
		return matched;
	struct kt_filter_loop c = {};
	c.todo = matched & cfg->filtered;
	c.matched = matched;
	c.nr = nr;
	c.payload_len = payload_len;
	if (c.todo)
		bpf_loop(KT_MAX_POLICIES, kt_filter_str_step, &c, 0);
	return c.matched;
}

/*
 * 1 when the filters of (kernel event `event_id`, policy) hold for the kernel record built in `s` (`len`
 * payload bytes): the string match on the ARG_STR blob number `str_arg` (a joined path is cleaned up in
 * userspace, so it passes here) and the compares on ARG_REG blobs numbered by `target`. A global function.
 */
__noinline int kt_kfilter(struct kscratch_t *s, __u32 event_id, __u32 policy, __u32 len)
{
	if (!s)
		return 1;
	struct filter_key_t k = { .event_id = event_id, .policy = policy };
	struct filter_t *f = bpf_map_lookup_elem(&filter_map, &k);
	if (!f)
		return 1;
	/* Blob offsets by field number, as far as any filter looks. */
	__u32 at[KT_KFILTER_FIELDS] = {};
	__u32 off = 0;
	for (int j = 0; j < KT_KFILTER_FIELDS; j++) {
		if (off > KT_KS_PAYLOAD_MAX || off + sizeof(struct blob_hdr_t) > len)
			break;
		at[j] = off + 1; /* 0 = absent */
		struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
		off += sizeof(*bh) + bh->len;
	}
	if (f->flags & KT_FL_STR) {
		__u32 a = at[f->str_arg & (KT_KFILTER_FIELDS - 1)];
		if (f->str_arg < KT_KFILTER_FIELDS && a > 0 && a - 1 <= KT_KS_PAYLOAD_MAX) {
			struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + a - 1);
			__u8 *d = s->payload + a - 1 + sizeof(*bh);
			__u32 blen = bh->len;
			__u32 n = f->str_len;
			if (bh->status == BLOB_OK && bh->kind == ARG_STR && n <= KT_FILTER_STR_MAX &&
			    !(blen >= 3 && kt_has_bom(d))) {
				if (f->str_kind == KT_STR_EXACT ? blen != n : blen < n)
					return 0;
				for (int i = 0; i < KT_FILTER_STR_MAX; i++) {
					if (i >= n)
						break;
					if (d[i] != f->str[i])
						return 0;
				}
			}
		}
	}
	for (int i = 0; i < KT_FILTER_CMPS; i++) {
		if (!(f->flags & KT_FL_CMP(i)))
			continue;
		const struct filter_cmp_t *c = &f->cmp[i];
		__u8 t = c->target;
		if (t >= KT_KFILTER_FIELDS)
			continue;
		__u32 a = at[t & (KT_KFILTER_FIELDS - 1)];
		if (a == 0 || a - 1 > KT_KS_PAYLOAD_MAX)
			continue;
		struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + a - 1);
		if (bh->kind != ARG_REG || bh->len != 8)
			continue;
		__u64 v;
		__builtin_memcpy(&v, s->payload + a - 1 + sizeof(*bh), 8);
		if (!kt_cmp(v, c))
			return 0;
	}
	return 1;
}

static long kt_kfilter_step(__u64 i, void *arg)
{
	struct kt_filter_loop *c = arg;
	__u64 b = 1ULL << (i & 63);
	if (c->todo & b) {
		c->todo &= ~b;
		if (!kt_kfilter(kt_kscratch(), c->event_id, i, c->payload_len))
			c->matched &= ~b;
	}
	return c->todo ? 0 : 1;
}

/* The policies of `matched` whose filters on kernel event `event_id` hold for the record in kscratch. */
__noinline __u64 kt_kfilters(__u32 event_id, __u64 filtered, __u64 matched, __u32 payload_len)
{
	struct kt_filter_loop c = {};
	c.todo = matched & filtered;
	c.matched = matched;
	c.event_id = event_id;
	c.payload_len = payload_len;
	if (c.todo)
		bpf_loop(KT_MAX_POLICIES, kt_kfilter_step, &c, 0);
	return c.matched;
}

/* Count one record dropped by scopes or filters for `event_id` (stats_map.filtered). */
static __always_inline void kt_count_filtered(__u32 event_id)
{
	struct stats_t *st = bpf_map_lookup_elem(&stats_map, &event_id);
	if (st)
		st->filtered++;
}

#endif /* KTRAIL_COMMON_FILTERS_H */
