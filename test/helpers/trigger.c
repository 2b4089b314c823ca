/*
 * trigger: real system calls with exact arguments, for the end-to-end tests.
 *   trigger openat PATH             openat(AT_FDCWD, PATH, O_WRONLY|O_CREAT|O_TRUNC, 0640), then unlink(PATH)
 *   trigger execve PROG ARG...      execve(PROG, [PROG, ARG...], {NULL})
 *   trigger connect4 PORT           connect(socket(AF_INET, SOCK_STREAM), 127.0.0.1:PORT); refused is fine
 *   trigger connect_unix PATH       connect(socket(AF_UNIX, SOCK_STREAM), PATH); absent is fine
 * Detection triggers (they change nothing outside the process, or only inside a private mount namespace):
 *   trigger open PATH r|w|rw        openat(AT_FDCWD, PATH, O_RDONLY|O_WRONLY|O_RDWR) (no O_CREAT), close; no write
 *   trigger nsopen FS DIR PATH r|w  in a new private mount namespace: mount FS ("tmpfs", "debugfs") on DIR; for
 *                                   tmpfs, make PATH's directories and PATH itself with mkdir/mknod (no open);
 *                                   then as `open PATH MODE`
 *   trigger mount SRC DIR FS        in a new private mount namespace: mount(SRC, DIR, FS, 0, NULL), umount(DIR)
 *   trigger traceme                 ptrace(PTRACE_TRACEME, 0, 0, 0)
 *   trigger poke                    fork a pausing child, PTRACE_ATTACH it, PTRACE_POKEDATA then PTRACE_POKETEXT
 *                                   at the address of a global of the child, detach, kill and reap it
 *   trigger vm_writev               fork a pausing child, process_vm_writev into a global of the child, kill, reap
 *   trigger memfd_exec PROG         memfd_create("ktr_e2e", 0), copy PROG into it, execveat(fd, "", ["ktr_e2e"],
 *                                   {NULL}, AT_EMPTY_PATH)
 *   trigger stdio_socket PORT       connect(socket(AF_INET), 127.0.0.1:PORT) on fd S, dup2(S, 0), dup2(S, 1),
 *                                   dup3(S, 2, 0), exit
 * Prints "pid N" first so the test knows whom to look for; the fork actions then print "target N" (the child).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the fork actions write into their child. */
static volatile long target_word = 1;

static int open_mode(const char *m)
{
	if (strcmp(m, "r") == 0)
		return O_RDONLY;
	if (strcmp(m, "w") == 0)
		return O_WRONLY;
	if (strcmp(m, "rw") == 0)
		return O_RDWR;
	return -1;
}

static int open_close(const char *path, int flags)
{
	int fd = openat(AT_FDCWD, path, flags);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	close(fd);
	return 0;
}

/* mkdir -p of PATH's parent directories. */
static void make_parents(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
}

static int private_mounts(void)
{
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		perror("unshare/mount private");
		return -1;
	}
	return 0;
}

/* A child that waits to be killed; its pid is printed as "target N". */
static pid_t pausing_child(void)
{
	pid_t child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	if (child > 0) {
		printf("target %d\n", child);
		fflush(stdout);
	}
	return child;
}

static void end_child(pid_t child)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static int do_poke(void)
{
	pid_t child = pausing_child();
	if (child < 0)
		return 1;
	int rc = 1;
	if (ptrace(PTRACE_ATTACH, child, NULL, NULL) == 0 && waitpid(child, NULL, 0) == child) {
		long a = ptrace(PTRACE_POKEDATA, child, (void *)&target_word, (void *)2L);
		long b = ptrace(PTRACE_POKETEXT, child, (void *)&target_word, (void *)3L);
		ptrace(PTRACE_DETACH, child, NULL, NULL);
		rc = a == 0 && b == 0 ? 0 : 1;
	} else
		perror("ptrace attach");
	end_child(child);
	return rc;
}

static int do_vm_writev(void)
{
	pid_t child = pausing_child();
	if (child < 0)
		return 1;
	long value = 4;
	struct iovec local = {.iov_base = &value, .iov_len = sizeof(value)};
	struct iovec remote = {.iov_base = (void *)&target_word, .iov_len = sizeof(value)};
	ssize_t n = process_vm_writev(child, &local, 1, &remote, 1, 0);
	if (n < 0)
		perror("process_vm_writev");
	end_child(child);
	return n == (ssize_t)sizeof(value) ? 0 : 1;
}

