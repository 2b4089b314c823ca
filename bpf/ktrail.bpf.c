// SPDX-License-Identifier: GPL-2.0
/*
 * ktrail.bpf.c: the syscall tracer. Two programs on the raw syscall tracepoints:
 *   sys_enter  decides (one array lookup for an unselected syscall), saves the raw arguments per thread,
 *              and emits EMIT_ENTRY syscalls or pre-reads EMIT_ENTRY_EXIT ones;
 *   sys_exit   reads the pointer arguments, builds one record (event_hdr_t + blobs, wire.h) in a per-CPU
 *              scratch area and copies it into the ring buffer with bpf_ringbuf_output.
 * Three BTF tracepoint programs emit the process lifecycle (sched_process_fork/exec/exit) when the user
 * selected those events or the process tree needs them (lifecycle_cfg_map; KT_F_INTERNAL when only the tree
 * does). Userspace attaches only the programs it needs.
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
#include "common/lifecycle.h"
#include "common/filters.h"

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
 * Number the record whose header is `h` (inside `rec`, `size` bytes in all; h->flags already set), copy it
 * into events_map and count it for `event_id`. The number is taken before the copy, so a failed copy leaves
 * a gap; it is counted as lost. Internal records get seq 0.
 */
static __always_inline void kt_output(void *rec, struct event_hdr_t *h, __u32 size, __u32 event_id)
{
	struct stats_t *st;
	__u64 *seqp, wake;
	long err;

	h->size = size;
	/* Records only the process tree reads are never printed: they take no number, so that every gap in
	 * the printed sequence is a loss (or a userspace filter drop, counted apart). Their losses are counted
	 * per event below like any other. */
	seqp = (h->flags & KT_F_INTERNAL) ? NULL : bpf_map_lookup_elem(&seq_map, &zero);
	h->seq = seqp ? __sync_fetch_and_add(seqp, 1) + 1 : 0;

	/* Wake the consumer only once a batch is waiting; it also polls on a short timeout. */
	wake = bpf_ringbuf_query(&events_map, BPF_RB_AVAIL_DATA) + size >= kt_settings.wakeup_fill
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
	err = bpf_ringbuf_output(&events_map, rec, size, wake);

	st = bpf_map_lookup_elem(&stats_map, &event_id);
	if (st) {
		if (err)
			st->lost++;
		else
			st->submitted++;
	}
}

/* Fill the header of the syscall record in `s` and output header + `payload_len` bytes (kt_output). */
static __always_inline void kt_submit(struct scratch_t *s, const struct syscall_cfg_t *cfg,
				      const struct entry_t *e, __s64 retval, __u32 payload_len, __u32 flags,
				      __u64 matched)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct event_hdr_t *h = &s->hdr;
	__u32 event_id = cfg->event_id;

	kt_fill_task(h, task);
	h->ts = bpf_ktime_get_boot_ns();
	h->duration_ns = (flags & KT_F_AT_ENTRY) ? 0 : h->ts - e->ts;
	h->matched = matched;
	h->retval = retval;
	__builtin_memcpy(h->args, e->args, sizeof(h->args));
	h->event_id = event_id;
	h->syscall_nr = e->nr;
	h->flags = flags & 0xffff;
	h->policy_version = 0;

	if (payload_len > KT_PAYLOAD_MAX)
		payload_len = KT_PAYLOAD_MAX;
	kt_output(s, h, sizeof(struct event_hdr_t) + payload_len, event_id);
}

/* ktrail's heartbeat call (wire.h enum kt_heartbeat): answer it with a header-only record; true when it was one. */
static __always_inline bool kt_heartbeat(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
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
	kt_fill_task(&s->hdr, (struct task_struct *)bpf_get_current_task());
	s->hdr.ts = bpf_ktime_get_boot_ns();
	s->hdr.event_id = KT_HB_EVENT_ID;
	s->hdr.syscall_nr = KT_HB_NR;
	s->hdr.flags = KT_F_AT_ENTRY | ((pid & KT_HB_NUMBERED) ? 0 : KT_F_INTERNAL);
	kt_output(s, &s->hdr, sizeof(s->hdr), KT_HB_EVENT_ID);
	return true;
}

