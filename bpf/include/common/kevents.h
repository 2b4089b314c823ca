/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * kevents.h: kernel events, the payloads of Tracee's LSM-hook events rebuilt from what the kernel holds at
 * the syscall tracepoints (no LSM, fentry or kprobe program loads on the kernels ktrail targets):
 *   - the file behind a returned fd, a dirfd, the cwd or the root (path, flags, dev, inode, ctime);
 *   - the socket behind an fd (family, type, local and peer addresses as the kernel keeps them);
 *   - the VMA an address falls in (bpf_find_vma), before mprotect changes it.
 * Each builder writes the fields of one event, in catalog order, as blobs in the CPU's kscratch_t and
 * returns the payload length, or -1 when the syscall gives no such event (an fd that is not a socket, an
 * address outside every mapping, ...). Values read from kernel objects are tagged K in the catalog; the
 * caller's own strings (a path as written, a mount's device name) are U.
 */
#ifndef KTRAIL_COMMON_KEVENTS_H
#define KTRAIL_COMMON_KEVENTS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "wire.h"
#include "maps.h"
#include "common/task.h"
#include "common/record.h"

#define KT_AT_FDCWD (-100)
#define KT_O_APPEND 02000
#define KT_PROT_WRITE 0x2
#define KT_PROT_EXEC 0x4
#define KT_VM_PROT_MASK 0x7 /* VM_READ|VM_WRITE|VM_EXEC: the same bits as PROT_READ|PROT_WRITE|PROT_EXEC */
#define KT_AF_UNIX_K 1
#define KT_AF_INET_K 2
#define KT_AF_INET6_K 10

/* x86_64 numbers of the syscalls whose kernel events differ by syscall. */
#define KT_NR_WRITE 1
#define KT_NR_PWRITE64 18
#define KT_NR_WRITEV 20
#define KT_NR_MMAP 9
#define KT_NR_PWRITEV 296
#define KT_NR_PWRITEV2 328
#define KT_NR_PKEY_MPROTECT 329

/* mem_prot_alert values (Tracee's mem_prot_alert_e). */
enum kt_prot_alert {
	KT_ALERT_MMAP_W_X = 1,  /* a mapping made writable and executable at once */
	KT_ALERT_MPROT_X_ADD = 2, /* a mapping made executable */
	KT_ALERT_MPROT_W_ADD = 3, /* an executable, non-writable mapping made writable and executable */
	KT_ALERT_MPROT_W_REM = 4, /* a writable mapping made executable and not writable (W then X: unpacking) */
};

/* Argument `i` of the call, 0 when `i` is no argument index (KT_NO_ARG). */
static __always_inline __u64 kt_arg(const struct entry_t *e, __u8 i)
{
	return i < KT_MAX_ARGS ? e->args[i] : 0;
}

/* The (dentry, vfsmount) a path argument starts from: the dirfd's file, the cwd, or the root for "/...". */
static __always_inline void kt_path_base(const struct entry_t *e, __u8 path_arg, __u8 dirfd_arg, __u64 *dentry,
					 __u64 *mnt)
{
	struct task_struct *task = bpf_get_current_task_btf();
	char first = 0;
	if (path_arg < KT_MAX_ARGS)
		bpf_probe_read_user(&first, 1, (const void *)kt_arg(e, path_arg));
	if (first == '/') {
		*dentry = (__u64)BPF_CORE_READ(task, fs, root.dentry);
		*mnt = (__u64)BPF_CORE_READ(task, fs, root.mnt);
		return;
	}
	__s32 dirfd = dirfd_arg < KT_MAX_ARGS ? (__s32)kt_arg(e, dirfd_arg) : KT_AT_FDCWD;
	if (dirfd != KT_AT_FDCWD) {
		struct file *f = kt_fd_file(dirfd);
		*dentry = (__u64)BPF_CORE_READ(f, f_path.dentry);
		*mnt = (__u64)BPF_CORE_READ(f, f_path.mnt);
		return;
	}
	*dentry = (__u64)BPF_CORE_READ(task, fs, pwd.dentry);
	*mnt = (__u64)BPF_CORE_READ(task, fs, pwd.mnt);
}

