// One data chunk file (format in chunk_format.h): written at offsets (pwrite), read through a
// read-only shared mapping of the whole file.
//
// Why not store through the mapping: every first store to a page of a fresh (sparse) chunk takes
// a page fault that allocates and zeroes the page, which made appends through the mapping several
// times slower than one pwrite per batch into the same page cache. Reads keep the mapping: no
// syscall and no copy until the caller's own. Reads through it stay below the data's end: past it
// the file may be a hole, and a read fault on a hole of a full tmpfs is a SIGBUS.
//
// Created whole or not at all: the header is written to a temporary file sized (sparse) to the
// chunk size, synced, renamed into place and the directory synced. Written until sealed; a sealed
// chunk never changes again.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "chunk_format.h"
#include "file_util.h"

namespace annals {

class ChunkFile {
 public:
  // Creates chunk `number` in `dir` with the store identity in its header, open and mapped;
  // throws StoreError.
  static std::unique_ptr<ChunkFile> Create(const std::string& dir, uint64_t number,
                                           uint64_t chunk_size, uint32_t identity);
  // Opens an existing chunk, reading its header and footer; throws StoreError(CORRUPTION) when the
  // header is not valid for `number` and `chunk_size`. The tail chunk (`tail`) stays open for
  // writing and mapped; any other is neither until it is read (Map), so a store with thousands of
  // chunks holds neither thousands of descriptors nor mappings.
  static std::unique_ptr<ChunkFile> Open(const std::string& dir, uint64_t number,
                                         uint64_t chunk_size, bool tail, bool writable);

  static std::string PathFor(const std::string& dir, uint64_t number);

  uint64_t number() const { return number_; }
  uint64_t size() const { return size_; }
  bool mapped() const { return mapping_.data() != nullptr; }
  // The chunk image; only while mapped.
  const uint8_t* data() const { return mapping_.data(); }
  const std::string& path() const { return path_; }
  // "chunk <path> at offset <offset>", for error messages.
  std::string Where(uint64_t offset) const {
    return "chunk " + path_ + " at offset " + std::to_string(offset);
  }
  bool sealed() const { return sealed_; }
  // Forgets a footer recovery found unbacked by the data (SealHolds): the chunk is the tail.
  void Unseal() {
    sealed_ = false;
    footer_ = ChunkFooter{};
  }
  // The store identity in the header; 0 for a header of version 1 or 2.
  uint32_t identity() const { return identity_; }
  const ChunkFooter& footer() const { return footer_; }
  // The open descriptor of the tail chunk (read-only in a read-only log; a flush job keeps its own
  // reference); null for any other.
  std::shared_ptr<FileDescriptor> descriptor() const { return fd_; }

  // Maps the file read-only (opening it for as long as that takes); Unmap releases the mapping.
  void Map();
  void Unmap();

  // Writes the footer, makes the whole chunk durable and closes the descriptor: sealed chunks are
  // only ever read.
  void Seal(const ChunkFooter& footer);
  // Copies `n` bytes to `offset` (pwrite into the page cache).
  void WriteAt(uint64_t offset, const uint8_t* data, size_t n) const {
    WriteAllAt(*fd_, data, n, offset);
  }
  // Writes zeroes over [from, to) (clamped to the data region) without syncing, so that the blocks
  // there are allocated before appends land on them; false (and nothing promised about the range)
  // when the write failed, e.g. on a full disk: the caller's own append reports that.
  bool FillZeroes(uint64_t from, uint64_t to) const noexcept;
  // Everything written so far reaches the disk (SyncData).
  void Sync() const;
  // Makes every byte from `offset` to the end of the file read as zero (ZeroFileFrom) and syncs:
  // recovery's cut of a torn tail and the undoing of a failed write.
  void CutAt(uint64_t offset);

  struct Token {};
  ChunkFile(Token, std::string path, uint64_t number, uint64_t size);

 private:
  std::string path_;
  uint64_t number_;
  uint64_t size_;
  std::shared_ptr<FileDescriptor> fd_;  // null unless the chunk is the tail
  Mapping mapping_;
  bool sealed_ = false;
  ChunkFooter footer_;
  uint32_t identity_ = 0;
};

}  // namespace annals
