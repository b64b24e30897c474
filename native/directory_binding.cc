#include "directory_binding.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding_util.h"
#include "directory_builder.h"
#include "directory_reader.h"

namespace annals {
namespace {

// Tags NativeDirectory objects, so mergeDirectories can tell them from any other wrapped object
// before unwrapping one (unwrapping an object of another class as this one would be undefined).
constexpr napi_type_tag kDirectoryTag = {0x616e6e616c736472ULL, 0x6469726563746f72ULL};

// Values per entry of an answer: the id's end offset in the ids, first version, last version,
// first position, last position.
constexpr size_t kAnswerValues = 5;

// An answer as [ids, values]: the ids' UTF-8 back to back in one Buffer and a Float64Array of
// kAnswerValues per entry. Two allocations however many entries; JS slices each id out.
Napi::Value Answer(Napi::Env env, const std::vector<DirectoryEntry>& entries) {
  size_t bytes = 0;
  for (const DirectoryEntry& e : entries) bytes += e.id.size();
  Napi::Buffer<uint8_t> ids = Napi::Buffer<uint8_t>::New(env, bytes);
  Napi::Float64Array values = Napi::Float64Array::New(env, entries.size() * kAnswerValues);
  double* v = values.Data();
  size_t at = 0;
  for (const DirectoryEntry& e : entries) {
    if (!e.id.empty()) std::memcpy(ids.Data() + at, e.id.data(), e.id.size());
    at += e.id.size();
    v[0] = static_cast<double>(at);
    v[1] = e.values.first_version;
    v[2] = e.values.last_version;
    v[3] = static_cast<double>(e.values.first_position);
    v[4] = static_cast<double>(e.values.last_position);
    v += kAnswerValues;
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, ids);
  out.Set(1u, values);
  return out;
}

// Argument i as a string, or false when it is undefined or null (or missing).
bool OptionalString(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return false;
  *out = ArgString(info, i, name);
  return true;
}

class NativeDirectory : public Napi::ObjectWrap<NativeDirectory> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeDirectory",
                       {
                           InstanceMethod<&NativeDirectory::Header>("header"),
                           InstanceMethod<&NativeDirectory::Page>("page"),
                           InstanceMethod<&NativeDirectory::Get>("get"),
                           InstanceMethod<&NativeDirectory::Close>("close"),
                       });
  }

  // new NativeDirectory(path)
  explicit NativeDirectory(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NativeDirectory>(info) {
    Guard(info.Env(), [&] {
      file_ = DirectoryFile::Open(ArgString(info, 0, "path"));
      info.This().As<Napi::Object>().TypeTag(&kDirectoryTag);
    });
  }

  std::shared_ptr<DirectoryFile> file(Napi::Env env) const {
    if (!file_) throw ToJsError(env, "STORE_CLOSED", "the directory is closed");
    return file_;
  }

 private:
  Napi::Value Header(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      const DirectoryHeader& h = file(env)->header();
      Napi::Object o = Napi::Object::New(env);
      o.Set("fromPosition", static_cast<double>(h.from_position));
      o.Set("toPosition", static_cast<double>(h.to_position));
      o.Set("entryCount", static_cast<double>(h.entry_count));
      o.Set("starts", static_cast<double>(h.starts));
      return o;
    });
  }
  // page(after?: string, prefix?: string, limit: number): [ids, values]
  Napi::Value Page(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      std::string after;
      std::string prefix;
      const bool has_after = OptionalString(info, 0, "after", &after);
      OptionalString(info, 1, "prefix", &prefix);
      const uint32_t limit =
          static_cast<uint32_t>(ArgUint(info, 2, "limit", kDirectoryMaxPageLimit));
      std::vector<DirectoryEntry> entries;
      file(env)->List(has_after ? &after : nullptr, prefix, limit, &entries);
      return Answer(env, entries);
    });
  }
  // get(id: string): [ids, values] with one entry, or undefined
  Napi::Value Get(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      const std::string id = ArgString(info, 0, "streamId");
      std::vector<DirectoryEntry> entries(1);
      if (!file(env)->Get(id, &entries[0])) return env.Undefined();
      return Answer(env, entries);
    });
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    file_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<DirectoryFile> file_;
};

