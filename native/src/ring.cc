// ring.cc: see ring.h.
#include "ring.h"

#include <errno.h>
#include <pthread.h>

#include <cstring>

#include "errors.h"

namespace ktrail {

RingPoller* RingPoller::Start(Napi::Env env, int map_fd, Napi::Function on_batch, const RingOptions& opts) {
  auto* self = new RingPoller();
  self->opts_ = opts;
  self->rb_ = ring_buffer__new(map_fd, &RingPoller::OnRecord, self, nullptr);
  if (self->rb_ == nullptr) {
    int err = errno;
    delete self;
    throw MakeError(env, kLibbpf, DescribeErrno("opening the ring buffer", err), err);
  }
  self->batch_.reserve(opts.batch_bytes + 4096);
  self->tsfn_ = Napi::ThreadSafeFunction::New(
      env, on_batch, "ktrail-ring", opts.queue_depth, 1, self,
      [](Napi::Env fenv, void*, RingPoller* ctx) { RingPoller::OnFinalize(fenv, ctx); }, static_cast<void*>(nullptr));
  self->thread_ = std::thread([self] { self->Run(); });
  return self;
}

int RingPoller::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingPoller*>(ctx);
  uint32_t len = static_cast<uint32_t>(size);
  size_t at = self->batch_.size();
  self->batch_.resize(at + 4 + size);
  std::memcpy(self->batch_.data() + at, &len, 4);
  std::memcpy(self->batch_.data() + at + 4, data, size);
  if (self->batch_.size() >= self->opts_.batch_bytes && !self->Flush()) return -ECANCELED;
  return 0;
}

// Hand the current batch to JS; blocks while the queue is full. False once the function is closing.
bool RingPoller::Flush() {
  if (batch_.empty()) return true;
  auto* out = new std::vector<uint8_t>();
  out->swap(batch_);
  batch_.reserve(opts_.batch_bytes + 4096);
  napi_status st = tsfn_.BlockingCall(out, [](Napi::Env env, Napi::Function cb, std::vector<uint8_t>* b) {
    Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::Copy(env, b->data(), b->size());
    delete b;
    cb.Call({env.Null(), buf});
  });
  if (st != napi_ok) {
    delete out;
    return false;
  }
  return true;
}

void RingPoller::Run() {
  // Named for top -H, perf and tests (at most 15 characters).
  pthread_setname_np(pthread_self(), "ktrail-ring");
  while (!stop_.load()) {
    int n = ring_buffer__poll(rb_, opts_.timeout_ms);
    if (n < 0 && n != -EINTR) {
      if (n == -ECANCELED) break;  // the JS side is closing
      int err = -n;
      auto* msg = new std::string(DescribeErrno("polling the ring buffer", err));
      tsfn_.BlockingCall(msg, [](Napi::Env env, Napi::Function cb, std::string* m) {
        Napi::Error e = MakeError(env, kLibbpf, *m, 0);
        delete m;
        cb.Call({e.Value(), env.Undefined()});
      });
      break;
    }
    // Records submitted with BPF_RB_NO_WAKEUP do not wake epoll: take them on every timeout too.
    if (ring_buffer__consume(rb_) == -ECANCELED) break;
    if (!Flush()) break;
  }
  if (!closing_.load()) {  // final drain: what the kernel committed before detach reaches JS
    ring_buffer__consume(rb_);
    Flush();
  }
  tsfn_.Release();
}

void RingPoller::Free() {
  if (thread_.joinable()) thread_.join();
  if (rb_ != nullptr) {
    ring_buffer__free(rb_);
    rb_ = nullptr;
  }
}

void RingPoller::OnFinalize(Napi::Env env, RingPoller* self) {
  self->Free();
  self->finalized_ = true;
  if (self->stop_deferred_ != nullptr) {
    self->stop_deferred_->Resolve(env.Undefined());
    delete self->stop_deferred_;
    self->stop_deferred_ = nullptr;
  }
  if (self->owner_released_) delete self;
}

Napi::Promise RingPoller::Stop(Napi::Env env) {
  auto deferred = Napi::Promise::Deferred::New(env);
  Napi::Promise promise = deferred.Promise();
  if (finalized_) {
    deferred.Resolve(env.Undefined());
  } else {
    stop_deferred_ = new Napi::Promise::Deferred(deferred);
    stop_.store(true);
  }
  owner_released_ = true;
  if (finalized_) delete this;
  return promise;
}

void RingPoller::StopNow() {
  closing_.store(true);
  stop_.store(true);
  if (!finalized_) tsfn_.Abort();  // unblocks a BlockingCall waiting for queue space
  Free();
  if (stop_deferred_ != nullptr) {
    // Stop() was called and the finalizer has not run yet: it will resolve and delete.
    return;
  }
  owner_released_ = true;
  if (finalized_) delete this;
}

}  // namespace ktrail