static int do_memfd_exec(const char *prog)
{
	int fd = memfd_create("ktr_e2e", 0);
	int in = open(prog, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || in < 0) {
		perror("memfd_create/open");
		return 1;
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n) {
			perror("write");
			return 1;
		}
	close(in);
	char *args[] = {"ktr_e2e", NULL};
	char *env[] = {NULL};
	syscall(SYS_execveat, fd, "", args, env, AT_EMPTY_PATH);
	perror("execveat");
	return 1;
}

static int do_stdio_socket(const char *port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("connect");
		return 1;
	}
	int ok = dup2(s, 0) == 0 && dup2(s, 1) == 1 && dup3(s, 2, 0) == 2;
	return ok ? 0 : 1;
}

struct action {
	const char *name;
	int nargs;
};

static const struct action actions[] = {
	{"openat", 1},     {"execve", 1},  {"connect4", 1},  {"connect_unix", 1}, {"open", 2},
	{"nsopen", 4},     {"mount", 3},   {"traceme", 0},   {"poke", 0},         {"vm_writev", 0},
	{"memfd_exec", 1}, {"stdio_socket", 1},
};

int main(int argc, char **argv)
{
	const struct action *act = NULL;
	if (argc >= 2)
		for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
			if (strcmp(argv[1], actions[i].name) == 0)
				act = &actions[i];
	if (act == NULL || argc < 2 + act->nargs) {
		if (argc >= 2 && act == NULL)
			fprintf(stderr, "trigger: unknown action %s\n", argv[1]);
		else
			fprintf(stderr, "usage: trigger ACTION ARG... (see the comment at the top of trigger.c)\n");
		return 2;
	}
	printf("pid %d\n", getpid());
	fflush(stdout);
	const char *what = argv[1];
	if (strcmp(what, "openat") == 0) {
		int fd = openat(AT_FDCWD, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0640);
		if (fd >= 0)
			close(fd);
		unlink(argv[2]);
		return fd >= 0 ? 0 : 1;
	}
	if (strcmp(what, "execve") == 0) {
		char *env[] = {NULL};
		execve(argv[2], &argv[2], env);
		perror("execve");
		return 1;
	}
	if (strcmp(what, "connect4") == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		connect(s, (struct sockaddr *)&a, sizeof(a));
		close(s);
		return 0;
	}
	if (strcmp(what, "connect_unix") == 0) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		strncpy(a.sun_path, argv[2], sizeof(a.sun_path) - 1);
		connect(s, (struct sockaddr *)&a, sizeof(a));
		close(s);
		return 0;
	}
	if (strcmp(what, "open") == 0) {
		int flags = open_mode(argv[3]);
		return flags < 0 ? 2 : open_close(argv[2], flags);
	}
	if (strcmp(what, "nsopen") == 0) {
		int flags = open_mode(argv[5]);
		if (flags < 0 || private_mounts() != 0)
			return 2;
		if (mount("none", argv[3], argv[2], 0, NULL) != 0) {
			perror("mount");
			return 1;
		}
		if (strcmp(argv[2], "tmpfs") == 0) {
			make_parents(argv[4]);
			if (mknod(argv[4], S_IFREG | 0644, 0) != 0 && errno != EEXIST) {
				perror("mknod");
				return 1;
			}
		}
		return open_close(argv[4], flags);
	}
	if (strcmp(what, "mount") == 0) {
		if (private_mounts() != 0)
			return 2;
		if (mount(argv[2], argv[3], argv[4], 0, NULL) != 0) {
			perror("mount");
			return 1;
		}
		umount2(argv[3], 0);
		return 0;
	}
	if (strcmp(what, "traceme") == 0)
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 0 : 1;
	if (strcmp(what, "poke") == 0)
		return do_poke();
	if (strcmp(what, "vm_writev") == 0)
		return do_vm_writev();
	if (strcmp(what, "memfd_exec") == 0)
		return do_memfd_exec(argv[2]);
	return do_stdio_socket(argv[2]);
}
