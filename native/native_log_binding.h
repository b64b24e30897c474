// N-API class NativeLog: the native engine's data log as seen from lib/engine/native-chunk-log.ts.
#pragma once

#include <napi.h>

#include <memory>

#include "binding_util.h"

namespace annals {

class ChunkLog;
class Flusher;

class NativeLogBinding : public Napi::ObjectWrap<NativeLogBinding> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeLogBinding(const Napi::CallbackInfo& info);
  ~NativeLogBinding() override;

 private:
  ChunkLog& log(Napi::Env env);
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Append(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  // Settles the promises of flushes finished so far; returns how many are still pending.
  Napi::Value PollFlushes(const Napi::CallbackInfo& info);
  Napi::Value ReadFrames(const Napi::CallbackInfo& info);
  // pinReads(positions, out) keeps the two arrays for readPinned(count), a readFrames that takes
  // one argument instead of three (a point lookup's frame read, see PinnedArray).
  Napi::Value PinReads(const Napi::CallbackInfo& info);
  Napi::Value ReadPinned(const Napi::CallbackInfo& info);
  Napi::Value Scan(const Napi::CallbackInfo& info);
  Napi::Value SkipDamaged(const Napi::CallbackInfo& info);
  Napi::Value Forget(const Napi::CallbackInfo& info);
  Napi::Value Follow(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value EndPosition(const Napi::CallbackInfo& info);
  Napi::Value ChunkCount(const Napi::CallbackInfo& info);

  struct FlushState;
  void StartFlusher(Napi::Env env);
  void StopFlusher();

  std::unique_ptr<ChunkLog> log_;
  std::shared_ptr<FlushState> flush_;
  std::unique_ptr<Flusher> flusher_;  // after log_: destroyed (joined) first
  PinnedArray<Napi::Float64Array> read_positions_;
  PinnedArray<Napi::Uint8Array> read_out_;
};

}  // namespace annals
