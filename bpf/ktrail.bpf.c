// SPDX-License-Identifier: GPL-2.0
/*
 * ktrail.bpf.c: the tracer. Two programs on the syscall tracepoints, each in a BTF-typed variant (tp_btf:
 * direct loads from the registers) and a raw_tracepoint one (probe reads) that userspace loads instead when
 * tp_btf is refused:
 *   sys_enter  decides (a bit test for an untraced syscall), saves the raw arguments per thread, emits
 *              EMIT_ENTRY syscalls, pre-reads EMIT_ENTRY_EXIT ones, and builds the kernel events that must
 *              see the state before the call (mprotect: the mapping's old protection);
 *   sys_exit   reads the pointer arguments, builds the syscall record (event_hdr_t + blobs, wire.h) in a
 *              per-CPU scratch area, then the kernel events the call gives (kevents.h: the opened file, the
 *              socket, the resolved paths) in another, and copies each into the ring buffer. A sys_exit
 *              whose sys_enter never ran (seccomp denied the call, a tracer skipped it, it was in flight at
 *              start) still gives its syscall record, from the registers, flagged KT_F_NO_ENTRY.
 * Three BTF tracepoint programs emit the process lifecycle (sched_process_fork/exec/exit) when the user
 * selected those events or the process tree needs them (lifecycle_cfg_map; KT_F_INTERNAL when only the tree
 * does). Userspace attaches only the programs it needs.
 * Network (common/net.h): cgroup_skb programs on the cgroup v2 root report packets as net_packet_base records,
 * attributed to the task that owns the socket, stamped by a cgroup/sock_create program and three BTF
 * tracepoint programs (connect and listen, each send and receive); attached only when a network event is on.
 * Run-wide settings are read-only data written before load (kt_settings); the per-event configuration comes
 * from maps filled by userspace after load (maps.h). The object knows no event.
 * Policies (common/filters.h): sys_enter keeps the policies whose scope the task matches and drops the
 * syscall when none is left; sys_exit applies the per-(event, policy) argument and return-value filters.
 * Each record's header carries the policies the kernel kept (`matched`); userspace re-checks them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "wire.h"
#include "maps.h"
#include "common/task.h"
#include "common/args.h"
#include "common/record.h"
#include "common/filters.h"
#include "common/kevents.h"
#include "common/net.h"

static const __u32 zero = 0;

#ifdef KT_BENCH_WRITABLE_FLAGS
/*
 * A benchmark-only build (bench/Makefile): every fast path on, but the switches in writable data, so that
 * each test runs in the program instead of being decided by the verifier; it measures what read-only
 * settings buy. The tracer never loads it.
 */
__u32 kt_bench_flags SEC(".data.bench") = KT_SET_TASK_STORAGE | KT_SET_DIRECT_TASK | KT_SET_WAKE_CROSSING |
					  KT_SET_RING_RESERVE | KT_SET_STR_ONCE;
#define KT_FLAGS kt_bench_flags
#else
#define KT_FLAGS kt_settings.flags
#endif

/* True when this run takes the fast path `flag` (kt_settings.flags: read-only, so the other path is dropped). */
static __always_inline bool kt_set(__u32 flag)
{
	return (KT_FLAGS & flag) != 0;
}

/* True when the current syscall is a 32-bit one; `btf`: the program may load through BTF-typed pointers. */
static __always_inline bool kt_task_compat(bool btf)
{
	if (btf)
		return (bpf_get_current_task_btf()->thread_info.status & KT_TS_COMPAT) != 0;
	return kt_in_compat_syscall((struct task_struct *)bpf_get_current_task());
}

/* The current task's fields of a record header: direct loads where the run allows them, else probe reads. */
static __always_inline void kt_fill_current(struct event_hdr_t *h, bool btf)
{
	if (btf && kt_set(KT_SET_DIRECT_TASK))
		kt_fill_task_direct(h, bpf_get_current_task_btf());
	else
		kt_fill_task(h, (struct task_struct *)bpf_get_current_task());
}

