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

/* Fill every task-derived field of the header with probe reads; the caller sets the event fields. */
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

/*
 * Direct loads (BTF-typed task pointers, tp_btf programs): a load through a kernel pointer costs a few
 * instructions where a probe read is a helper call, and a bad pointer still reads as zero. An array can only
 * be indexed by a constant: pid->numbers[level] is read for levels 0..3 (nested pid namespaces deeper than
 * that fall back to probe reads).
 */
static __always_inline struct upid *kt_upid_direct(struct pid *pid)
{
	switch (pid->level) {
	case 0:
		return &pid->numbers[0];
	case 1:
		return &pid->numbers[1];
	case 2:
		return &pid->numbers[2];
	case 3:
		return &pid->numbers[3];
	}
	return NULL;
}

static __always_inline __u32 kt_pid_vnr_direct(struct pid *pid)
{
	struct upid *u = kt_upid_direct(pid);
	return u ? u->nr : kt_pid_vnr(pid);
}

/* kt_fill_task with direct loads; `task` must be BTF-typed (bpf_get_current_task_btf, tp_btf arguments). */
static __always_inline void kt_fill_task_direct(struct event_hdr_t *h, struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_struct *leader = task->group_leader;
	struct task_struct *parent = task->real_parent;
	struct task_struct *pleader = parent->group_leader;
	struct pid *tpid = task->thread_pid;
	struct upid *u = kt_upid_direct(tpid);
	const struct cred *cred = task->cred;
	struct nsproxy *ns = task->nsproxy;

	h->host_pid = pid_tgid >> 32;
	h->host_tid = (__u32)pid_tgid;
	h->host_ppid = parent->tgid;
	if (u) {
		h->tid = u->nr;
		h->pid_ns = u->ns->ns.inum;
	} else {
		h->tid = kt_pid_vnr(tpid);
		h->pid_ns = kt_pid_ns_inum(tpid);
	}
	h->pid = kt_pid_vnr_direct(leader->thread_pid);
	h->ppid = kt_pid_vnr_direct(pleader->thread_pid);
	h->mnt_ns = ns->mnt_ns->ns.inum;
	h->uid = cred->euid.val;
	h->gid = cred->egid.val;
	h->start_time = task->start_boottime;
	h->leader_start_time = leader->start_boottime;
	h->parent_start_time = pleader->start_boottime;
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	/* The first KT_UTS_LEN bytes of the nodename, as two words. */
	const __u64 *node = (const __u64 *)ns->uts_ns->name.nodename;
	__u64 w0 = node[0], w1 = node[1];
	__builtin_memcpy(h->uts, &w0, 8);
	__builtin_memcpy(h->uts + 8, &w1, 8);
}

#endif /* KTRAIL_COMMON_TASK_H */
