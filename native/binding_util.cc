#include "binding_util.h"

#include <cmath>

namespace annals {

Napi::Error ToJsError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

Napi::Error ToJsError(Napi::Env env, const StoreError& e) {
  Napi::Error error = ToJsError(env, e.code(), e.what());
  if (e.has_position()) error.Set("position", static_cast<double>(e.position()));
  return error;
}

double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw ToJsError(info.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

uint64_t ArgUint(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t max) {
  const double v = ArgNumber(info, i, name);
  if (!(v >= 0) || v != std::floor(v) || v > static_cast<double>(max)) {
    throw ToJsError(info.Env(), "INVALID_ARGUMENT",
                    std::string(name) + " must be an integer from 0 to " + std::to_string(max));
  }
  return static_cast<uint64_t>(v);
}

}  // namespace annals