SEC("raw_tracepoint/sys_enter")
int raw_tp__syscalls__sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	bool compat = (task->thread_info.status & KT_TS_COMPAT) != 0;
	__u32 nr = (__u32)ctx->args[1];
	struct syscall_cfg_t *cfg;

	if (nr == KT_HB_NR && !compat && kt_heartbeat(ctx))
		return 0;
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
	if (kt_settings.self_tgid == (__u32)(pid_tgid >> 32))
		return 0;

	__u32 tid = (__u32)pid_tgid;
	struct entry_t e = {};
	__u64 matched = cfg->selected;
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
	kt_read_args((struct pt_regs *)ctx->args[0], compat, e.args);

	if (cfg->emit == EMIT_ENTRY) {
		struct scratch_t *s = bpf_map_lookup_elem(&scratch_map, &zero);
		if (!s)
			return 0;
		if (matched & cfg->filtered)
			matched = kt_filters_num(cfg, &e, 0, 1, matched);
		__u32 len = 0;
		if (matched) {
			len = kt_put_args(s, cfg, &e);
			if (matched & cfg->filtered)
				matched = kt_filters_str(nr, cfg, len, matched);
		}
		if (!matched) {
			kt_count_filtered(cfg->event_id);
			return 0;
		}
		kt_submit(s, cfg, &e, 0, len, e.flags | KT_F_AT_ENTRY, matched);
		return 0;
	}
	e.matched = matched;
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

	__s64 retval = (__s64)ctx->args[1];
	__u64 matched = e.matched;
	if (e.flags & KT_E_LATE_SCOPE)
		matched = kt_scopes(matched, cfg->scoped, cfg->follow);
	if (matched & cfg->filtered)
		matched = kt_filters_num(cfg, &e, retval, 0, matched);
	if (!matched) {
		if (cfg->emit == EMIT_ENTRY_EXIT)
			bpf_map_delete_elem(&pending_map, &tid);
		kt_count_filtered(cfg->event_id);
		return 0;
	}

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
	if (matched & cfg->filtered) {
		matched = kt_filters_str(e.nr, cfg, len, matched);
		if (!matched) {
			kt_count_filtered(cfg->event_id);
			return 0;
		}
	}
	kt_submit(s, cfg, &e, retval, len, e.flags, matched);
	return 0;
}

/*
 * The lifecycle record's configuration and scratch area, or NULL when this slot emits nothing now.
 * `*matched` gets the selecting policies whose scope the task matches; when none does, the record is
 * dropped (counted as filtered) unless the process tree wants it, and then `*internal` is set.
 */
static __always_inline struct lc_scratch_t *kt_lc_begin(__u32 slot, struct lifecycle_cfg_t **cfgp, bool *internal,
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
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&lc_scratch_map, &cpu);
}

/* Fill the lifecycle header (the current task's context) and output it with `payload_len` bytes. */
static __always_inline void kt_lc_submit(struct lc_scratch_t *s, const struct lifecycle_cfg_t *cfg, bool internal,
					 __u32 payload_len, __u64 matched)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct event_hdr_t *h = &s->hdr;
	__u32 event_id = cfg->event_id;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	long nr = BPF_CORE_READ(regs, orig_ax);

	kt_fill_task(h, task);
	h->ts = bpf_ktime_get_boot_ns();
	h->duration_ns = 0;
	h->matched = matched;
	h->retval = 0;
	__builtin_memset(h->args, 0, sizeof(h->args));
	h->event_id = event_id;
	h->syscall_nr = nr < 0 || nr >= KT_MAX_SYSCALLS ? 0xffffffff : (__u32)nr;
	h->flags = (kt_in_compat_syscall(task) ? KT_F_COMPAT : 0) | (internal ? KT_F_INTERNAL : 0);
	h->policy_version = 0;
	if (payload_len > KT_LC_PAYLOAD_MAX)
		payload_len = KT_LC_PAYLOAD_MAX;
	kt_output(s, h, sizeof(struct event_hdr_t) + payload_len, event_id);
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

/* sched_process_fork: fields as catalog 714 (parent, child, parent process, leader: 4 x 5 ids). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_btf__sched__sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct lifecycle_cfg_t *cfg = NULL;
	bool internal = false;
	__u64 matched = 0;
	kt_follow_fork(child);
	struct lc_scratch_t *s = kt_lc_begin(KT_LC_FORK, &cfg, &internal, &matched);
	if (!s || !cfg)
		return 0;
	/* The tree keeps processes: a new thread matters only when the user selected the event. */
	if (internal && BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	struct task_struct *leader = BPF_CORE_READ(child, group_leader);
	struct task_struct *pproc = BPF_CORE_READ(leader, real_parent, group_leader);
	__u32 off = 0;
	off = kt_lc_put_task_ids(s, off, parent);
	off = kt_lc_put_task_ids(s, off, child);
	off = kt_lc_put_task_ids(s, off, pproc);
	off = kt_lc_put_task_ids(s, off, leader);
	kt_lc_submit(s, cfg, internal, off, matched);
	return 0;
}

