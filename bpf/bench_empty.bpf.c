// SPDX-License-Identifier: GPL-2.0
/*
 * bench_empty.bpf.c: the cheapest program that can sit on raw sys_enter. The benchmark attaches it alone to
 * measure the floor cost of any syscall hook; the tracer never loads this object.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("raw_tracepoint/sys_enter")
int raw_tp__bench__empty(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
