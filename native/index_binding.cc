#include "index_binding.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "binding_util.h"
#include "index_segment.h"
#include "index_segment_builder.h"
#include "segment_chain.h"

namespace annals {
namespace {

// A number from JS as uint32, clamped: casting a double out of range (or NaN) to an integer is
// undefined behaviour.
uint32_t ClampU32(double v) {
  if (!(v >= 0)) return 0;
  return v >= 4294967295.0 ? UINT32_MAX : static_cast<uint32_t>(v);
}

uint64_t KeyOf(double hi, double lo) {
  return (static_cast<uint64_t>(ClampU32(hi)) << 32) | ClampU32(lo);
}

uint64_t KeyArg(const Napi::CallbackInfo& info, size_t i) {
  return KeyOf(ArgNumber(info, i, "keyHi"), ArgNumber(info, i + 1, "keyLo"));
}

// Answers go into the caller's reusable Float64Array as [seq, position] pairs and the call returns
// how many values the answer takes: a lookup allocates nothing on either side of the boundary, and
// an answer longer than the array is asked again with a bigger one.
Napi::Value EntriesInto(Napi::Env env, const SegmentEntry* entries, size_t count, double* out,
                        size_t out_length) {
  if (count * 2 <= out_length) {
    for (size_t i = 0; i < count; ++i) {
      out[2 * i] = entries[i].seq;
      out[2 * i + 1] = static_cast<double>(entries[i].position);
    }
  }
  return Napi::Number::New(env, static_cast<double>(count * 2));
}

Napi::Value EntriesInto(Napi::Env env, const SegmentEntry* entries, size_t count,
                        Napi::Float64Array out) {
  return EntriesInto(env, entries, count, out.Data(), out.ElementLength());
}

// Range's answer before it is copied out: reused, so a point lookup allocates nothing here
// (lookups run on the JS thread only); released at the next lookup after an answer of more than
// kKeptEntries, so one huge stream read does not pin its buffer for the life of the process.
std::vector<SegmentEntry>& Scratch() {
  constexpr size_t kKeptEntries = 4096;
  static thread_local std::vector<SegmentEntry> entries;
  if (entries.capacity() > kKeptEntries) std::vector<SegmentEntry>().swap(entries);
  entries.clear();
  return entries;
}

// The lookup block (see NativeSegment): [keyHi, keyLo, fromSeq, toSeq, answer...].
constexpr size_t kBlockArgs = 4;

// Tags NativeSegment objects, so mergeSegments can tell them from any other wrapped object
// (unwrapping one of another class would be undefined behaviour).
constexpr napi_type_tag kSegmentTag = {0x616e6e616c736978ULL, 0x7365676d656e7473ULL};

class NativeSegment : public Napi::ObjectWrap<NativeSegment> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeSegment",
                       {
                           InstanceMethod<&NativeSegment::Header>("header"),
                           InstanceMethod<&NativeSegment::MayContain>("mayContain"),
                           InstanceMethod<&NativeSegment::BloomBits>("bloomBits"),
                           InstanceMethod<&NativeSegment::Range>("range"),
                           InstanceMethod<&NativeSegment::FindLastInBlock>("findLastInBlock"),
                           InstanceMethod<&NativeSegment::RangeInBlock>("rangeInBlock"),
                           InstanceMethod<&NativeSegment::Close>("close"),
                       });
  }

  // new NativeSegment(path, block): `block`, a Float64Array of at least 6 values that segments may
  // share, carries the arguments and answers of rangeInBlock and findLastInBlock.
  explicit NativeSegment(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSegment>(info) {
    Guard(info.Env(), [&] {
      if (info.Length() < 1 || !info[0].IsString()) {
        throw ToJsError(info.Env(), "INVALID_ARGUMENT", "new NativeSegment(path, block)");
      }
      block_.Pin(info, 1, "block");
      if (block_.length() < kBlockArgs + 2) {
        throw ToJsError(info.Env(), "INVALID_ARGUMENT", "block must hold at least 6 values");
      }
      segment_ = IndexSegment::Open(info[0].As<Napi::String>().Utf8Value());
      info.This().As<Napi::Object>().TypeTag(&kSegmentTag);
    });
  }

  std::shared_ptr<IndexSegment> segment(Napi::Env env) const {
    if (!segment_) throw ToJsError(env, "STORE_CLOSED", "the segment is closed");
    return segment_;
  }

 private:
  Napi::Value Header(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      const SegmentHeader& h = segment(env)->header();
      Napi::Object o = Napi::Object::New(env);
      o.Set("kind", h.kind);
      o.Set("fromPosition", static_cast<double>(h.from_position));
      o.Set("toPosition", static_cast<double>(h.to_position));
      o.Set("entryCount", static_cast<double>(h.entry_count));
      o.Set("distinctKeys", h.distinct_keys);
      o.Set("bloomBytes", h.bloom_bytes);
      o.Set("starts", static_cast<double>(h.starts));
      return o;
    });
  }
  Napi::Value MayContain(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      return Napi::Boolean::New(info.Env(), segment(info.Env())->MayContain(KeyArg(info, 0)));
    });
  }
  // The Bloom filter as a Buffer over the segment's mapping, so JS can rule keys out without a
  // call per segment and without a heap copy (its pages are the file's, shared with the page
  // cache). The Buffer's finalizer owns a reference to the segment: close() here, or a merge that
  // drops the segment, leaves the mapping in place until the Buffer is collected, so JS never
  // reads unmapped memory. The mapping is read-only: the Buffer is internal and only read
  // (lib/index/native-segments.ts). Where external buffers are refused (a runtime with the V8
  // sandbox), NewOrCopy copies and the finalizer runs at once.
  Napi::Value BloomBits(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      std::shared_ptr<IndexSegment> s = segment(env);
      const auto bits = s->BloomBits();
      // Owned by the finalizer once the Buffer exists; deleted here if it could not be made.
      auto* held = new std::shared_ptr<IndexSegment>(std::move(s));
      try {
        return Napi::Buffer<uint8_t>::NewOrCopy(
            env, const_cast<uint8_t*>(bits.first), bits.second,
            [](Napi::Env, uint8_t*, std::shared_ptr<IndexSegment>* h) { delete h; }, held);
      } catch (...) {
        delete held;
        throw;
      }
    });
  }
  // range(hi, lo, fromSeq, toSeq, out): the key's entries with fromSeq <= seq <= toSeq.
  Napi::Value Range(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      std::vector<SegmentEntry>& entries = Scratch();
      const uint64_t key = KeyArg(info, 0);
      auto out = ArgTypedArray<Napi::Float64Array>(info, 4, "out");
      segment(env)->Range(key, ClampU32(ArgNumber(info, 2, "fromSeq")),
                          ClampU32(ArgNumber(info, 3, "toSeq")), &entries);
      return EntriesInto(env, entries.data(), entries.size(), out);
    });
  }
  // Lookups with the block's arguments instead of the call's; an answer longer than the block's
  // rest is not written (ask range with a bigger array). No Bloom probe here: callers probe their
  // copy of the filter first (lib/index), so a key that reaches the tree is one the filter let
  // through. findLastInBlock: the entry of the key with the largest seq.
  Napi::Value FindLastInBlock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      double* b = block_.data();
      SegmentEntry e;
      const bool found = segment(env)->FindLast(BlockKey(b), &e);
      return EntriesInto(env, &e, found ? 1 : 0, b + kBlockArgs, block_.length() - kBlockArgs);
    });
  }
  Napi::Value RangeInBlock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      double* b = block_.data();
      std::vector<SegmentEntry>& entries = Scratch();
      segment(env)->Range(BlockKey(b), ClampU32(b[2]), ClampU32(b[3]), &entries);
      return EntriesInto(env, entries.data(), entries.size(), b + kBlockArgs,
                         block_.length() - kBlockArgs);
    });
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    segment_.reset();
    return info.Env().Undefined();
  }

  static uint64_t BlockKey(const double* b) { return KeyOf(b[0], b[1]); }

  std::shared_ptr<IndexSegment> segment_;
  PinnedArray<Napi::Float64Array> block_;
};

