// File steps built on the OS layer (env.h), the same on every OS: publishing a file whole.
#pragma once

#include <string>

#include "env.h"

namespace annals {

// Makes the file written through `fd` at `tmp` appear as `path`, whole: sync of its data, rename,
// sync of `dir`. On failure `tmp` is removed and StoreError thrown, and `path` is untouched.
void PublishFile(const FileDescriptor& fd, const std::string& tmp, const std::string& path,
                 const std::string& dir);

}  // namespace annals
