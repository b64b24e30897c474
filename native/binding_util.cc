#include "binding_util.h"

namespace annals {

Napi::Error ToJsError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw ToJsError(info.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

}  // namespace annals
