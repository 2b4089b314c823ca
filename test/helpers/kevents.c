/*
 * kevents: real system calls for the kernel-event and evasion end-to-end tests. Prints "pid N" first, then one
 * "key value" line per fact the test needs (ports, addresses, inodes).
 *   kevents unlink DIR          chdir(DIR); creat+unlink("ku"); mkdir+rmdir("kd"); open(DIR, O_PATH) as D;
 *                               creat+unlinkat(D, "ku2", 0)
 *   kevents rename DIR          chdir(DIR); creat("ra"); rename("ra", "rb"); open(DIR, O_PATH) as D;
 *                               renameat(D, "rb", AT_FDCWD, "./sub/../rc"); unlink("rc")
 *   kevents sockets             TCP on 127.0.0.1 and ::1 (bind port 0, listen 7, connect, accept), AF_UNIX on an
 *                               abstract name (bind, listen, connect, accept), a refused connect to 127.0.0.1:9;
 *                               prints "tcp4 PORT", "tcp6 PORT", "unix NAME"
 *   kevents mount DIR           in a private mount namespace: chdir(DIR); mount("ktrail", "mnt", "tmpfs",
 *                               MS_NOSUID, "size=1m"); umount2("mnt", MNT_DETACH) (DIR/mnt must exist)
 *   kevents mprotect FILE       anonymous RW -> mprotect R|X (alert 4), anonymous R -> mprotect R|X (alert 2),
 *                               mmap R|W|X (alert 1), FILE mapped R -> mprotect R|X (alert 2, file-backed);
 *                               prints "rw ADDR", "r ADDR", "rwx ADDR", "file ADDR" (hex)
 *   kevents write FILE          creat(FILE); write 40 bytes of an ELF header at offset 0; write 5 more (no
 *                               event); pwrite64 "MAGIC" at 0; writev at 0 after lseek; unlink(FILE)
 *   kevents open HOW PATH w|r   open PATH (r: O_RDONLY, w: O_WRONLY|O_APPEND; never O_CREAT, never a write) by
 *                               one of these ways:
 *       plain      open(PATH)                   rel       chdir(dirname); open(basename)
 *       opath      openat(open(dir, O_PATH), basename)
 *       dotdot     open("/tmp/../" + PATH)      proc_root open("/proc/self/root" + PATH)
 *       proc_cwd   chdir(dirname); open("/proc/self/cwd/" + basename)
 *       symlink    symlink(PATH, tmp); open(tmp); unlink(tmp)
 *       hardlink   link(PATH, /tmp/...); open it; unlink it (PATH must be on the same filesystem as /tmp)
 *       proc_fd    open(PATH, O_PATH) as F; open("/proc/self/fd/F")
 *       openat2    openat2(open(dir, O_PATH), basename, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS)
 *       deleted_cwd mkdir /tmp/ktd.PID; chdir into it; rmdir it; open("../.." + PATH)
 *   kevents exec_deleted PROG   copy PROG to /tmp/kte.PID, open it, unlink it, execveat(fd, "", AT_EMPTY_PATH)
 *   kevents bind_open MNT PATH w  in a private mount namespace: bind-mount dirname(PATH) on MNT; open
 *                               MNT/basename(PATH) like `open plain`
 *   kevents rename_into PATH    creat /tmp/ktr.PID; renameat(AT_FDCWD, it, open(dirname(PATH), O_PATH),
 *                               basename(PATH)): PATH replaced, the new name given relative to a dirfd
 *   kevents pseudo              pipe(); open("/proc/self/fd/READ_END"); memfd_create("ktrail-e2e");
 *                               open("/proc/self/fd/MEMFD"); prints "pipe INODE"
 *   kevents deep DIR N LEN      N nested directories under DIR, each named LEN 'd's, made and entered through
 *                               dirfds (no long path is ever passed); openat(deepest, "leaf", O_CREAT|O_WRONLY)
 *   kevents overlay DIR         in a private mount namespace: overlay of DIR/lower (which holds f and prog),
 *                               DIR/upper, DIR/work on DIR/merged; open merged/f for writing (a copy-up); then
 *                               execve(merged/prog)
 *   kevents memfd_proc PROG     memfd_create("ktrail-e2e"), copy PROG into it, execve("/proc/self/fd/N")
 *   kevents seccomp_delmod NAME a seccomp filter makes delete_module fail with EPERM before sys_enter; then
 *                               delete_module(NAME, O_NONBLOCK|O_TRUNC); prints "rc RC errno ERRNO"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char *what)
{
	perror(what);
	return 1;
}

static int do_unlink(const char *dir)
{
	if (chdir(dir) != 0)
		return fail("chdir");
	int fd = creat("ku", 0600);
	if (fd < 0 || close(fd) != 0 || unlink("ku") != 0)
		return fail("unlink ku");
	if (mkdir("kd", 0700) != 0 || rmdir("kd") != 0)
		return fail("rmdir kd");
	int d = open(dir, O_PATH | O_DIRECTORY);
	fd = creat("ku2", 0600);
	if (d < 0 || fd < 0 || close(fd) != 0 || unlinkat(d, "ku2", 0) != 0)
		return fail("unlinkat ku2");
	return 0;
}

static int do_rename(const char *dir)
{
	if (chdir(dir) != 0 || mkdir("sub", 0700) != 0)
		return fail("chdir/mkdir");
	int fd = creat("ra", 0600);
	if (fd < 0 || close(fd) != 0 || rename("ra", "rb") != 0)
		return fail("rename");
	int d = open(dir, O_PATH | O_DIRECTORY);
	if (d < 0 || renameat(d, "rb", AT_FDCWD, "./sub/../rc") != 0)
		return fail("renameat");
	unlink("rc");
	rmdir("sub");
	return 0;
}

/* A listening socket of `family` on loopback with a kernel-chosen port; its port goes to *port. */
static int listener(int family, int *port)
{
	int s = socket(family, SOCK_STREAM, 0);
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	}
	if (s < 0 || bind(s, (struct sockaddr *)&ss, len) != 0 || listen(s, 7) != 0)
		return -1;
	if (getsockname(s, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return s;
}

static int connect_accept(int family, int l, const struct sockaddr *to, socklen_t len)
{
	int c = socket(family, SOCK_STREAM, 0);
	if (c < 0 || connect(c, to, len) != 0)
		return fail("connect");
	int a = accept(l, NULL, NULL);
	if (a < 0)
		return fail("accept");
	close(a);
	close(c);
	close(l);
	return 0;
}

static int do_sockets(void)
{
	int port4 = 0, port6 = 0;
	int l4 = listener(AF_INET, &port4);
	int l6 = listener(AF_INET6, &port6);
	if (l4 < 0 || l6 < 0)
		return fail("listen");
	printf("tcp4 %d\ntcp6 %d\n", port4, port6);
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port4)};
	a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port6), .sin6_addr = in6addr_loopback};
	if (connect_accept(AF_INET, l4, (struct sockaddr *)&a4, sizeof(a4)) != 0 ||
	    connect_accept(AF_INET6, l6, (struct sockaddr *)&a6, sizeof(a6)) != 0)
		return 1;
	/* An abstract AF_UNIX name: sun_path[0] is NUL, the length counts only the bytes used. */
	char name[64];
	snprintf(name, sizeof(name), "ktrail-e2e-%d", getpid());
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	memcpy(u.sun_path + 1, name, strlen(name));
	socklen_t ulen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	int lu = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lu < 0 || bind(lu, (struct sockaddr *)&u, ulen) != 0 || listen(lu, 3) != 0)
		return fail("unix listen");
	printf("unix %s\n", name);
	fflush(stdout);
	if (connect_accept(AF_UNIX, lu, (struct sockaddr *)&u, ulen) != 0)
		return 1;
	/* Refused: the socket holds no peer afterwards, the event shows the caller's address. */
	int r = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(9)};
	d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(r, (struct sockaddr *)&d, sizeof(d));
	close(r);
	return 0;
}

