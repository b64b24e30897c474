// The writer lock of a store directory: an exclusive flock(2) on `<dir>/LOCK`.
//
// flock locks belong to an open file description, so a second open in the same process conflicts
// just like another process, and the kernel drops the lock when the process dies, however it dies.
#pragma once

#include <string>

#include "file_util.h"

namespace annals {

class DirLock {
 public:
  // Throws StoreError("STORE_LOCKED") when another holder has it.
  explicit DirLock(const std::string& path);
  void Release() { fd_ = FileDescriptor(); }
  bool held() const { return fd_.valid(); }

 private:
  FileDescriptor fd_;
};

}  // namespace annals
