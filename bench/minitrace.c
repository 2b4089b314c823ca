// minitrace: the consumer of the minimal ring-buffer tracer (minitrace.bpf.c), for the benchmarks.
//
//   minitrace OBJECT
//
// Loads and attaches OBJECT, prints "ready" on stderr once attached, then counts records with libbpf's
// ring_buffer__poll (10 ms timeout; records submitted without a wakeup are taken on every timeout) until
// SIGINT or SIGTERM. Then it detaches, drains the ring and prints one line on stderr:
//   minitrace: records=N lost=M
// where lost counts the records the kernel could not reserve.
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "minitrace.h"

static volatile sig_atomic_t g_stop;
static uint64_t g_records;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static int on_record(void *ctx, void *data, size_t size) {
  (void)ctx;
  (void)data;
  if (size == sizeof(struct mini_record)) g_records++;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: minitrace OBJECT\n");
    return 2;
  }
  struct bpf_object *obj = NULL;
  struct bpf_link *link = NULL;
  struct ring_buffer *rb = NULL;
  int code = 1;

  // Steps: open, load, attach, ring buffer, poll until a signal, detach, drain, report.
  obj = bpf_object__open_file(argv[1], NULL);
  if (obj == NULL) {
    fprintf(stderr, "minitrace: opening %s: %s\n", argv[1], strerror(errno));
    goto out;
  }
  int err = bpf_object__load(obj);
  if (err != 0) {
    fprintf(stderr, "minitrace: loading %s: %s\n", argv[1], strerror(-err));
    goto out;
  }
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, "raw_tp__mini__sys_enter");
  struct bpf_map *ring = bpf_object__find_map_by_name(obj, "mini_ring");
  struct bpf_map *bss = bpf_object__find_map_by_name(obj, ".bss");
  if (prog == NULL || ring == NULL || bss == NULL) {
    fprintf(stderr, "minitrace: %s lacks the program, the ring or .bss\n", argv[1]);
    goto out;
  }
  rb = ring_buffer__new(bpf_map__fd(ring), on_record, NULL, NULL);
  if (rb == NULL) {
    fprintf(stderr, "minitrace: opening the ring buffer: %s\n", strerror(errno));
    goto out;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  link = bpf_program__attach(prog);
  if (link == NULL) {
    fprintf(stderr, "minitrace: attaching: %s\n", strerror(errno));
    goto out;
  }
  fprintf(stderr, "ready\n");
  while (!g_stop) {
    int n = ring_buffer__poll(rb, 10);
    if (n < 0 && n != -EINTR) {
      fprintf(stderr, "minitrace: polling: %s\n", strerror(-n));
      goto out;
    }
    ring_buffer__consume(rb);
  }
  bpf_link__destroy(link);
  link = NULL;
  ring_buffer__consume(rb);
  uint64_t lost = 0;
  uint32_t zero = 0;
  if (bpf_map__lookup_elem(bss, &zero, sizeof(zero), &lost, sizeof(lost), 0) != 0) lost = 0;
  fprintf(stderr, "minitrace: records=%llu lost=%llu\n", (unsigned long long)g_records, (unsigned long long)lost);
  code = 0;
out:
  bpf_link__destroy(link);
  ring_buffer__free(rb);
  bpf_object__close(obj);
  return code;
}
