// SPDX-License-Identifier: GPL-2.0
/*
 * ktrail.bpf.c: the syscall tracer. Two programs on the raw syscall tracepoints:
 *   sys_enter  decides (one array lookup for an unselected syscall), saves the raw arguments per thread,
 *              and emits EMIT_ENTRY syscalls or pre-reads EMIT_ENTRY_EXIT ones;
 *   sys_exit   reads the pointer arguments, builds one record (event_hdr_t + blobs, wire.h) in a per-CPU
 *              scratch area and copies it into the ring buffer with bpf_ringbuf_output.
 * Configuration comes from maps filled by userspace after load (maps.h); the object knows no event.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "wire.h"
#include "maps.h"
#include "common/task.h"
#include "common/args.h"

static const __u32 zero = 0;

/* The raw argument registers of the syscall in flight, in the calling ABI's order. */
static __always_inline void kt_read_args(struct pt_regs *uregs, bool compat, __u64 *args)
{
	struct pt_regs regs;

	if (bpf_probe_read_kernel(&regs, sizeof(regs), uregs) < 0) {
		__builtin_memset(&regs, 0, sizeof(regs));
	}
	if (compat) { /* i386: ebx, ecx, edx, esi, edi, ebp */
		args[0] = (__u32)regs.bx;
		args[1] = (__u32)regs.cx;
		args[2] = (__u32)regs.dx;
		args[3] = (__u32)regs.si;
		args[4] = (__u32)regs.di;
		args[5] = (__u32)regs.bp;
	} else { /* x86_64: rdi, rsi, rdx, r10, r8, r9 */
		args[0] = regs.di;
		args[1] = regs.si;
		args[2] = regs.dx;
		args[3] = regs.r10;
		args[4] = regs.r8;
		args[5] = regs.r9;
	}
}

/*
 * Fill the header of the record in `s`, take a sequence number and copy header + `payload_len` bytes into
 * events_map. The number is taken before the copy, so a failed copy leaves a gap; it is counted as lost.
 */
static __always_inline void kt_submit(struct scratch_t *s, const struct syscall_cfg_t *cfg,
				      const struct entry_t *e, __s64 retval, __u32 payload_len, __u32 flags)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct event_hdr_t *h = &s->hdr;
	__u32 event_id = cfg->event_id;
	struct stats_t *st;
	__u64 *seqp, fill = 0, wake;
	struct config_t *conf;
	long err;

	kt_fill_task(h, task);
	h->ts = bpf_ktime_get_boot_ns();
	h->duration_ns = (flags & KT_F_AT_ENTRY) ? 0 : h->ts - e->ts;
	h->matched = cfg->selected;
	h->retval = retval;
	__builtin_memcpy(h->args, e->args, sizeof(h->args));
	h->event_id = event_id;
	h->syscall_nr = e->nr;
	h->flags = flags;
	h->policy_version = 0;

	if (payload_len > KT_PAYLOAD_MAX)
		payload_len = KT_PAYLOAD_MAX;
	__u32 size = sizeof(struct event_hdr_t) + payload_len;
	h->size = size;

	seqp = bpf_map_lookup_elem(&seq_map, &zero);
	h->seq = seqp ? __sync_fetch_and_add(seqp, 1) + 1 : 0;

	conf = bpf_map_lookup_elem(&config_map, &zero);
	if (conf)
		fill = conf->wakeup_fill;
	/* Wake the consumer only once a batch is waiting; it also polls on a short timeout. */
	wake = bpf_ringbuf_query(&events_map, BPF_RB_AVAIL_DATA) + size >= fill ? BPF_RB_FORCE_WAKEUP
										 : BPF_RB_NO_WAKEUP;
	err = bpf_ringbuf_output(&events_map, s, size, wake);

	st = bpf_map_lookup_elem(&stats_map, &event_id);
	if (st) {
		if (err)
			st->lost++;
		else
			st->submitted++;
	}
}

SEC("raw_tracepoint/sys_enter")
int raw_tp__syscalls__sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	bool compat = (task->thread_info.status & KT_TS_COMPAT) != 0;
	__u32 nr = (__u32)ctx->args[1];
	struct syscall_cfg_t *cfg;

	if (compat) {
		__u32 *x = bpf_map_lookup_elem(&compat_nr_map, &nr);
		if (!x || *x == 0)
			return 0;
		nr = *x - 1;
	}
	cfg = bpf_map_lookup_elem(&syscall_cfg_map, &nr);
	if (!cfg || !cfg->selected)
		return 0;

	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct config_t *conf = bpf_map_lookup_elem(&config_map, &zero);
	if (conf && conf->self_tgid == (__u32)(pid_tgid >> 32))
		return 0;

	__u32 tid = (__u32)pid_tgid;
	struct entry_t e = {};
	e.ts = bpf_ktime_get_boot_ns();
	e.nr = nr;
	e.flags = compat ? KT_F_COMPAT : 0;
	kt_read_args((struct pt_regs *)ctx->args[0], compat, e.args);

	if (cfg->emit == EMIT_ENTRY) {
		struct scratch_t *s = bpf_map_lookup_elem(&scratch_map, &zero);
		if (!s)
			return 0;
		__u32 len = kt_put_args(s, cfg, &e);
		kt_submit(s, cfg, &e, 0, len, e.flags | KT_F_AT_ENTRY);
		return 0;
	}
	if (cfg->emit == EMIT_ENTRY_EXIT) {
		struct scratch_t *s = bpf_map_lookup_elem(&scratch_map, &zero);
		if (!s)
			return 0;
		e.payload_len = kt_put_args(s, cfg, &e);
		/* The scratch payload area has exactly the layout of a pending_t value. */
		bpf_map_update_elem(&pending_map, &tid, s->payload, BPF_ANY);
	}
	bpf_map_update_elem(&task_entry_map, &tid, &e, BPF_ANY);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int raw_tp__syscalls__sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct entry_t *ep = bpf_map_lookup_elem(&task_entry_map, &tid);
	struct entry_t e;
	__u32 len = 0;

	if (!ep)
		return 0;
	e = *ep;
	bpf_map_delete_elem(&task_entry_map, &tid);

	struct syscall_cfg_t *cfg = bpf_map_lookup_elem(&syscall_cfg_map, &e.nr);
	struct scratch_t *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!cfg || !s)
		return 0;

	if (cfg->emit == EMIT_ENTRY_EXIT) {
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
	kt_submit(s, cfg, &e, (__s64)ctx->args[1], len, e.flags);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
