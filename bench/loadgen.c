// loadgen: drives one syscall as fast as possible (or at a fixed rate) for the benchmarks in bench/.
//
//   loadgen loop  SYSCALL THREADS COUNT   each thread makes COUNT calls; prints the mean ns per call
//   loadgen time  SYSCALL THREADS MS      each thread calls for MS milliseconds; prints ns per call
//   loadgen storm SYSCALL THREADS MS      the same, reported as a call count and calls per second
//   loadgen rate  SYSCALL RATE MS         one thread, RATE calls per second in 1 ms bursts, for MS ms
//                                         (MS = 0: until killed; prints nothing then)
//   loadgen stream tcp SIZE MS            a loopback TCP stream in a network namespace of its own: one thread
//                                         sends SIZE bytes at a time for MS ms, another reads, both on CPU 0;
//                                         "calls" are the TCP segments the namespace sent (data and ACKs),
//                                         from its /proc/net/snmp; also prints writes=N and softirqd_ns=N
//
// SYSCALL is getppid, delmod (delete_module("ktrail_bench", O_NONBLOCK|O_TRUNC = 0xa00), which returns
// ENOSYS on a kernel without modules and ENOENT with them), openat (openat(AT_FDCWD, "/usr/bin/env",
// O_RDONLY) then close: one call counts the pair) or connect (connect of a UDP socket, one per thread, to
// 127.0.0.1:9: no packet is sent, the kernel only records the peer). Output is one line of key=value pairs:
//   calls=N threads=T ns=ELAPSED ns_per_call=X cpu_ns_per_call=C calls_per_s=Y
// ns_per_call is the wall time of one thread divided by its calls, averaged over threads (the cost one caller
// sees, including time it waits for a CPU); cpu_ns_per_call is the same with the thread's CPU time (what the
// syscall and the BPF programs running in it cost); calls_per_s is the total over all threads.
// In stream mode, each send is one segment (MSG_EOR keeps a later send from joining an unsent one, TCP_NODELAY
// and no autocorking send it at once; SIZE <= 65483, loopback's MSS, keeps it one packet), and every segment
// passes the egress and the ingress hooks once. cpu_ns_per_call adds the CPU time of ksoftirqd/0 (from its
// schedstat) to the process's: the receive side of loopback runs in softirq, and under load mostly in
// ksoftirqd/0, whose time getrusage does not see; softirqd_ns is that part.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
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

// ---- stream: packets of one loopback TCP connection ----

static void die(const char *what) {
  perror(what);
  exit(1);
}

// TCP segments sent in this network namespace so far (Tcp: OutSegs of /proc/net/snmp).
static uint64_t out_segs(void) {
  FILE *f = fopen("/proc/self/net/snmp", "r");
  if (f == NULL) die("loadgen: /proc/self/net/snmp");
  char head[1024], vals[1024];
  uint64_t segs = 0;
  while (fgets(head, sizeof(head), f) != NULL && fgets(vals, sizeof(vals), f) != NULL) {
    if (strncmp(head, "Tcp:", 4) != 0) continue;
    char *hs = NULL, *vs = NULL;
    char *h = strtok_r(head, " \n", &hs), *v = strtok_r(vals, " \n", &vs);
    while (h != NULL && v != NULL) {
      if (strcmp(h, "OutSegs") == 0) segs = strtoull(v, NULL, 10);
      h = strtok_r(NULL, " \n", &hs);
      v = strtok_r(NULL, " \n", &vs);
    }
  }
  fclose(f);
  return segs;
}

static int g_listener;
static size_t g_size;

static void *stream_reader(void *arg) {
  (void)arg;
  int fd = accept(g_listener, NULL, NULL);
  if (fd < 0) die("loadgen: accept");
  static char buf[65536];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
  close(fd);
  return NULL;
}

// The CPU time ksoftirqd/0 has run, in ns (/proc/PID/schedstat); 0 when it cannot be found.
static char g_softirqd[64];

static void find_softirqd(void) {
  DIR *d = opendir("/proc");
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && g_softirqd[0] == '\0') {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[64], comm[32] = "";
    snprintf(path, sizeof(path), "/proc/%.16s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue;
    if (fgets(comm, sizeof(comm), f) != NULL && strcmp(comm, "ksoftirqd/0\n") == 0)
      snprintf(g_softirqd, sizeof(g_softirqd), "/proc/%.16s/schedstat", e->d_name);
    fclose(f);
  }
  closedir(d);
}

