// On-disk layout of stream directory files (directory format version 1); lib/format/
// directory-layout.ts is the TypeScript twin and docs/ARCHITECTURE.md the prose.
//
// A directory `index/<name>` lists every stream that has events in the log range [from, to), in
// byte order of the stream id's UTF-8 (which is code point order): per stream its first and last
// version and position in that range. Unlike index segments it is keyed by the id itself, so it
// pages through streams in id order, each page costing O(height) page reads plus the entries read.
//
// Pages of 4096 bytes. Every page but the header starts with a 12-byte page header:
//   u32 CRC-32C of [4, 4096) | u8 type | u8 level | u16 count | u32 next
// Types: 1 leaf (level 0; next: the next leaf's page, 0 after the last), 2 internal (level >= 1,
// its children at level - 1; next 0), 3 overflow (level 0, next 0; count = payload bytes).
//   page 0      header (below), CRC-32C of bytes [0, 124) at 124
//   leaves      count entries packed from offset 12 in id order, and a slot array at the end of
//               the page: slot i (u16, the offset of entry i) at 4096 - 2 * (i + 1). Entry:
//               u16 id length | u32 first version | u32 last version | u48 first position |
//               u48 last position | the id's first min(length, 1024) bytes | u32 overflow page
//               (only when length > 1024)
//   internal    count separators in the same slotted layout: u32 child page | u16 length | the
//               separator's first min(length, 1024) bytes | u32 overflow page (when length > 1024)
//   overflow    an id's bytes past its first 1024: 4084 bytes a page (the last page holds the
//               rest), in consecutive pages, written just before the leaf holding the entry
//
// Ids: 0 to 65535 bytes of UTF-8 (the store allows up to 1024 by default, so a default store never
// overflows). A leaf or internal page always has room for three of the largest entries (1052 bytes
// with their slot), so the tree's fan-out is at least 3.
// Separators: the separator of a child is the shortest prefix of its first id that is greater than
// the last id before the child (empty for the first child of the tree), and an internal page's
// separator is its first child's. A separator longer than 1024 bytes continues on the overflow
// pages of the id it is a prefix of. Search: the last child whose separator is <= the target.
//
// Invariants: ids strictly ascending across the leaf chain; every separator s of a child holds
// last-id-before < s <= first-id-of-child; leaves and pages are written in one pass (overflow and
// internal pages interleave with leaves, so leaves are found by the tree and `next`, which always
// points forward); all unused bytes are zero, so both engines write identical files for the same
// input. Immutable once renamed into place.
#pragma once

#include <cstdint>
#include <string>

#include "chunk_format.h"

namespace annals {

constexpr char kDirectoryMagic[8] = {'A', 'N', 'N', 'A', 'L', 'S', 'D', 'R'};
constexpr uint32_t kDirectoryPageSize = 4096;
// Directories are derived data: a file of another version reads as damaged and is rebuilt.
constexpr uint8_t kDirectoryFormatVersion = 1;
constexpr uint32_t kDirectoryPageHeaderSize = 12;
constexpr uint32_t kDirectoryInlineIdBytes = 1024;
constexpr uint32_t kDirectoryMaxIdBytes = 65535;
constexpr uint32_t kDirectoryOverflowPayload = kDirectoryPageSize - kDirectoryPageHeaderSize;
constexpr uint32_t kDirectoryEntryFixedSize = 22;
constexpr uint32_t kDirectorySeparatorFixedSize = 6;
constexpr uint64_t kDirectoryMaxPosition = (uint64_t{1} << 48) - 1;
// Fan-out >= 3: 24 levels address more pages than a u32 page number can name.
constexpr uint32_t kDirectoryMaxHeight = 24;
// Most entries one page() answers; ids of 64 KiB make that 640 MB, ids of 1 KiB 10 MB.
constexpr uint32_t kDirectoryMaxPageLimit = 10000;
constexpr uint8_t kDirectoryPageLeaf = 1;
constexpr uint8_t kDirectoryPageInternal = 2;
constexpr uint8_t kDirectoryPageOverflow = 3;

// Bytes of an id (or separator) of `length` kept on its leaf (or internal) page.
inline uint32_t InlineBytes(uint32_t length) {
  return length < kDirectoryInlineIdBytes ? length : kDirectoryInlineIdBytes;
}
inline bool Overflows(uint32_t length) { return length > kDirectoryInlineIdBytes; }
// Overflow pages an id of `length` takes.
inline uint32_t OverflowPages(uint32_t length) {
  if (!Overflows(length)) return 0;
  return (length - kDirectoryInlineIdBytes + kDirectoryOverflowPayload - 1) /
         kDirectoryOverflowPayload;
}
// Bytes an entry or separator takes on its page, without its slot.
inline uint32_t EntryBytes(uint32_t id_length) {
  return kDirectoryEntryFixedSize + InlineBytes(id_length) + (Overflows(id_length) ? 4 : 0);
}
inline uint32_t SeparatorBytes(uint32_t length) {
  return kDirectorySeparatorFixedSize + InlineBytes(length) + (Overflows(length) ? 4 : 0);
}

// One stream's entry: its first and last version and position within the file's log range.
struct DirectoryValues {
  uint32_t first_version = 0;
  uint32_t last_version = 0;
  uint64_t first_position = 0;
  uint64_t last_position = 0;
};

struct DirectoryEntry {
  std::string id;
  DirectoryValues values;
};

struct DirectoryHeader {
  uint64_t from_position = 0;
  uint64_t to_position = 0;
  uint64_t entry_count = 0;
  uint64_t starts = 0;      // entries whose first version is 1: streams that begin in the range
  uint32_t page_count = 0;  // every page, the header included
  uint32_t leaf_count = 0;
  uint32_t internal_count = 0;
  uint32_t overflow_count = 0;
  uint32_t root_page = 0;   // 0 when empty
  uint32_t height = 0;      // 0 when empty, 1 when the root is a leaf
  uint32_t first_leaf = 0;  // 0 when empty
  uint32_t longest_id = 0;  // bytes

  void EncodeTo(uint8_t* page) const;  // writes kDirectoryPageSize bytes
  // False for a bad magic, CRC or version, or fields that contradict each other.
  static bool DecodeFrom(const uint8_t* page, DirectoryHeader* header);
};

// The page header's fields.
inline uint32_t PageCrc(const uint8_t* p) { return LoadU32(p); }
inline uint8_t PageType(const uint8_t* p) { return p[4]; }
inline uint8_t PageLevel(const uint8_t* p) { return p[5]; }
inline uint32_t PageCount(const uint8_t* p) { return static_cast<uint32_t>(p[6]) | p[7] << 8; }
inline uint32_t PageNext(const uint8_t* p) { return LoadU32(p + 8); }
inline uint32_t LoadU16(const uint8_t* p) { return static_cast<uint32_t>(p[0]) | p[1] << 8; }
inline void StoreU16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
// Offset of slot i's u16 on a page.
inline uint32_t SlotAt(uint32_t i) { return kDirectoryPageSize - 2 * (i + 1); }
// Writes the CRC of [4, 4096) at 0.
void SealDirectoryPage(uint8_t* page);
bool DirectoryPageCrcValid(const uint8_t* page);
// Whether [data, data + n) is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF): ids are UTF-8, and bytes that are not would not come back as the same string.
bool IsValidUtf8(const uint8_t* data, size_t n);

}  // namespace annals
