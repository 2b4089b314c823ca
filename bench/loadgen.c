// loadgen: drives one syscall as fast as possible (or at a fixed rate) for the benchmarks in bench/.
//
//   loadgen loop  SYSCALL THREADS COUNT   each thread makes COUNT calls; prints the mean ns per call
//   loadgen time  SYSCALL THREADS MS      each thread calls for MS milliseconds; prints ns per call
//   loadgen storm SYSCALL THREADS MS      the same, reported as a call count and calls per second
//   loadgen rate  SYSCALL RATE MS         one thread, RATE calls per second in 1 ms bursts, for MS ms
//                                         (MS = 0: until killed; prints nothing then)
//
// SYSCALL is getppid, delmod (delete_module("ktrail_bench", O_NONBLOCK|O_TRUNC = 0xa00), which returns
// ENOSYS on a kernel without modules and ENOENT with them), openat (openat(AT_FDCWD, "/usr/bin/env",
// O_RDONLY) then close: one call counts the pair) or connect (connect of a UDP socket, one per thread, to
// 127.0.0.1:9: no packet is sent, the kernel only records the peer). Output is one line of key=value pairs:
//   calls=N threads=T ns=ELAPSED ns_per_call=X cpu_ns_per_call=C calls_per_s=Y
// ns_per_call is the wall time of one thread divided by its calls, averaged over threads (the cost one caller
// sees, including time it waits for a CPU); cpu_ns_per_call is the same with the thread's CPU time (what the
// syscall and the BPF programs running in it cost); calls_per_s is the total over all threads.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

enum mode { MODE_LOOP, MODE_TIME, MODE_STORM, MODE_RATE };

struct worker {
  pthread_t th;
  uint64_t calls;
  uint64_t ns;
  uint64_t cpu_ns;
};

enum sys { SYS_GETPPID_, SYS_DELMOD_, SYS_OPENAT_, SYS_CONNECT_ };

static enum mode g_mode;
static enum sys g_sys;
static uint64_t g_count;
static uint64_t g_ms;
static uint64_t g_rate;
static pthread_barrier_t g_start;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// What one thread's calls need: the module name on the caller's stack (a kernel without modules never reads
// it, so a literal's page might never be faulted in and a tracer's non-faulting read would fail), the UDP
// socket and its peer for connect.
struct callctx {
  char name[16];
  int sock;
  struct sockaddr_in peer;
};

static void ctx_init(struct callctx *c) {
  memcpy(c->name, "ktrail_bench", sizeof("ktrail_bench"));
  c->sock = -1;
  memset(&c->peer, 0, sizeof(c->peer));
  c->peer.sin_family = AF_INET;
  c->peer.sin_port = htons(9);
  c->peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (g_sys == SYS_CONNECT_) {
    c->sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (c->sock < 0) {
      perror("loadgen: socket");
      exit(1);
    }
  }
}

static inline void one_call(struct callctx *c) {
  switch (g_sys) {
  case SYS_DELMOD_:
    syscall(SYS_delete_module, c->name, 0xa00);
    break;
  case SYS_OPENAT_: {
    int fd = openat(AT_FDCWD, "/usr/bin/env", O_RDONLY);
    if (fd >= 0) close(fd);
    break;
  }
  case SYS_CONNECT_:
    connect(c->sock, (struct sockaddr *)&c->peer, sizeof(c->peer));
    break;
  default:
    syscall(SYS_getppid);
  }
}

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *run(void *arg) {
  struct worker *w = arg;
  struct callctx c;
  ctx_init(&c);
  pthread_barrier_wait(&g_start);
  uint64_t c0 = thread_cpu_ns();
  uint64_t t0 = now_ns();
  uint64_t calls = 0;
  if (g_mode == MODE_LOOP) {
    for (; calls < g_count; calls++) one_call(&c);
  } else {
    uint64_t end = t0 + g_ms * 1000000ull;
    for (;;) {
      for (int i = 0; i < 256; i++) one_call(&c);
      calls += 256;
      if (now_ns() >= end) break;
    }
  }
  w->ns = now_ns() - t0;
  w->cpu_ns = thread_cpu_ns() - c0;
  w->calls = calls;
  return NULL;
}

