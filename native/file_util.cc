#include "file_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store_error.h"

namespace annals {

// The codes are lib/errors.ts's: a full disk and a refused permission each have their own, so the
// caller can tell "free space" and "fix the permissions or open read-only" from a failing device.
[[noreturn]] void ThrowSystemError(const std::string& what, int err) {
  const char* code = "IO";
  if (err == ENOSPC || err == EDQUOT) code = "DISK_FULL";
  if (err == EACCES || err == EPERM || err == EROFS) code = "PERMISSION_DENIED";
  throw StoreError(code, what + ": " + std::strerror(err));
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

int FileDescriptor::Release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

FileDescriptor FileDescriptor::Open(const std::string& path, int flags, int mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) ThrowSystemError("open " + path, errno);
  return FileDescriptor(fd);
}

Mapping::Mapping(Mapping&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

Mapping::~Mapping() { Reset(); }

void Mapping::Reset() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

Mapping Mapping::Map(int fd, size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) ThrowSystemError("mmap", errno);
  Mapping m;
  m.data_ = static_cast<uint8_t*>(p);
  m.size_ = size;
  return m;
}

void FsyncDirectory(const std::string& dir) {
  FileDescriptor fd = FileDescriptor::Open(dir, O_RDONLY | O_DIRECTORY);
  if (::fsync(fd.get()) != 0) ThrowSystemError("fsync " + dir, errno);
}

void PublishFile(const FileDescriptor& fd, const std::string& tmp, const std::string& path,
                 const std::string& dir) {
  if (::fdatasync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    ThrowSystemError("publish " + path, err);
  }
  FsyncDirectory(dir);
}

void WriteAllAt(int fd, const uint8_t* data, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      ThrowSystemError("pwrite", errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}

void CutFile(int fd, uint64_t at, uint64_t size) {
  if (::ftruncate(fd, static_cast<off_t>(at)) != 0 ||
      ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    ThrowSystemError("ftruncate", errno);
  }
}

bool ReadAllAt(int fd, uint8_t* data, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, data, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    data += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

}  // namespace annals
