// The one exception type of the native core. `code` is one of the public error codes of
// lib/errors.ts (CORRUPTION, DISK_FULL, IO, INVALID_ARGUMENT, STORE_LOCKED); the addon turns it
// into a JS Error carrying that code, and the TypeScript facade into the matching typed error.
#pragma once

#include <stdexcept>
#include <string>

namespace annals {

class StoreError : public std::runtime_error {
 public:
  StoreError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// Throws StoreError for a failed system call: ENOSPC/EDQUOT become DISK_FULL, the rest IO.
[[noreturn]] void ThrowSystemError(const std::string& what, int err);

}  // namespace annals