/* Append the caller's path argument resolved against its base as an ARG_PATH_JOIN blob. */
static __always_inline __u32 kt_ke_put_user_path(struct kscratch_t *s, __u32 off, const struct entry_t *e,
						 __u8 path_arg, __u8 dirfd_arg)
{
	__u64 dentry = 0, mnt = 0;
	if (path_arg >= KT_MAX_ARGS)
		return kt_ks_put_empty(s, off, ARG_PATH_JOIN, BLOB_NULL);
	kt_path_base(e, path_arg, dirfd_arg, &dentry, &mnt);
	return kt_ks_put_path_join(s, off, dentry, mnt, kt_arg(e, path_arg));
}

/* pathname, then dev, inode and ctime of a file's inode (the one stat(2) shows: the path's dentry). */
static __always_inline __u32 kt_ke_put_file(struct kscratch_t *s, __u32 off, struct file *f, bool ctime)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct inode *ino = BPF_CORE_READ(d, d_inode);
	off = kt_ks_put_path(s, off, (__u64)d, (__u64)BPF_CORE_READ(f, f_path.mnt));
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(ino, i_sb, s_dev));
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(ino, i_ino));
	if (ctime)
		off = kt_ks_put_u64(s, off, kt_inode_ctime(ino));
	return off;
}

/* security_file_open: pathname, flags, dev, inode, ctime, syscall_pathname. */
static __always_inline int kt_ke_file_open(struct kscratch_t *s, const struct kevent_cfg_t *kc,
					   const struct entry_t *e, __s64 retval)
{
	struct file *f = kt_fd_file(retval);
	if (!f)
		return -1;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct inode *ino = BPF_CORE_READ(d, d_inode);
	__u32 off = kt_ks_put_path(s, 0, (__u64)d, (__u64)BPF_CORE_READ(f, f_path.mnt));
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(f, f_flags));
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(ino, i_sb, s_dev));
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(ino, i_ino));
	off = kt_ks_put_u64(s, off, kt_inode_ctime(ino));
	__u8 p = kc->path_arg;
	if (p < KT_MAX_ARGS && e->str_src) /* read whole by the syscall record: copy it (kt_sys_exit) */
		off = kt_ks_put_str(s, off, e->str_src, 0);
	else if (p < KT_MAX_ARGS)
		off = kt_ks_put_str(s, off, kt_arg(e, p), 1);
	else
		off = kt_ks_put_empty(s, off, ARG_STR, BLOB_OK);
	return off;
}

/* The sock of a socket fd, or NULL when the fd is not a socket. */
static __always_inline struct sock *kt_fd_sock(__s64 fd, struct socket **sockp)
{
	struct file *f = kt_fd_file(fd);
	if (!f)
		return NULL;
	__u16 mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & KT_S_IFMT) != KT_S_IFSOCK)
		return NULL;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	*sockp = sock;
	return BPF_CORE_READ(sock, sk);
}

/*
 * Append a sockaddr built from the kernel socket as an ARG_SOCKADDR blob: its peer (`peer`) or its own
 * address. Returns 0 when the socket holds no such address yet (a connect that failed, an unbound socket),
 * the caller then falls back to the caller's argument.
 */
