// errors.h: typed failures for JS and the captured libbpf log.
//
// JS injects its NativeError class once (setErrorClass); every failure is thrown as
// `new NativeError(code, message, errnoName, hint)`. Before injection a plain Error with a `code` is thrown.
#pragma once

#include <napi.h>

#include <string>

namespace ktrail {

// Stable codes, mirrored by src/errors.ts ErrorCode.
inline constexpr const char* kLoadFailed = "BPF_LOAD_FAILED";
inline constexpr const char* kVerifierRejected = "BPF_VERIFIER_REJECTED";
inline constexpr const char* kAttachFailed = "BPF_ATTACH_FAILED";
inline constexpr const char* kLibbpf = "LIBBPF";

// Remember the JS error constructor (called from JS at init).
void SetErrorClass(Napi::Env env, Napi::Function ctor);

// Build the JS error: message is "doing what: cause"; err is a positive errno or 0.
Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message, int err,
                      const std::string& hint = "");

// "doing what: strerror (ENAME)" for a positive errno.
std::string DescribeErrno(const std::string& doing, int err);

// Route libbpf's messages into an in-memory log (warnings and info; debug too when KTRAIL_LIBBPF_DEBUG=1).
void InstallLibbpfPrint();
// Take (and clear) what libbpf printed since the last call.
std::string TakeLibbpfLog();
// The last `n` non-empty lines of `log`.
std::string LastLines(const std::string& log, size_t n);

}  // namespace ktrail
