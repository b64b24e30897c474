// JS class NativeLog over ChunkLog. One call per batch: append takes a whole buffer of frames,
// readFrames a whole array of positions, scan returns as many frames as fit in maxBytes. Flushes
// run on the log's own Flusher thread (flusher.h says why not the libuv pool); each settles a
// promise, in order, on the JS thread, by whichever comes first: a thread-safe function call
// (which keeps the event loop alive only while a flush is pending), or pollFlushes, which the JS
// side calls while it waits (lib/engine/flush-poller.ts says why).
#include "native_log_binding.h"

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

#include "binding_util.h"
#include "chunk_log.h"
#include "env.h"
#include "flusher.h"

namespace annals {

// What the flusher's completions need on the JS thread; shared so that a completion delivered
// after the binding is gone touches nothing freed.
struct NativeLogBinding::FlushState {
  std::deque<Napi::Promise::Deferred> waiting;  // JS thread only, in submission order
  Napi::ThreadSafeFunction tsfn;
  std::mutex mu;
  std::deque<FlushOutcome> outcomes;  // guarded by mu: finished, not yet settled, in order
  std::atomic<uint64_t> finished{0};  // outcomes ever pushed; lets a poll skip the lock
  uint64_t settled = 0;               // JS thread only

  // Settles the promises of every finished flush, in order; JS thread only.
  void Settle(Napi::Env env) {
    if (finished.load(std::memory_order_acquire) == settled) return;
    std::deque<FlushOutcome> done;
    {
      std::lock_guard<std::mutex> lock(mu);
      done.swap(outcomes);
    }
    for (const FlushOutcome& outcome : done) {
      ++settled;
      if (waiting.empty()) continue;
      Napi::Promise::Deferred deferred = waiting.front();
      waiting.pop_front();
      if (waiting.empty()) tsfn.Unref(env);
      if (outcome.ok) {
        deferred.Resolve(env.Undefined());
      } else {
        deferred.Reject(ToJsError(env, outcome.code, outcome.message).Value());
      }
    }
  }
};

namespace {

Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, std::vector<uint8_t>&& bytes) {
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
}

}  // namespace

Napi::Function NativeLogBinding::Init(Napi::Env env) {
  return DefineClass(env, "NativeLog",
                     {
                         InstanceMethod<&NativeLogBinding::Open>("open"),
                         InstanceMethod<&NativeLogBinding::Append>("append"),
                         InstanceMethod<&NativeLogBinding::Flush>("flush"),
                         InstanceMethod<&NativeLogBinding::PollFlushes>("pollFlushes"),
                         InstanceMethod<&NativeLogBinding::ReadFrames>("readFrames"),
                         InstanceMethod<&NativeLogBinding::PinReads>("pinReads"),
                         InstanceMethod<&NativeLogBinding::ReadPinned>("readPinned"),
                         InstanceMethod<&NativeLogBinding::Scan>("scan"),
                         InstanceMethod<&NativeLogBinding::SkipDamaged>("skipDamaged"),
                         InstanceMethod<&NativeLogBinding::Follow>("follow"),
                         InstanceMethod<&NativeLogBinding::Forget>("forget"),
                         InstanceMethod<&NativeLogBinding::Close>("close"),
                         InstanceMethod<&NativeLogBinding::EndPosition>("endPosition"),
                         InstanceMethod<&NativeLogBinding::ChunkCount>("chunkCount"),
                     });
}

