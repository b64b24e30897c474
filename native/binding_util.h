// Helpers shared by the N-API bindings: turning StoreError into a JS Error with a `code`, and
// argument checks. Every binding body runs inside Guard so no C++ exception escapes untranslated.
#pragma once

#include <napi.h>

#include <string>

#include "store_error.h"

namespace annals {

Napi::Error ToJsError(Napi::Env env, const std::string& code, const std::string& message);

template <typename Fn>
auto Guard(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const StoreError& e) {
    throw ToJsError(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw ToJsError(env, "IO", "out of memory");
  }
}

template <typename T>
T ArgTypedArray(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray()) {
    throw ToJsError(info.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a typed array");
  }
  return info[i].As<T>();
}

double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name);

}  // namespace annals