static int do_mount(const char *dir)
{
	if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return fail("private mounts");
	if (chdir(dir) != 0)
		return fail("chdir");
	if (mount("ktrail", "mnt", "tmpfs", MS_NOSUID, "size=1m") != 0)
		return fail("mount");
	if (umount2("mnt", MNT_DETACH) != 0)
		return fail("umount2");
	return 0;
}

static int do_mprotect(const char *file)
{
	long page = sysconf(_SC_PAGESIZE);
	void *rw = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *r = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open(file, O_RDONLY);
	void *f = fd < 0 ? MAP_FAILED : mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
	if (rw == MAP_FAILED || r == MAP_FAILED || f == MAP_FAILED)
		return fail("mmap");
	printf("rw %p\nr %p\nfile %p\n", rw, r, f);
	fflush(stdout);
	if (mprotect(rw, page, PROT_READ | PROT_EXEC) != 0 || mprotect(r, page, PROT_READ | PROT_EXEC) != 0 ||
	    mprotect(f, page, PROT_READ | PROT_EXEC) != 0)
		return fail("mprotect");
	void *rwx = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rwx == MAP_FAILED)
		return fail("mmap rwx");
	printf("rwx %p\n", rwx);
	return 0;
}

static int do_write(const char *file)
{
	static const unsigned char elf[40] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					      2,    0,   0x3e, 0, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
					      9,    10,  11,   12, 13, 14, 15, 16};
	int fd = creat(file, 0600);
	if (fd < 0)
		return fail("creat");
	if (write(fd, elf, sizeof(elf)) != (ssize_t)sizeof(elf) || write(fd, "later", 5) != 5)
		return fail("write");
	if (pwrite(fd, "MAGIC", 5, 0) != 5)
		return fail("pwrite");
	struct iovec iov[2] = {{.iov_base = "VEC1", .iov_len = 4}, {.iov_base = "VEC2", .iov_len = 4}};
	if (lseek(fd, 0, SEEK_SET) != 0 || writev(fd, iov, 2) != 8)
		return fail("writev");
	close(fd);
	return unlink(file) == 0 ? 0 : fail("unlink");
}

