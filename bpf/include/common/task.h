/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * task.h: the task context of a record (ids, namespaces, credentials, names), read with CO-RE from the
 * current task_struct. Every read goes through bpf_probe_read_kernel, so a field missing on some kernel
 * leaves a zero instead of failing the record.
 */
#ifndef KTRAIL_COMMON_TASK_H
#define KTRAIL_COMMON_TASK_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "wire.h"

#define KT_TS_COMPAT 0x0002 /* x86 thread_info.status bit: the task is in a 32-bit syscall */

/* Number of `pid` in its own (deepest) pid namespace. */
static __always_inline __u32 kt_pid_vnr(struct pid *pid)
{
	unsigned int level = BPF_CORE_READ(pid, level);
	return (__u32)BPF_CORE_READ(pid, numbers[level].nr);
}

static __always_inline __u32 kt_pid_ns_inum(struct pid *pid)
{
	unsigned int level = BPF_CORE_READ(pid, level);
	return BPF_CORE_READ(pid, numbers[level].ns, ns.inum);
}

/* True when the current syscall is a 32-bit (ia32) one. */
static __always_inline bool kt_in_compat_syscall(struct task_struct *task)
{
	return (BPF_CORE_READ(task, thread_info.status) & KT_TS_COMPAT) != 0;
}

/* Fill every task-derived field of the header; the caller sets the event fields. */
static __always_inline void kt_fill_task(struct event_hdr_t *h, struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	struct pid *tpid = BPF_CORE_READ(task, thread_pid);

	h->host_pid = pid_tgid >> 32;
	h->host_tid = (__u32)pid_tgid;
	h->host_ppid = BPF_CORE_READ(parent, tgid);
	h->tid = kt_pid_vnr(tpid);
	h->pid = kt_pid_vnr(BPF_CORE_READ(leader, thread_pid));
	h->ppid = kt_pid_vnr(BPF_CORE_READ(parent, group_leader, thread_pid));
	h->pid_ns = kt_pid_ns_inum(tpid);
	h->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	h->uid = BPF_CORE_READ(task, cred, euid.val);
	h->gid = BPF_CORE_READ(task, cred, egid.val);
	h->start_time = BPF_CORE_READ(task, start_boottime);
	h->leader_start_time = BPF_CORE_READ(leader, start_boottime);
	h->parent_start_time = BPF_CORE_READ(parent, group_leader, start_boottime);
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	struct uts_namespace *uts = BPF_CORE_READ(task, nsproxy, uts_ns);
	/* The first KT_UTS_LEN bytes of the nodename; userspace stops at the first NUL. */
	bpf_core_read(h->uts, KT_UTS_LEN, &uts->name.nodename);
}

#endif /* KTRAIL_COMMON_TASK_H */
