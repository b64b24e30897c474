// N-API side of stream directories: class NativeDirectory (reads one directory file) and the
// functions buildDirectory / mergeDirectories, which run on the libuv pool and settle a promise.
#pragma once

#include <napi.h>

namespace annals {

void InitDirectoryBinding(Napi::Env env, Napi::Object exports);

}  // namespace annals
