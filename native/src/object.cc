// object.cc: see object.h.
#include "object.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>


#include <set>
#include <vector>

#include "errors.h"

namespace ktrail {
namespace {

std::set<BpfObject*> g_live;  // for the cleanup hook; JS thread only

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsBuffer()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Buffer");
  }
  return info[i].As<Napi::Buffer<uint8_t>>();
}

bool IsPerCpu(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// Bytes of a lookup/update value: per-CPU maps hold one 8-byte-aligned slot per possible CPU.
size_t ValueBytes(const bpf_map* map) {
  size_t vs = bpf_map__value_size(map);
  if (!IsPerCpu(bpf_map__type(map))) return vs;
  int ncpu = libbpf_num_possible_cpus();
  return static_cast<size_t>(ncpu < 1 ? 1 : ncpu) * ((vs + 7) / 8 * 8);
}

}  // namespace

Napi::Function BpfObject::Init(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {
                         InstanceMethod<&BpfObject::SetMapMaxEntries>("setMapMaxEntries"),
                         InstanceMethod<&BpfObject::SetMapType>("setMapType"),
                         InstanceMethod<&BpfObject::SetAutoload>("setAutoload"),
                         InstanceMethod<&BpfObject::SetInitialValue>("setInitialValue"),
                         InstanceMethod<&BpfObject::Load>("load"),
                         InstanceMethod<&BpfObject::MapInfo>("mapInfo"),
                         InstanceMethod<&BpfObject::MapUpdate>("mapUpdate"),
                         InstanceMethod<&BpfObject::MapLookup>("mapLookup"),
                         InstanceMethod<&BpfObject::MapDelete>("mapDelete"),
                         InstanceMethod<&BpfObject::MapKeys>("mapKeys"),
                         InstanceMethod<&BpfObject::RingFill>("ringFill"),
                         InstanceMethod<&BpfObject::Attach>("attach"),
                         InstanceMethod<&BpfObject::AttachCgroup>("attachCgroup"),
                         InstanceMethod<&BpfObject::Detach>("detach"),
                         InstanceMethod<&BpfObject::Programs>("programs"),
                         InstanceMethod<&BpfObject::StartRing>("startRing"),
                         InstanceMethod<&BpfObject::StopRing>("stopRing"),
                         InstanceMethod<&BpfObject::Close>("close"),
                     });
}

BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  Napi::Env env = info.Env();
  path_ = StringArg(info, 0, "path");
  TakeLibbpfLog();
  obj_ = bpf_object__open_file(path_.c_str(), nullptr);
  if (obj_ == nullptr) {
    int err = errno;
    std::string log = LastLines(TakeLibbpfLog(), 3);
    std::string msg = DescribeErrno("opening bpf object " + path_, err);
    if (!log.empty()) msg += "\n" + log;
    throw MakeError(env, kLibbpf, msg, err);
  }
  g_live.insert(this);
}

BpfObject::~BpfObject() { CloseAll(); }

void BpfObject::CloseAll() {
  if (ring_ != nullptr) {
    ring_->StopNow();
    ring_ = nullptr;
  }
  for (auto& [name, link] : links_) bpf_link__destroy(link);
  links_.clear();
  if (ring_pos_ != nullptr) {
    munmap(ring_pos_, 2 * static_cast<size_t>(sysconf(_SC_PAGESIZE)));
    ring_pos_ = nullptr;
  }
  if (obj_ != nullptr) {
    bpf_object__close(obj_);
    obj_ = nullptr;
  }
  g_live.erase(this);
}

void CloseAllObjects() {
  std::set<BpfObject*> copy = g_live;
  for (BpfObject* o : copy) o->CloseAll();
}

bpf_object* BpfObject::Obj(Napi::Env env) const {
  if (obj_ == nullptr) throw MakeError(env, kLibbpf, "using bpf object " + path_ + ": it is closed", 0);
  return obj_;
}

bpf_map* BpfObject::FindMap(Napi::Env env, const std::string& name) const {
  bpf_map* map = bpf_object__find_map_by_name(Obj(env), name.c_str());
  if (map == nullptr) throw MakeError(env, kLibbpf, "finding map " + name + ": no such map in " + path_, ENOENT);
  return map;
}

