// The OS layer (env.h) on POSIX: Linux and macOS. The only file besides env_windows.cc that calls
// the OS; each difference between the two is marked where it is made.
#ifndef _WIN32

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <thread>

#include "env.h"
#include "store_error.h"

#if defined(__linux__)
#include <sys/syscall.h>  // SYS_gettid: LowerThreadPriority
#endif

#if defined(__linux__) && defined(__aarch64__)
#include <sys/auxv.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace annals {

// The codes are lib/errors.ts's: a full disk and a refused permission each have their own, so the
// caller can tell "free space" and "fix the permissions or open read-only" from a failing device.
[[noreturn]] void ThrowSystemError(const std::string& what, int err) {
  const char* code = "IO";
  if (err == ENOSPC || err == EDQUOT) code = "DISK_FULL";
  if (err == EACCES || err == EPERM || err == EROFS) code = "PERMISSION_DENIED";
  throw StoreError(code, what + ": " + std::strerror(err));
}

namespace {

int Fd(const FileDescriptor& fd) { return static_cast<int>(fd.get()); }

int OpenFlags(OpenMode mode) {
  switch (mode) {
    case OpenMode::kRead:
      return O_RDONLY;
    case OpenMode::kReadWrite:
      return O_RDWR;
    case OpenMode::kReadWriteCreate:
      return O_RDWR | O_CREAT;
    case OpenMode::kCreateTruncate:
      return O_RDWR | O_CREAT | O_TRUNC;
  }
  return O_RDONLY;
}

// A 64 KiB block of zeroes for WriteZeroesAt. Not const on purpose: a const array of zeroes lands
// in .rodata (64 KiB of the binary); this one is in .bss, never written, so its pages stay the
// kernel's shared zero page.
alignas(4096) uint8_t zero_block[64 * 1024];

}  // namespace

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (valid()) ::close(static_cast<int>(h_));
    h_ = other.Release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (valid()) ::close(static_cast<int>(h_));
}

NativeHandle FileDescriptor::Release() {
  const NativeHandle h = h_;
  h_ = kInvalidHandle;
  return h;
}

bool FileDescriptor::OpenIfExists(const std::string& path, OpenMode mode, FileDescriptor* out) {
  const int fd = ::open(path.c_str(), OpenFlags(mode) | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) return false;
  if (fd < 0) ThrowSystemError("open " + path, errno);
  *out = FileDescriptor(fd);
  return true;
}

FileDescriptor FileDescriptor::Open(const std::string& path, OpenMode mode) {
  FileDescriptor fd;
  if (!OpenIfExists(path, mode, &fd)) ThrowSystemError("open " + path, ENOENT);
  return fd;
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

Mapping Mapping::Map(const FileDescriptor& fd, size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, Fd(fd), 0);
  if (p == MAP_FAILED) ThrowSystemError("mmap", errno);
  Mapping m;
  m.data_ = static_cast<uint8_t*>(p);
  m.size_ = size;
  return m;
}

uint64_t FileSize(const FileDescriptor& fd, const std::string& path) {
  struct stat st {};
  if (::fstat(Fd(fd), &st) != 0) ThrowSystemError("stat " + path, errno);
  return static_cast<uint64_t>(st.st_size);
}

void SetSparseSize(const FileDescriptor& fd, uint64_t size, const std::string& path) {
  if (::ftruncate(Fd(fd), static_cast<off_t>(size)) != 0) ThrowSystemError("size " + path, errno);
}