NativeLogBinding::NativeLogBinding(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NativeLogBinding>(info), flush_(std::make_shared<FlushState>()) {
  Guard(info.Env(), [&] {
    if (info.Length() < 3 || !info[0].IsString() || !info[2].IsBoolean()) {
      throw ToJsError(info.Env(), "INVALID_ARGUMENT", "new NativeLog(dir, chunkSize, readOnly)");
    }
    const uint64_t chunk_size = ArgUint(info, 1, "chunkSize");
    log_ = std::make_unique<ChunkLog>(info[0].As<Napi::String>().Utf8Value(), chunk_size,
                                      info[2].As<Napi::Boolean>().Value());
  });
}

NativeLogBinding::~NativeLogBinding() { StopFlusher(); }

ChunkLog& NativeLogBinding::log(Napi::Env env) {
  if (!log_) throw ToJsError(env, "STORE_CLOSED", "the log is closed");
  return *log_;
}

Napi::Value NativeLogBinding::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const double identity = ArgNumber(info, 0, "freshIdentity");
    if (!(identity >= 0 && identity < kStoreIdentityLimit)) {
      throw StoreError("INVALID_ARGUMENT", "freshIdentity out of range");
    }
    const uint64_t floor = info.Length() > 1 ? ArgUint(info, 1, "durableFloor") : 0;
    const RecoveryReport r = log(env).Open(static_cast<uint32_t>(identity), floor);
    Napi::Object out = Napi::Object::New(env);
    out.Set("endPosition", static_cast<double>(r.end_position));
    out.Set("generation", r.generation);
    out.Set("chunkCount", r.chunk_count);
    out.Set("torn", r.torn);
    out.Set("tornPosition", static_cast<double>(r.torn_position));
    out.Set("discardedBytes", static_cast<double>(r.discarded_bytes));
    out.Set("tornReason", r.torn_reason);
    out.Set("identity", r.identity);
    out.Set("identityChunk", static_cast<double>(r.identity_chunk));
    Napi::Array damaged = Napi::Array::New(env, r.damaged.size());
    for (uint32_t i = 0; i < r.damaged.size(); ++i) {
      damaged.Set(i, static_cast<double>(r.damaged[i]));
    }
    out.Set("damaged", damaged);
    return out;
  });
}

Napi::Value NativeLogBinding::Append(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto buf = ArgTypedArray<Napi::Uint8Array>(info, 0, "buf");
    auto starts = ArgTypedArray<Napi::Float64Array>(info, 1, "starts");
    auto ends = ArgTypedArray<Napi::Uint32Array>(info, 2, "ends");
    if (starts.ElementLength() != ends.ElementLength()) {
      throw ToJsError(env, "INVALID_ARGUMENT", "starts and ends differ in length");
    }
    log(env).Append(buf.Data(), buf.ElementLength(), starts.Data(), ends.Data(),
                    ends.ElementLength());
    return env.Undefined();
  });
}

Napi::Value NativeLogBinding::Flush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    FlushJob job = log(env).PrepareFlush();
    if (!flusher_) StartFlusher(env);
    auto deferred = Napi::Promise::Deferred::New(env);
    Napi::Promise promise = deferred.Promise();
    if (flush_->waiting.empty()) flush_->tsfn.Ref(env);
    flush_->waiting.push_back(std::move(deferred));
    flusher_->Submit(std::move(job));
    return promise;
  });
}

void NativeLogBinding::StartFlusher(Napi::Env env) {
  flush_->tsfn = Napi::ThreadSafeFunction::New(
      env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "annals flush", 0, 1);
  flush_->tsfn.Unref(env);
  std::shared_ptr<FlushState> state = flush_;
  flusher_ = std::make_unique<Flusher>([state](const FlushOutcome& outcome) {
    {
      std::lock_guard<std::mutex> lock(state->mu);
      state->outcomes.push_back(outcome);
    }
    state->finished.fetch_add(1, std::memory_order_release);
    // One call per flush; it finds nothing left to settle when a poll got there first.
    state->tsfn.NonBlockingCall([state](Napi::Env env, Napi::Function) {
      if (env != nullptr) state->Settle(env);
    });
  });
}

void NativeLogBinding::StopFlusher() {
  if (!flusher_) return;  // never started, or stopped: the function is released with the thread
  flusher_.reset();       // runs what was submitted, then joins
  // The completions already queued are still delivered, and may still Unref the function: it
  // stays valid until its queue drains, so the handle is kept, not cleared.
  flush_->tsfn.Release();
}