static uint64_t softirqd_ns(void) {
  if (g_softirqd[0] == '\0') return 0;
  FILE *f = fopen(g_softirqd, "r");
  unsigned long long ns = 0;
  if (f == NULL) return 0;
  if (fscanf(f, "%llu", &ns) != 1) ns = 0;
  fclose(f);
  return ns;
}

static uint64_t cpu_ns_self(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((uint64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
         ((uint64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static void run_stream(void) {
  // Both ends on CPU 0: the stream's whole path (both syscalls, both hooks, the softirq between them, in the
  // caller or in ksoftirqd/0) runs there, and a tracer's consumer on another CPU does not change how the two
  // threads are scheduled.
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(0, &cpus);
  if (sched_setaffinity(0, sizeof(cpus), &cpus) < 0) die("loadgen: sched_setaffinity");
  if (unshare(CLONE_NEWNET) < 0) die("loadgen: unshare(CLONE_NEWNET)");
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strcpy(ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("loadgen: SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("loadgen: SIOCSIFFLAGS lo");
  close(s);
  // A segment per send at once: no autocorking (a setting of this namespace only).
  FILE *ac = fopen("/proc/sys/net/ipv4/tcp_autocorking", "w");
  if (ac == NULL || fputs("0", ac) < 0 || fclose(ac) != 0) die("loadgen: tcp_autocorking");
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof(a);
  g_listener = socket(AF_INET, SOCK_STREAM, 0);
  if (g_listener < 0 || bind(g_listener, (struct sockaddr *)&a, al) < 0 || listen(g_listener, 1) < 0 ||
      getsockname(g_listener, (struct sockaddr *)&a, &al) < 0)
    die("loadgen: listen");
  pthread_t reader;
  if (pthread_create(&reader, NULL, stream_reader, NULL) != 0) die("loadgen: pthread_create");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
      connect(fd, (struct sockaddr *)&a, al) < 0)
    die("loadgen: connect");
  static char buf[65536];
  memset(buf, 'k', sizeof(buf));
  find_softirqd();
  uint64_t writes = 0, segs0 = out_segs(), s0 = softirqd_ns(), c0 = cpu_ns_self(), t0 = now_ns();
  uint64_t end = t0 + g_ms * 1000000ull;
  while (now_ns() < end) {
    for (int i = 0; i < 64; i++)
      if (send(fd, buf, g_size, MSG_EOR) != (ssize_t)g_size) die("loadgen: send");
    writes += 64;
  }
  shutdown(fd, SHUT_WR);
  pthread_join(reader, NULL);
  uint64_t ns = now_ns() - t0, own = cpu_ns_self() - c0, soft = softirqd_ns() - s0, segs = out_segs() - segs0;
  close(fd);
  if (segs == 0) {
    fprintf(stderr, "loadgen: no TCP segment counted in /proc/self/net/snmp\n");
    exit(1);
  }
  printf("calls=%llu threads=1 ns=%llu ns_per_call=%.1f cpu_ns_per_call=%.1f calls_per_s=%.0f writes=%llu "
         "softirqd_ns=%llu\n",
         (unsigned long long)segs, (unsigned long long)ns, (double)ns / (double)segs,
         (double)(own + soft) / (double)segs, (double)segs * 1e9 / (double)ns, (unsigned long long)writes,
         (unsigned long long)soft);
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen loop|time|storm SYSCALL THREADS COUNT|MS\n"
          "       loadgen rate SYSCALL RATE MS\n"
          "       loadgen stream tcp SIZE MS\n"
          "SYSCALL: getppid, delmod, openat or connect\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc != 5) usage();
  if (strcmp(argv[1], "stream") == 0) {
    char *e1, *e2;
    g_size = strtoull(argv[3], &e1, 10);
    g_ms = strtoull(argv[4], &e2, 10);
    if (strcmp(argv[2], "tcp") != 0 || *e1 != '\0' || *e2 != '\0' || g_size == 0 || g_size > 65483 || g_ms == 0)
      usage();
    run_stream();
    return 0;
  }
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
