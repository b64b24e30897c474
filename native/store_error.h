// The one exception type of the native core. `code` is one of the public error codes of
// lib/errors.ts (CORRUPTION, DISK_FULL, IO, INVALID_ARGUMENT, STORE_LOCKED); the addon turns it
// into a JS Error carrying that code, and the TypeScript facade into the matching typed error.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace annals {

class StoreError : public std::runtime_error {
 public:
  StoreError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  // A CORRUPTION error about the record at a log position (JS: the error's `position`), so a
  // caller that salvages can skip that record.
  StoreError(std::string code, const std::string& message, uint64_t position)
      : std::runtime_error(message),
        code_(std::move(code)),
        position_(position),
        has_position_(true) {}
  const std::string& code() const { return code_; }
  bool has_position() const { return has_position_; }
  uint64_t position() const { return position_; }

 private:
  std::string code_;
  uint64_t position_ = 0;
  bool has_position_ = false;
};

// Throws StoreError for a failed system call: ENOSPC/EDQUOT become DISK_FULL, the rest IO.
[[noreturn]] void ThrowSystemError(const std::string& what, int err);

}  // namespace annals
