#include "dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "store_error.h"

namespace annals {

namespace {

// Whether `fd` is still the file at `path` (not unlinked or replaced since it was opened).
bool StillAtPath(int fd, const std::string& path) {
  struct stat held {};
  struct stat named {};
  if (::fstat(fd, &held) != 0) ThrowSystemError("fstat " + path, errno);
  if (::stat(path.c_str(), &named) != 0) {
    if (errno == ENOENT) return false;
    ThrowSystemError("stat " + path, errno);
  }
  return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

}  // namespace

DirLock::DirLock(const std::string& path) {
  // A flock on a file that was deleted (or replaced) after we opened it excludes nobody who opens
  // the path now: take it again on the file the path names.
  for (int attempt = 0; attempt < 8; ++attempt) {
    FileDescriptor fd = FileDescriptor::Open(path, O_RDWR | O_CREAT);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        throw StoreError("STORE_LOCKED", "the store is locked by another writer (" + path + ")");
      }
      ThrowSystemError("flock " + path, err);
    }
    if (StillAtPath(fd.get(), path)) {
      fd_ = std::move(fd);
      return;
    }
  }
  throw StoreError("STORE_LOCKED", "the lock file keeps being replaced (" + path + ")");
}

std::string DirLock::FileId() const {
  struct stat st {};
  if (!fd_.valid() || ::fstat(fd_.get(), &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

}  // namespace annals
