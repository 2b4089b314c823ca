/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * net.h: packets and the tasks they belong to (Tracee's net_packet_* events), without kprobes.
 *
 * Who owns a socket: a task stamps its context (an event header filled by kt_fill_task) into the socket's
 * local storage (net_task_map) whenever it is seen using the socket in process context:
 *   - cgroup/sock_create   the task creating an AF_INET or AF_INET6 socket (socket(2), in the caller);
 *   - inet_sock_set_state  a connect (CLOSE -> SYN_SENT) or a listen (CLOSE -> LISTEN), before the first packet;
 *   - sock_send_length, sock_recv_length  after every send and receive call on the socket (sendmsg, sendto,
 *                          write, recvmsg, read, io_uring's sends and receives, ...).
 * A connection accepted from a listener starts with the listener's stamp (the map is BPF_F_CLONE: the kernel
 * copies it into the child socket), until the accepting task sends or receives on it.
 *
 * The cgroup_skb programs (ingress and egress, attached to the cgroup v2 root, so every socket of every
 * network namespace) classify each IPv4 or IPv6 packet (enum kt_net_class) and, when userspace wants one of its
 * classes (kt_net), copy the socket's stamp into a record header and the packet's bytes into its payload:
 * a net_packet_base record (wire.h blobs: direction, length, payload). A packet of a socket with no stamp
 * (the kernel's own sockets, sockets opened before ktrail started that have not sent or received since) is
 * counted in net_stats_map and not reported; ktrail's own sockets are skipped.
 *
 * The wire-visible parts (enums, kt_net_cfg_t, net_stats_t) are anchored in ktrail.bpf.c's kt_abi and reach
 * src/abi/abi.gen.ts like wire.h's.
 */
#ifndef KTRAIL_COMMON_NET_H
#define KTRAIL_COMMON_NET_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "wire.h"
#include "maps.h"
#include "common/task.h"

/* Packet classes: what a packet is, and what userspace asks for (kt_net_cfg_t.classes). */
enum kt_net_class {
	KT_NET_IPV4 = 0x1,   /* an IPv4 packet carrying TCP, UDP or ICMP */
	KT_NET_IPV6 = 0x2,   /* an IPv6 packet carrying TCP, UDP or ICMPv6 (no extension headers) */
	KT_NET_TCP = 0x4,
	KT_NET_UDP = 0x8,
	KT_NET_ICMP = 0x10,
	KT_NET_ICMPV6 = 0x20,
	KT_NET_DNS = 0x40,   /* TCP or UDP with port 53 on either side and a payload */
	KT_NET_HTTP = 0x80,  /* TCP whose payload starts with "HTTP/", "GET ", "POST ", "PUT ", "DELETE ", "HEAD " */
};

/* What a net_packet_base record carries. */
enum kt_net_limit {
	KT_NET_EVENT_ID = 700,  /* net_packet_base, the record every packet event is derived from */
	KT_NET_HDR_SNAP = 128,  /* bytes kept from the IP header on when only header classes are wanted */
	KT_NET_L7_SNAP = 4096,  /* bytes kept from the IP header on for DNS and HTTP packets */
	KT_NET_INGRESS = 1,     /* direction field (Tracee's PacketDirection) */
	KT_NET_EGRESS = 2,
};

/* kt_net_cfg_t: the `.data.net` section; userspace writes it at start and at each policy reload. */
struct kt_net_cfg_t {
	__u64 selected; /* policies selecting a network event: the records' `matched` (userspace re-checks) */
	__u32 classes;  /* enum kt_net_class bits some selected event needs; 0 = no packet is reported */
	__u32 pad;
};
struct kt_net_cfg_t kt_net SEC(".data.net") = {};

/* net_stats_t: value of the per-CPU net_stats_map[0]; userspace sums the CPUs. */
struct net_stats_t {
	__u64 unattributed_ingress; /* wanted packets of a socket no task was seen using: not reported */
	__u64 unattributed_egress;
	__u64 truncated;            /* DNS and HTTP packets longer than KT_NET_L7_SNAP: the rest was not kept */
	__u64 busy;                 /* wanted packets met while both record areas of the CPU were in use */
};

/* net_task_t: a socket's owner, as last stamped (kernel only). */
struct net_task_t {
	struct event_hdr_t hdr; /* the task fields as kt_fill_task left them; the rest is set per record */
	/* What hdr was filled from: when all four match the current task, the stamp is current. */
	__u64 pid_tgid;
	__u64 exec_id;
	__u64 cred;
	__u64 nsproxy;
	__u32 syscall_nr; /* the syscall the owner was in (egress records name it), 0xffffffff: none */
	__u32 self;       /* 1: ktrail's own socket, never reported */
};

/* net_task_map: socket -> its owner; copied into sockets accepted from a listener (BPF_F_CLONE). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct net_task_t);
} net_task_map SEC(".maps");

/* net_stats_map: packet counters (struct net_stats_t) besides stats_map[KT_NET_EVENT_ID]. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_stats_t);
} net_stats_map SEC(".maps");

/* Payload of a packet record: the direction and length blobs, the bytes blob's header, the bytes. */
#define KT_NET_BLOBS (3 * sizeof(struct blob_hdr_t) + 16)
#define KT_NET_PAYLOAD (KT_NET_BLOBS + KT_NET_L7_SNAP)

/* One packet record under construction. */
struct net_rec_t {
	struct event_hdr_t hdr;
	__u8 payload[KT_NET_PAYLOAD];
};

/*
 * net_scratch_t: a CPU's record areas. A packet in a softirq can interrupt a program that is building one in
 * process context on the same CPU: each level takes the next area (depth), so neither overwrites the other.
 */
struct net_scratch_t {
	__u32 depth;
	__u32 pad;
	struct net_rec_t rec[2];
};

/* net_scratch_map: per CPU, the packet record areas. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_scratch_t);
} net_scratch_map SEC(".maps");

#define KT_AF_INET_N 2
#define KT_AF_INET6_N 10
#define KT_TCP_SYN_SENT 2
#define KT_TCP_LISTEN 10
#define KT_PROTO_ICMP 1
#define KT_PROTO_TCP 6
#define KT_PROTO_UDP 17
#define KT_PROTO_ICMPV6 58
#define KT_PORT_DNS 53
#define KT_HTTP_MIN 7 /* "DELETE " is the longest prefix tested */

/* Add one to a net_stats_t counter (the offset of the member). */
static __always_inline void kt_net_count(__u32 member)
{
	__u32 zero = 0;
	__u64 *st = bpf_map_lookup_elem(&net_stats_map, &zero);
	if (st && member < sizeof(struct net_stats_t) / 8)
		st[member]++;
}
#define KT_NET_COUNT(m) kt_net_count(__builtin_offsetof(struct net_stats_t, m) / 8)

/*
 * Stamp the current task as the owner of socket `sk` (a struct sock pointer the helper accepts: a BTF sock in
 * tracing programs, the context in cgroup/sock_create). Rewrites the stamp only when the task, its program
 * (exec), its credentials or its namespaces changed since.
 */
static __always_inline void kt_net_stamp(void *sk)
{
	struct net_task_t *t = bpf_sk_storage_get(&net_task_map, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!t)
		return;
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 exec_id = task->self_exec_id;
	__u64 cred = (__u64)task->cred;
	__u64 nsproxy = (__u64)task->nsproxy;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	long nr = BPF_CORE_READ(regs, orig_ax);
	t->syscall_nr = nr < 0 || nr >= KT_MAX_SYSCALLS ? 0xffffffff : (__u32)nr;
	if (t->pid_tgid == pid_tgid && t->exec_id == exec_id && t->cred == cred && t->nsproxy == nsproxy)
		return;
	t->pid_tgid = pid_tgid;
	t->exec_id = exec_id;
	t->cred = cred;
	t->nsproxy = nsproxy;
	t->self = kt_settings.self_tgid == (__u32)(pid_tgid >> 32);
	kt_fill_task(&t->hdr, task);
}

/* True when a socket of this family can carry the packets ktrail reports. */
static __always_inline bool kt_net_family(__u16 family)
{
	return family == KT_AF_INET_N || family == KT_AF_INET6_N;
}

/*
 * The classes of the packet in `skb` (enum kt_net_class), 0 for anything else (other protocols, IPv6
 * extension headers, a header that does not load). The payload is looked at (the HTTP prefix) only when
 * `want` asks for HTTP.
 */
static __always_inline __u32 kt_net_classify(struct __sk_buff *skb, __u32 want)
{
	__u8 h[40] = {};
	__u32 classes, l4, proto;
	if (skb->family == KT_AF_INET_N) {
		if (bpf_skb_load_bytes(skb, 0, h, 20) < 0 || (h[0] >> 4) != 4)
			return 0;
		l4 = (h[0] & 0xf) * 4;
		proto = h[9];
		classes = KT_NET_IPV4;
		/* A later fragment has no transport header. */
		if (((h[6] << 8) | h[7]) & 0x1fff)
			return proto == KT_PROTO_TCP || proto == KT_PROTO_UDP || proto == KT_PROTO_ICMP ? classes : 0;
		if (proto == KT_PROTO_ICMP)
			return classes | KT_NET_ICMP;
	} else if (skb->family == KT_AF_INET6_N) {
		if (bpf_skb_load_bytes(skb, 0, h, 40) < 0 || (h[0] >> 4) != 6)
			return 0;
		l4 = 40;
		proto = h[6];
		classes = KT_NET_IPV6;
		if (proto == KT_PROTO_ICMPV6)
			return classes | KT_NET_ICMPV6;
	} else {
		return 0;
	}
	__u8 t[20] = {};
	__u32 l7;
	if (proto == KT_PROTO_TCP) {
		if (bpf_skb_load_bytes(skb, l4, t, 20) < 0)
			return classes;
		classes |= KT_NET_TCP;
		l7 = l4 + (t[12] >> 4) * 4;
	} else if (proto == KT_PROTO_UDP) {
		if (bpf_skb_load_bytes(skb, l4, t, 8) < 0)
			return classes;
		classes |= KT_NET_UDP;
		l7 = l4 + 8;
	} else {
		return 0;
	}
	__u16 sport = (t[0] << 8) | t[1];
	__u16 dport = (t[2] << 8) | t[3];
	if ((sport < dport ? sport : dport) == KT_PORT_DNS)
		return skb->len > l7 ? classes | KT_NET_DNS : classes; /* a bare TCP ACK carries no message */
	if (!(want & KT_NET_HTTP) || proto != KT_PROTO_TCP || l7 > 0xffff)
		return classes;
	char p[8] = {};
	if (bpf_skb_load_bytes(skb, l7, p, KT_HTTP_MIN) < 0)
		return classes;
	if ((p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P' && p[4] == '/') ||
	    (p[0] == 'G' && p[1] == 'E' && p[2] == 'T' && p[3] == ' ') ||
	    (p[0] == 'P' && p[1] == 'O' && p[2] == 'S' && p[3] == 'T' && p[4] == ' ') ||
	    (p[0] == 'P' && p[1] == 'U' && p[2] == 'T' && p[3] == ' ') ||
	    (p[0] == 'D' && p[1] == 'E' && p[2] == 'L' && p[3] == 'E' && p[4] == 'T' && p[5] == 'E' && p[6] == ' ') ||
	    (p[0] == 'H' && p[1] == 'E' && p[2] == 'A' && p[3] == 'D' && p[4] == ' '))
		classes |= KT_NET_HTTP;
	return classes;
}

/*
 * The owner of the packet's socket: its stamp, the listener's for a connection not accepted yet (a SYN-ACK
 * leaves from the request socket), or NULL.
 */
static __always_inline struct net_task_t *kt_net_owner(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return NULL;
	struct bpf_sock *full = bpf_sk_fullsock(sk);
	if (!full)
		full = bpf_get_listener_sock(sk);
	if (!full)
		return NULL;
	return bpf_sk_storage_get(&net_task_map, full, 0, 0);
}

/*
 * Build the packet's record in the CPU's next free area from the owner's stamp: header, then the blobs
 * direction, length and payload (`snap` bytes at most from the IP header on, BLOB_TRUNCATED when the packet
 * was longer and `cut` says that matters). Returns the area, its record's length in `*size`, or NULL; the
 * caller outputs it and then calls kt_net_release.
 */
static __always_inline struct net_rec_t *kt_net_build(struct __sk_buff *skb, const struct net_task_t *t,
						      __u32 dir, __u32 snap, bool cut, __u32 *size)
{
	__u32 zero = 0;
	struct net_scratch_t *s = bpf_map_lookup_elem(&net_scratch_map, &zero);
	if (!s)
		return NULL;
	__u32 depth = s->depth;
	if (depth >= 2) {
		KT_NET_COUNT(busy);
		return NULL;
	}
	s->depth = depth + 1;
	struct net_rec_t *r = &s->rec[depth & 1];
	__builtin_memcpy(&r->hdr, &t->hdr, sizeof(r->hdr));
	struct event_hdr_t *h = &r->hdr;
	h->ts = bpf_ktime_get_boot_ns();
	h->duration_ns = 0;
	h->matched = kt_net.selected;
	h->retval = 0;
	__builtin_memset(h->args, 0, sizeof(h->args));
	h->event_id = KT_NET_EVENT_ID;
	/* An egress packet names the owner's syscall: the one in flight when the owner itself sends it (the
	 * stamp is only refreshed after a send), else the one the stamp was taken in. Ingress names none. */
	__u32 nr = 0xffffffff;
	if (dir == KT_NET_EGRESS) {
		nr = t->syscall_nr;
		if (bpf_get_current_pid_tgid() == t->pid_tgid) {
			struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
			long cur = BPF_CORE_READ(regs, orig_ax);
			if (cur >= 0 && cur < KT_MAX_SYSCALLS)
				nr = cur;
		}
	}
	h->syscall_nr = nr;
	h->cpu = bpf_get_smp_processor_id();
	h->flags = 0;
	h->policy_version = 0;

	__u32 len = skb->len;
	__u32 n = len < snap ? len : snap;
	if (n > KT_NET_L7_SNAP)
		n = KT_NET_L7_SNAP;
	__u8 *p = r->payload;
	struct blob_hdr_t *bh = (struct blob_hdr_t *)p;
	__u64 v = dir;
	bh->len = 8;
	bh->status = BLOB_OK;
	bh->kind = ARG_REG;
	__builtin_memcpy(p + 4, &v, 8);
	bh = (struct blob_hdr_t *)(p + 12);
	v = len;
	bh->len = 8;
	bh->status = BLOB_OK;
	bh->kind = ARG_REG;
	__builtin_memcpy(p + 16, &v, 8);
	bh = (struct blob_hdr_t *)(p + 24);
	bh->kind = ARG_BUF;
	bh->status = cut && len > n ? BLOB_TRUNCATED : BLOB_OK;
	if (n == 0 || bpf_skb_load_bytes(skb, 0, p + KT_NET_BLOBS, n) < 0) {
		n = 0;
		bh->status = BLOB_FAULT;
	}
	bh->len = n;
	*size = sizeof(struct event_hdr_t) + KT_NET_BLOBS + n;
	return r;
}

/* Give the CPU's area taken by kt_net_build back. */
static __always_inline void kt_net_release(void)
{
	__u32 zero = 0;
	struct net_scratch_t *s = bpf_map_lookup_elem(&net_scratch_map, &zero);
	if (s && s->depth > 0)
		s->depth--;
}

#endif /* KTRAIL_COMMON_NET_H */
