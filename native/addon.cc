// Module entry of the native engine (loaded by lib/native.ts through node-gyp-build).
// Exports: NativeLog (native_log_binding.h), NativeSegment, buildSegment and mergeSegments
// (index_binding.h), NativeDirectory, buildDirectory and mergeDirectories (directory_binding.h),
// DirLock (release, fileId), scavengePass (scavenge_binding.h), crc32c(bytes, seed?),
// crc32cHardware, formatVersion.
#include <napi.h>

#include <memory>

#include "binding_util.h"
#include "chunk_format.h"
#include "crc32c.h"
#include "dir_lock.h"
#include "directory_binding.h"
#include "index_binding.h"
#include "native_log_binding.h"
#include "scavenge_binding.h"

namespace annals {
namespace {

class DirLockBinding : public Napi::ObjectWrap<DirLockBinding> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "DirLock",
                       {InstanceMethod<&DirLockBinding::Release>("release"),
                        InstanceMethod<&DirLockBinding::FileId>("fileId")});
  }
  explicit DirLockBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DirLockBinding>(info) {
    Guard(info.Env(), [&] {
      if (info.Length() < 1 || !info[0].IsString()) {
        throw ToJsError(info.Env(), "INVALID_ARGUMENT", "new DirLock(path)");
      }
      lock_ = std::make_unique<DirLock>(info[0].As<Napi::String>().Utf8Value());
    });
  }

 private:
  Napi::Value Release(const Napi::CallbackInfo& info) {
    lock_.reset();
    return info.Env().Undefined();
  }
  Napi::Value FileId(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), lock_ ? lock_->FileId() : "");
  }
  std::unique_ptr<DirLock> lock_;
};

Napi::Value Crc32cJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    auto bytes = ArgTypedArray<Napi::Uint8Array>(info, 0, "bytes");
    const uint32_t seed =
        info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
    return Napi::Number::New(info.Env(), Crc32c(seed, bytes.Data(), bytes.ElementLength()));
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeLog", NativeLogBinding::Init(env));
  exports.Set("DirLock", DirLockBinding::Init(env));
  exports.Set("crc32c", Napi::Function::New(env, Crc32cJs, "crc32c"));
  exports.Set("crc32cHardware", Napi::Boolean::New(env, Crc32cIsHardware()));
  exports.Set("formatVersion", Napi::Number::New(env, kFormatVersion));
  InitIndexBinding(env, exports);
  InitDirectoryBinding(env, exports);
  InitScavengeBinding(env, exports);
  return exports;
}

}  // namespace
}  // namespace annals

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return annals::Init(env, exports);
}

NODE_API_MODULE(annals, InitModule)
