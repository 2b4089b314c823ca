// errors.cc: see errors.h.
#include "errors.h"

#include <bpf/libbpf.h>
#include <string.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace ktrail {
namespace {

// One reference per process is enough: ktrail runs in the main thread only (no workers).
Napi::FunctionReference* g_error_ctor = nullptr;

std::mutex g_log_mu;
std::string g_log;
constexpr size_t kMaxLog = 1 << 20;  // keep the last MiB: a verifier log can be long
bool g_debug = false;

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG && !g_debug) return 0;
  char stack[1024];
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(stack, sizeof(stack), fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  std::string line;
  if (static_cast<size_t>(n) < sizeof(stack)) {
    line.assign(stack, n);
  } else {
    std::vector<char> big(n + 1);
    vsnprintf(big.data(), big.size(), fmt, ap);
    line.assign(big.data(), n);
  }
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log += line;
  if (g_log.size() > kMaxLog) g_log.erase(0, g_log.size() - kMaxLog);
  return n;
}

}  // namespace

void SetErrorClass(Napi::Env env, Napi::Function ctor) {
  if (g_error_ctor == nullptr) g_error_ctor = new Napi::FunctionReference();
  *g_error_ctor = Napi::Persistent(ctor);
}

std::string DescribeErrno(const std::string& doing, int err) {
  const char* name = err > 0 ? strerrorname_np(err) : nullptr;
  std::string cause = err > 0 ? strerror(err) : "unknown error";
  for (auto& c : cause) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  std::string out = doing + ": " + cause;
  if (name != nullptr) out += std::string(" (") + name + ")";
  return out;
}

Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message, int err,
                      const std::string& hint) {
  const char* name = err > 0 ? strerrorname_np(err) : nullptr;
  Napi::Value errno_name = name != nullptr ? Napi::String::New(env, name) : env.Undefined();
  Napi::Value hint_value = hint.empty() ? env.Undefined() : Napi::String::New(env, hint);
  if (g_error_ctor != nullptr && !g_error_ctor->IsEmpty()) {
    Napi::Object obj = g_error_ctor->New(
        {Napi::String::New(env, code), Napi::String::New(env, message), errno_name, hint_value});
    return Napi::Error(env, obj);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", errno_name);
  return e;
}

void InstallLibbpfPrint() {
  const char* dbg = getenv("KTRAIL_LIBBPF_DEBUG");
  g_debug = dbg != nullptr && dbg[0] == '1';
  libbpf_set_print(LibbpfPrint);
}

std::string TakeLibbpfLog() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  std::string out;
  out.swap(g_log);
  return out;
}

std::string LastLines(const std::string& log, size_t n) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    if (end > start) lines.emplace_back(log.substr(start, end - start));
    start = end + 1;
  }
  std::string out;
  size_t from = lines.size() > n ? lines.size() - n : 0;
  for (size_t i = from; i < lines.size(); i++) {
    if (!out.empty()) out += '\n';
    out += lines[i];
  }
  return out;
}

}  // namespace ktrail
