#include "dir_lock.h"

#include <utility>

#include "store_error.h"

namespace annals {

DirLock::DirLock(const std::string& path) {
  // A lock on a file that was deleted (or replaced) after we opened it excludes nobody who opens
  // the path now: take it again on the file the path names.
  for (int attempt = 0; attempt < 8; ++attempt) {
    FileDescriptor fd = FileDescriptor::Open(path, OpenMode::kReadWriteCreate);
    if (!TryLockExclusive(fd, path)) {
      throw StoreError("STORE_LOCKED", "the store is locked by another writer (" + path + ")");
    }
    const std::string held = FileIdentity(fd);
    if (!held.empty() && held == PathIdentity(path)) {
      fd_ = std::move(fd);
      return;
    }
  }
  throw StoreError("STORE_LOCKED", "the lock file keeps being replaced (" + path + ")");
}

std::string DirLock::FileId() const { return FileIdentity(fd_); }

}  // namespace annals