Napi::Value NativeLogBinding::PollFlushes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    flush_->Settle(env);
    // A poll must not keep threads with work off the CPU (the flusher posting a completion, an
    // index build; the bench VM has two cores): while flushes are pending, they run first.
    if (!flush_->waiting.empty()) ThreadYield();
    return Napi::Number::New(env, static_cast<double>(flush_->waiting.size()));
  });
}

Napi::Value NativeLogBinding::ReadFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    // readFrames(positions, count, out): the caller's reusable arrays, so a read allocates nothing
    // here; returns the bytes the frames take (more than out.length: retry with a bigger buffer).
    auto positions = ArgTypedArray<Napi::Float64Array>(info, 0, "positions");
    const double count = ArgNumber(info, 1, "count");
    auto out = ArgTypedArray<Napi::Uint8Array>(info, 2, "out");
    if (!(count >= 0) || count > static_cast<double>(positions.ElementLength())) {
      throw ToJsError(env, "INVALID_ARGUMENT", "count exceeds positions.length");
    }
    const size_t bytes = log(env).ReadFramesInto(positions.Data(), static_cast<size_t>(count),
                                                 out.Data(), out.ElementLength());
    return Napi::Number::New(env, static_cast<double>(bytes));
  });
}

Napi::Value NativeLogBinding::PinReads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    read_positions_.Pin(info, 0, "positions");
    read_out_.Pin(info, 1, "out");
    return env.Undefined();
  });
}

Napi::Value NativeLogBinding::ReadPinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    // readPinned(count): readFrames over the arrays of the last pinReads.
    const double count = ArgNumber(info, 0, "count");
    if (!(count >= 0) || count > static_cast<double>(read_positions_.length())) {
      throw ToJsError(env, "INVALID_ARGUMENT", "count exceeds the pinned positions");
    }
    const size_t bytes = log(env).ReadFramesInto(read_positions_.data(), static_cast<size_t>(count),
                                                 read_out_.data(), read_out_.length());
    return Napi::Number::New(env, static_cast<double>(bytes));
  });
}

Napi::Value NativeLogBinding::Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const uint64_t from = ArgUint(info, 0, "from");
    const uint64_t limit = ArgUint(info, 1, "limit");
    const auto max_bytes = static_cast<size_t>(ArgUint(info, 2, "maxBytes", UINT32_MAX));
    std::vector<uint8_t> bytes;
    const uint64_t next = log(env).Scan(from, limit, max_bytes, &bytes);
    Napi::Object out = Napi::Object::New(env);
    out.Set("bytes", ToBuffer(env, std::move(bytes)));
    out.Set("next", static_cast<double>(next));
    return out;
  });
}

Napi::Value NativeLogBinding::SkipDamaged(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const uint64_t position = ArgUint(info, 0, "position");
    return Napi::Number::New(env, static_cast<double>(log(env).SkipDamaged(position)));
  });
}

Napi::Value NativeLogBinding::Forget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    log(env).Forget(ArgUint(info, 0, "chunk"));
    return env.Undefined();
  });
}

Napi::Value NativeLogBinding::Follow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const FollowReport r = log(env).Follow();
    Napi::Object out = Napi::Object::New(env);
    out.Set("endPosition", static_cast<double>(r.end_position));
    out.Set("damaged", static_cast<double>(r.damaged));
    out.Set("error", r.error);
    return out;
  });
}

Napi::Value NativeLogBinding::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    StopFlusher();  // its last checkpoint write must come before the closing one
    if (log_) {
      std::unique_ptr<ChunkLog> log = std::move(log_);
      log->Close();
    }
    return env.Undefined();
  });
}

Napi::Value NativeLogBinding::EndPosition(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(log(info.Env()).end_position()));
  });
}

Napi::Value NativeLogBinding::ChunkCount(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), log(info.Env()).chunk_count());
  });
}

}  // namespace annals
