// Writes one stream directory file (format in directory_format.h) in a single pass from entries in
// strictly ascending id order: the common back end of a build and a merge. Pages stream to
// `<name>.tmp` through a 1 MiB buffer (leaves, the overflow pages of long ids just before the leaf
// that holds them, and internal pages as each fills: one open page per tree level, so memory does
// not grow with the file), the header last; Finish syncs, renames into place and syncs the
// directory, so a directory file is complete or absent. A writer destroyed before Finish removes
// its temporary file.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "directory_format.h"
#include "file_util.h"
#include "page_allocator.h"

namespace annals {

struct DirectorySpec {
  uint64_t from_position = 0;
  uint64_t to_position = 0;
};

class DirectoryWriter {
 public:
  DirectoryWriter(const std::string& dir, const std::string& name, const DirectorySpec& spec);
  ~DirectoryWriter();
  DirectoryWriter(const DirectoryWriter&) = delete;
  DirectoryWriter& operator=(const DirectoryWriter&) = delete;

  // Adds the next entry. StoreError(INVALID_ARGUMENT) for an id that does not follow the last one
  // (a duplicate or out of order), longer than kDirectoryMaxIdBytes, or values out of range.
  void Add(std::string_view id, const DirectoryValues& values);
  // Writes what is open, the header, and publishes the file.
  void Finish();

 private:
  // The separator of a page: the first kDirectoryInlineIdBytes bytes of it, and the overflow
  // pages of the id it is a prefix of.
  struct Separator {
    std::string head;
    uint32_t length = 0;
    uint32_t overflow = 0;
  };
  // The page being filled at one level (0: leaves).
  struct OpenPage {
    std::array<uint8_t, kDirectoryPageSize> bytes{};
    uint32_t count = 0;
    uint32_t used = kDirectoryPageHeaderSize;
    uint32_t written = 0;  // pages of this level already written
    Separator first;
  };

  static bool Fits(const OpenPage& page, uint32_t bytes);
  uint32_t WriteOverflow(std::string_view tail);
  void FlushLeaf();
  void AddSeparator(size_t level, const Separator& separator, uint32_t child);
  void FlushInternal(size_t level);
  // Seals `page` (type, level, count) and writes it; returns its page number.
  uint32_t Seal(OpenPage* page, uint8_t type, uint32_t level);
  uint32_t WritePage(const uint8_t* page);
  void RewritePage(uint32_t n, const uint8_t* page);
  void FlushBuffer();

  std::string dir_;
  std::string path_;
  std::string tmp_;
  FileDescriptor fd_;
  bool published_ = false;
  DirectoryHeader header_;
  std::vector<std::unique_ptr<OpenPage>> levels_;
  std::string prev_id_;
  bool has_prev_ = false;
  // The last leaf written, kept to set its `next` once the following leaf has a page number.
  std::array<uint8_t, kDirectoryPageSize> prev_leaf_{};
  uint32_t prev_leaf_page_ = 0;
  // Pages [buffer_first_, next_page_) not yet written to the file.
  PageVector<uint8_t> buffer_;
  uint32_t buffer_first_ = 1;
  uint32_t next_page_ = 1;  // page 0, the header, is written last
};

}  // namespace annals