static char *dir_of(const char *path)
{
	char *copy = strdup(path);
	return strdup(dirname(copy));
}

static char *base_of(const char *path)
{
	char *copy = strdup(path);
	return strdup(basename(copy));
}

static int opened(int fd)
{
	if (fd < 0)
		return fail("open");
	close(fd);
	return 0;
}

static int do_open(const char *how, const char *path, int flags)
{
	char buf[4096];
	char *dir = dir_of(path), *base = base_of(path);
	if (strcmp(how, "plain") == 0)
		return opened(open(path, flags));
	if (strcmp(how, "rel") == 0)
		return chdir(dir) != 0 ? fail("chdir") : opened(open(base, flags));
	if (strcmp(how, "opath") == 0) {
		int d = open(dir, O_PATH | O_DIRECTORY);
		return d < 0 ? fail("open dir") : opened(openat(d, base, flags));
	}
	if (strcmp(how, "dotdot") == 0) {
		snprintf(buf, sizeof(buf), "/tmp/..%s", path);
		return opened(open(buf, flags));
	}
	if (strcmp(how, "proc_root") == 0) {
		snprintf(buf, sizeof(buf), "/proc/self/root%s", path);
		return opened(open(buf, flags));
	}
	if (strcmp(how, "proc_cwd") == 0) {
		snprintf(buf, sizeof(buf), "/proc/self/cwd/%s", base);
		return chdir(dir) != 0 ? fail("chdir") : opened(open(buf, flags));
	}
	if (strcmp(how, "symlink") == 0 || strcmp(how, "hardlink") == 0) {
		snprintf(buf, sizeof(buf), "/tmp/ktl.%d", getpid());
		int made = strcmp(how, "symlink") == 0 ? symlink(path, buf) : link(path, buf);
		if (made != 0)
			return fail("link");
		int rc = opened(open(buf, flags));
		unlink(buf);
		return rc;
	}
	if (strcmp(how, "proc_fd") == 0) {
		int p = open(path, O_PATH);
		if (p < 0)
			return fail("open O_PATH");
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d", p);
		return opened(open(buf, flags));
	}
	if (strcmp(how, "openat2") == 0) {
		int d = open(dir, O_PATH | O_DIRECTORY);
		struct open_how oh = {.flags = (unsigned)flags,
				      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		return d < 0 ? fail("open dir") : opened((int)syscall(SYS_openat2, d, base, &oh, sizeof(oh)));
	}
	if (strcmp(how, "deleted_cwd") == 0) {
		snprintf(buf, sizeof(buf), "/tmp/ktd.%d", getpid());
		if (mkdir(buf, 0700) != 0 || chdir(buf) != 0 || rmdir(buf) != 0)
			return fail("deleted cwd");
		snprintf(buf, sizeof(buf), "../..%s", path);
		return opened(open(buf, flags));
	}
	fprintf(stderr, "kevents: unknown open way %s\n", how);
	return 2;
}

static int do_exec_deleted(const char *prog)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/kte.%d", getpid());
	int in = open(prog, O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	if (in < 0 || out < 0)
		return fail("open");
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return fail("write");
	close(in);
	close(out);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || unlink(path) != 0)
		return fail("reopen/unlink");
	printf("path %s\n", path);
	fflush(stdout);
	char *args[] = {"kte", NULL};
	char *env[] = {NULL};
	syscall(SYS_execveat, fd, "", args, env, AT_EMPTY_PATH);
	return fail("execveat");
}

