/*
 * netlab: network traffic for the network-event end-to-end tests, on loopback only. Every action runs in a
 * network namespace of its own (unshare(CLONE_NEWNET), then lo is brought up), so every address is 127.0.0.1
 * or ::1, every port is fixed, and nothing else talks there: the test knows each value in advance. The
 * namespace ends with the process. A server is a child process of its own; the client is the process itself.
 * Prints "pid N" (the client) first, then "key value" lines ("server PID"). Exit status 0 when the exchange
 * went as described.
 *   netlab dns        server "kt-dns-server" on 127.0.0.1:53/udp; client "kt-dns-client" from 127.0.0.1:40053
 *                     asks A ktrail.test (id 0x4b54, RD); the answer (id 0x4b54, QR AA RD RA): CNAME
 *                     www.ktrail.test (TTL 60), A 10.1.2.3 (TTL 300)
 *   netlab dns6       the same over ::1, client port 40054
 *   netlab dns_tcp    the same over TCP (the two-byte length first), client port 40055
 *   netlab dns_big    like dns, but the answer holds 300 A records 10.0.1.0, 10.0.1.1, ... (TTL 300), a
 *                     4857-byte packet, more than the kernel keeps of one
 *   netlab http       server "kt-http-server" on 127.0.0.1:8080; client "kt-http-client" from 127.0.0.1:40080
 *                     sends "GET /hello?x=1 HTTP/1.1" with Host: ktrail.test and User-Agent: ktrail-e2e; the
 *                     answer is "HTTP/1.1 200 OK" with Content-Type: text/plain, Content-Length: 5, "hello"
 *   netlab http_big   the request also carries "Cookie: " and 5000 'c's after User-Agent
 *   netlab ping       ICMP echo from a raw socket (id 0x4b54, seq 1, data "ktrail!!") to 127.0.0.1; waits for
 *                     the reply (the socket lets only echo replies in); comm "kt-ping"
 *   netlab ping6      ICMPv6 echo (id 0x4b54, seq 1, data "ktrail!!") to ::1; comm "kt-ping6"
 *   netlab tcp        server "kt-tcp-server" listens on 127.0.0.1:9000 and [::1]:9000; client "kt-tcp-client"
 *                     connects from 127.0.0.1:40100 and from [::1]:40101 (the server accepts both), then
 *                     to 127.0.0.1:9001, where nothing listens (refused); prints "refused 1"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* From linux/icmp.h, which clashes with net/if.h: a raw ICMP socket's filter (a set bit blocks that type). */
#define KT_ICMP_FILTER 1
#define KT_ICMP_ECHOREPLY 0
struct kt_icmp_filter {
	unsigned int data;
};

