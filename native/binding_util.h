// Helpers shared by the N-API bindings: turning StoreError into a JS Error with a `code`, and
// argument checks. Every binding body runs inside Guard so no C++ exception escapes untranslated.
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "store_error.h"

namespace annals {

Napi::Error ToJsError(Napi::Env env, const std::string& code, const std::string& message);
Napi::Error ToJsError(Napi::Env env, const StoreError& e);

template <typename Fn>
auto Guard(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const StoreError& e) {
    throw ToJsError(env, e);
  } catch (const std::bad_alloc&) {
    throw ToJsError(env, "IO", "out of memory");
  }
}

// The napi type of the typed arrays T (a Napi::TypedArrayOf<E>) holds.
template <typename T>
constexpr napi_typedarray_type TypedArrayTypeOf() {
  using E = typename std::remove_pointer<decltype(std::declval<T>().Data())>::type;
  if (std::is_same<E, uint8_t>::value) return napi_uint8_array;
  if (std::is_same<E, uint32_t>::value) return napi_uint32_array;
  if (std::is_same<E, double>::value) return napi_float64_array;
  return napi_int8_array;  // no other element type is used; the check below then refuses
}

// Argument i as a typed array of exactly T's element type: another type (a Uint8Array where a
// Uint32Array is expected) would be read past its end.
template <typename T>
T ArgTypedArray(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != TypedArrayTypeOf<T>()) {
    throw ToJsError(info.Env(), "INVALID_ARGUMENT",
                    std::string(name) + " must be a typed array of the right type");
  }
  return info[i].As<T>();
}

double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name);
// Argument i as a string (UTF-8), else INVALID_ARGUMENT.
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);

// Runs `work` on the libuv pool, then resolves the promise returned with undefined or rejects it
// with a coded error (a StoreError's code; IO for any other exception). `pinned`: JS values the
// work reads in place (typed arrays), referenced until the worker is deleted, on the JS thread,
// after its promise settles.
Napi::Promise QueueWork(Napi::Env env, std::function<void()> work,
                        const std::vector<Napi::Value>& pinned = {});

// Argument i as an integer in [0, max] (max at most 2^53 - 1), else INVALID_ARGUMENT: casting a
// negative, fractional-overflowing or NaN double to an integer type is undefined behaviour.
uint64_t ArgUint(const Napi::CallbackInfo& info, size_t i, const char* name,
                 uint64_t max = 9007199254740991ULL);

// A typed array of the caller's that a binding keeps across calls, so a hot call takes no
// arguments: each argument a binding reads from N-API costs a checked conversion, and a typed
// array's the most (~110 ns for a lookup's five, against ~65 ns for a whole call without any).
// The reference keeps the array alive; its data pointer, taken once, stays valid because V8 never
// moves an ArrayBuffer's backing store once N-API has handed it out (an on-heap array is moved
// off the heap first). The caller pins a new array whenever it replaces the old.
template <typename T>
class PinnedArray {
 public:
  using Element = typename std::remove_pointer<decltype(std::declval<T>().Data())>::type;
  void Pin(const Napi::CallbackInfo& info, size_t i, const char* name) {
    T array = ArgTypedArray<T>(info, i, name);
    ref_ = Napi::Persistent(array);
    data_ = array.Data();
    length_ = array.ElementLength();
  }
  Element* data() const { return data_; }
  size_t length() const { return length_; }

 private:
  Napi::Reference<T> ref_;
  Element* data_ = nullptr;
  size_t length_ = 0;
};

}  // namespace annals
