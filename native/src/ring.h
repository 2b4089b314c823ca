// ring.h: a ring buffer consumer on its own thread ("ktrail-ring"), handing batches of records to JS.
//
// Each batch is one Buffer holding many records, each prefixed by its u32 little-endian length. Batches
// go through a thread-safe function whose queue is bounded: when JS falls behind, the thread blocks, stops
// consuming, the kernel ring fills and the BPF side counts the losses. Memory stays bounded by
// queue_depth * batch_bytes (plus one record).
#pragma once

#include <bpf/libbpf.h>
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace ktrail {

struct RingOptions {
  int timeout_ms = 10;              // poll timeout: bounds the latency of a trickle of records
  size_t batch_bytes = 256 * 1024;  // hand a batch over once it reaches this size
  size_t queue_depth = 16;          // batches waiting for JS before the thread blocks
};

class RingPoller {
 public:
  // Starts the thread. Throws a JS error when the ring cannot be set up.
  static RingPoller* Start(Napi::Env env, int map_fd, Napi::Function on_batch, const RingOptions& opts);

  // Ask the thread to drain the ring one last time, deliver what it holds and stop. The returned promise
  // resolves once every batch has been handed to JS and the thread has ended. Call once.
  Napi::Promise Stop(Napi::Env env);

  // Stop at once from the JS thread without delivering what is queued (close, process exit). Blocks for
  // at most one poll timeout. Safe after Stop().
  void StopNow();

 private:
  RingPoller() = default;
  static int OnRecord(void* ctx, void* data, size_t size);
  static void OnFinalize(Napi::Env env, RingPoller* self);
  void Run();
  bool Flush();
  void Free();

  ring_buffer* rb_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> closing_{false};
  Napi::ThreadSafeFunction tsfn_;
  std::vector<uint8_t> batch_;
  RingOptions opts_;
  bool finalized_ = false;      // the tsfn finalizer ran (JS thread)
  bool owner_released_ = false;  // the owning object let go (JS thread); the finalizer deletes
  Napi::Promise::Deferred* stop_deferred_ = nullptr;
};

}  // namespace ktrail