static void die(const char *what)
{
	fprintf(stderr, "netlab: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void name(const char *comm)
{
	prctl(PR_SET_NAME, comm, 0, 0, 0);
}

/* A network namespace of our own, with lo up (which also gives it ::1). */
static void own_netns(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET)");
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS lo");
	close(s);
}

static void timeout(int fd)
{
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* An address of family `af` (127.0.0.1 or ::1) and port. */
static socklen_t addr(int af, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	a->sin6_addr = in6addr_loopback;
	return sizeof(*a);
}

static int bound(int af, int type, int port)
{
	int fd = socket(af, type, 0);
	if (fd < 0)
		die("socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	struct sockaddr_storage ss;
	socklen_t len = addr(af, port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	timeout(fd);
	return fd;
}

/* Runs `serve` in a child named `comm` once it said it is ready; returns the child's pid. */
static pid_t server(const char *comm, void (*serve)(int ready, void *arg), void *arg)
{
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		name(comm);
		close(p[0]);
		serve(p[1], arg);
		_exit(0);
	}
	close(p[1]);
	char c;
	if (read(p[0], &c, 1) != 1) {
		fprintf(stderr, "netlab: the %s child did not start\n", comm);
		exit(1);
	}
	close(p[0]);
	return pid;
}

static void ready(int fd)
{
	if (write(fd, "r", 1) != 1)
		_exit(1);
	close(fd);
}

static int wait_child(pid_t pid)
{
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* ---- DNS ---- */

static size_t put16(unsigned char *b, size_t o, unsigned v)
{
	b[o] = v >> 8;
	b[o + 1] = v & 0xff;
	return o + 2;
}

static size_t put32(unsigned char *b, size_t o, unsigned v)
{
	o = put16(b, o, v >> 16);
	return put16(b, o, v & 0xffff);
}

static size_t put_name(unsigned char *b, size_t o, const char *name)
{
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		b[o++] = n;
		memcpy(b + o, p, n);
		o += n;
		p += n + (dot ? 1 : 0);
	}
	b[o++] = 0;
	return o;
}

/* The query: id 0x4b54, RD, one question A IN ktrail.test. */
static size_t dns_query(unsigned char *b)
{
	size_t o = put16(b, 0, 0x4b54);
	b[o++] = 0x01;
	b[o++] = 0x00;
	o = put16(b, o, 1);
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put_name(b, o, "ktrail.test");
	o = put16(b, o, 1);
	return put16(b, o, 1);
}

/* The answer to the query in q (qlen bytes): `many` A records, or CNAME + A. */
static size_t dns_answer(unsigned char *b, const unsigned char *q, size_t qlen, int many)
{
	memcpy(b, q, qlen);
	b[2] = 0x85; /* QR, AA, RD */
	b[3] = 0x80; /* RA, no error */
	put16(b, 6, many ? 300 : 2);
	size_t o = qlen;
	if (!many) {
		b[o++] = 0xc0;
		b[o++] = 12;
		o = put16(b, o, 5);
		o = put16(b, o, 1);
		o = put32(b, o, 60);
		size_t len_at = o;
		o = put_name(b, o + 2, "www.ktrail.test");
		put16(b, len_at, o - len_at - 2);
	}
	for (int i = 0; i < (many ? 300 : 1); i++) {
		b[o++] = 0xc0;
		b[o++] = 12;
		o = put16(b, o, 1);
		o = put16(b, o, 1);
		o = put32(b, o, 300);
		o = put16(b, o, 4);
		b[o++] = 10;
		b[o++] = many ? 0 : 1;
		b[o++] = many ? 1 + i / 256 : 2;
		b[o++] = many ? i % 256 : 3;
	}
	return o;
}

struct dns_cfg {
	int af;
	int tcp;
	int many;
};

static void dns_serve(int rd, void *arg)
{
	struct dns_cfg *c = arg;
	unsigned char q[512], a[8192];
	if (!c->tcp) {
		int fd = bound(c->af, SOCK_DGRAM, 53);
		ready(rd);
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			_exit(1);
		size_t len = dns_answer(a, q, n, c->many);
		if (sendto(fd, a, len, 0, (struct sockaddr *)&from, fl) != (ssize_t)len)
			_exit(1);
		_exit(0);
	}
	int l = bound(c->af, SOCK_STREAM, 53);
	if (listen(l, 1) < 0)
		_exit(1);
	ready(rd);
	int fd = accept(l, NULL, NULL);
	if (fd < 0)
		_exit(1);
	timeout(fd);
	ssize_t n = recv(fd, q, sizeof(q), 0);
	if (n <= 2)
		_exit(1);
	size_t len = dns_answer(a + 2, q + 2, n - 2, c->many);
	put16(a, 0, len);
	if (send(fd, a, len + 2, 0) != (ssize_t)(len + 2))
		_exit(1);
	recv(fd, q, sizeof(q), 0); /* until the client closes */
	_exit(0);
}

static int dns(int af, int tcp, int many, int port)
{
	struct dns_cfg c = {.af = af, .tcp = tcp, .many = many};
	pid_t srv = server("kt-dns-server", dns_serve, &c);
	printf("server %d\n", srv);
	fflush(stdout);
	name("kt-dns-client");
	unsigned char q[512], a[8192];
	size_t qlen = dns_query(q + 2);
	struct sockaddr_storage to;
	socklen_t tl = addr(af, 53, &to);
	int fd = bound(af, tcp ? SOCK_STREAM : SOCK_DGRAM, port);
	ssize_t n;
	if (tcp) {
		if (connect(fd, (struct sockaddr *)&to, tl) < 0)
			die("connect");
		put16(q, 0, qlen);
		if (send(fd, q, qlen + 2, 0) != (ssize_t)(qlen + 2))
			die("send");
		if (recv(fd, a, 2, MSG_WAITALL) != 2)
			die("receiving the answer's length");
		n = recv(fd, a + 2, (a[0] << 8) | a[1], MSG_WAITALL);
	} else {
		if (sendto(fd, q + 2, qlen, 0, (struct sockaddr *)&to, tl) != (ssize_t)qlen)
			die("sendto");
		n = recv(fd, a, sizeof(a), 0);
	}
	if (n <= 0)
		die("receiving the answer");
	printf("answer %zd\n", n);
	close(fd);
	return wait_child(srv);
}

/* ---- HTTP ---- */

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";

/* Reads a request head (up to the empty line) from fd. */
static int read_head(int fd, char *buf, size_t size)
{
	size_t used = 0;
	while (used < size - 1) {
		ssize_t n = recv(fd, buf + used, size - 1 - used, 0);
		if (n <= 0)
			return -1;
		used += n;
		buf[used] = 0;
		if (strstr(buf, "\r\n\r\n"))
			return 0;
	}
	return -1;
}

static void http_serve(int rd, void *arg)
{
	(void)arg;
	int l = bound(AF_INET, SOCK_STREAM, 8080);
	if (listen(l, 1) < 0)
		_exit(1);
	ready(rd);
	int fd = accept(l, NULL, NULL);
	if (fd < 0)
		_exit(1);
	timeout(fd);
	static char buf[16384];
	if (read_head(fd, buf, sizeof(buf)) < 0)
		_exit(1);
	if (send(fd, RESPONSE, strlen(RESPONSE), 0) != (ssize_t)strlen(RESPONSE))
		_exit(1);
	recv(fd, buf, sizeof(buf), 0);
	_exit(0);
}

static int http(int big)
{
	pid_t srv = server("kt-http-server", http_serve, NULL);
	printf("server %d\n", srv);
	fflush(stdout);
	name("kt-http-client");
	static char req[8192];
	int n = snprintf(req, sizeof(req),
			 "GET /hello?x=1 HTTP/1.1\r\nHost: ktrail.test\r\nUser-Agent: ktrail-e2e\r\n");
	if (big) {
		n += snprintf(req + n, sizeof(req) - n, "Cookie: ");
		memset(req + n, 'c', 5000);
		n += 5000;
		n += snprintf(req + n, sizeof(req) - n, "\r\n");
	}
	n += snprintf(req + n, sizeof(req) - n, "\r\n");
	struct sockaddr_storage to;
	socklen_t tl = addr(AF_INET, 8080, &to);
	int fd = bound(AF_INET, SOCK_STREAM, 40080);
	if (connect(fd, (struct sockaddr *)&to, tl) < 0)
		die("connect");
	if (send(fd, req, n, 0) != n)
		die("send");
	char buf[512];
	ssize_t got = recv(fd, buf, strlen(RESPONSE), MSG_WAITALL);
	if (got != (ssize_t)strlen(RESPONSE))
		die("receiving the response");
	printf("response %zd\n", got);
	close(fd);
	return wait_child(srv);
}

/* ---- ICMP ---- */

static unsigned short csum(const unsigned char *b, size_t n)
{
	unsigned long s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (b[i] << 8) | b[i + 1];
	if (n & 1)
		s += b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

static int ping(int af)
{
	name(af == AF_INET ? "kt-ping" : "kt-ping6");
	int fd = socket(af, SOCK_RAW, af == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (fd < 0)
		die("socket(SOCK_RAW)");
	timeout(fd);
	if (af == AF_INET) {
		struct kt_icmp_filter f = {.data = ~(1U << KT_ICMP_ECHOREPLY)};
		if (setsockopt(fd, SOL_RAW, KT_ICMP_FILTER, &f, sizeof(f)) < 0)
			die("ICMP_FILTER");
	} else {
		struct icmp6_filter f;
		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) < 0)
			die("ICMP6_FILTER");
	}
	unsigned char m[16] = {af == AF_INET ? 8 : 128, 0, 0, 0, 0x4b, 0x54, 0, 1};
	memcpy(m + 8, "ktrail!!", 8);
	if (af == AF_INET)
		put16(m, 2, csum(m, sizeof(m))); /* the kernel computes ICMPv6 checksums itself */
	struct sockaddr_storage to;
	socklen_t tl = addr(af, 0, &to);
	if (sendto(fd, m, sizeof(m), 0, (struct sockaddr *)&to, tl) != sizeof(m))
		die("sendto");
	unsigned char r[256];
	ssize_t n = recv(fd, r, sizeof(r), 0);
	if (n <= 0)
		die("receiving the echo reply");
	printf("reply %zd\n", n);
	return 0;
}

/* ---- TCP connects ---- */

static void tcp_serve(int rd, void *arg)
{
	(void)arg;
	int l4 = bound(AF_INET, SOCK_STREAM, 9000);
	int l6 = bound(AF_INET6, SOCK_STREAM, 9000);
	if (listen(l4, 1) < 0 || listen(l6, 1) < 0)
		_exit(1);
	ready(rd);
	int a = accept(l4, NULL, NULL);
	int b = accept(l6, NULL, NULL);
	if (a < 0 || b < 0)
		_exit(1);
	char c;
	timeout(a);
	timeout(b);
	recv(a, &c, 1, 0);
	recv(b, &c, 1, 0);
	_exit(0);
}

static int tcp(void)
{
	pid_t srv = server("kt-tcp-server", tcp_serve, NULL);
	printf("server %d\n", srv);
	fflush(stdout);
	name("kt-tcp-client");
	struct sockaddr_storage to;
	socklen_t tl = addr(AF_INET, 9000, &to);
	int a = bound(AF_INET, SOCK_STREAM, 40100);
	if (connect(a, (struct sockaddr *)&to, tl) < 0)
		die("connect 127.0.0.1:9000");
	tl = addr(AF_INET6, 9000, &to);
	int b = bound(AF_INET6, SOCK_STREAM, 40101);
	if (connect(b, (struct sockaddr *)&to, tl) < 0)
		die("connect [::1]:9000");
	tl = addr(AF_INET, 9001, &to);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&to, tl) == 0 || errno != ECONNREFUSED)
		die("connect 127.0.0.1:9001 (expected ECONNREFUSED)");
	printf("refused 1\n");
	close(a);
	close(b);
	close(c);
	return wait_child(srv);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: netlab dns|dns6|dns_tcp|dns_big|http|http_big|ping|ping6|tcp\n");
		return 2;
	}
	const char *a = argv[1];
	own_netns();
	printf("pid %d\n", getpid());
	fflush(stdout);
	if (!strcmp(a, "dns"))
		return dns(AF_INET, 0, 0, 40053);
	if (!strcmp(a, "dns6"))
		return dns(AF_INET6, 0, 0, 40054);
	if (!strcmp(a, "dns_tcp"))
		return dns(AF_INET, 1, 0, 40055);
	if (!strcmp(a, "dns_big"))
		return dns(AF_INET, 0, 1, 40053);
	if (!strcmp(a, "http"))
		return http(0);
	if (!strcmp(a, "http_big"))
		return http(1);
	if (!strcmp(a, "ping"))
		return ping(AF_INET);
	if (!strcmp(a, "ping6"))
		return ping(AF_INET6);
	if (!strcmp(a, "tcp"))
		return tcp();
	fprintf(stderr, "netlab: unknown action %s\n", a);
	return 2;
}
