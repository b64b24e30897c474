#include "chunk_file.h"

#include <algorithm>
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
  FileDescriptor fd = FileDescriptor::Open(tmp, OpenMode::kCreateTruncate);
  uint8_t header[kChunkHeaderSize];
  ChunkHeader{number, chunk_size, identity}.EncodeTo(header);
  try {
    // Sized, not allocated: blocks are taken as data arrives, so a store uses the disk its data
    // needs, and a full disk is a DISK_FULL error on the append that needs more.
    SetSparseSize(fd, chunk_size, tmp);
    WriteAllAt(fd, header, sizeof header, 0);
  } catch (...) {
    RemoveFileQuietly(tmp);
    throw;
  }
  PublishFile(fd, tmp, path, dir);
  auto chunk = std::make_unique<ChunkFile>(Token{}, path, number, chunk_size);
  chunk->identity_ = identity;
  chunk->mapping_ = Mapping::Map(fd, chunk_size);
  chunk->fd_ = std::make_shared<FileDescriptor>(std::move(fd));
  return chunk;
}

std::unique_ptr<ChunkFile> ChunkFile::Open(const std::string& dir, uint64_t number,
                                           uint64_t chunk_size, bool tail, bool writable) {
  const std::string path = PathFor(dir, number);
  FileDescriptor fd =
      FileDescriptor::Open(path, tail && writable ? OpenMode::kReadWrite : OpenMode::kRead);
  const uint64_t size = FileSize(fd, path);
  uint8_t raw[kChunkHeaderSize] = {};
  ChunkHeader header;
  if (size != chunk_size || !ReadAllAt(fd, raw, sizeof raw, 0) ||
      !ChunkHeader::DecodeFrom(raw, &header) || header.chunk_number != number ||
      header.chunk_size != chunk_size) {
    throw StoreError("CORRUPTION", "chunk " + path + " at offset 0: invalid chunk header");
  }
  auto chunk = std::make_unique<ChunkFile>(Token{}, path, number, chunk_size);
  chunk->identity_ = header.identity;
  uint8_t footer[kChunkFooterSize] = {};
  chunk->sealed_ = ReadAllAt(fd, footer, sizeof footer, chunk_size - kChunkFooterSize) &&
                   ChunkFooter::DecodeFrom(footer, &chunk->footer_);
  if (tail) {
    chunk->mapping_ = Mapping::Map(fd, chunk_size);
    chunk->fd_ = std::make_shared<FileDescriptor>(std::move(fd));
  }
  return chunk;
}

void ChunkFile::Map() {
  if (mapped()) return;
  FileDescriptor fd = FileDescriptor::Open(path_, OpenMode::kRead);
  mapping_ = Mapping::Map(fd, size_);  // the mapping outlives the descriptor
}

void ChunkFile::Unmap() { mapping_ = Mapping(); }

void ChunkFile::Sync() const { SyncData(*fd_, path_); }

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
  return WriteZeroesAt(*fd_, from, std::min(to, ChunkDataCapacityEnd(size())));
}

void ChunkFile::CutAt(uint64_t offset) {
  ZeroFileFrom(*fd_, offset, size_);
  Sync();
}

}  // namespace annals