/* Leave entry `e` of the current thread's traced syscall for its exit (`tid`: the thread, for the LRU hash). */
static __always_inline void kt_entry_save(const struct entry_t *e, __u32 tid)
{
	if (kt_set(KT_SET_TASK_STORAGE)) {
		struct entry_t *p = bpf_task_storage_get(&task_entry_storage, bpf_get_current_task_btf(), 0,
							 BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (p)
			*p = *e;
		return;
	}
	bpf_map_update_elem(&task_entry_map, &tid, e, BPF_ANY);
}

/*
 * Take the entry the current thread left for syscall `nr` into `e`; false when there is none (the call's
 * sys_enter did not run, or what is there belongs to another call: it is dropped).
 */
static __always_inline bool kt_entry_take(__u32 nr, __u32 tid, struct entry_t *e)
{
	if (kt_set(KT_SET_TASK_STORAGE)) {
		struct entry_t *p = bpf_task_storage_get(&task_entry_storage, bpf_get_current_task_btf(), 0, 0);
		if (!p || p->nr != nr)
			return false;
		*e = *p;
		p->nr = KT_NR_NONE;
		return true;
	}
	struct entry_t *p = bpf_map_lookup_elem(&task_entry_map, &tid);
	if (!p)
		return false;
	*e = *p;
	bpf_map_delete_elem(&task_entry_map, &tid);
	return e->nr == nr;
}

/* The raw argument registers of the syscall in flight, in the calling ABI's order. */
static __always_inline void kt_regs_args(const struct pt_regs *regs, bool compat, __u64 *args)
{
	if (compat) { /* i386: ebx, ecx, edx, esi, edi, ebp */
		args[0] = (__u32)regs->bx;
		args[1] = (__u32)regs->cx;
		args[2] = (__u32)regs->dx;
		args[3] = (__u32)regs->si;
		args[4] = (__u32)regs->di;
		args[5] = (__u32)regs->bp;
	} else { /* x86_64: rdi, rsi, rdx, r10, r8, r9 */
		args[0] = regs->di;
		args[1] = regs->si;
		args[2] = regs->dx;
		args[3] = regs->r10;
		args[4] = regs->r8;
		args[5] = regs->r9;
	}
}

/* The arguments, register by register with probe reads when `regs` is not BTF-typed (raw_tracepoint). */
static __always_inline void kt_read_args(struct pt_regs *regs, bool btf, bool compat, __u64 *args)
{
	if (btf) {
		kt_regs_args(regs, compat, args);
		return;
	}
	if (compat) {
		args[0] = (__u32)BPF_CORE_READ(regs, bx);
		args[1] = (__u32)BPF_CORE_READ(regs, cx);
		args[2] = (__u32)BPF_CORE_READ(regs, dx);
		args[3] = (__u32)BPF_CORE_READ(regs, si);
		args[4] = (__u32)BPF_CORE_READ(regs, di);
		args[5] = (__u32)BPF_CORE_READ(regs, bp);
	} else {
		args[0] = BPF_CORE_READ(regs, di);
		args[1] = BPF_CORE_READ(regs, si);
		args[2] = BPF_CORE_READ(regs, dx);
		args[3] = BPF_CORE_READ(regs, r10);
		args[4] = BPF_CORE_READ(regs, r8);
		args[5] = BPF_CORE_READ(regs, r9);
	}
}

/*
 * The next number of the run for a record with header flags `flags`. Records only the process tree reads are
 * never printed: they take no number (0), so that every gap in the printed sequence is a loss (or a userspace
 * filter drop, counted apart). The number is taken before the record is reserved or copied, so a record that
 * does not fit leaves a gap; it is counted as lost.
 */
static __always_inline __u64 kt_seq(__u32 flags)
{
	__u64 *seqp = (flags & KT_F_INTERNAL) ? NULL : bpf_map_lookup_elem(&seq_map, &zero);
	return seqp ? __sync_fetch_and_add(seqp, 1) + 1 : 0;
}

/*
 * The wakeup flag for a record of `size` bytes: wake the consumer only once a batch is waiting; it also polls
 * on a short timeout. One wakeup per crossing of the mark: a consumer that lags behind is awake already, and
 * each wakeup costs the caller microseconds. Two records crossing at once may both wake it, or (racing)
 * neither: the timeout covers it.
 */
static __always_inline __u64 kt_wakeup(__u32 size)
{
	__u64 avail = bpf_ringbuf_query(&events_map, BPF_RB_AVAIL_DATA);
	__u64 fill = kt_settings.wakeup_fill;
	if (kt_set(KT_SET_WAKE_CROSSING))
		return avail < fill && avail + size >= fill ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	return avail + size >= fill ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Count one record of `event_id` as submitted, or as lost when it did not fit in the ring. */
static __always_inline void kt_count_output(__u32 event_id, bool lost)
{
	struct stats_t *st = bpf_map_lookup_elem(&stats_map, &event_id);
	if (st) {
		if (lost)
			st->lost++;
		else
			st->submitted++;
	}
}

/*
 * Number the record whose header is `h` (inside `rec`, `size` bytes in all; h->flags already set), copy it
 * into events_map and count it for `event_id`.
 */
static __always_inline void kt_output(void *rec, struct event_hdr_t *h, __u32 size, __u32 event_id)
{
	h->size = size;
	h->seq = kt_seq(h->flags);
	long err = bpf_ringbuf_output(&events_map, rec, size, kt_wakeup(size));
	kt_count_output(event_id, err != 0);
}

/* Fill the header of a syscall record but its seq and size. */
static __always_inline void kt_syscall_hdr(struct event_hdr_t *h, const struct syscall_cfg_t *cfg,
					   const struct entry_t *e, __s64 retval, __u32 flags, __u64 matched,
					   bool btf)
{
	kt_fill_current(h, btf);
	h->ts = bpf_ktime_get_boot_ns();
	h->duration_ns = (flags & (KT_F_AT_ENTRY | KT_F_NO_ENTRY)) ? 0 : h->ts - e->ts;
	h->matched = matched;
	h->retval = retval;
	__builtin_memcpy(h->args, e->args, sizeof(h->args));
	h->event_id = cfg->event_id;
	h->syscall_nr = e->nr;
	h->flags = flags & 0xffff;
	h->policy_version = 0;
}

/* Fill the header of the syscall record in `s` and output header + `payload_len` bytes (kt_output). */
static __always_inline void kt_submit(struct scratch_t *s, const struct syscall_cfg_t *cfg,
				      const struct entry_t *e, __s64 retval, __u32 payload_len, __u32 flags,
				      __u64 matched, bool btf)
{
	kt_syscall_hdr(&s->hdr, cfg, e, retval, flags, matched, btf);
	if (payload_len > KT_PAYLOAD_MAX)
		payload_len = KT_PAYLOAD_MAX;
	kt_output(s, &s->hdr, sizeof(struct event_hdr_t) + payload_len, cfg->event_id);
}

/*
 * The blob of argument cfg->ring_arg written at r->payload (KT_RS_ONE_ARG); returns its length. Userspace
 * chose the argument so that its blob always fits: the bounds below only show the verifier so.
 */
static __always_inline __u32 kt_put_small_arg(struct kt_small_rec_t *r, const struct syscall_cfg_t *cfg,
					      const struct entry_t *e)
{
	struct blob_hdr_t *bh = (struct blob_hdr_t *)r->payload;
	__u8 *data = r->payload + sizeof(*bh);
	__u8 status = BLOB_OK;
	__u32 len = 0;
	__u32 i = cfg->ring_arg;
	if (i >= KT_MAX_ARGS)
		i = 0;
	__u8 kind = cfg->kind[i];
	__u32 max = cfg->max[i];
	__u64 uptr = e->args[i];

	if (!uptr) {
		status = BLOB_NULL;
	} else if (kind == ARG_STR) {
		/* As kt_read_str: max + 2 bytes, so that "exactly max" is told from "longer". */
		__u32 n = max + 2;
		if (n > KT_RING_SMALL - sizeof(*bh))
			n = KT_RING_SMALL - sizeof(*bh);
		barrier_var(n);
		long got = bpf_probe_read_user_str(data, n, (const void *)uptr);
		if (got <= 0) {
			status = BLOB_FAULT;
		} else {
			len = got - 1;
			if (len > max) {
				len = max;
				status = BLOB_TRUNCATED;
			}
		}
	} else { /* ARG_BUF, ARG_STRUCT, ARG_INT_PTR */
		__u8 la = cfg->len_arg[i];
		__u64 n = kind == ARG_BUF && la < KT_MAX_ARGS ? e->args[la] : max;
		if (n > max) {
			n = max;
			status = BLOB_TRUNCATED;
		}
		if (n > KT_RING_SMALL - sizeof(*bh))
			n = KT_RING_SMALL - sizeof(*bh);
		barrier_var(n);
		if (n > 0 && bpf_probe_read_user(data, n, (const void *)uptr) < 0)
			status = BLOB_FAULT;
		else
			len = n;
	}
	if (status == BLOB_FAULT)
		kt_count_read_error(cfg->event_id);
	bh->len = len;
	bh->status = status;
	bh->kind = kind;
	return sizeof(*bh) + len;
}

/*
 * Build the syscall record in place in the ring (KT_SET_RING_RESERVE; cfg->ring_small says it always fits)
 * and submit it: no scratch area, no copy. A KT_RS_ONE_ARG record keeps its reserved size in the ring; its
 * header's size is what it holds (userspace reads that).
 */
static __always_inline void kt_emit_small(const struct syscall_cfg_t *cfg, const struct entry_t *e, __s64 retval,
					  __u32 flags, __u64 matched, bool btf)
{
	__u32 event_id = cfg->event_id;
	__u64 seq = kt_seq(flags);
	if (cfg->ring_small == KT_RS_HDR) {
		__u64 wake = kt_wakeup(sizeof(struct event_hdr_t));
		struct event_hdr_t *h = bpf_ringbuf_reserve(&events_map, sizeof(*h), 0);
		if (!h) {
			kt_count_output(event_id, true);
			return;
		}
		kt_syscall_hdr(h, cfg, e, retval, flags, matched, btf);
		h->seq = seq;
		h->size = sizeof(*h);
		bpf_ringbuf_submit(h, wake);
		kt_count_output(event_id, false);
		return;
	}
	__u64 wake = kt_wakeup(sizeof(struct kt_small_rec_t));
	struct kt_small_rec_t *r = bpf_ringbuf_reserve(&events_map, sizeof(*r), 0);
	if (!r) {
		kt_count_output(event_id, true);
		return;
	}
	__u32 len = kt_put_small_arg(r, cfg, e);
	kt_syscall_hdr(&r->hdr, cfg, e, retval, flags, matched, btf);
	r->hdr.seq = seq;
	r->hdr.size = sizeof(r->hdr) + len;
	bpf_ringbuf_submit(r, wake);
	kt_count_output(event_id, false);
}

/* True when the syscall record for the policies `sm` can be built in place in the ring (kt_emit_small). */
static __always_inline bool kt_small(const struct syscall_cfg_t *cfg, __u64 sm)
{
	return kt_set(KT_SET_RING_RESERVE) && cfg->ring_small != KT_RS_NONE && !(sm & cfg->filtered);
}

/* Fill the header of the kernel record in `s` (the current task; `nr` in flight) and output it. */
static __always_inline void kt_ks_submit(struct kscratch_t *s, __u32 event_id, __u32 nr, __u32 flags,
					 __u32 payload_len, __u64 matched, bool btf)
{
	struct event_hdr_t *h = &s->hdr;

	kt_fill_current(h, btf);
	h->ts = bpf_ktime_get_boot_ns();
	h->duration_ns = 0;
	h->matched = matched;
	h->retval = 0;
	__builtin_memset(h->args, 0, sizeof(h->args));
	h->event_id = event_id;
	h->syscall_nr = nr;
	h->flags = flags;
	h->policy_version = 0;
	if (payload_len > KT_KS_PAYLOAD_MAX)
		payload_len = KT_KS_PAYLOAD_MAX;
	kt_output(s, h, sizeof(struct event_hdr_t) + payload_len, event_id);
}

/*
 * The kernel events of the syscall in `e` for the policies of `matched` (at its entry or its exit), each
 * built, filtered and output from the CPU's kscratch area.
 */
static __always_inline void kt_kevents(const struct syscall_cfg_t *cfg, const struct entry_t *e, __s64 retval,
				       __u64 matched, __u32 at_entry, bool btf)
{
	for (int i = 0; i < KT_KEVENTS; i++) {
		const struct kevent_cfg_t *kc = &cfg->kev[i];
		__u64 m = matched & kc->selected;
		if (!m)
			continue;
		struct kscratch_t *s = kt_kscratch();
		if (!s)
			return;
		s->hdr.event_id = kc->event_id; /* read errors count against it while it is built */
		int len = kt_kevent_payload(s, kc, e, retval, at_entry);
		if (len < 0)
			continue;
		if (m & kc->filtered)
			m = kt_kfilters(kc->event_id, kc->filtered, m, len);
		if (!m) {
			kt_count_filtered(kc->event_id);
			continue;
		}
		kt_ks_submit(s, kc->event_id, e->nr, e->flags & KT_F_COMPAT, len, m, btf);
	}
}

/* The policies that select the syscall's own event or one of its kernel events. */
static __always_inline __u64 kt_wanted(const struct syscall_cfg_t *cfg)
{
	return cfg->selected | cfg->kev[0].selected | cfg->kev[1].selected;
}

/* True when the kernel events wanted at exit include magic_write and nothing else needs the exit. */
static __always_inline bool kt_magic_only(const struct syscall_cfg_t *cfg, __u64 matched)
{
	if (matched & cfg->selected)
		return false;
	for (int i = 0; i < KT_KEVENTS; i++)
		if ((matched & cfg->kev[i].selected) && cfg->kev[i].kind != KT_KE_MAGIC_WRITE)
			return false;
	return true;
}

static __always_inline bool kt_has_magic(const struct syscall_cfg_t *cfg, __u64 matched)
{
	return ((matched & cfg->kev[0].selected) && cfg->kev[0].kind == KT_KE_MAGIC_WRITE) ||
	       ((matched & cfg->kev[1].selected) && cfg->kev[1].kind == KT_KE_MAGIC_WRITE);
}

/*
 * The argument (index) of a path that both the syscall record and a wanted security_file_open carry as a
 * string (kevent_cfg_t.path_arg, an ARG_STR argument), or -1.
 */
static __always_inline int kt_shared_path(const struct syscall_cfg_t *cfg, __u64 matched)
{
	for (int i = 0; i < KT_KEVENTS; i++) {
		const struct kevent_cfg_t *kc = &cfg->kev[i];
		__u8 p = kc->path_arg;
		if ((matched & kc->selected) && kc->kind == KT_KE_FILE_OPEN && p < KT_MAX_ARGS &&
		    cfg->kind[p] == ARG_STR)
			return p;
	}
	return -1;
}

/* x86_64 number of the syscall `nr` of a compat task, or -1 when it has none (then it is untraced). */
static __always_inline long kt_native_nr(__u32 nr, bool compat)
{
	if (!compat)
		return nr;
	__u32 *x = bpf_map_lookup_elem(&compat_nr_map, &nr);
	if (!x || *x == 0)
		return -1;
	return *x - 1;
}

/*
 * ktrail's heartbeat call (wire.h enum kt_heartbeat): answer it with a header-only record; true when it was
 * one. Checked before the traced bitmap: kill is rarely traced.
 */
static __always_inline bool kt_heartbeat(struct pt_regs *regs, bool btf)
{
	struct scratch_t *s;
	__u32 pid;

	if (kt_settings.self_tgid != (__u32)(bpf_get_current_pid_tgid() >> 32))
		return false;
	pid = (__u32)BPF_CORE_READ(regs, di);
	if ((pid >> 16) != KT_HB_TAG || (__u32)BPF_CORE_READ(regs, si) != 0)
		return false;
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return true;
	__builtin_memset(&s->hdr, 0, sizeof(s->hdr));
	kt_fill_current(&s->hdr, btf);
	s->hdr.ts = bpf_ktime_get_boot_ns();
	s->hdr.event_id = KT_HB_EVENT_ID;
	s->hdr.syscall_nr = KT_HB_NR;
	s->hdr.flags = KT_F_AT_ENTRY | ((pid & KT_HB_NUMBERED) ? 0 : KT_F_INTERNAL);
	kt_output(s, &s->hdr, sizeof(s->hdr), KT_HB_EVENT_ID);
	return true;
}

static __always_inline int kt_sys_enter(struct pt_regs *regs, long id, bool btf)
{
	/* The first test, for every syscall of every task: one bit of kt_traced.raw. */
	if (!kt_maybe_traced(id)) {
		if (id == KT_HB_NR && !kt_task_compat(btf))
			kt_heartbeat(regs, btf);
		return 0;
	}
	bool compat = kt_task_compat(btf);
	if (id == KT_HB_NR && !compat && kt_heartbeat(regs, btf))
		return 0;
	long native = kt_native_nr((__u32)id, compat);
	if (native < 0 || !kt_is_traced(native))
		return 0;
	__u32 nr = native;
	struct syscall_cfg_t *cfg = bpf_map_lookup_elem(&syscall_cfg_map, &nr);
	if (!cfg)
		return 0;
	__u64 matched = kt_wanted(cfg);
	if (!matched)
		return 0;

	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (kt_settings.self_tgid == (__u32)(pid_tgid >> 32))
		return 0;

	__u32 tid = (__u32)pid_tgid;
	struct entry_t e = {};
	e.flags = compat ? KT_F_COMPAT : 0;
	/* Scopes: a syscall that can change what they test (execve, setuid, ...) is scoped at exit instead. */
	if ((matched & cfg->scoped) || cfg->follow) {
		if (cfg->late_scope && cfg->emit != EMIT_ENTRY)
			e.flags |= KT_E_LATE_SCOPE;
		else
			matched = kt_scopes(matched, cfg->scoped, cfg->follow);
		if (!matched) {
			kt_count_filtered(cfg->event_id);
			return 0;
		}
	}
	e.ts = bpf_ktime_get_boot_ns();
	e.nr = nr;
	e.tid = tid;
	kt_read_args(regs, btf, compat, e.args);

	if (cfg->kev_entry) {
		kt_kevents(cfg, &e, 0, matched, 1, btf);
		/* Nothing else of this call happens at its exit. */
		if (!(matched & cfg->selected))
			return 0;
	}
	if (kt_has_magic(cfg, matched)) {
		if (kt_magic_candidate(&e))
			e.flags |= KT_E_MAGIC;
		else if (kt_magic_only(cfg, matched))
			return 0; /* the common write: nothing to see at its exit */
	}

	__u64 sm = matched & cfg->selected;
	if (cfg->emit == EMIT_ENTRY) {
		if (sm && kt_small(cfg, sm)) {
			kt_emit_small(cfg, &e, 0, e.flags | KT_F_AT_ENTRY, sm, btf);
			return 0;
		}
		struct scratch_t *s = bpf_map_lookup_elem(&scratch_map, &zero);
		if (!s || !sm)
			return 0;
		if (sm & cfg->filtered)
			sm = kt_filters_num(cfg, &e, 0, 1, sm);
		__u32 len = 0;
		if (sm) {
			len = kt_put_args(s, cfg, &e);
			if (sm & cfg->filtered)
				sm = kt_filters_str(nr, cfg, len, sm);
		}
		if (!sm) {
			kt_count_filtered(cfg->event_id);
			return 0;
		}
		kt_submit(s, cfg, &e, 0, len, e.flags | KT_F_AT_ENTRY, sm, btf);
		return 0;
	}
	e.matched = matched;
	if (cfg->emit == EMIT_ENTRY_EXIT && sm) {
		struct scratch_t *s = bpf_map_lookup_elem(&scratch_map, &zero);
		if (!s)
			return 0;
		e.payload_len = kt_put_args(s, cfg, &e);
		/* The scratch payload area has exactly the layout of a pending_t value. */
		bpf_map_update_elem(&pending_map, &tid, s->payload, BPF_ANY);
	}
	kt_entry_save(&e, tid);
	return 0;
}

/*
 * The exit of every syscall. The first test is the bit of kt_traced.raw for the id in orig_ax (the same id
 * sys_enter saw: ptrace and seccomp change it before that tracepoint). A traced call takes the entry its
 * sys_enter left; without one (seccomp denied the call, a tracer skipped it, it was in flight at start) its
 * record is rebuilt from the registers, which still hold the arguments (only the return value register
 * changed), and flagged KT_F_NO_ENTRY.
 */
static __always_inline int kt_sys_exit(struct pt_regs *regs, long ret, bool btf)
{
	long id = btf ? regs->orig_ax : BPF_CORE_READ(regs, orig_ax);
	if (!kt_maybe_traced(id))
		return 0;
	bool compat = kt_task_compat(btf);
	long native = kt_native_nr((__u32)id, compat);
	if (native < 0 || !kt_is_traced(native))
		return 0;
	__u32 nr = native;
	struct syscall_cfg_t *cfg = bpf_map_lookup_elem(&syscall_cfg_map, &nr);
	if (!cfg)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct entry_t e = {};
	__u32 len = 0;

	if (!kt_entry_take(nr, tid, &e)) {
		if (!cfg->selected || cfg->emit == EMIT_ENTRY)
			return 0;
		if (kt_settings.self_tgid == (__u32)(pid_tgid >> 32))
			return 0;
		e.nr = nr;
		e.flags = (compat ? KT_F_COMPAT : 0) | KT_F_NO_ENTRY | KT_E_LATE_SCOPE;
		e.matched = cfg->selected;
		kt_read_args(regs, btf, compat, e.args);
	}
	if (!(e.flags & KT_F_NO_ENTRY))
		tid = e.tid;
	__s64 retval = ret;
	__u64 matched = e.matched;
	if (e.flags & KT_E_LATE_SCOPE) {
		if ((matched & cfg->scoped) || cfg->follow)
			matched = kt_scopes(matched, cfg->scoped, cfg->follow);
		if (!matched) {
			kt_count_filtered(cfg->event_id);
			return 0;
		}
	}
	__u64 sm = matched & cfg->selected;
	/* The syscall record's arguments first when security_file_open would read its path again (one read). */
	struct scratch_t *pre = NULL;
	if (kt_set(KT_SET_STR_ONCE) && sm && !(e.flags & KT_F_NO_ENTRY) && cfg->emit == EMIT_EXIT &&
	    !kt_small(cfg, sm)) {
		int p = kt_shared_path(cfg, matched);
		if (p >= 0)
			pre = bpf_map_lookup_elem(&scratch_map, &zero);
		if (pre) {
			len = kt_put_args(pre, cfg, &e);
			struct blob_hdr_t *bh = kt_whole_str(pre, cfg, p, len);
			e.str_src = bh ? (__u64)(bh + 1) : 0;
		}
	}
	/* The kernel events first: the syscall record's filters must not decide for them. */
	if (!(e.flags & KT_F_NO_ENTRY))
		kt_kevents(cfg, &e, retval, matched, 0, btf);

	if (sm & cfg->filtered)
		sm = kt_filters_num(cfg, &e, retval, 0, sm);
	if (!sm) {
		if (cfg->emit == EMIT_ENTRY_EXIT)
			bpf_map_delete_elem(&pending_map, &tid);
		if (matched & cfg->selected)
			kt_count_filtered(cfg->event_id);
		return 0;
	}

	if (cfg->emit == EMIT_EXIT && kt_small(cfg, sm)) {
		kt_emit_small(cfg, &e, retval, e.flags, sm, btf);
		return 0;
	}
	struct scratch_t *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	if (pre) {
		/* built above */
	} else if (cfg->emit == EMIT_ENTRY_EXIT) {
		struct pending_t *p = bpf_map_lookup_elem(&pending_map, &tid);
		if (p) {
			len = e.payload_len;
			if (len > KT_PAYLOAD_MAX)
				len = KT_PAYLOAD_MAX;
			bpf_probe_read_kernel(s->payload, len, p->payload);
			bpf_map_delete_elem(&pending_map, &tid);
		} else { /* entry could not save it: read now, the memory may be gone */
			len = kt_put_args(s, cfg, &e);
		}
	} else {
		len = kt_put_args(s, cfg, &e);
	}
	if (sm & cfg->filtered) {
		sm = kt_filters_str(e.nr, cfg, len, sm);
		if (!sm) {
			kt_count_filtered(cfg->event_id);
			return 0;
		}
	}
	kt_submit(s, cfg, &e, retval, len, e.flags, sm, btf);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(tp_btf__syscalls__sys_enter, struct pt_regs *regs, long id)
{
	return kt_sys_enter(regs, id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_btf__syscalls__sys_exit, struct pt_regs *regs, long ret)
{
	return kt_sys_exit(regs, ret, true);
}

SEC("raw_tracepoint/sys_enter")
int raw_tp__syscalls__sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return kt_sys_enter((struct pt_regs *)ctx->args[0], (long)ctx->args[1], false);
}

SEC("raw_tracepoint/sys_exit")
int raw_tp__syscalls__sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return kt_sys_exit((struct pt_regs *)ctx->args[0], (long)ctx->args[1], false);
}

/*
 * The lifecycle record's configuration and scratch area, or NULL when this slot emits nothing now.
 * `*matched` gets the selecting policies whose scope the task matches; when none does, the record is
 * dropped (counted as filtered) unless the process tree wants it, and then `*internal` is set.
 */
static __always_inline struct kscratch_t *kt_lc_begin(__u32 slot, struct lifecycle_cfg_t **cfgp, bool *internal,
						      __u64 *matched)
{
	struct lifecycle_cfg_t *cfg = bpf_map_lookup_elem(&lifecycle_cfg_map, &slot);
	if (!cfg || (!cfg->selected && !cfg->internal))
		return NULL;
	if (kt_settings.self_tgid == (__u32)(bpf_get_current_pid_tgid() >> 32))
		return NULL;
	__u64 m = cfg->selected;
	if (m && (m & cfg->scoped)) {
		m = kt_scopes(m, cfg->scoped, cfg->follow);
		if (!m) {
			kt_count_filtered(cfg->event_id);
			if (!cfg->internal)
				return NULL;
		}
	}
	*cfgp = cfg;
	*internal = m == 0;
	*matched = m;
	return kt_kscratch();
}

/*
 * Fill the lifecycle header (the current task's context) and output it with `payload_len` bytes; `extra` is
 * ORed into the header flags.
 */
static __always_inline void kt_lc_submit(struct kscratch_t *s, const struct lifecycle_cfg_t *cfg, bool internal,
					 __u32 payload_len, __u64 matched, __u32 extra)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	long nr = BPF_CORE_READ(regs, orig_ax);
	__u32 flags = (kt_in_compat_syscall(task) ? KT_F_COMPAT : 0) | (internal ? KT_F_INTERNAL : 0) | extra;

	kt_ks_submit(s, cfg->event_id, nr < 0 || nr >= KT_MAX_SYSCALLS ? 0xffffffff : (__u32)nr, flags,
		     payload_len, matched, true);
}

/*
 * follow at fork: the child process inherits the follow marks of the parent (the current task), including
 * the ones the parent earns by matching a follow scope itself, which also marks the parent.
 */
static __always_inline void kt_follow_fork(struct task_struct *child)
{
	__u32 slot = KT_LC_FORK;
	struct lifecycle_cfg_t *cfg = bpf_map_lookup_elem(&lifecycle_cfg_map, &slot);
	if (!cfg || !cfg->follow)
		return;
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return; /* a thread shares its process's marks */
	__u64 bits = kt_scopes(cfg->follow, cfg->scoped, cfg->follow);
	if (bits) {
		__u32 ctgid = BPF_CORE_READ(child, tgid);
		bpf_map_update_elem(&follow_map, &ctgid, &bits, BPF_ANY);
	}
}

/* follow at exec: the new image may match a follow scope (its comm and credentials are already set). */
static __always_inline void kt_follow_exec(void)
{
	__u32 slot = KT_LC_EXEC;
	struct lifecycle_cfg_t *cfg = bpf_map_lookup_elem(&lifecycle_cfg_map, &slot);
	if (cfg && cfg->follow)
		kt_scopes(cfg->follow, cfg->scoped, cfg->follow);
}

/* sched_process_fork: fields as the catalog's (parent, child, parent process, leader: 4 x 5 ids). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_btf__sched__sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct lifecycle_cfg_t *cfg = NULL;
	bool internal = false;
	__u64 matched = 0;
	kt_follow_fork(child);
	struct kscratch_t *s = kt_lc_begin(KT_LC_FORK, &cfg, &internal, &matched);
	if (!s || !cfg)
		return 0;
	/* The tree keeps processes: a new thread matters only when the user selected the event. */
	if (internal && BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	struct task_struct *leader = BPF_CORE_READ(child, group_leader);
	struct task_struct *pproc = BPF_CORE_READ(leader, real_parent, group_leader);
	__u32 off = 0;
	off = kt_ks_put_task_ids(s, off, parent);
	off = kt_ks_put_task_ids(s, off, child);
	off = kt_ks_put_task_ids(s, off, pproc);
	off = kt_ks_put_task_ids(s, off, leader);
	kt_lc_submit(s, cfg, internal, off, matched, 0);
	return 0;
}

/* sched_process_exec: fields as the catalog's; runs in the task after the new image is set up. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_btf__sched__sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct lifecycle_cfg_t *cfg = NULL;
	bool internal = false;
	__u64 matched = 0;
	kt_follow_exec();
	struct kscratch_t *s = kt_lc_begin(KT_LC_EXEC, &cfg, &internal, &matched);
	if (!s || !cfg)
		return 0;
	struct file *file = BPF_CORE_READ(bprm, file);
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	/* The inode stat(2) shows for the path (an overlay file's own, not the layer's below it). */
	struct inode *ino = BPF_CORE_READ(dentry, d_inode);
	__u32 off = 0;

	off = kt_ks_put_str(s, off, (__u64)BPF_CORE_READ(bprm, filename), 0);               /* cmdpath */
	off = kt_ks_put_path(s, off, (__u64)dentry, (__u64)BPF_CORE_READ(file, f_path.mnt));   /* pathname */
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(ino, i_sb, s_dev));                          /* dev */
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(ino, i_ino));                                /* inode */
	off = kt_ks_put_u64(s, off, kt_inode_ctime(ino));                                      /* ctime */
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(ino, i_mode));                               /* inode_mode */
	/* interpreter_*: the ELF interpreter is only visible to a load_elf_phdrs kprobe (not on this build). */
	off = kt_ks_put_empty(s, off, ARG_STR, BLOB_OK);
	off = kt_ks_put_u64(s, off, 0);
	off = kt_ks_put_u64(s, off, 0);
	off = kt_ks_put_u64(s, off, 0);
	if (internal) {
		off = kt_ks_put_empty(s, off, ARG_STR_LIST, BLOB_OK); /* argv: the tree does not need it */
	} else {
		struct mm_struct *mm = BPF_CORE_READ(p, mm);
		off = kt_ks_put_cmdline(s, off, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end));
	}
	off = kt_ks_put_str(s, off, (__u64)BPF_CORE_READ(bprm, interp), 0);                /* interp */
	struct file **fds = BPF_CORE_READ(p, files, fdt, fd);
	struct file *in = NULL;
	bpf_probe_read_kernel(&in, sizeof(in), fds);
	__u16 in_mode = in ? BPF_CORE_READ(in, f_inode, i_mode) : 0;
	off = kt_ks_put_u64(s, off, in_mode & KT_S_IFMT);                                      /* stdin_type */
	if (internal || !in)
		off = kt_ks_put_empty(s, off, ARG_STR, BLOB_OK);
	else
		off = kt_ks_put_path(s, off, (__u64)BPF_CORE_READ(in, f_path.dentry),
				     (__u64)BPF_CORE_READ(in, f_path.mnt));                       /* stdin_path */
	off = kt_ks_put_u64(s, off,
			    (BPF_CORE_READ(p, real_parent, flags) & KT_PF_KTHREAD) != 0);      /* invoked_from_kernel */
	off = kt_ks_put_empty(s, off, ARG_STR, BLOB_OK); /* prev_comm: already replaced at this tracepoint */
	off = kt_ks_put_empty(s, off, ARG_STR_LIST, BLOB_OK); /* env: not requested */
	if (internal)
		off = kt_ks_put_empty(s, off, ARG_STR, BLOB_OK);
	else
		off = kt_ks_put_path(s, off, (__u64)BPF_CORE_READ(p, fs, pwd.dentry),
				     (__u64)BPF_CORE_READ(p, fs, pwd.mnt));                       /* pwd */
	/* A container's first program: exec'd in a mount namespace its parent (the runtime's shim) is not in. */
	__u32 mnt = BPF_CORE_READ(p, nsproxy, mnt_ns, ns.inum);
	__u32 parent_mnt = BPF_CORE_READ(p, real_parent, nsproxy, mnt_ns, ns.inum);
	kt_lc_submit(s, cfg, internal, off, matched, parent_mnt != 0 && mnt != parent_mnt ? KT_F_NEW_MNTNS : 0);
	return 0;
}

