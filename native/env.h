// The operating-system layer, in the manner of LevelDB's Env: every call the core makes to the
// OS goes through here, and nothing outside env_posix.cc (Linux, macOS) and env_windows.cc
// (Windows) includes an OS header or calls the OS. What it covers: files (open, read and write at
// an offset, size, sync of data, sync of a directory where the OS has one, rename, remove,
// identity), read-only shared mappings, the directory lock, page allocation for large buffers,
// thread yield and CRC32C hardware detection. CPU hints (pause, prefetch) are inline below: they
// are instructions, not calls, and sit on hot paths.
//
// Every failure throws StoreError (ThrowSystemError): a full disk as DISK_FULL, the rest as IO.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace annals {

// A file descriptor (POSIX) or HANDLE (Windows), held as an integer wide enough for either.
using NativeHandle = intptr_t;
constexpr NativeHandle kInvalidHandle = -1;

enum class OpenMode {
  kRead,             // read-only; the file must exist
  kReadWrite,        // read-write; the file must exist
  kReadWriteCreate,  // read-write; created when missing
  kCreateTruncate,   // read-write; created, or emptied when it exists
};

// An open file, closed by the destructor. Move-only, so no error path leaks it. On Windows every
// file is opened sharing read, write and delete, so other opens, renames and deletes behave as
// closely to POSIX as Windows allows (see lib/fs-durable.ts for what still differs).
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(NativeHandle h) : h_(h) {}
  FileDescriptor(FileDescriptor&& other) noexcept : h_(other.Release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  NativeHandle get() const { return h_; }
  bool valid() const { return h_ != kInvalidHandle; }
  NativeHandle Release();

  // Throws StoreError on failure.
  static FileDescriptor Open(const std::string& path, OpenMode mode);
  // As Open, but a missing file (and only that) leaves `*out` invalid and returns false.
  static bool OpenIfExists(const std::string& path, OpenMode mode, FileDescriptor* out);

 private:
  NativeHandle h_ = kInvalidHandle;
};

// A shared read-only mapping of a file's first `size` bytes, unmapped by the destructor. It stays
// valid after the descriptor it was made from is closed.
class Mapping {
 public:
  Mapping() = default;
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  // Throws StoreError on failure.
  static Mapping Map(const FileDescriptor& fd, size_t size);

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void Reset();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// The file's size in bytes; throws StoreError.
uint64_t FileSize(const FileDescriptor& fd, const std::string& path);
// Sets the size without allocating what it adds (a sparse file: blocks are taken as data
// arrives, so a full disk surfaces as DISK_FULL on the write that needs them); throws StoreError.
void SetSparseSize(const FileDescriptor& fd, uint64_t size, const std::string& path);
// Writes all of [data, data + n) at `offset`, retrying short writes; throws StoreError.
void WriteAllAt(const FileDescriptor& fd, const uint8_t* data, size_t n, uint64_t offset);
// Reads exactly n bytes at offset; false on a short read or an error.
bool ReadAllAt(const FileDescriptor& fd, uint8_t* data, size_t n, uint64_t offset);
// Writes zeroes over [from, to); false when a write failed (e.g. a full disk). Never throws.
bool WriteZeroesAt(const FileDescriptor& fd, uint64_t from, uint64_t to) noexcept;
// Makes every byte of the file from `at` on read as zero, keeping its size `size`, needing no free
// space where the OS can deallocate the range (a full disk can still undo a failed write). Works
// on a file that is mapped. Not synced; throws StoreError.
void ZeroFileFrom(const FileDescriptor& fd, uint64_t at, uint64_t size);
// Everything written through `fd` reaches the disk (fdatasync; F_FULLFSYNC on macOS, since its
// fsync stops at the drive's cache; FlushFileBuffers on Windows); throws StoreError.
void SyncData(const FileDescriptor& fd, const std::string& what);
// Writes the dirty pages of [offset, offset + n) to the disk: `wait` false only starts it, true
// also waits for it (a range started before included). Not a durability step (no metadata, no
// drive cache flush: SyncData is); it keeps a streaming writer's dirty data bounded without
// waiting for what it just wrote. Linux: sync_file_range; elsewhere `wait` falls back to SyncData
// and a start does nothing. Throws StoreError.
void WriteBack(const FileDescriptor& fd, uint64_t offset, uint64_t n, bool wait,
               const std::string& what);

// Makes the entries of `dir` durable (fsync of the directory). Windows has no such step: NTFS
// journals its metadata, and a directory cannot be opened for syncing there, so it does nothing.
void SyncDirectory(const std::string& dir);
// Renames `from` to `to`, replacing `to`; throws StoreError.
void RenameFile(const std::string& from, const std::string& to);
// Removes `path`, ignoring every failure (a leftover temporary file is removed at the next open).
void RemoveFileQuietly(const std::string& path) noexcept;

// The identity of an open file ("<device>:<inode>", or volume serial and file index on Windows),
// or "" when it cannot be read.
std::string FileIdentity(const FileDescriptor& fd);
// The identity of the file `path` names now; "" when there is none.
std::string PathIdentity(const std::string& path);

// Takes the exclusive writer lock on the open file without waiting: flock(2) on POSIX (held by
// the open file description, so a second open in the same process conflicts too, and dropped by
// the kernel when the process dies), LockFileEx on a range past any content on Windows (same
// properties, and the file stays readable and writable). False when another holder has it.
bool TryLockExclusive(const FileDescriptor& fd, const std::string& path);

// Fresh zeroed pages for a large temporary buffer (page_allocator.h), given back by FreePages with
// the same size. Throws std::bad_alloc.
void* AllocatePages(size_t bytes);
void FreePages(void* p, size_t bytes) noexcept;

// Gives the CPU to another runnable thread.
void ThreadYield() noexcept;

// Lowers the calling thread's priority below the process's other threads (nice 19 on Linux, the
// lowest normal priority on Windows), for background work; best effort, never throws. A thread
// cannot raise it back unprivileged: call it only on a thread of its own.
void LowerThreadPriority() noexcept;

// Whether this CPU has the CRC32C instructions crc32c.cc uses (SSE4.2 on x86-64, the CRC32
// extension on arm64), as the OS reports it where the instruction set cannot be queried directly.
bool CpuHasCrc32c() noexcept;

// A spin-wait hint: lets the sibling hyperthread run (x86 pause, arm64 yield).
inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Asks the CPU to start loading the cache line at `p` (a hint: never faults).
inline void Prefetch(const void* p) noexcept { __builtin_prefetch(p); }

}  // namespace annals
