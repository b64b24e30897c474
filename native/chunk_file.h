// One data chunk file, mapped into memory (format in chunk_format.h).
//
// Created whole or not at all: the header is written to a temporary file preallocated to the chunk
// size (so later writes through the mapping can never hit ENOSPC, which would be SIGBUS), synced,
// then renamed into place and the directory synced. Writable until sealed; a sealed chunk never
// changes again.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "chunk_format.h"
#include "file_util.h"

namespace annals {

class ChunkFile {
 public:
  // Creates chunk `number` in `dir`; throws StoreError (DISK_FULL when the space is not there).
  static std::unique_ptr<ChunkFile> Create(const std::string& dir, uint64_t number,
                                           uint64_t chunk_size);
  // Opens an existing chunk; throws StoreError(CORRUPTION) when its header is not valid for
  // `number` and `chunk_size`.
  static std::unique_ptr<ChunkFile> Open(const std::string& dir, uint64_t number,
                                         uint64_t chunk_size, bool writable);

  static std::string PathFor(const std::string& dir, uint64_t number);

  uint64_t number() const { return number_; }
  uint64_t size() const { return mapping_.size(); }
  uint8_t* data() const { return mapping_.data(); }
  const std::string& path() const { return path_; }
  bool sealed() const { return sealed_; }
  const ChunkFooter& footer() const { return footer_; }

  // Writes the footer and makes the whole chunk durable.
  void Seal(const ChunkFooter& footer);
  // msync of [from, to).
  void Sync(uint64_t from, uint64_t to) const { mapping_.Sync(from, to); }
  // Zeroes [from, to) (clamped to the data region) and syncs: recovery's cut of a torn tail. Bytes
  // beyond `to` may stay stale; the frame generations keep them from ever reading as data.
  void ZeroRange(uint64_t from, uint64_t to);

 private:
  struct Token {};

 public:
  ChunkFile(Token, std::string path, uint64_t number, FileDescriptor fd, Mapping mapping);

 private:
  std::string path_;
  uint64_t number_;
  FileDescriptor fd_;
  Mapping mapping_;
  bool sealed_ = false;
  ChunkFooter footer_;
};

}  // namespace annals