/* sched_process_exit: exit_code (status >> 8), signal_code (status & 0x7f), process_group_exit. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_btf__sched__sched_process_exit, struct task_struct *p)
{
	struct lifecycle_cfg_t *cfg = NULL;
	bool internal = false;
	__u64 matched = 0;
	/* do_exit decremented signal->live before the tracepoint: 0 means the whole group is gone. */
	bool group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
	struct kscratch_t *s = kt_lc_begin(KT_LC_EXIT, &cfg, &internal, &matched);
	if (s && cfg && (!internal || group_dead)) {
		int code = BPF_CORE_READ(p, exit_code);
		__u32 off = 0;
		off = kt_ks_put_u64(s, off, (__u64)(__s64)((code >> 8) & 0xff));
		off = kt_ks_put_u64(s, off, (__u64)(__s64)(code & 0x7f));
		off = kt_ks_put_u64(s, off, group_dead);
		kt_lc_submit(s, cfg, internal, off, matched, 0);
	}
	if (group_dead) {
		__u32 tgid = BPF_CORE_READ(p, tgid);
		bpf_map_delete_elem(&follow_map, &tgid);
	}
	return 0;
}

/* cgroup_mkdir and cgroup_rmdir: cgroup_id (the directory's kernfs id), cgroup_path (in its hierarchy),
 * hierarchy_id (0: the cgroup v2 hierarchy). Rare events: every hierarchy's records are sent. */
