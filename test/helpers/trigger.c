/*
 * trigger: one real system call per invocation, with exact arguments, for the end-to-end tests.
 *   trigger openat PATH             openat(AT_FDCWD, PATH, O_WRONLY|O_CREAT|O_TRUNC, 0640), then unlink(PATH)
 *   trigger execve PROG ARG...      execve(PROG, [PROG, ARG...], {NULL})
 *   trigger connect4 PORT           connect(socket(AF_INET, SOCK_STREAM), 127.0.0.1:PORT); refused is fine
 *   trigger connect_unix PATH       connect(socket(AF_UNIX, SOCK_STREAM), PATH); absent is fine
 * Prints "pid N" first so the test knows whom to look for.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: trigger openat|execve|connect4|connect_unix ARG...\n");
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
	fprintf(stderr, "trigger: unknown action %s\n", what);
	return 2;
}