// The segments of a JS array of NativeSegment objects (each checked by its type tag: unwrapping
// an object of another class would be undefined behaviour).
std::vector<std::shared_ptr<IndexSegment>> SegmentsOf(Napi::Env env, Napi::Array arr) {
  std::vector<std::shared_ptr<IndexSegment>> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr[i];
    if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kSegmentTag)) {
      throw ToJsError(env, "INVALID_ARGUMENT", "inputs must be segments");
    }
    out.push_back(NativeSegment::Unwrap(v.As<Napi::Object>())->segment(env));
  }
  return out;
}

// The block of a NativeSegmentChain: [keyHi, keyLo, fromSeq, toSeq, count, answer...]; after a
// lookup, block[4] holds the index of the segment that answered (-1 when none did).
constexpr size_t kChainArgs = 5;

// JS's handle on a SegmentChain (segment_chain.h): the lookup of a key in every segment of a kind
// in one crossing. Holds its segments (shared): a segment closed or merged away stays mapped until
// the chain is closed, which the JS side does when the kind's segments change.
class NativeSegmentChain : public Napi::ObjectWrap<NativeSegmentChain> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeSegmentChain",
                       {
                           InstanceMethod<&NativeSegmentChain::NewestInBlock>("newestInBlock"),
                           InstanceMethod<&NativeSegmentChain::Close>("close"),
                       });
  }

  // new NativeSegmentChain(segments: NativeSegment[], block: Float64Array of at least 7 values).
  explicit NativeSegmentChain(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NativeSegmentChain>(info) {
    Guard(info.Env(), [&] {
      Napi::Env env = info.Env();
      if (info.Length() < 1 || !info[0].IsArray()) {
        throw ToJsError(env, "INVALID_ARGUMENT", "new NativeSegmentChain(segments, block)");
      }
      block_.Pin(info, 1, "block");
      if (block_.length() < kChainArgs + 2) {
        throw ToJsError(env, "INVALID_ARGUMENT", "block must hold at least 7 values");
      }
      chain_ = std::make_unique<SegmentChain>(SegmentsOf(env, info[0].As<Napi::Array>()));
    });
  }

 private:
  // SegmentChain::Newest with the block's arguments; answers as RangeInBlock.
  Napi::Value NewestInBlock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      if (!chain_) throw ToJsError(env, "STORE_CLOSED", "the segment chain is closed");
      double* b = block_.data();
      std::vector<SegmentEntry>& entries = Scratch();
      const int64_t hit = chain_->Newest(KeyOf(b[0], b[1]), ClampU32(b[2]), ClampU32(b[3]),
                                         ClampU32(b[4]), &entries);
      b[4] = static_cast<double>(hit);
      return EntriesInto(env, entries.data(), entries.size(), b + kChainArgs,
                         block_.length() - kChainArgs);
    });
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    chain_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<SegmentChain> chain_;
  PinnedArray<Napi::Float64Array> block_;
};