/* sched_process_exec: fields as catalog 715; runs in the task after the new image is set up. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_btf__sched__sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct lifecycle_cfg_t *cfg = NULL;
	bool internal = false;
	__u64 matched = 0;
	kt_follow_exec();
	struct lc_scratch_t *s = kt_lc_begin(KT_LC_EXEC, &cfg, &internal, &matched);
	if (!s || !cfg)
		return 0;
	struct file *file = BPF_CORE_READ(bprm, file);
	struct inode *ino = BPF_CORE_READ(file, f_inode);
	__u32 off = 0;

	off = kt_lc_put_kstr(s, off, (__u64)BPF_CORE_READ(bprm, filename));                  /* cmdpath */
	off = kt_lc_put_path(s, off, (__u64)BPF_CORE_READ(file, f_path.dentry),
			     (__u64)BPF_CORE_READ(file, f_path.mnt));                             /* pathname */
	off = kt_lc_put_u64(s, off, BPF_CORE_READ(ino, i_sb, s_dev));                          /* dev */
	off = kt_lc_put_u64(s, off, BPF_CORE_READ(ino, i_ino));                                /* inode */
	off = kt_lc_put_u64(s, off, kt_inode_ctime(ino));                                      /* ctime */
	off = kt_lc_put_u64(s, off, BPF_CORE_READ(ino, i_mode));                               /* inode_mode */
	/* interpreter_*: the ELF interpreter is only visible to a load_elf_phdrs kprobe (not on this build). */
	off = kt_lc_put_empty(s, off, ARG_STR);
	off = kt_lc_put_u64(s, off, 0);
	off = kt_lc_put_u64(s, off, 0);
	off = kt_lc_put_u64(s, off, 0);
	if (internal) {
		off = kt_lc_put_empty(s, off, ARG_STR_LIST); /* argv: the tree does not need it */
	} else {
		struct mm_struct *mm = BPF_CORE_READ(p, mm);
		off = kt_lc_put_cmdline(s, off, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end));
	}
	off = kt_lc_put_kstr(s, off, (__u64)BPF_CORE_READ(bprm, interp));                    /* interp */
	struct file **fds = BPF_CORE_READ(p, files, fdt, fd);
	struct file *in = NULL;
	bpf_probe_read_kernel(&in, sizeof(in), fds);
	__u16 in_mode = in ? BPF_CORE_READ(in, f_inode, i_mode) : 0;
	off = kt_lc_put_u64(s, off, in_mode & KT_S_IFMT);                                      /* stdin_type */
	if (internal || !in)
		off = kt_lc_put_empty(s, off, ARG_STR);
	else
		off = kt_lc_put_path(s, off, (__u64)BPF_CORE_READ(in, f_path.dentry),
				     (__u64)BPF_CORE_READ(in, f_path.mnt));                       /* stdin_path */
	off = kt_lc_put_u64(s, off,
			    (BPF_CORE_READ(p, real_parent, flags) & KT_PF_KTHREAD) != 0);      /* invoked_from_kernel */
	off = kt_lc_put_empty(s, off, ARG_STR); /* prev_comm: already replaced at this tracepoint */
	off = kt_lc_put_empty(s, off, ARG_STR_LIST); /* env: not requested */
	if (internal)
		off = kt_lc_put_empty(s, off, ARG_STR);
	else
		off = kt_lc_put_path(s, off, (__u64)BPF_CORE_READ(p, fs, pwd.dentry),
				     (__u64)BPF_CORE_READ(p, fs, pwd.mnt));                       /* pwd */
	kt_lc_submit(s, cfg, internal, off, matched);
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
	struct lc_scratch_t *s = kt_lc_begin(KT_LC_EXIT, &cfg, &internal, &matched);
	if (s && cfg && (!internal || group_dead)) {
		int code = BPF_CORE_READ(p, exit_code);
		__u32 off = 0;
		off = kt_lc_put_u64(s, off, (__u64)(__s64)((code >> 8) & 0xff));
		off = kt_lc_put_u64(s, off, (__u64)(__s64)(code & 0x7f));
		off = kt_lc_put_u64(s, off, group_dead);
		kt_lc_submit(s, cfg, internal, off, matched);
	}
	if (group_dead) {
		__u32 tgid = BPF_CORE_READ(p, tgid);
		bpf_map_delete_elem(&follow_map, &tgid);
	}
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
	enum kt_scope_flag scope_flag;
	enum kt_cmp_op cmp_op;
	enum kt_cmp_type cmp_type;
	enum kt_cmp_target cmp_target;
	enum kt_filter_flag filter_flag;
	enum kt_str_kind str_kind;
	enum kt_heartbeat heartbeat;
	struct event_hdr_t event_hdr;
	struct blob_hdr_t blob_hdr;
	struct syscall_cfg_t syscall_cfg;
	struct lifecycle_cfg_t lifecycle_cfg;
	struct stats_t stats;
	struct kt_settings_t settings;
	struct scope_t scope;
	struct scope_ns_key_t scope_ns_key;
	struct filter_key_t filter_key;
	struct filter_t filter;
};

__attribute__((used)) static int kt_abi_anchor(struct kt_abi *abi)
{
	return abi != 0;
}

char LICENSE[] SEC("license") = "GPL";