// Argument i as a typed array of exactly `type`: an array of another element type would be read
// with the wrong element size, past its end.
template <typename T>
T TypedArg(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type type,
           const char* type_name) {
  if (info.Length() > i && info[i].IsTypedArray()) {
    T array = info[i].As<T>();
    if (array.TypedArrayType() == type) return array;
  }
  throw ToJsError(info.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a " + type_name);
}

DirectorySpec SpecArgs(const Napi::CallbackInfo& info, size_t i) {
  DirectorySpec spec;
  spec.from_position = ArgUint(info, i, "fromPosition", kDirectoryMaxPosition);
  spec.to_position = ArgUint(info, i + 1, "toPosition", kDirectoryMaxPosition);
  return spec;
}

// buildDirectory(dir, name, from, to, ids: Uint8Array, idEnds: Uint32Array,
//                firstVersion: Uint32Array, lastVersion: Uint32Array,
//                firstPosition: Float64Array, lastPosition: Float64Array): Promise<void>
Napi::Value BuildDirectoryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const std::string dir = ArgString(info, 0, "dir");
    const std::string name = ArgString(info, 1, "name");
    const DirectorySpec spec = SpecArgs(info, 2);
    auto ids = TypedArg<Napi::Uint8Array>(info, 4, "ids", napi_uint8_array, "Uint8Array");
    auto ends = TypedArg<Napi::Uint32Array>(info, 5, "idEnds", napi_uint32_array, "Uint32Array");
    auto fv =
        TypedArg<Napi::Uint32Array>(info, 6, "firstVersion", napi_uint32_array, "Uint32Array");
    auto lv = TypedArg<Napi::Uint32Array>(info, 7, "lastVersion", napi_uint32_array, "Uint32Array");
    auto fp =
        TypedArg<Napi::Float64Array>(info, 8, "firstPosition", napi_float64_array, "Float64Array");
    auto lp =
        TypedArg<Napi::Float64Array>(info, 9, "lastPosition", napi_float64_array, "Float64Array");
    const size_t n = ends.ElementLength();
    if (fv.ElementLength() != n || lv.ElementLength() != n || fp.ElementLength() != n ||
        lp.ElementLength() != n) {
      throw ToJsError(env, "INVALID_ARGUMENT", "directory input arrays differ in length");
    }
    // Read in place on the pool (pinned until the promise settles): the caller leaves the arrays
    // alone until then, as with segment builds.
    const DirectoryColumns columns{ids.Data(), ids.ElementLength(), ends.Data(), fv.Data(),
                                   lv.Data(),  fp.Data(),           lp.Data(),   n};
    return QueueWork(env, [dir, name, spec, columns] { BuildDirectory(dir, name, spec, columns); },
                     {ids, ends, fv, lv, fp, lp});
  });
}

// mergeDirectories(dir, name, from, to, inputs: NativeDirectory[]): Promise<void>
Napi::Value MergeDirectoriesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const std::string dir = ArgString(info, 0, "dir");
    const std::string name = ArgString(info, 1, "name");
    const DirectorySpec spec = SpecArgs(info, 2);
    if (info.Length() < 5 || !info[4].IsArray()) {
      throw ToJsError(env, "INVALID_ARGUMENT", "inputs must be an array of directories");
    }
    Napi::Array arr = info[4].As<Napi::Array>();
    std::vector<std::shared_ptr<DirectoryFile>> inputs;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr[i];
      if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kDirectoryTag)) {
        throw ToJsError(env, "INVALID_ARGUMENT", "inputs must be NativeDirectory objects");
      }
      inputs.push_back(NativeDirectory::Unwrap(v.As<Napi::Object>())->file(env));
    }
    return QueueWork(env, [dir, name, spec, inputs] { MergeDirectories(dir, name, spec, inputs); });
  });
}

}  // namespace

void InitDirectoryBinding(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeDirectory", NativeDirectory::Init(env));
  exports.Set("buildDirectory", Napi::Function::New(env, BuildDirectoryJs, "buildDirectory"));
  exports.Set("mergeDirectories", Napi::Function::New(env, MergeDirectoriesJs, "mergeDirectories"));
}

}  // namespace annals
