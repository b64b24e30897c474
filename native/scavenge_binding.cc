// The binding of the native scavenge pass (scavenge_pass.h): scavengePass(o) returns a promise of
// the pass's result. The pass runs on a thread of its own at the lowest priority (so the appends'
// threads take the CPU first), started and joined by a libuv pool worker; nothing calls back into
// JS while it runs. Everything it reads from JS is copied before it starts, except the stop flag,
// a word of the caller's shared memory read in place (its array is referenced until the promise
// settles).
//
// o: { file, tmp, chunkSize, base, end, dataChecksum, records (-1: none), runLogical?, runOffsets?
// (Uint32Array), keys (Float64Array), ruleIds (Uint8Array: the ids' bytes back to back), ruleLens
// (Uint32Array), ruleFrom, ruleMinTimestamp (Float64Array), ruleNone (Uint8Array: 1 = no rules),
// control? (Int32Array), maxBytesPerSecond, pacedSecondsAgo, pacedBytes: the bound over the
// whole scavenge }.
// Result: { stopped, damaged, removed, examined, ask (Buffer[]), logical, offsets (Uint32Array),
// outEnd, checksum, erasedLogical, erasedHi, erasedLo (Uint32Array: removed frames with a command
// id, and its key), survivorIds (Buffer[]), survivorOf (Uint32Array), survivorPositions,
// survivorVersions (Float64Array) }.
#include "scavenge_binding.h"

#include <napi.h>

#include <cstring>
#include <thread>

#include "binding_util.h"
#include "env.h"
#include "scavenge_pass.h"

namespace annals {
namespace {

/** The largest stream-id key: 48 bits. */
constexpr double kMaxKey = 281474976710655.0;

Napi::Value Field(Napi::Object o, const char* name) { return o.Get(name); }

template <typename T>
T FieldArray(Napi::Object o, const char* name, napi_typedarray_type type) {
  Napi::Value v = o.Get(name);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw ToJsError(o.Env(), "INVALID_ARGUMENT",
                    std::string(name) + " must be a typed array of the right type");
  }
  return v.As<T>();
}

double FieldNumber(Napi::Object o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsNumber())
    throw ToJsError(o.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

uint64_t FieldUint(Napi::Object o, const char* name, double max) {
  const double d = FieldNumber(o, name);
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    throw ToJsError(o.Env(), "INVALID_ARGUMENT",
                    std::string(name) + " must be an integer in range");
  }
  return static_cast<uint64_t>(d);
}

std::string FieldString(Napi::Object o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsString())
    throw ToJsError(o.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

void ReadRules(Napi::Object o, ScavengePassInput* in) {
  auto keys = FieldArray<Napi::Float64Array>(o, "keys", napi_float64_array);
  for (size_t i = 0; i < keys.ElementLength(); i++) {
    // A 48-bit key (hi * 2^32 + lo); anything else (NaN, negative, fractional, too large) would
    // make the conversion undefined behaviour or name no key.
    const double k = keys[i];
    if (!(k >= 0 && k <= kMaxKey) || k != static_cast<double>(static_cast<uint64_t>(k))) {
      throw ToJsError(o.Env(), "INVALID_ARGUMENT", "keys must hold integers from 0 to 2^48 - 1");
    }
    in->keys.insert(static_cast<uint64_t>(k));
  }
  auto ids = FieldArray<Napi::Uint8Array>(o, "ruleIds", napi_uint8_array);
  auto lens = FieldArray<Napi::Uint32Array>(o, "ruleLens", napi_uint32_array);
  auto from = FieldArray<Napi::Float64Array>(o, "ruleFrom", napi_float64_array);
  auto min_ts = FieldArray<Napi::Float64Array>(o, "ruleMinTimestamp", napi_float64_array);
  auto none = FieldArray<Napi::Uint8Array>(o, "ruleNone", napi_uint8_array);
  const size_t n = lens.ElementLength();
  if (from.ElementLength() != n || min_ts.ElementLength() != n || none.ElementLength() != n) {
    throw ToJsError(o.Env(), "INVALID_ARGUMENT", "the rule arrays must be of one length");
  }
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    if (lens[i] > ids.ElementLength() - at)
      throw ToJsError(o.Env(), "INVALID_ARGUMENT", "ruleLens exceed ruleIds");
    ScavengeRule r;
    r.from = from[i];
    r.min_timestamp = min_ts[i];
    r.none = none[i] != 0;
    in->rules[std::string(reinterpret_cast<const char*>(ids.Data() + at), lens[i])] = r;
    at += lens[i];
  }
}

void ReadRuns(Napi::Object o, ScavengePassInput* in) {
  if (Field(o, "runLogical").IsUndefined()) return;
  auto logical = FieldArray<Napi::Uint32Array>(o, "runLogical", napi_uint32_array);
  auto offsets = FieldArray<Napi::Uint32Array>(o, "runOffsets", napi_uint32_array);
  if (logical.ElementLength() != offsets.ElementLength() || logical.ElementLength() == 0) {
    throw ToJsError(o.Env(), "INVALID_ARGUMENT",
                    "runLogical and runOffsets must be of one nonzero length");
  }
  in->run_logical.assign(logical.Data(), logical.Data() + logical.ElementLength());
  in->run_offsets.assign(offsets.Data(), offsets.Data() + offsets.ElementLength());
}

template <typename T, typename E>
T TypedCopy(Napi::Env env, const std::vector<E>& v) {
  T a = T::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(E));
  return a;
}

