// The binding of the native scavenge pass: exports.scavengePass (scavenge_binding.cc).
#pragma once

#include <napi.h>

namespace annals {

void InitScavengeBinding(Napi::Env env, Napi::Object exports);

}  // namespace annals
