// The OS layer (env.h) on Windows: files through CreateFileW handles, mappings through
// CreateFileMapping/MapViewOfFile, sync through FlushFileBuffers, the lock through LockFileEx,
// renames through MoveFileExW, sparse files through FSCTL_SET_SPARSE and FSCTL_SET_ZERO_DATA.
// Paths arrive as UTF-8 and are converted to UTF-16 here.
#ifdef _WIN32

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <winioctl.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <new>
#include <thread>

#include "env.h"
#include "store_error.h"

namespace annals {

namespace {

std::string Win32Message(DWORD err) {
  char buf[256];
  const DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                                 nullptr, err, 0, buf, sizeof buf, nullptr);
  std::string text(buf, n);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == '.')) {
    text.pop_back();
  }
  return text.empty() ? "Windows error " + std::to_string(err) : text;
}

}  // namespace

// `err` is a Win32 error code (GetLastError, or std::error_code::value() of std::filesystem). The
// codes are lib/errors.ts's, as on POSIX: a full disk and a refused permission have their own.
[[noreturn]] void ThrowSystemError(const std::string& what, int err) {
  const auto win32 = static_cast<DWORD>(err);
  const char* code = "IO";
  if (win32 == ERROR_DISK_FULL || win32 == ERROR_HANDLE_DISK_FULL) code = "DISK_FULL";
  if (win32 == ERROR_ACCESS_DENIED || win32 == ERROR_WRITE_PROTECT) code = "PERMISSION_DENIED";
  throw StoreError(code, what + ": " + Win32Message(win32));
}

namespace {

[[noreturn]] void ThrowLastError(const std::string& what) {
  ThrowSystemError(what, static_cast<int>(GetLastError()));
}

HANDLE H(const FileDescriptor& fd) { return reinterpret_cast<HANDLE>(fd.get()); }

std::wstring Wide(const std::string& utf8) {
  if (utf8.empty()) return std::wstring();
  const int n =
      MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

OVERLAPPED At(uint64_t offset) {
  OVERLAPPED o{};
  o.Offset = static_cast<DWORD>(offset & 0xFFFFFFFFu);
  o.OffsetHigh = static_cast<DWORD>(offset >> 32);
  return o;
}

// The largest single ReadFile/WriteFile: DWORD lengths, kept well below 4 GiB.
constexpr size_t kMaxIo = size_t{1} << 30;

}  // namespace

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (valid()) CloseHandle(reinterpret_cast<HANDLE>(h_));
    h_ = other.Release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (valid()) CloseHandle(reinterpret_cast<HANDLE>(h_));
}

NativeHandle FileDescriptor::Release() {
  const NativeHandle h = h_;
  h_ = kInvalidHandle;
  return h;
}

bool FileDescriptor::OpenIfExists(const std::string& path, OpenMode mode, FileDescriptor* out) {
  const DWORD access = mode == OpenMode::kRead ? GENERIC_READ : GENERIC_READ | GENERIC_WRITE;
  DWORD disposition = OPEN_EXISTING;
  if (mode == OpenMode::kReadWriteCreate) disposition = OPEN_ALWAYS;
  if (mode == OpenMode::kCreateTruncate) disposition = CREATE_ALWAYS;
  // Sharing delete too: a file open here can still be renamed over or deleted by another, as on
  // POSIX (Windows then keeps it until the last handle closes).
  HANDLE h = CreateFileW(Wide(path).c_str(), access,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         disposition, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    const DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) return false;
    ThrowSystemError("open " + path, static_cast<int>(err));
  }
  *out = FileDescriptor(reinterpret_cast<NativeHandle>(h));
  return true;
}

FileDescriptor FileDescriptor::Open(const std::string& path, OpenMode mode) {
  FileDescriptor fd;
  if (!OpenIfExists(path, mode, &fd)) ThrowSystemError("open " + path, ERROR_FILE_NOT_FOUND);
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
  if (data_ != nullptr) UnmapViewOfFile(data_);
  data_ = nullptr;
  size_ = 0;
}

Mapping Mapping::Map(const FileDescriptor& fd, size_t size) {
  const uint64_t size64 = size;
  HANDLE section =
      CreateFileMappingW(H(fd), nullptr, PAGE_READONLY, static_cast<DWORD>(size64 >> 32),
                         static_cast<DWORD>(size64 & 0xFFFFFFFFu), nullptr);
  if (section == nullptr) ThrowLastError("CreateFileMapping");
  void* p = MapViewOfFile(section, FILE_MAP_READ, 0, 0, size);
  const DWORD err = GetLastError();
  CloseHandle(section);  // the view keeps the section alive
  if (p == nullptr) ThrowSystemError("MapViewOfFile", static_cast<int>(err));
  Mapping m;
  m.data_ = static_cast<uint8_t*>(p);
  m.size_ = size;
  return m;
}

uint64_t FileSize(const FileDescriptor& fd, const std::string& path) {
  LARGE_INTEGER size{};
  if (!GetFileSizeEx(H(fd), &size)) ThrowLastError("size " + path);
  return static_cast<uint64_t>(size.QuadPart);
}

void SetSparseSize(const FileDescriptor& fd, uint64_t size, const std::string& path) {
  // Without the sparse flag, NTFS would zero-fill every block below a write far into the file.
  // A file system without sparse files refuses the flag: the size is still set.
  DWORD returned = 0;
  DeviceIoControl(H(fd), FSCTL_SET_SPARSE, nullptr, 0, nullptr, 0, &returned, nullptr);
  FILE_END_OF_FILE_INFO eof{};
  eof.EndOfFile.QuadPart = static_cast<LONGLONG>(size);
  if (!SetFileInformationByHandle(H(fd), FileEndOfFileInfo, &eof, sizeof eof)) {
    ThrowLastError("size " + path);
  }
}