static void run_rate(void) {
  struct callctx c;
  ctx_init(&c);
  uint64_t per_ms = g_rate / 1000, extra = g_rate % 1000, acc = 0, calls = 0;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  uint64_t t0 = now_ns();
  for (uint64_t tick = 0; g_ms == 0 || tick < g_ms; tick++) {
    uint64_t n = per_ms;
    acc += extra;
    if (acc >= 1000) {
      acc -= 1000;
      n++;
    }
    for (uint64_t i = 0; i < n; i++) one_call(&c);
    calls += n;
    next.tv_nsec += 1000000;
    if (next.tv_nsec >= 1000000000) {
      next.tv_nsec -= 1000000000;
      next.tv_sec++;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
  }
  uint64_t ns = now_ns() - t0;
  printf("calls=%llu threads=1 ns=%llu ns_per_call=0 calls_per_s=%.0f\n", (unsigned long long)calls,
         (unsigned long long)ns, (double)calls * 1e9 / (double)ns);
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen loop|time|storm SYSCALL THREADS COUNT|MS\n"
          "       loadgen rate SYSCALL RATE MS\n"
          "SYSCALL: getppid, delmod, openat or connect\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc != 5) usage();
  if (strcmp(argv[1], "loop") == 0)
    g_mode = MODE_LOOP;
  else if (strcmp(argv[1], "time") == 0)
    g_mode = MODE_TIME;
  else if (strcmp(argv[1], "storm") == 0)
    g_mode = MODE_STORM;
  else if (strcmp(argv[1], "rate") == 0)
    g_mode = MODE_RATE;
  else
    usage();
  if (strcmp(argv[2], "delmod") == 0)
    g_sys = SYS_DELMOD_;
  else if (strcmp(argv[2], "openat") == 0)
    g_sys = SYS_OPENAT_;
  else if (strcmp(argv[2], "connect") == 0)
    g_sys = SYS_CONNECT_;
  else if (strcmp(argv[2], "getppid") == 0)
    g_sys = SYS_GETPPID_;
  else
    usage();
  char *end;
  unsigned long long a = strtoull(argv[3], &end, 10);
  if (*end != '\0') usage();
  unsigned long long b = strtoull(argv[4], &end, 10);
  if (*end != '\0') usage();

  if (g_mode == MODE_RATE) {
    if (a == 0) usage();
    g_rate = a;
    g_ms = b;
    setvbuf(stdout, NULL, _IOLBF, 0);
    run_rate();
    return 0;
  }
  if (a < 1 || a > MAX_THREADS || b == 0) usage();
  int threads = (int)a;
  if (g_mode == MODE_LOOP)
    g_count = b;
  else
    g_ms = b;

  static struct worker w[MAX_THREADS];
  pthread_barrier_init(&g_start, NULL, (unsigned)threads);
  for (int i = 1; i < threads; i++) {
    if (pthread_create(&w[i].th, NULL, run, &w[i]) != 0) {
      perror("loadgen: pthread_create");
      return 1;
    }
  }
  run(&w[0]);
  for (int i = 1; i < threads; i++) pthread_join(w[i].th, NULL);

  uint64_t calls = 0, maxns = 0;
  double per = 0, cpu = 0;
  for (int i = 0; i < threads; i++) {
    calls += w[i].calls;
    if (w[i].ns > maxns) maxns = w[i].ns;
    per += (double)w[i].ns / (double)w[i].calls;
    cpu += (double)w[i].cpu_ns / (double)w[i].calls;
  }
  printf("calls=%llu threads=%d ns=%llu ns_per_call=%.1f cpu_ns_per_call=%.1f calls_per_s=%.0f\n",
         (unsigned long long)calls, threads, (unsigned long long)maxns, per / threads, cpu / threads,
         (double)calls * 1e9 / (double)maxns);
  return 0;
}
