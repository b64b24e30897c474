// RAII owners of the operating-system resources the core uses: a file descriptor and a shared
// memory mapping. Both are move-only and release in their destructors, so no error path leaks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace annals {

class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.Release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();

  // Opens `path` with open(2) flags; throws StoreError on failure.
  static FileDescriptor Open(const std::string& path, int flags, int mode = 0644);

 private:
  int fd_ = -1;
};

class Mapping {
 public:
  Mapping() = default;
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  // Maps `size` bytes of `fd` shared and read-only. Throws StoreError on failure.
  static Mapping Map(int fd, size_t size);

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void Reset();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

void FsyncDirectory(const std::string& dir);
// Makes the file written through `fd` at `tmp` appear as `path`, whole: fdatasync, rename, fsync of
// `dir`. On failure `tmp` is removed and StoreError thrown, and `path` is untouched.
void PublishFile(const FileDescriptor& fd, const std::string& tmp, const std::string& path,
                 const std::string& dir);
// Writes all of [data, data + n) at `offset`, retrying short writes; throws StoreError.
void WriteAllAt(int fd, const uint8_t* data, size_t n, uint64_t offset);
// Makes every byte of the file from `at` on read as zero, keeping its size: shrinks it to `at`
// and extends it back to `size`, which leaves a hole and so needs no free space (a full disk can
// still undo a failed write). Not synced; throws StoreError.
void CutFile(int fd, uint64_t at, uint64_t size);
// Reads exactly n bytes at offset; returns false on a short read.
bool ReadAllAt(int fd, uint8_t* data, size_t n, uint64_t offset);

}  // namespace annals
