// SPDX-License-Identifier: GPL-2.0
/*
 * minitrace.bpf.c: the minimal ring-buffer tracer the benchmark compares ktrail with. One raw_tp program on
 * sys_enter: test the syscall id, reserve a 96-byte record in the ring, fill it (time, ids, comm, flags, the
 * module name copied from the caller) and submit it, waking the consumer only once 256 KiB wait. No
 * configuration, no pairing with the exit, no loss accounting beyond one counter.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "minitrace.h"

/* Records that did not fit in the ring. */
__u64 mini_lost SEC(".bss");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MINI_RING_BYTES);
} mini_ring SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int raw_tp__mini__sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[1] != MINI_NR_DELETE_MODULE)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	struct mini_record *r = bpf_ringbuf_reserve(&mini_ring, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&mini_lost, 1);
		return 0;
	}
	r->ts = bpf_ktime_get_boot_ns();
	r->pid_tgid = bpf_get_current_pid_tgid();
	r->flags = BPF_CORE_READ(regs, si);
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	const char *name = (const char *)BPF_CORE_READ(regs, di);
	if (bpf_probe_read_user_str(r->name, sizeof(r->name), name) < 0)
		r->name[0] = 0;
	__u64 wake = bpf_ringbuf_query(&mini_ring, BPF_RB_AVAIL_DATA) + sizeof(*r) >= MINI_WAKEUP_BYTES
			     ? BPF_RB_FORCE_WAKEUP
			     : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(r, wake);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