static int do_bind_open(const char *mnt, const char *path, int flags)
{
	char buf[4096];
	if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return fail("private mounts");
	char *dir = dir_of(path), *base = base_of(path);
	if (mount(dir, mnt, NULL, MS_BIND, NULL) != 0)
		return fail("bind mount");
	snprintf(buf, sizeof(buf), "%s/%s", mnt, base);
	return opened(open(buf, flags));
}

static int do_rename_into(const char *path)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "/tmp/ktr.%d", getpid());
	int fd = creat(tmp, 0600);
	int d = open(dir_of(path), O_PATH | O_DIRECTORY);
	if (fd < 0 || close(fd) != 0 || d < 0)
		return fail("creat/open dir");
	if (renameat(AT_FDCWD, tmp, d, base_of(path)) != 0) {
		unlink(tmp);
		return fail("renameat");
	}
	return 0;
}

static int do_pseudo(void)
{
	char buf[64];
	int p[2];
	struct stat st;
	if (pipe(p) != 0 || fstat(p[0], &st) != 0)
		return fail("pipe");
	printf("pipe %llu\n", (unsigned long long)st.st_ino);
	fflush(stdout);
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", p[0]);
	if (opened(open(buf, O_RDONLY | O_NONBLOCK)) != 0)
		return 1;
	int m = memfd_create("ktrail-e2e", 0);
	if (m < 0)
		return fail("memfd_create");
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", m);
	return opened(open(buf, O_RDONLY));
}

static int do_deep(const char *dir, int n, int len)
{
	char name[256];
	if (len < 1 || len > 255 || n < 1)
		return fail("deep: bad N or LEN");
	memset(name, 'd', (size_t)len);
	name[len] = 0;
	int d = open(dir, O_PATH | O_DIRECTORY);
	for (int i = 0; i < n && d >= 0; i++) {
		if (mkdirat(d, name, 0700) != 0)
			return fail("mkdirat");
		int next = openat(d, name, O_PATH | O_DIRECTORY);
		close(d);
		d = next;
	}
	if (d < 0)
		return fail("openat dir");
	return opened(openat(d, "leaf", O_CREAT | O_WRONLY, 0600));
}

