// object.h: BpfObject, the JS handle of one libbpf bpf_object and everything attached from it.
//
// Lifecycle: new BpfObject(path) opens (parses) the ELF; sizes, autoload and read-only data are set before
// load(); maps are written and programs attached after it. close() detaches every link, stops the ring poller
// and frees the object; it is idempotent and also runs at environment cleanup (process exit). All methods run on the JS
// thread; only the ring poller has a thread of its own.
#pragma once

#include <bpf/libbpf.h>
#include <napi.h>

#include <map>
#include <string>

#include "ring.h"

namespace ktrail {

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

  // Frees everything; safe to call more than once.
  void CloseAll();

 private:
  Napi::Value SetMapMaxEntries(const Napi::CallbackInfo& info);
  // Changes a map's type before load (a fallback for a map type the kernel lacks); "hash" or "array".
  Napi::Value SetMapType(const Napi::CallbackInfo& info);
  Napi::Value SetAutoload(const Napi::CallbackInfo& info);
  // Replaces the initial bytes of a data section map (.rodata.*) before load; the size must match.
  Napi::Value SetInitialValue(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value MapInfo(const Napi::CallbackInfo& info);
  Napi::Value MapUpdate(const Napi::CallbackInfo& info);
  Napi::Value MapLookup(const Napi::CallbackInfo& info);
  // Deletes a key of a hash map; false when it was absent.
  Napi::Value MapDelete(const Napi::CallbackInfo& info);
  // Every key of a map, as Buffers (a snapshot: entries may come and go while it is taken).
  Napi::Value MapKeys(const Napi::CallbackInfo& info);
  // Bytes waiting in a BPF ring buffer map (producer - consumer position) and its size, read from its
  // read-only mapping of the two position pages; mapped on first use, unmapped by CloseAll.
  Napi::Value RingFill(const Napi::CallbackInfo& info);
  Napi::Value Attach(const Napi::CallbackInfo& info);
  // Attaches a cgroup program (cgroup_skb, cgroup/sock_create, ...) to the cgroup directory at a path, through
  // a BPF link (multi-attach: programs others attached there stay). The link is kept under the program's name,
  // so detach(name) and close() release it like any other; the cgroup directory is open only during the call,
  // the link holds the cgroup itself (the file system may be unmounted afterwards).
  Napi::Value AttachCgroup(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value StartRing(const Napi::CallbackInfo& info);
  Napi::Value StopRing(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  bpf_object* Obj(Napi::Env env) const;
  bpf_map* FindMap(Napi::Env env, const std::string& name) const;
  bpf_program* FindProgram(Napi::Env env, const std::string& name) const;

  bpf_object* obj_ = nullptr;
  std::string path_;
  bool loaded_ = false;
  std::map<std::string, bpf_link*> links_;
  RingPoller* ring_ = nullptr;
  void* ring_pos_ = nullptr;  // RingFill: consumer page then producer page, read-only
  std::string ring_pos_map_;
};

// Close every live BpfObject of this process (environment cleanup hook).
void CloseAllObjects();

}  // namespace ktrail
