// N-API side of the index: class NativeSegment (lookups on one segment), class NativeSegmentChain
// (one lookup over the segments of a kind, newest first) and the functions
// buildSegment / mergeSegments, which run on the libuv pool and settle a promise.
#pragma once

#include <napi.h>

namespace annals {

void InitIndexBinding(Napi::Env env, Napi::Object exports);

}  // namespace annals
