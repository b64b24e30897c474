#include "dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "store_error.h"

namespace annals {

DirLock::DirLock(const std::string& path) : fd_(FileDescriptor::Open(path, O_RDWR | O_CREAT)) {
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      throw StoreError("STORE_LOCKED", "the store is locked by another writer (" + path + ")");
    }
    ThrowSystemError("flock " + path, err);
  }
}

}  // namespace annals
