// SPDX-License-Identifier: GPL-2.0
/*
 * bench_empty.bpf.c: the cheapest programs that can sit on raw sys_enter and sys_exit. The benchmark attaches
 * the sys_enter one alone to measure the floor cost of any syscall hook, and both to measure the floor of a
 * tracer that pairs every call's entry with its exit; the tracer never loads this object.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("raw_tracepoint/sys_enter")
int raw_tp__bench__empty(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int raw_tp__bench__empty_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