void WriteAllAt(const FileDescriptor& fd, const uint8_t* data, size_t n, uint64_t offset) {
  while (n > 0) {
    OVERLAPPED o = At(offset);
    DWORD written = 0;
    const auto len = static_cast<DWORD>(std::min(n, kMaxIo));
    if (!WriteFile(H(fd), data, len, &written, &o)) ThrowLastError("WriteFile");
    data += written;
    n -= written;
    offset += written;
  }
}

bool ReadAllAt(const FileDescriptor& fd, uint8_t* data, size_t n, uint64_t offset) {
  while (n > 0) {
    OVERLAPPED o = At(offset);
    DWORD read = 0;
    const auto len = static_cast<DWORD>(std::min(n, kMaxIo));
    if (!ReadFile(H(fd), data, len, &read, &o) || read == 0) return false;  // EOF: ERROR_HANDLE_EOF
    data += read;
    n -= read;
    offset += read;
  }
  return true;
}

bool WriteZeroesAt(const FileDescriptor& fd, uint64_t from, uint64_t to) noexcept {
  static const uint8_t zero_block[64 * 1024] = {};
  while (from < to) {
    OVERLAPPED o = At(from);
    DWORD written = 0;
    const auto len = static_cast<DWORD>(std::min<uint64_t>(sizeof zero_block, to - from));
    if (!WriteFile(H(fd), zero_block, len, &written, &o) || written == 0) return false;
    from += written;
  }
  return true;
}

void ZeroFileFrom(const FileDescriptor& fd, uint64_t at, uint64_t size) {
  // Windows refuses to shrink a file that has a mapped view (ERROR_USER_MAPPED_FILE), and the tail
  // chunk is mapped. FSCTL_SET_ZERO_DATA deallocates the range of a sparse file instead (no free
  // space needed); where it is refused, zeroes are written.
  if (at >= size) return;
  FILE_ZERO_DATA_INFORMATION range{};
  range.FileOffset.QuadPart = static_cast<LONGLONG>(at);
  range.BeyondFinalZero.QuadPart = static_cast<LONGLONG>(size);
  DWORD returned = 0;
  if (DeviceIoControl(H(fd), FSCTL_SET_ZERO_DATA, &range, sizeof range, nullptr, 0, &returned,
                      nullptr)) {
    return;
  }
  if (!WriteZeroesAt(fd, at, size)) ThrowLastError("zero");
}

void SyncData(const FileDescriptor& fd, const std::string& what) {
  if (!FlushFileBuffers(H(fd))) ThrowLastError("FlushFileBuffers " + what);
}

void WriteBack(const FileDescriptor& fd, uint64_t, uint64_t, bool wait, const std::string& what) {
  if (wait) SyncData(fd, what);
}

void SyncDirectory(const std::string& /*dir*/) {}

void RenameFile(const std::string& from, const std::string& to) {
  if (!MoveFileExW(Wide(from).c_str(), Wide(to).c_str(),
                   MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    ThrowLastError("rename " + from);
  }
}

void RemoveFileQuietly(const std::string& path) noexcept { DeleteFileW(Wide(path).c_str()); }

namespace {
std::string IdentityOf(HANDLE h) {
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(h, &info)) return "";
  const uint64_t index = (static_cast<uint64_t>(info.nFileIndexHigh) << 32) | info.nFileIndexLow;
  return std::to_string(info.dwVolumeSerialNumber) + ":" + std::to_string(index);
}
}  // namespace

std::string FileIdentity(const FileDescriptor& fd) { return fd.valid() ? IdentityOf(H(fd)) : ""; }

std::string PathIdentity(const std::string& path) {
  FileDescriptor fd;
  if (!FileDescriptor::OpenIfExists(path, OpenMode::kRead, &fd)) return "";
  return IdentityOf(H(fd));
}

bool TryLockExclusive(const FileDescriptor& fd, const std::string& path) {
  // A byte-range lock is mandatory on Windows: locking a range far past any content keeps the
  // file itself readable and writable by everyone. The lock belongs to this handle and is dropped
  // when the handle closes or the process dies.
  OVERLAPPED o = At(uint64_t{1} << 62);
  if (LockFileEx(H(fd), LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &o)) {
    return true;
  }
  const DWORD err = GetLastError();
  if (err == ERROR_LOCK_VIOLATION || err == ERROR_IO_PENDING) return false;
  ThrowSystemError("LockFileEx " + path, static_cast<int>(err));
}

void* AllocatePages(size_t bytes) {
  void* p = VirtualAlloc(nullptr, bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void FreePages(void* p, size_t /*bytes*/) noexcept { VirtualFree(p, 0, MEM_RELEASE); }

void ThreadYield() noexcept { std::this_thread::yield(); }

void LowerThreadPriority() noexcept {
  ::SetThreadPriority(::GetCurrentThread(), THREAD_PRIORITY_LOWEST);
}

bool CpuHasCrc32c() noexcept {
#if defined(__x86_64__)
  // The instruction set answers for itself on x86-64 (and under emulators that report CPU
  // features only through CPUID).
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_SSE4_2) != 0;
#elif defined(_M_ARM64) || defined(__aarch64__)
  return IsProcessorFeaturePresent(PF_ARM_V8_CRC32_INSTRUCTIONS_AVAILABLE) != 0;
#else
  return false;
#endif
}

}  // namespace annals

#endif  // _WIN32