static __always_inline __u32 kt_ke_put_sockaddr(struct kscratch_t *s, __u32 off, struct sock *sk, bool peer)
{
	if (off > KT_KS_PAYLOAD_MAX)
		return 0;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)(s->payload + off);
	__u8 *data = s->payload + off + sizeof(*bh);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u32 len = 0;
	__builtin_memset(data, 0, 28);
	if (family == KT_AF_INET_K) {
		__u16 port = peer ? BPF_CORE_READ(sk, __sk_common.skc_dport)
				  : bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
		__u32 addr = peer ? BPF_CORE_READ(sk, __sk_common.skc_daddr)
				  : BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		/* A failed connect leaves the peer's address but clears its port: no peer. */
		if (port == 0 && (peer || addr == 0))
			return 0;
		*(__u16 *)data = family;
		*(__u16 *)(data + 2) = port;
		*(__u32 *)(data + 4) = addr;
		len = 16;
	} else if (family == KT_AF_INET6_K) {
		__u16 port = peer ? BPF_CORE_READ(sk, __sk_common.skc_dport)
				  : bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
		if (peer && port == 0)
			return 0;
		*(__u16 *)data = family;
		*(__u16 *)(data + 2) = port;
		if (peer)
			bpf_core_read(data + 8, 16, &sk->__sk_common.skc_v6_daddr);
		else
			bpf_core_read(data + 8, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		*(__u32 *)(data + 24) = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
		len = 28;
	} else if (family == KT_AF_UNIX_K) {
		struct sock *owner = peer ? BPF_CORE_READ((struct unix_sock *)sk, peer) : sk;
		if (!owner)
			return 0;
		struct unix_address *ua = BPF_CORE_READ((struct unix_sock *)owner, addr);
		if (!ua)
			return 0;
		int ulen = BPF_CORE_READ(ua, len);
		if (ulen <= 0)
			return 0;
		len = ulen > KT_SOCKADDR_MAX ? KT_SOCKADDR_MAX : ulen;
		bpf_probe_read_kernel(data, len, (void *)ua + bpf_core_field_offset(struct unix_address, name));
	} else {
		return 0;
	}
	bh->len = len;
	bh->status = BLOB_OK;
	bh->kind = ARG_SOCKADDR;
	return off + sizeof(*bh) + len;
}

/*
 * security_socket_{connect,bind,accept,listen}. connect: sockfd, type, remote_addr; bind, accept: sockfd,
 * local_addr; listen: sockfd, local_addr, backlog. Addresses come from the socket; a connect or bind that
 * left none there gives the caller's sockaddr argument instead (U).
 */
static __always_inline int kt_ke_socket(struct kscratch_t *s, const struct kevent_cfg_t *kc,
					const struct entry_t *e, __s64 retval)
{
	struct socket *sock = NULL;
	struct sock *sk = kt_fd_sock((__s32)e->args[0], &sock);
	if (!sk)
		return -1;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != KT_AF_INET_K && family != KT_AF_INET6_K && family != KT_AF_UNIX_K)
		return -1;
	__u8 kind = kc->kind;
	__u32 off = kt_ks_put_u64(s, 0, (__s64)(__s32)e->args[0]);
	if (kind == KT_KE_SOCK_CONNECT)
		off = kt_ks_put_u64(s, off, (__s64)BPF_CORE_READ(sock, type));
	__u32 next = kt_ke_put_sockaddr(s, off, sk, kind == KT_KE_SOCK_CONNECT);
	if (next == 0) {
		if (kind == KT_KE_SOCK_CONNECT || kind == KT_KE_SOCK_BIND)
			next = kt_ks_put_bytes(s, off, e->args[1], (__u32)e->args[2], KT_BYTES_USER | KT_BYTES_KIND(ARG_SOCKADDR));
		else
			next = kt_ks_put_empty(s, off, ARG_SOCKADDR, BLOB_NULL);
	}
	off = next;
	if (kind == KT_KE_SOCK_LISTEN)
		off = kt_ks_put_u64(s, off, (__s64)(__s32)e->args[1]);
	return off;
}

/* security_inode_unlink: pathname, inode, dev, ctime (the last three 0: see the catalog's notes). */
static __always_inline int kt_ke_unlink(struct kscratch_t *s, const struct kevent_cfg_t *kc, const struct entry_t *e)
{
	__u32 off = kt_ke_put_user_path(s, 0, e, kc->path_arg, kc->dirfd_arg);
	off = kt_ks_put_u64(s, off, 0);
	off = kt_ks_put_u64(s, off, 0);
	return kt_ks_put_u64(s, off, 0);
}

