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

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw ToJsError(info.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

uint64_t ArgUint(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t max) {
  const double v = ArgNumber(info, i, name);
  if (!(v >= 0) || v != std::floor(v) || v > static_cast<double>(max)) {
    throw ToJsError(info.Env(), "INVALID_ARGUMENT",
                    std::string(name) + " must be an integer from 0 to " + std::to_string(max));
  }
  return static_cast<uint64_t>(v);
}

namespace {

// The worker of QueueWork; owned by libuv, self-deleting.
class PoolWorker : public Napi::AsyncWorker {
 public:
  PoolWorker(Napi::Env env, std::function<void()> work, const std::vector<Napi::Value>& pinned)
      : Napi::AsyncWorker(env),
        work_(std::move(work)),
        deferred_(Napi::Promise::Deferred::New(env)) {
    for (const Napi::Value& v : pinned) pinned_.push_back(Napi::Persistent(v));
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const StoreError& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(ToJsError(Env(), code_, e.Message()).Value());
  }

 private:
  std::function<void()> work_;
  std::string code_ = "IO";
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::Reference<Napi::Value>> pinned_;
};

}  // namespace

Napi::Promise QueueWork(Napi::Env env, std::function<void()> work,
                        const std::vector<Napi::Value>& pinned) {
  auto* worker = new PoolWorker(env, std::move(work), pinned);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace annals