static __always_inline int kt_cgroup_record(__u32 slot, struct cgroup *cgrp, const char *path)
{
	struct lifecycle_cfg_t *cfg = NULL;
	bool internal = false;
	__u64 matched = 0;
	struct kscratch_t *s = kt_lc_begin(slot, &cfg, &internal, &matched);
	if (!s || !cfg)
		return 0;
	__u32 off = 0;
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(cgrp, kn, id));
	off = kt_ks_put_str(s, off, (__u64)path, 0);
	off = kt_ks_put_u64(s, off, (__u64)BPF_CORE_READ(cgrp, root, hierarchy_id));
	kt_lc_submit(s, cfg, internal, off, matched, 0);
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(tp_btf__cgroup__cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	return kt_cgroup_record(KT_LC_CGROUP_MKDIR, cgrp, path);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(tp_btf__cgroup__cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	return kt_cgroup_record(KT_LC_CGROUP_RMDIR, cgrp, path);
}

/*
 * Packets (common/net.h): classify, find the socket's owner, copy its stamp and the packet's bytes into a
 * net_packet_base record. Always returns 1: ktrail observes, it never drops a packet.
 */
static __always_inline int kt_net_skb(struct __sk_buff *skb, __u32 dir)
{
	__u32 want = kt_net.classes;
	if (!want)
		return 1;
	__u32 classes = kt_net_classify(skb, want) & want;
	if (!classes)
		return 1;
	struct net_task_t *t = kt_net_owner(skb);
	if (!t) {
		if (dir == KT_NET_INGRESS)
			KT_NET_COUNT(unattributed_ingress);
		else
			KT_NET_COUNT(unattributed_egress);
		return 1;
	}
	if (t->self)
		return 1;
	bool l7 = (classes & (KT_NET_DNS | KT_NET_HTTP)) != 0;
	if (l7 && skb->len > KT_NET_L7_SNAP)
		KT_NET_COUNT(truncated);
	__u32 size = 0;
	struct net_rec_t *r = kt_net_build(skb, t, dir, l7 ? KT_NET_L7_SNAP : KT_NET_HDR_SNAP, l7, &size);
	if (!r)
		return 1;
	if (size > sizeof(*r))
		size = sizeof(*r);
	kt_output(r, &r->hdr, size, KT_NET_EVENT_ID);
	kt_net_release();
	return 1;
}

SEC("cgroup_skb/ingress")
int cgroup_skb__net__ingress(struct __sk_buff *skb)
{
	return kt_net_skb(skb, KT_NET_INGRESS);
}

SEC("cgroup_skb/egress")
int cgroup_skb__net__egress(struct __sk_buff *skb)
{
	return kt_net_skb(skb, KT_NET_EGRESS);
}

/* A new AF_INET or AF_INET6 socket, in the creating task: its first owner. */
SEC("cgroup/sock_create")
int cgroup_sock__net__sock_create(struct bpf_sock *sk)
{
	if (kt_net_family(sk->family))
		kt_net_stamp(sk);
	return 1;
}

/* connect (CLOSE -> SYN_SENT) and listen (CLOSE -> LISTEN) run in the calling task, before any packet. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_btf__sock__inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (newstate == KT_TCP_SYN_SENT || newstate == KT_TCP_LISTEN)
		kt_net_stamp((void *)sk);
	return 0;
}

/* Every send and receive call, in the calling task, after the call. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(tp_btf__sock__sock_send_length, struct sock *sk, int ret, int flags)
{
	if (kt_net_family(sk->__sk_common.skc_family))
		kt_net_stamp(sk);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tp_btf__sock__sock_recv_length, struct sock *sk, int ret, int flags)
{
	if (kt_net_family(sk->__sk_common.skc_family))
		kt_net_stamp(sk);
	return 0;
}

/*
 * Every type of the userspace ABI, as the parameter of a function nothing calls: it puts each enum and struct
 * below into the object's BTF, from which scripts/gen-abi.ts generates src/abi/abi.gen.ts (#defines and types
 * only used through pointers would not reach the BTF). Costs a few bytes of .text; never loaded.
 */
struct kt_abi {
	enum kt_wire_limit wire_limit;
	enum kt_map_limit map_limit;
	enum kt_policy_limit policy_limit;
	enum arg_kind arg_kind;
	enum emit_mode emit_mode;
	enum kt_hdr_flag hdr_flag;
	enum lifecycle_slot lifecycle_slot;
	enum blob_status blob_status;
	enum kt_kevent kevent;
	enum kt_scope_flag scope_flag;
	enum kt_cmp_op cmp_op;
	enum kt_cmp_type cmp_type;
	enum kt_cmp_target cmp_target;
	enum kt_filter_flag filter_flag;
	enum kt_str_kind str_kind;
	enum kt_heartbeat heartbeat;
	enum kt_net_class net_class;
	enum kt_net_limit net_limit;
	enum kt_setting_flag setting_flag;
	enum kt_ring_small ring_small;
	struct event_hdr_t event_hdr;
	struct blob_hdr_t blob_hdr;
	struct syscall_cfg_t syscall_cfg;
	struct kevent_cfg_t kevent_cfg;
	struct lifecycle_cfg_t lifecycle_cfg;
	struct stats_t stats;
	struct kt_settings_t settings;
	struct kt_traced_t traced;
	struct scope_t scope;
	struct scope_ns_key_t scope_ns_key;
	struct filter_key_t filter_key;
	struct filter_t filter;
	struct kt_net_cfg_t net_cfg;
	struct net_stats_t net_stats;
};

__attribute__((used)) static int kt_abi_anchor(struct kt_abi *abi)
{
	return abi != 0;
}

char LICENSE[] SEC("license") = "GPL";
