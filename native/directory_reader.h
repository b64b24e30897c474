// Reads one stream directory (format in directory_format.h) through a read-only mapping. Immutable
// (its only state is one atomic flag per page), so it may be read from any thread. Every page is
// CRC-checked the first time it is touched; every length, offset and page number read from the
// file is checked against the page or file before use, and ids are checked to ascend as they are
// read: a damaged or crafted file is StoreError(CORRUPTION) naming the file and the page's offset,
// never a read outside the mapping nor an entry out of order.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "directory_format.h"
#include "file_util.h"

namespace annals {

class DirectoryFile {
 public:
  // Opens and validates the header; throws StoreError(CORRUPTION) for a bad or truncated file.
  static std::shared_ptr<DirectoryFile> Open(const std::string& path);

  const DirectoryHeader& header() const { return header_; }
  const std::string& path() const { return path_; }

  // Appends to `out` up to `limit` entries in id order with id > *after (from the first when
  // `after` is null) that start with `prefix`.
  void List(const std::string* after, std::string_view prefix, uint32_t limit,
            std::vector<DirectoryEntry>* out) const;
  // The entry of `id`; false when there is none.
  bool Get(std::string_view id, DirectoryEntry* out) const;

  // An id or separator as stored: `length` bytes, the first InlineBytes(length) at `head`, the
  // rest on the overflow pages from `overflow`; `at` is where its record starts on its page.
  struct StoredKey {
    const uint8_t* at;
    const uint8_t* head;
    uint32_t length;
    uint32_t overflow;
  };
  // Page `n`, checked to be a page of `type` at `level` (and its CRC, once).
  const uint8_t* Page(uint32_t n, uint8_t type, uint32_t level) const;
  // Entries or separators on leaf or internal page `n` (at least one).
  uint32_t ItemCount(const uint8_t* page, uint32_t n) const;
  // Entry `i` of leaf `n` / separator `i` of internal page `n`, bounds-checked.
  StoredKey EntryAt(const uint8_t* page, uint32_t n, uint32_t count, uint32_t i) const;
  StoredKey SeparatorAt(const uint8_t* page, uint32_t n, uint32_t count, uint32_t i) const;
  // The values of an entry from EntryAt (first <= last checked).
  DirectoryValues ValuesOf(const StoredKey& entry, uint32_t n) const;
  // Three-way comparison of a stored key with `target`, by bytes.
  int Compare(const StoredKey& key, std::string_view target) const;
  void ReadKey(const StoredKey& key, std::string* out) const;
  // The leaf to search for `target`: its entries before it are <= target, those after > target.
  uint32_t FindLeaf(std::string_view target) const;
  // First entry of leaf `n` not below `target` (above it when `strict`); `count` when none.
  uint32_t LowerBound(const uint8_t* page, uint32_t n, uint32_t count, std::string_view target,
                      bool strict) const;
  [[noreturn]] void Damaged(uint32_t page, const std::string& what) const;

  struct Token {};
  DirectoryFile(Token, std::string path, Mapping mapping, DirectoryHeader header);

 private:
  StoredKey KeyAt(const uint8_t* page, uint32_t n, uint32_t count, uint32_t i, uint32_t fixed,
                  uint32_t length_at) const;
  // Overflow page `n`, holding `bytes` bytes.
  const uint8_t* OverflowChunk(uint32_t n, uint32_t bytes) const;

  std::string path_;
  Mapping mapping_;
  DirectoryHeader header_;
  // One flag per page: its CRC was checked once and need not be again (the file is immutable).
  std::unique_ptr<std::atomic<uint8_t>[]> verified_;
};

// Walks a directory's entries in order along the leaf chain, checking that ids ascend: how List
// reads, and the input side of a merge (which also checks the walk met entry_count entries). The
// file must outlive the cursor.
class DirectoryCursor {
 public:
  explicit DirectoryCursor(const DirectoryFile& file) : file_(file) {}
  // Moves to just before the first entry >= bound (> bound when `strict`).
  void Seek(std::string_view bound, bool strict);
  // The next entry; false past the last.
  bool Next(DirectoryEntry* out);

 private:
  void Load(uint32_t leaf);

  const DirectoryFile& file_;
  uint32_t leaf_ = 0;
  const uint8_t* page_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t count_ = 0;
  uint32_t leaves_ = 0;
  uint64_t entries_ = 0;
  bool started_ = false;
  bool from_start_ = true;
  // The last id returned, or the seek's bound (inclusive when `floor_inclusive_`).
  std::string floor_;
  bool has_floor_ = false;
  bool floor_inclusive_ = false;
};

}  // namespace annals