/* security_inode_rename: old_path, new_path. */
static __always_inline int kt_ke_rename(struct kscratch_t *s, const struct kevent_cfg_t *kc, const struct entry_t *e)
{
	__u32 off = kt_ke_put_user_path(s, 0, e, kc->path_arg, kc->dirfd_arg);
	return kt_ke_put_user_path(s, off, e, kc->path2_arg, kc->dirfd2_arg);
}

/* security_sb_mount: dev_name, path, type, flags (mount(2) arguments 0..3). */
static __always_inline int kt_ke_mount(struct kscratch_t *s, const struct kevent_cfg_t *kc, const struct entry_t *e)
{
	__u32 off = kt_ks_put_str(s, 0, e->args[0], 1);
	off = kt_ke_put_user_path(s, off, e, 1, KT_NO_ARG);
	off = kt_ks_put_str(s, off, e->args[2], 1);
	return kt_ks_put_u64(s, off, e->args[3]);
}

/* security_sb_umount: mountpoint, type (unknown once unmounted), flags (umount2(2) arguments 0, 1). */
static __always_inline int kt_ke_umount(struct kscratch_t *s, const struct kevent_cfg_t *kc, const struct entry_t *e)
{
	__u32 off = kt_ke_put_user_path(s, 0, e, 0, KT_NO_ARG);
	off = kt_ks_put_empty(s, off, ARG_STR, BLOB_NULL);
	return kt_ks_put_u64(s, off, (__s64)(__s32)e->args[1]);
}

/* What bpf_find_vma's callback learns about the mapping of an address. */
struct kt_vma_info {
	__u64 flags;
	__u64 file;
};

static long kt_vma_cb(struct task_struct *task, struct vm_area_struct *vma, struct kt_vma_info *out)
{
	out->flags = BPF_CORE_READ(vma, vm_flags);
	out->file = (__u64)BPF_CORE_READ(vma, vm_file);
	return 0;
}

/* The protection of the mapping holding `addr` and its file; false when no mapping holds it. */
static __always_inline bool kt_vma_of(__u64 addr, struct kt_vma_info *info)
{
	info->flags = 0;
	info->file = 0;
	struct task_struct *task = bpf_get_current_task_btf();
	return bpf_find_vma(task, addr, kt_vma_cb, info, 0) == 0;
}

/* Tracee's mem_prot_alert for an mprotect from `prev` to `req` (later checks win), 0 for none. */
static __always_inline __u32 kt_mprotect_alert(__u64 prev, __u64 req)
{
	__u32 alert = 0;
	if (!(prev & KT_PROT_EXEC) && (req & KT_PROT_EXEC))
		alert = KT_ALERT_MPROT_X_ADD;
	if ((prev & KT_PROT_EXEC) && !(prev & KT_PROT_WRITE) && (req & KT_PROT_WRITE) && (req & KT_PROT_EXEC))
		alert = KT_ALERT_MPROT_W_ADD;
	if ((prev & KT_PROT_WRITE) && (req & KT_PROT_EXEC) && !(req & KT_PROT_WRITE))
		alert = KT_ALERT_MPROT_W_REM;
	return alert;
}

/*
 * At mprotect's entry: security_file_mprotect (pathname, prot, ctime, prev_prot, addr, len, pkey) or
 * mem_prot_alert (alert, addr, len, prot, prev_prot, pathname, dev, inode, ctime; none without an alert).
 */
