#include "chunk_file.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "store_error.h"

namespace annals {

std::string ChunkFile::PathFor(const std::string& dir, uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "%08llu.chunk", static_cast<unsigned long long>(number));
  return dir + "/" + name;
}

ChunkFile::ChunkFile(Token, std::string path, uint64_t number, uint64_t size)
    : path_(std::move(path)), number_(number), size_(size) {}

std::unique_ptr<ChunkFile> ChunkFile::Create(const std::string& dir, uint64_t number,
                                             uint64_t chunk_size, uint32_t identity) {
  const std::string path = PathFor(dir, number);
  const std::string tmp = path + ".tmp";
  FileDescriptor fd = FileDescriptor::Open(tmp, O_RDWR | O_CREAT | O_TRUNC);
  // Sized, not allocated: blocks are taken as data arrives, so a store uses the disk its data
  // needs. Appends go through pwrite, so a full disk is an ENOSPC error on the append.
  if (::ftruncate(fd.get(), static_cast<off_t>(chunk_size)) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    ThrowSystemError("size " + tmp, err);
  }
  uint8_t header[kChunkHeaderSize];
  ChunkHeader{number, chunk_size, identity}.EncodeTo(header);
  try {
    WriteAllAt(fd.get(), header, sizeof header, 0);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  PublishFile(fd, tmp, path, dir);
  auto chunk = std::make_unique<ChunkFile>(Token{}, path, number, chunk_size);
  chunk->identity_ = identity;
  chunk->mapping_ = Mapping::Map(fd.get(), chunk_size);
  chunk->fd_ = std::make_shared<FileDescriptor>(std::move(fd));
  return chunk;
}

std::unique_ptr<ChunkFile> ChunkFile::Open(const std::string& dir, uint64_t number,
                                           uint64_t chunk_size, bool tail, bool writable) {
  const std::string path = PathFor(dir, number);
  FileDescriptor fd = FileDescriptor::Open(path, tail && writable ? O_RDWR : O_RDONLY);
  const off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size < 0) ThrowSystemError("lseek " + path, errno);
  uint8_t raw[kChunkHeaderSize] = {};
  ChunkHeader header;
  if (static_cast<uint64_t>(size) != chunk_size || !ReadAllAt(fd.get(), raw, sizeof raw, 0) ||
      !ChunkHeader::DecodeFrom(raw, &header) || header.chunk_number != number ||
      header.chunk_size != chunk_size) {
    throw StoreError("CORRUPTION", "chunk " + path + " at offset 0: invalid chunk header");
  }
  auto chunk = std::make_unique<ChunkFile>(Token{}, path, number, chunk_size);
  chunk->identity_ = header.identity;
  uint8_t footer[kChunkFooterSize] = {};
  chunk->sealed_ = ReadAllAt(fd.get(), footer, sizeof footer, chunk_size - kChunkFooterSize) &&
                   ChunkFooter::DecodeFrom(footer, &chunk->footer_);
  if (tail) {
    chunk->mapping_ = Mapping::Map(fd.get(), chunk_size);
    chunk->fd_ = std::make_shared<FileDescriptor>(std::move(fd));
  }
  return chunk;
}

void ChunkFile::Map() {
  if (mapped()) return;
  FileDescriptor fd = FileDescriptor::Open(path_, O_RDONLY);
  mapping_ = Mapping::Map(fd.get(), size_);  // the mapping outlives the descriptor
}

void ChunkFile::Unmap() { mapping_ = Mapping(); }

void ChunkFile::Sync() const {
  if (::fdatasync(fd_->get()) != 0) ThrowSystemError("fdatasync " + path_, errno);
}

void ChunkFile::Seal(const ChunkFooter& footer) {
  uint8_t raw[kChunkFooterSize];
  footer.EncodeTo(raw);
  WriteAt(size() - kChunkFooterSize, raw, sizeof raw);
  Sync();
  sealed_ = true;
  footer_ = footer;
  fd_.reset();
}

bool ChunkFile::FillZeroes(uint64_t from, uint64_t to) const noexcept {
  // One pwritev over iovecs that all point at the same zero block. Not const on purpose: a const
  // array of zeroes lands in .rodata (64 KiB of the binary); this one is in .bss, never written,
  // so its pages stay the kernel's shared zero page.
  alignas(4096) static uint8_t zero_block[64 * 1024];
  constexpr size_t kMaxIov = 64;
  const uint64_t end = std::min(to, ChunkDataCapacityEnd(size()));
  while (from < end) {
    iovec iov[kMaxIov];
    size_t n = 0;
    uint64_t bytes = 0;
    for (; n < kMaxIov && from + bytes < end; ++n) {
      const size_t len =
          static_cast<size_t>(std::min<uint64_t>(sizeof zero_block, end - from - bytes));
      iov[n] = {zero_block, len};
      bytes += len;
    }
    const ssize_t w = ::pwritev(fd_->get(), iov, static_cast<int>(n), static_cast<off_t>(from));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    from += static_cast<uint64_t>(w);
  }
  return true;
}

void ChunkFile::CutAt(uint64_t offset) {
  CutFile(fd_->get(), offset, size_);
  Sync();
}

}  // namespace annals