bpf_program* BpfObject::FindProgram(Napi::Env env, const std::string& name) const {
  bpf_program* prog = bpf_object__find_program_by_name(Obj(env), name.c_str());
  if (prog == nullptr) {
    throw MakeError(env, kLibbpf, "finding program " + name + ": no such program in " + path_, ENOENT);
  }
  return prog;
}

Napi::Value BpfObject::SetMapMaxEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "map name");
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "max entries must be a number");
  uint32_t n = info[1].As<Napi::Number>().Uint32Value();
  int err = bpf_map__set_max_entries(FindMap(env, name), n);
  if (err < 0) throw MakeError(env, kLibbpf, DescribeErrno("sizing map " + name, -err), -err);
  return env.Undefined();
}

Napi::Value BpfObject::SetMapType(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "map name");
  std::string type = StringArg(info, 1, "map type");
  bpf_map_type t;
  if (type == "hash") {
    t = BPF_MAP_TYPE_HASH;
  } else if (type == "array") {
    t = BPF_MAP_TYPE_ARRAY;
  } else {
    throw Napi::TypeError::New(env, "map type must be hash or array");
  }
  int err = bpf_map__set_type(FindMap(env, name), t);
  if (err < 0) throw MakeError(env, kLibbpf, DescribeErrno("setting the type of map " + name, -err), -err);
  return env.Undefined();
}

Napi::Value BpfObject::SetAutoload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "program name");
  bool on = info.Length() > 1 && info[1].ToBoolean().Value();
  int err = bpf_program__set_autoload(FindProgram(env, name), on);
  if (err < 0) throw MakeError(env, kLibbpf, DescribeErrno("setting autoload of " + name, -err), -err);
  return env.Undefined();
}

Napi::Value BpfObject::SetInitialValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "map name");
  auto data = BufferArg(info, 1, "initial value");
  if (loaded_) throw MakeError(env, kLibbpf, "setting the data of " + name + ": the object is already loaded", EBUSY);
  int err = bpf_map__set_initial_value(FindMap(env, name), data.Data(), data.Length());
  if (err < 0) throw MakeError(env, kLibbpf, DescribeErrno("setting the data of " + name, -err), -err);
  return env.Undefined();
}

Napi::Value BpfObject::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_object* obj = Obj(env);
  TakeLibbpfLog();
  int err = bpf_object__load(obj);
  if (err == 0) {
    loaded_ = true;
    TakeLibbpfLog();
    return env.Undefined();
  }
  int e = -err;
  std::string log = TakeLibbpfLog();
  bool verifier = log.find("BEGIN PROG LOAD LOG") != std::string::npos;
  std::string msg = DescribeErrno(verifier ? "loading bpf object " + path_ + ": the verifier rejected a program"
                                           : "loading bpf object " + path_,
                                  e);
  std::string tail = LastLines(log, verifier ? 12 : 4);
  if (!tail.empty()) msg += "\n" + tail;
  std::string hint = e == EPERM ? "run as root (CAP_BPF and CAP_PERFMON are needed)" : "";
  Napi::Error error = MakeError(env, verifier ? kVerifierRejected : kLoadFailed, msg, e, hint);
  error.Set("log", Napi::String::New(env, log));
  throw error;
}

Napi::Value BpfObject::MapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = FindMap(env, StringArg(info, 0, "map name"));
  Napi::Object out = Napi::Object::New(env);
  const char* type = libbpf_bpf_map_type_str(bpf_map__type(map));
  out.Set("type", Napi::String::New(env, type != nullptr ? type : "unknown"));
  out.Set("keySize", Napi::Number::New(env, bpf_map__key_size(map)));
  out.Set("valueSize", Napi::Number::New(env, bpf_map__value_size(map)));
  out.Set("maxEntries", Napi::Number::New(env, bpf_map__max_entries(map)));
  out.Set("perCpu", Napi::Boolean::New(env, IsPerCpu(bpf_map__type(map))));
  out.Set("valueBytes", Napi::Number::New(env, static_cast<double>(ValueBytes(map))));
  return out;
}