static __always_inline int kt_ke_mprotect(struct kscratch_t *s, const struct kevent_cfg_t *kc,
					  const struct entry_t *e)
{
	struct kt_vma_info vma;
	if (!kt_vma_of(e->args[0], &vma))
		return -1;
	__u64 prev = vma.flags & KT_VM_PROT_MASK;
	__u64 req = e->args[2];
	struct file *f = (struct file *)vma.file;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct inode *ino = BPF_CORE_READ(d, d_inode);
	__u32 off = 0;
	if (kc->kind == KT_KE_FILE_MPROTECT) {
		off = f ? kt_ks_put_path(s, off, (__u64)d, (__u64)BPF_CORE_READ(f, f_path.mnt))
			: kt_ks_put_empty(s, off, ARG_STR, BLOB_OK);
		off = kt_ks_put_u64(s, off, (__s64)(__s32)req);
		off = kt_ks_put_u64(s, off, f ? kt_inode_ctime(ino) : 0);
		off = kt_ks_put_u64(s, off, prev);
		off = kt_ks_put_u64(s, off, e->args[0]);
		off = kt_ks_put_u64(s, off, e->args[1]);
		return kt_ks_put_u64(s, off, e->nr == KT_NR_PKEY_MPROTECT ? (__s64)(__s32)e->args[3] : 0);
	}
	__u32 alert = kt_mprotect_alert(prev, req);
	if (!alert)
		return -1;
	off = kt_ks_put_u64(s, off, alert);
	off = kt_ks_put_u64(s, off, e->args[0]);
	off = kt_ks_put_u64(s, off, e->args[1]);
	off = kt_ks_put_u64(s, off, (__s64)(__s32)req);
	off = kt_ks_put_u64(s, off, prev);
	if (f)
		return kt_ke_put_file(s, off, f, true);
	off = kt_ks_put_empty(s, off, ARG_STR, BLOB_OK);
	off = kt_ks_put_u64(s, off, 0);
	off = kt_ks_put_u64(s, off, 0);
	return kt_ks_put_u64(s, off, 0);
}

/* At a successful mmap's exit: mem_prot_alert when the mapping is writable and executable. */
static __always_inline int kt_ke_mmap_alert(struct kscratch_t *s, const struct entry_t *e, __s64 retval)
{
	__u64 prot = e->args[2];
	if (retval < 0 || !(prot & KT_PROT_WRITE) || !(prot & KT_PROT_EXEC))
		return -1;
	__u32 off = kt_ks_put_u64(s, 0, KT_ALERT_MMAP_W_X);
	off = kt_ks_put_u64(s, off, retval);
	off = kt_ks_put_u64(s, off, e->args[1]);
	off = kt_ks_put_u64(s, off, (__s64)(__s32)prot);
	off = kt_ks_put_u64(s, off, 0);
	struct file *f = kt_fd_file((__s32)e->args[4]);
	if (f)
		return kt_ke_put_file(s, off, f, true);
	off = kt_ks_put_empty(s, off, ARG_STR, BLOB_OK);
	off = kt_ks_put_u64(s, off, 0);
	off = kt_ks_put_u64(s, off, 0);
	return kt_ks_put_u64(s, off, 0);
}

/*
 * At a write family call's entry: true when it starts at offset 0 of a regular file (the current position,
 * or the end for O_APPEND; the explicit offset of pwrite64, pwritev, pwritev2 unless that is -1).
 */
static __always_inline bool kt_magic_candidate(const struct entry_t *e)
{
	struct file *f = kt_fd_file((__s32)e->args[0]);
	if (!f)
		return false;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	if ((BPF_CORE_READ(ino, i_mode) & KT_S_IFMT) != KT_S_IFREG)
		return false;
	__u32 nr = e->nr;
	__s64 pos;
	if ((nr == KT_NR_PWRITE64 || nr == KT_NR_PWRITEV || nr == KT_NR_PWRITEV2) && (__s64)e->args[3] != -1)
		pos = (__s64)e->args[3];
	else if (BPF_CORE_READ(f, f_flags) & KT_O_APPEND)
		pos = BPF_CORE_READ(ino, i_size);
	else
		pos = BPF_CORE_READ(f, f_pos);
	return pos == 0;
}