// A build's entries as the JS side holds them: one typed array per field.
struct EntryColumns {
  const uint32_t* hi;
  const uint32_t* lo;
  const uint32_t* seq;
  const double* position;
  size_t n;

  EntryVector ToEntries() const {
    EntryVector entries(n);
    for (size_t i = 0; i < n; ++i) {
      // Checked before the cast: a negative, fractional or NaN double would be undefined there.
      const double p = position[i];
      if (!(p >= 0 && p <= static_cast<double>(kMaxSegmentPosition)) || p != std::floor(p)) {
        throw StoreError("INVALID_ARGUMENT", "entry position " + std::to_string(p) +
                                                 " is not an integer from 0 to 2^48-1");
      }
      entries[i] = {(static_cast<uint64_t>(hi[i]) << 32) | lo[i], seq[i], static_cast<uint64_t>(p)};
    }
    return entries;
  }
};

SegmentSpec SpecArgs(const Napi::CallbackInfo& info, size_t i) {
  SegmentSpec spec;
  spec.kind = static_cast<uint8_t>(ArgUint(info, i, "kind", UINT8_MAX));
  if (!KnownSegmentKind(spec.kind)) {
    throw StoreError("INVALID_ARGUMENT", "unknown segment kind " + std::to_string(spec.kind));
  }
  spec.from_position = ArgUint(info, i + 1, "fromPosition");
  spec.to_position = ArgUint(info, i + 2, "toPosition");
  return spec;
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw ToJsError(info.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

// buildSegment(dir, name, kind, from, to, keyHi: Uint32Array, keyLo: Uint32Array,
//              seqs: Uint32Array, positions: Float64Array): Promise<void>
Napi::Value BuildSegmentJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const std::string dir = StringArg(info, 0, "dir");
    const std::string name = StringArg(info, 1, "name");
    const SegmentSpec spec = SpecArgs(info, 2);
    auto hi = ArgTypedArray<Napi::Uint32Array>(info, 5, "keyHi");
    auto lo = ArgTypedArray<Napi::Uint32Array>(info, 6, "keyLo");
    auto seqs = ArgTypedArray<Napi::Uint32Array>(info, 7, "seqs");
    auto positions = ArgTypedArray<Napi::Float64Array>(info, 8, "positions");
    const size_t n = hi.ElementLength();
    if (lo.ElementLength() != n || seqs.ElementLength() != n || positions.ElementLength() != n) {
      throw ToJsError(env, "INVALID_ARGUMENT", "entry arrays differ in length");
    }
    // The worker reads the arrays in place (pinned until the promise settles): the caller leaves
    // them alone until then (lib/index/entry-arrays.ts), and the copy into entries took the JS
    // thread ~20 ms per million entries, most of it first touches of the entries' pages.
    const EntryColumns columns{hi.Data(), lo.Data(), seqs.Data(), positions.Data(), n};
    return QueueWork(
        env, [dir, name, spec, columns] { BuildSegment(dir, name, spec, columns.ToEntries()); },
        {hi, lo, seqs, positions});
  });
}

// mergeSegments(dir, name, kind, from, to, inputs: NativeSegment[]): Promise<void>
Napi::Value MergeSegmentsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const std::string dir = StringArg(info, 0, "dir");
    const std::string name = StringArg(info, 1, "name");
    const SegmentSpec spec = SpecArgs(info, 2);
    if (info.Length() < 6 || !info[5].IsArray()) {
      throw ToJsError(env, "INVALID_ARGUMENT", "inputs must be an array of segments");
    }
    const std::vector<std::shared_ptr<IndexSegment>> inputs =
        SegmentsOf(env, info[5].As<Napi::Array>());
    return QueueWork(env, [dir, name, spec, inputs] { MergeSegments(dir, name, spec, inputs); });
  });
}

}  // namespace

void InitIndexBinding(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeSegment", NativeSegment::Init(env));
  exports.Set("NativeSegmentChain", NativeSegmentChain::Init(env));
  exports.Set("buildSegment", Napi::Function::New(env, BuildSegmentJs, "buildSegment"));
  exports.Set("mergeSegments", Napi::Function::New(env, MergeSegmentsJs, "mergeSegments"));
}

}  // namespace annals
