// delmod: calls delete_module (176) in the ways the capture e2e test checks, and prints one line per call:
// "<case> <tid>". Cases, in order: zero (name "ktrail_zero", flags 0), long (a 55-character name),
// null (a NULL name pointer), bad (the unmapped address 1: the tracer's read faults), then thread (8 threads released at once, names "ktrail_thr_<i>", flags
// O_NONBLOCK). Every call fails with ENOSYS on a kernel without modules, or ENOENT with them.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NTHREADS 8

static pthread_barrier_t start;
static pid_t tids[NTHREADS];

static long delmod(const char *name, unsigned int flags) { return syscall(176, name, flags); }

static void *worker(void *arg) {
  long i = (long)arg;
  char name[32];  // on the stack, see main
  snprintf(name, sizeof(name), "ktrail_thr_%ld", i);
  tids[i] = (pid_t)syscall(SYS_gettid);
  pthread_barrier_wait(&start);
  delmod(name, 04000);
  return NULL;
}

int main(void) {
  char long_name[56];
  // Names live on the stack: a kernel without modules never reads them, so a string literal's page may
  // never be faulted in and the tracer's non-faulting read would fail.
  char zero_name[] = "ktrail_zero";
  pid_t tid = (pid_t)syscall(SYS_gettid);

  delmod(zero_name, 0);
  printf("zero %d\n", tid);

  memset(long_name, 'a', 55);
  memcpy(long_name, "ktrail_long_", 12);
  long_name[55] = '\0';
  delmod(long_name, 0);
  printf("long %d\n", tid);

  delmod(NULL, 0);
  printf("null %d\n", tid);

  delmod((const char *)1, 0);
  printf("bad %d\n", tid);

  pthread_t th[NTHREADS];
  pthread_barrier_init(&start, NULL, NTHREADS);
  for (long i = 0; i < NTHREADS; i++) {
    if (pthread_create(&th[i], NULL, worker, (void *)i) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < NTHREADS; i++) printf("thread %d\n", tids[i]);
  return 0;
}