void WriteAllAt(const FileDescriptor& fd, const uint8_t* data, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ::pwrite(Fd(fd), data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      ThrowSystemError("pwrite", errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}

bool ReadAllAt(const FileDescriptor& fd, uint8_t* data, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pread(Fd(fd), data, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    data += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

bool WriteZeroesAt(const FileDescriptor& fd, uint64_t from, uint64_t to) noexcept {
  while (from < to) {
#if defined(__linux__)
    // One pwritev over iovecs that all point at the same zero block (macOS has pwritev only
    // from 11.0, below this package's baseline: one pwrite per block there).
    constexpr size_t kMaxIov = 64;
    iovec iov[kMaxIov];
    size_t n = 0;
    uint64_t bytes = 0;
    for (; n < kMaxIov && from + bytes < to; ++n) {
      const size_t len =
          static_cast<size_t>(std::min<uint64_t>(sizeof zero_block, to - from - bytes));
      iov[n] = {zero_block, len};
      bytes += len;
    }
    const ssize_t w = ::pwritev(Fd(fd), iov, static_cast<int>(n), static_cast<off_t>(from));
#else
    const size_t len = static_cast<size_t>(std::min<uint64_t>(sizeof zero_block, to - from));
    const ssize_t w = ::pwrite(Fd(fd), zero_block, len, static_cast<off_t>(from));
#endif
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    from += static_cast<uint64_t>(w);
  }
  return true;
}

void ZeroFileFrom(const FileDescriptor& fd, uint64_t at, uint64_t size) {
  // Shrinking to `at` and extending back to `size` leaves a hole: no free space needed.
  if (::ftruncate(Fd(fd), static_cast<off_t>(at)) != 0 ||
      ::ftruncate(Fd(fd), static_cast<off_t>(size)) != 0) {
    ThrowSystemError("ftruncate", errno);
  }
}

void SyncData(const FileDescriptor& fd, const std::string& what) {
#if defined(__APPLE__)
  // macOS's fsync hands the data to the drive, whose cache may still lose it on power loss;
  // F_FULLFSYNC flushes that cache too. File systems that refuse it get fsync.
  if (::fcntl(Fd(fd), F_FULLFSYNC) == 0) return;
  if (::fsync(Fd(fd)) != 0) ThrowSystemError("fsync " + what, errno);
#else
  if (::fdatasync(Fd(fd)) != 0) ThrowSystemError("fdatasync " + what, errno);
#endif
}

void WriteBack(const FileDescriptor& fd, uint64_t offset, uint64_t n, bool wait,
               const std::string& what) {
#if defined(__linux__)
  const unsigned flags =
      wait ? SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER
           : SYNC_FILE_RANGE_WRITE;
  if (::sync_file_range(Fd(fd), static_cast<off_t>(offset), static_cast<off_t>(n), flags) != 0) {
    ThrowSystemError("sync_file_range " + what, errno);
  }
#else
  (void)offset;
  (void)n;
  if (wait) SyncData(fd, what);
#endif
}

void SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) ThrowSystemError("open " + dir, errno);
  FileDescriptor owned(fd);
  if (::fsync(fd) != 0) ThrowSystemError("fsync " + dir, errno);
}

void RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) ThrowSystemError("rename " + from, errno);
}

void RemoveFileQuietly(const std::string& path) noexcept { ::unlink(path.c_str()); }

namespace {
std::string IdentityOf(const struct stat& st) {
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}
}  // namespace

std::string FileIdentity(const FileDescriptor& fd) {
  struct stat st {};
  if (!fd.valid() || ::fstat(Fd(fd), &st) != 0) return "";
  return IdentityOf(st);
}

std::string PathIdentity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return "";
    ThrowSystemError("stat " + path, errno);
  }
  return IdentityOf(st);
}

bool TryLockExclusive(const FileDescriptor& fd, const std::string& path) {
  if (::flock(Fd(fd), LOCK_EX | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  ThrowSystemError("flock " + path, errno);
}

void* AllocatePages(size_t bytes) {
  // Why huge pages: fresh memory is paid for at first touch, one fault per 4 KiB page. Mappings
  // of 2 MiB or more are aligned to 2 MiB and (on Linux) advised MADV_HUGEPAGE, which transparent
  // huge pages honour in their default `madvise` mode. Where it is refused, 4 KiB pages serve.
  constexpr size_t kHugePage = size_t{2} << 20;
  if (bytes < kHugePage) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }
  // Map a huge page more than needed, then unmap the slack before and after the aligned range.
  void* raw = ::mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) ::munmap(raw, aligned - start);
  const size_t tail = start + bytes + kHugePage - (aligned + bytes);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  void* p = reinterpret_cast<void*>(aligned);
#if defined(MADV_HUGEPAGE)
  ::madvise(p, bytes, MADV_HUGEPAGE);  // advice: 4 KiB pages still work where it is refused
#endif
  return p;
}

void FreePages(void* p, size_t bytes) noexcept { ::munmap(p, bytes); }

void ThreadYield() noexcept { std::this_thread::yield(); }

void LowerThreadPriority() noexcept {
#if defined(__linux__)
  // On Linux a thread's nice value is its own: PRIO_PROCESS with its thread id.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
#endif
}

bool CpuHasCrc32c() noexcept {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_SSE4_2) != 0;
#elif defined(__aarch64__) && defined(__linux__)
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
  return (::getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#elif defined(__aarch64__) && defined(__APPLE__)
  int has = 0;
  size_t len = sizeof has;
  return ::sysctlbyname("hw.optional.armv8_crc32", &has, &len, nullptr, 0) == 0 && has != 0;
#else
  return false;
#endif
}

}  // namespace annals

#endif  // !_WIN32