static int do_overlay(const char *dir)
{
	char opts[3 * 256 + 64], merged[256], path[300];
	if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return fail("private mounts");
	snprintf(opts, sizeof(opts), "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", dir, dir, dir);
	snprintf(merged, sizeof(merged), "%s/merged", dir);
	if (mount("overlay", merged, "overlay", 0, opts) != 0)
		return fail("mount overlay");
	snprintf(path, sizeof(path), "%s/f", merged);
	if (opened(open(path, O_WRONLY | O_APPEND)) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/prog", merged);
	char *args[] = {"prog", NULL};
	char *env[] = {NULL};
	execve(path, args, env);
	return fail("execve");
}

static int do_memfd_proc(const char *prog)
{
	int in = open(prog, O_RDONLY), m = memfd_create("ktrail-e2e", 0);
	if (in < 0 || m < 0)
		return fail("open/memfd_create");
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(m, buf, (size_t)n) != n)
			return fail("write");
	close(in);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	printf("path %s\n", path);
	fflush(stdout);
	char *args[] = {"kte", NULL};
	char *env[] = {NULL};
	execve(path, args, env);
	return fail("execve");
}

static int do_seccomp_delmod(const char *name)
{
#if defined(__x86_64__)
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_delete_module, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return fail("seccomp");
	long rc = syscall(SYS_delete_module, name, O_NONBLOCK | O_TRUNC);
	printf("rc %ld errno %d\n", rc, rc < 0 ? errno : 0);
	return 0;
#else
	(void)name;
	fprintf(stderr, "kevents: seccomp_delmod is written for x86_64 only\n");
	return 3;
#endif
}

static int mode_flags(const char *m)
{
	return strcmp(m, "w") == 0 ? O_WRONLY | O_APPEND : O_RDONLY;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: kevents ACTION ARG... (see the comment at the top of kevents.c)\n");
		return 2;
	}
	printf("pid %d\n", getpid());
	fflush(stdout);
	const char *a = argv[1];
	int rc = 2;
	if (strcmp(a, "unlink") == 0 && argc >= 3)
		rc = do_unlink(argv[2]);
	else if (strcmp(a, "rename") == 0 && argc >= 3)
		rc = do_rename(argv[2]);
	else if (strcmp(a, "sockets") == 0)
		rc = do_sockets();
	else if (strcmp(a, "mount") == 0 && argc >= 3)
		rc = do_mount(argv[2]);
	else if (strcmp(a, "mprotect") == 0 && argc >= 3)
		rc = do_mprotect(argv[2]);
	else if (strcmp(a, "write") == 0 && argc >= 3)
		rc = do_write(argv[2]);
	else if (strcmp(a, "open") == 0 && argc >= 5)
		rc = do_open(argv[2], argv[3], mode_flags(argv[4]));
	else if (strcmp(a, "exec_deleted") == 0 && argc >= 3)
		rc = do_exec_deleted(argv[2]);
	else if (strcmp(a, "bind_open") == 0 && argc >= 5)
		rc = do_bind_open(argv[2], argv[3], mode_flags(argv[4]));
	else if (strcmp(a, "rename_into") == 0 && argc >= 3)
		rc = do_rename_into(argv[2]);
	else if (strcmp(a, "pseudo") == 0)
		rc = do_pseudo();
	else if (strcmp(a, "deep") == 0 && argc >= 5)
		rc = do_deep(argv[2], atoi(argv[3]), atoi(argv[4]));
	else if (strcmp(a, "overlay") == 0 && argc >= 3)
		rc = do_overlay(argv[2]);
	else if (strcmp(a, "memfd_proc") == 0 && argc >= 3)
		rc = do_memfd_proc(argv[2]);
	else if (strcmp(a, "seccomp_delmod") == 0 && argc >= 3)
		rc = do_seccomp_delmod(argv[2]);
	else
		fprintf(stderr, "kevents: unknown action or missing arguments: %s\n", a);
	fflush(stdout);
	return rc;
}
