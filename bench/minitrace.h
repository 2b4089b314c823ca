/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * minitrace.h: the one record the minimal ring-buffer tracer (minitrace.bpf.c, minitrace.c) sends, 96 bytes.
 * It is the yardstick of issue 16: what a tracer that does almost nothing but copy the module name costs.
 */
#ifndef MINITRACE_H
#define MINITRACE_H

#define MINI_NR_DELETE_MODULE 176      /* x86_64 */
#define MINI_WAKEUP_BYTES (256 << 10)  /* wake the consumer once this many bytes wait */
#define MINI_RING_BYTES (8 << 20)      /* as ktrail's default ring */
#define MINI_NAME_LEN 56

struct mini_record {
	unsigned long long ts;       /* boot ns */
	unsigned long long pid_tgid; /* bpf_get_current_pid_tgid() */
	unsigned long long flags;    /* delete_module's second argument */
	char comm[16];
	char name[MINI_NAME_LEN];    /* the caller's module name, NUL-terminated, cut to fit */
};

#endif /* MINITRACE_H */