Napi::Value BpfObject::MapUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "map name");
  auto key = BufferArg(info, 1, "key");
  auto value = BufferArg(info, 2, "value");
  bpf_map* map = FindMap(env, name);
  int err = bpf_map__update_elem(map, key.Data(), key.Length(), value.Data(), value.Length(), BPF_ANY);
  if (err < 0) throw MakeError(env, kLibbpf, DescribeErrno("writing map " + name, -err), -err);
  return env.Undefined();
}

Napi::Value BpfObject::MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "map name");
  auto key = BufferArg(info, 1, "key");
  bpf_map* map = FindMap(env, name);
  size_t n = ValueBytes(map);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, n);
  int err = bpf_map__lookup_elem(map, key.Data(), key.Length(), out.Data(), n, 0);
  if (err == -ENOENT) return env.Null();
  if (err < 0) throw MakeError(env, kLibbpf, DescribeErrno("reading map " + name, -err), -err);
  return out;
}

Napi::Value BpfObject::MapDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "map name");
  auto key = BufferArg(info, 1, "key");
  bpf_map* map = FindMap(env, name);
  int err = bpf_map__delete_elem(map, key.Data(), key.Length(), 0);
  if (err == -ENOENT) return Napi::Boolean::New(env, false);
  if (err < 0) throw MakeError(env, kLibbpf, DescribeErrno("deleting from map " + name, -err), -err);
  return Napi::Boolean::New(env, true);
}

Napi::Value BpfObject::MapKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "map name");
  bpf_map* map = FindMap(env, name);
  size_t ks = bpf_map__key_size(map);
  std::vector<uint8_t> cur(ks), next(ks);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  const void* prev = nullptr;  // NULL asks for the first key
  for (;;) {
    int err = bpf_map__get_next_key(map, prev, next.data(), ks);
    if (err == -ENOENT) break;
    if (err < 0) throw MakeError(env, kLibbpf, DescribeErrno("listing the keys of map " + name, -err), -err);
    out.Set(n++, Napi::Buffer<uint8_t>::Copy(env, next.data(), ks));
    cur.swap(next);
    prev = cur.data();
  }
  return out;
}

Napi::Value BpfObject::RingFill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "map name");
  bpf_map* map = FindMap(env, name);
  if (!loaded_) throw MakeError(env, kLibbpf, "reading ring " + name + ": the object is not loaded", 0);
  if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
    throw MakeError(env, kLibbpf, "reading ring " + name + ": not a ring buffer map", EINVAL);
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (ring_pos_ != nullptr && ring_pos_map_ != name)
    throw MakeError(env, kLibbpf, "reading ring " + name + ": another ring is already mapped", EBUSY);
  if (ring_pos_ == nullptr) {
    // Page 0 holds the consumer position, page 1 the producer position; a read-only mapping of both is allowed.
    void* p = mmap(nullptr, 2 * page, PROT_READ, MAP_SHARED, bpf_map__fd(map), 0);
    if (p == MAP_FAILED) {
      int err = errno;
      throw MakeError(env, kLibbpf, DescribeErrno("mapping the positions of ring " + name, err), err);
    }
    ring_pos_ = p;
    ring_pos_map_ = name;
  }
  auto* base = static_cast<uint8_t*>(ring_pos_);
  uint64_t cons = __atomic_load_n(reinterpret_cast<uint64_t*>(base), __ATOMIC_ACQUIRE);
  uint64_t prod = __atomic_load_n(reinterpret_cast<uint64_t*>(base + page), __ATOMIC_ACQUIRE);
  Napi::Object out = Napi::Object::New(env);
  out.Set("used", Napi::Number::New(env, static_cast<double>(prod >= cons ? prod - cons : 0)));
  out.Set("size", Napi::Number::New(env, bpf_map__max_entries(map)));
  return out;
}

Napi::Value BpfObject::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "program name");
  bpf_program* prog = FindProgram(env, name);
  if (!loaded_) throw MakeError(env, kAttachFailed, "attaching " + name + ": the object is not loaded", 0);
  if (links_.count(name) != 0) return env.Undefined();
  TakeLibbpfLog();
  bpf_link* link = bpf_program__attach(prog);
  if (link == nullptr) {
    int err = errno;
    std::string msg = DescribeErrno("attaching " + name + " (" + bpf_program__section_name(prog) + ")", err);
    std::string tail = LastLines(TakeLibbpfLog(), 2);
    if (!tail.empty()) msg += "\n" + tail;
    throw MakeError(env, kAttachFailed, msg, err);
  }
  links_[name] = link;
  return env.Undefined();
}

