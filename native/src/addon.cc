// addon.cc: module entry. Exposes BpfObject plus a few process-wide helpers:
//   setErrorClass(ctor)          inject the JS NativeError class (call once, before anything else)
//   clocks()                     {boottime, realtime} in ns as bigints, read back to back
//   probeTypes()                 libbpf's program/map type probes: {ringbuf, rawTracepoint, tracing, taskStorage,
//                                ...}
//   probeBtfAttach(kind, target) try to load and attach an empty fentry / tp_btf program: {ok, errno, message}
//   numPossibleCpus()
// No event knowledge lives here.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <napi.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "errors.h"
#include "object.h"

namespace ktrail {
namespace {

Napi::Value SetErrorClassJs(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), "error class must be a constructor");
  }
  SetErrorClass(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::BigInt ClockNs(Napi::Env env, clockid_t id) {
  struct timespec ts{};
  clock_gettime(id, &ts);
  return Napi::BigInt::New(env, static_cast<uint64_t>(static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec));
}

Napi::Value Clocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("boottime", ClockNs(env, CLOCK_BOOTTIME));
  out.Set("realtime", ClockNs(env, CLOCK_REALTIME));
  return out;
}

// libbpf's probes: 1 = supported, 0 = not, < 0 = could not tell (reported as false).
Napi::Value ProbeTypes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("ringbuf", Napi::Boolean::New(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1));
  out.Set("rawTracepoint",
          Napi::Boolean::New(env, libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, nullptr) == 1));
  out.Set("tracing", Napi::Boolean::New(env, libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACING, nullptr) == 1));
  out.Set("perfEventArray",
          Napi::Boolean::New(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_PERF_EVENT_ARRAY, nullptr) == 1));
  out.Set("taskStorage",
          Napi::Boolean::New(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, nullptr) == 1));
  return out;
}

Napi::Object ProbeResult(Napi::Env env, bool ok, int err, const std::string& doing) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("ok", Napi::Boolean::New(env, ok));
  const char* name = err > 0 ? strerrorname_np(err) : nullptr;
  out.Set("errno", name != nullptr ? Napi::Value(Napi::String::New(env, name)) : env.Undefined());
  out.Set("message", ok ? env.Undefined() : Napi::Value(Napi::String::New(env, DescribeErrno(doing, err))));
  return out;
}

// kind "fentry": target is a kernel function (BTF FUNC); kind "tp_btf": target is a raw tracepoint name.
Napi::Value ProbeBtfAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "kind and target must be strings");
  }
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  std::string target = info[1].As<Napi::String>().Utf8Value();
  bool fentry = kind == "fentry";
  if (!fentry && kind != "tp_btf") throw Napi::TypeError::New(env, "kind must be fentry or tp_btf");
  std::string doing = "probing " + kind + " " + target;

  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return ProbeResult(env, false, errno, doing);
  std::string btf_name = fentry ? target : "btf_trace_" + target;
  int id = btf__find_by_name_kind(vmlinux, btf_name.c_str(), fentry ? BTF_KIND_FUNC : BTF_KIND_TYPEDEF);
  btf__free(vmlinux);
  if (id < 0) return ProbeResult(env, false, -id, doing);

  // r0 = 0; exit
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = fentry ? BPF_TRACE_FENTRY : BPF_TRACE_RAW_TP;
  opts.attach_btf_id = id;
  TakeLibbpfLog();
  int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ktrail_probe", "GPL", insns, 2, &opts);
  if (fd < 0) return ProbeResult(env, false, errno, doing);
  int link = bpf_link_create(fd, 0, opts.expected_attach_type, nullptr);
  int err = link < 0 ? errno : 0;
  if (link >= 0) close(link);
  close(fd);
  TakeLibbpfLog();
  return ProbeResult(env, link >= 0, err, doing);
}

Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), libbpf_num_possible_cpus());
}

void Cleanup(void*) { CloseAllObjects(); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrint();
  napi_add_env_cleanup_hook(env, Cleanup, nullptr);
  exports.Set("BpfObject", BpfObject::Init(env));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClassJs));
  exports.Set("clocks", Napi::Function::New(env, Clocks));
  exports.Set("probeTypes", Napi::Function::New(env, ProbeTypes));
  exports.Set("probeBtfAttach", Napi::Function::New(env, ProbeBtfAttach));
  exports.Set("numPossibleCpus", Napi::Function::New(env, NumPossibleCpus));
  return exports;
}

}  // namespace
}  // namespace ktrail

static Napi::Object InitKtrail(Napi::Env env, Napi::Object exports) { return ktrail::Init(env, exports); }

NODE_API_MODULE(ktrail, InitKtrail)