/* magic_write: pathname, bytes (the first KT_MAGIC_BYTES written), dev, inode. */
static __always_inline int kt_ke_magic_write(struct kscratch_t *s, const struct entry_t *e, __s64 retval)
{
	if (!(e->flags & KT_E_MAGIC) || retval <= 0)
		return -1;
	struct file *f = kt_fd_file((__s32)e->args[0]);
	if (!f)
		return -1;
	__u64 buf = e->args[1];
	__u64 n = retval;
	if (e->nr == KT_NR_WRITEV || e->nr == KT_NR_PWRITEV || e->nr == KT_NR_PWRITEV2) {
		/* The first iovec; a compat task's is two u32. */
		__u64 iov[2] = {};
		if (e->flags & KT_F_COMPAT) {
			__u32 c[2] = {};
			bpf_probe_read_user(c, sizeof(c), (const void *)buf);
			iov[0] = c[0];
			iov[1] = c[1];
		} else {
			bpf_probe_read_user(iov, sizeof(iov), (const void *)buf);
		}
		buf = iov[0];
		if (iov[1] < n)
			n = iov[1];
	}
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct inode *ino = BPF_CORE_READ(d, d_inode);
	__u32 off = kt_ks_put_path(s, 0, (__u64)d, (__u64)BPF_CORE_READ(f, f_path.mnt));
	off = kt_ks_put_bytes(s, off, buf, n > KT_MAGIC_BYTES ? KT_MAGIC_BYTES : n, KT_BYTES_USER | KT_BYTES_KIND(ARG_BUF));
	off = kt_ks_put_u64(s, off, BPF_CORE_READ(ino, i_sb, s_dev));
	return kt_ks_put_u64(s, off, BPF_CORE_READ(ino, i_ino));
}

/*
 * The payload of kernel event `kc` for the syscall of `e` that returned `retval` (`at_entry`: called from
 * sys_enter, retval meaningless), or -1 when it gives none. A global function: verified once.
 */
__noinline int kt_kevent_payload(struct kscratch_t *s, const struct kevent_cfg_t *kc, const struct entry_t *e,
				 __s64 retval, __u32 at_entry)
{
	if (!s || !kc || !e)
		return -1;
	switch (kc->kind) {
	case KT_KE_FILE_MPROTECT:
		return at_entry ? kt_ke_mprotect(s, kc, e) : -1;
	case KT_KE_MEM_PROT_ALERT:
		if (e->nr == KT_NR_MMAP)
			return at_entry ? -1 : kt_ke_mmap_alert(s, e, retval);
		return at_entry ? kt_ke_mprotect(s, kc, e) : -1;
	}
	if (at_entry)
		return -1;
	switch (kc->kind) {
	case KT_KE_FILE_OPEN:
		return retval >= 0 ? kt_ke_file_open(s, kc, e, retval) : -1;
	case KT_KE_INODE_UNLINK:
		return retval == 0 ? kt_ke_unlink(s, kc, e) : -1;
	case KT_KE_INODE_RENAME:
		return retval == 0 ? kt_ke_rename(s, kc, e) : -1;
	case KT_KE_SOCK_CONNECT:
	case KT_KE_SOCK_BIND:
		return kt_ke_socket(s, kc, e, retval);
	case KT_KE_SOCK_ACCEPT:
	case KT_KE_SOCK_LISTEN:
		return retval >= 0 ? kt_ke_socket(s, kc, e, retval) : -1;
	case KT_KE_SB_MOUNT:
		return retval == 0 ? kt_ke_mount(s, kc, e) : -1;
	case KT_KE_SB_UMOUNT:
		return retval == 0 ? kt_ke_umount(s, kc, e) : -1;
	case KT_KE_MAGIC_WRITE:
		return kt_ke_magic_write(s, e, retval);
	}
	return -1;
}

#endif /* KTRAIL_COMMON_KEVENTS_H */