Napi::Value BpfObject::AttachCgroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "program name");
  std::string path = StringArg(info, 1, "cgroup path");
  bpf_program* prog = FindProgram(env, name);
  if (!loaded_) throw MakeError(env, kAttachFailed, "attaching " + name + ": the object is not loaded", 0);
  if (links_.count(name) != 0) return env.Undefined();
  std::string doing = "attaching " + name + " (" + bpf_program__section_name(prog) + ") to the cgroup " + path;
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw MakeError(env, kAttachFailed, DescribeErrno(doing, err), err);
  }
  TakeLibbpfLog();
  bpf_link* link = bpf_program__attach_cgroup(prog, fd);
  int err = link == nullptr ? errno : 0;
  close(fd);
  if (link == nullptr) {
    std::string msg = DescribeErrno(doing, err);
    std::string tail = LastLines(TakeLibbpfLog(), 2);
    if (!tail.empty()) msg += "\n" + tail;
    std::string hint = err == EPERM ? "cgroup programs need CAP_NET_ADMIN" : "";
    throw MakeError(env, kAttachFailed, msg, err, hint);
  }
  links_[name] = link;
  return env.Undefined();
}

Napi::Value BpfObject::Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "program name");
  auto it = links_.find(name);
  if (it == links_.end()) return Napi::Boolean::New(env, false);
  bpf_link__destroy(it->second);
  links_.erase(it);
  return Napi::Boolean::New(env, true);
}

Napi::Value BpfObject::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  bpf_program* prog = nullptr;
  uint32_t i = 0;
  bpf_object__for_each_program(prog, Obj(env)) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("name", Napi::String::New(env, bpf_program__name(prog)));
    p.Set("section", Napi::String::New(env, bpf_program__section_name(prog)));
    p.Set("autoload", Napi::Boolean::New(env, bpf_program__autoload(prog)));
    p.Set("attached", Napi::Boolean::New(env, links_.count(bpf_program__name(prog)) != 0));
    // Run counters, kept by the kernel while kernel.bpf_stats_enabled is 1 (else they stay 0).
    bpf_prog_info pinfo{};
    uint32_t plen = sizeof(pinfo);
    int fd = loaded_ ? bpf_program__fd(prog) : -1;
    if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &pinfo, &plen) == 0) {
      p.Set("runTimeNs", Napi::Number::New(env, static_cast<double>(pinfo.run_time_ns)));
      p.Set("runCount", Napi::Number::New(env, static_cast<double>(pinfo.run_cnt)));
    }
    out.Set(i++, p);
  }
  return out;
}

Napi::Value BpfObject::StartRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "map name");
  if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(env, "onBatch must be a function");
  if (!loaded_) throw MakeError(env, kLibbpf, "polling " + name + ": the object is not loaded", 0);
  if (ring_ != nullptr) throw MakeError(env, kLibbpf, "polling " + name + ": a poller is already running", EBUSY);
  RingOptions opts;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    if (o.Has("timeoutMs")) opts.timeout_ms = o.Get("timeoutMs").As<Napi::Number>().Int32Value();
    if (o.Has("batchBytes")) opts.batch_bytes = o.Get("batchBytes").As<Napi::Number>().Uint32Value();
    if (o.Has("queueDepth")) opts.queue_depth = o.Get("queueDepth").As<Napi::Number>().Uint32Value();
  }
  int fd = bpf_map__fd(FindMap(env, name));
  ring_ = RingPoller::Start(env, fd, info[1].As<Napi::Function>(), opts);
  return env.Undefined();
}

Napi::Value BpfObject::StopRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ring_ == nullptr) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  RingPoller* r = ring_;
  ring_ = nullptr;  // the poller owns itself from here and frees itself when done
  return r->Stop(env);
}

Napi::Value BpfObject::Close(const Napi::CallbackInfo& info) {
  CloseAll();
  return info.Env().Undefined();
}

}  // namespace ktrail
