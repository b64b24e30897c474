// The writer lock of a store directory: an exclusive lock (TryLockExclusive in env.h: flock(2) on
// POSIX, LockFileEx on Windows) on `<dir>/LOCK`.
//
// The lock belongs to the open file, so a second open in the same process conflicts just like
// another process, and the OS drops the lock when the process dies, however it dies.
// The lock is taken on the file the path names when it is taken (a deleted or replaced LOCK file is
// opened again). It is one part of the lock protocol of lib/dir-lock.ts, which every process
// follows, with the addon or without.
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
  // The identity of the file locked ("<st_dev>:<st_ino>" on POSIX, FileIdentity in env.h): a
  // holder's ticket records it, so that another process trusts "I hold flock now, so the holder
  // that took it is dead" only for the same file.
  std::string FileId() const;

 private:
  FileDescriptor fd_;
};

}  // namespace annals