Napi::Array Buffers(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) {
    a.Set(static_cast<uint32_t>(i),
          Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(v[i].data()),
                                      v[i].size()));
  }
  return a;
}

class PassWorker : public Napi::AsyncWorker {
 public:
  PassWorker(Napi::Env env, ScavengePassInput in, Napi::Value control)
      : Napi::AsyncWorker(env), in_(std::move(in)), deferred_(Napi::Promise::Deferred::New(env)) {
    if (!control.IsUndefined()) control_ = Napi::Persistent(control);
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    // A thread of its own: a pool thread's priority, once lowered, could not be raised again.
    std::thread t([this] {
      LowerThreadPriority();
      try {
        out_ = RunScavengePass(in_);
      } catch (const StoreError& e) {
        code_ = e.code();
        message_ = e.what();
        failed_ = true;
      } catch (const std::exception& e) {
        message_ = e.what();
        failed_ = true;
      }
    });
    t.join();
    if (failed_) SetError(message_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("stopped", out_.stopped);
    r.Set("damaged", out_.damaged);
    r.Set("removed", out_.removed);
    r.Set("examined", static_cast<double>(out_.examined));
    r.Set("ask", Buffers(env, out_.ask));
    r.Set("logical", TypedCopy<Napi::Uint32Array>(env, out_.logical));
    r.Set("offsets", TypedCopy<Napi::Uint32Array>(env, out_.offsets));
    r.Set("outEnd", static_cast<double>(out_.out_end));
    r.Set("checksum", out_.checksum);
    r.Set("erasedLogical", TypedCopy<Napi::Uint32Array>(env, out_.erased_logical));
    r.Set("erasedHi", TypedCopy<Napi::Uint32Array>(env, out_.erased_hi));
    r.Set("erasedLo", TypedCopy<Napi::Uint32Array>(env, out_.erased_lo));
    r.Set("survivorIds", Buffers(env, out_.survivor_ids));
    r.Set("survivorOf", TypedCopy<Napi::Uint32Array>(env, out_.survivor_of));
    r.Set("survivorPositions", TypedCopy<Napi::Float64Array>(env, out_.survivor_positions));
    r.Set("survivorVersions", TypedCopy<Napi::Float64Array>(env, out_.survivor_versions));
    deferred_.Resolve(r);
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(ToJsError(Env(), code_, e.Message()).Value());
  }

 private:
  ScavengePassInput in_;
  ScavengePassOutput out_;
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Value> control_;
  std::string code_ = "IO";
  std::string message_;
  bool failed_ = false;
};

Napi::Value ScavengePassJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject())
      throw ToJsError(info.Env(), "INVALID_ARGUMENT", "scavengePass(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    ScavengePassInput in;
    in.file = FieldString(o, "file");
    in.tmp = FieldString(o, "tmp");
    in.chunk_size = FieldUint(o, "chunkSize", 4294967295.0);
    in.base = static_cast<double>(FieldUint(o, "base", 9007199254740991.0));
    in.end = FieldUint(o, "end", static_cast<double>(in.chunk_size));
    in.data_checksum = static_cast<uint32_t>(FieldUint(o, "dataChecksum", 4294967295.0));
    const double records = FieldNumber(o, "records");
    in.records = records < 0 ? -1 : static_cast<int64_t>(FieldUint(o, "records", 4294967295.0));
    in.max_bytes_per_second = FieldNumber(o, "maxBytesPerSecond");
    in.paced_seconds_ago = FieldNumber(o, "pacedSecondsAgo");
    in.paced_bytes = FieldNumber(o, "pacedBytes");
    ReadRuns(o, &in);
    ReadRules(o, &in);
    Napi::Value control = Field(o, "control");
    if (!control.IsUndefined()) {
      auto c = FieldArray<Napi::Int32Array>(o, "control", napi_int32_array);
      if (c.ElementLength() < 1)
        throw ToJsError(info.Env(), "INVALID_ARGUMENT", "control must hold a word");
      in.stop = c.Data();
    }
    auto* worker = new PassWorker(info.Env(), std::move(in), control);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  });
}

}  // namespace

void InitScavengeBinding(Napi::Env env, Napi::Object exports) {
  exports.Set("scavengePass", Napi::Function::New(env, ScavengePassJs, "scavengePass"));
}

}  // namespace annals
