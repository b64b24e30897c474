// On-disk layout of index segment files (segment format version 3); lib/format/index-layout.ts is
// the TypeScript twin and docs/ARCHITECTURE.md the prose.
//
// A segment `index/<kind>-<from>-<to>.seg` maps keys to log positions for the records in the log
// range [from, to). Keys are 48-bit hashes of the stream or command id (lib/format/key-hash.ts).
// Stream segments: seq = version. Command segments store no seq (it reads as 0): a command's
// events are found by key and ordered by position, which is their order in the command. Category
// and type segments (the read models): the key is the hash of the category or type name, seq the
// position's 64 KiB bucket, so (key, seq, position) order is (key, position) order. Entries
// are sorted by (key, seq, position); a hit is a candidate only: readers check the record itself,
// so a hash collision can never return the wrong event.
//
// Pages of 4096 bytes:
//   page 0                   header (below), CRC-32C of bytes [0, 124) at 124
//   pages 1 .. leaf_count    leaves: u32 count | u32 CRC of [8, 4096) | count x Entry (stream:
//                            16 bytes, u48 key, u32 seq, u48 position; command: 12 bytes, u48
//                            key, u48 position. Version 2 had 18-byte entries of a u64 key, u32
//                            seq, u48 position in both kinds; version 1 padded them to 24)
//   then internal pages      bottom-up, root last: u32 count | u32 CRC | u32 level | u32 0 |
//                            count x Separator (16 bytes: u64 key, u32 seq, u32 child page)
//   then the Bloom filter    bloom_bytes bytes (CRC in the header), probed with k double hashes
//
// Invariants: a separator is the first entry of its child; the leaves hold the entries in order and
// are contiguous pages, so a range scan walks them forward. Immutable once renamed into place.
#pragma once

#include <cstdint>

#include "chunk_format.h"

namespace annals {

constexpr char kSegmentMagic[8] = {'A', 'N', 'N', 'A', 'L', 'S', 'I', 'X'};
constexpr uint32_t kSegmentPageSize = 4096;
// Segments are derived data: a file of another version reads as damaged and is rebuilt from the
// log.
constexpr uint8_t kSegmentFormatVersion = 3;
constexpr uint64_t kMaxSegmentPosition = (uint64_t{1} << 48) - 1;
constexpr uint64_t kMaxSegmentKey = (uint64_t{1} << 48) - 1;
constexpr uint32_t kSegmentSeparatorSize = 16;
constexpr uint32_t kInternalCapacity = (kSegmentPageSize - 16) / kSegmentSeparatorSize;  // 255
constexpr uint8_t kSegmentKindStream = 1;
constexpr uint8_t kSegmentKindCommand = 2;
// The read models' kinds: a stream's category and an event's type. Stream layout, with seq the
// position's 64 KiB bucket (position >> 16), so the tree finds a position inside a key's entries.
constexpr uint8_t kSegmentKindCategory = 3;
constexpr uint8_t kSegmentKindType = 4;
inline bool KnownSegmentKind(uint8_t kind) {
  return kind >= kSegmentKindStream && kind <= kSegmentKindType;
}
inline uint32_t EntrySize(uint8_t kind) { return kind == kSegmentKindCommand ? 12 : 16; }
// Entries per leaf: 255 in stream segments, 340 in command segments.
inline uint32_t LeafCapacity(uint8_t kind) { return (kSegmentPageSize - 8) / EntrySize(kind); }
constexpr uint32_t kBloomBitsPerKey = 10;
constexpr uint32_t kBloomHashes = 7;

struct SegmentEntry {
  uint64_t key;
  uint32_t seq;
  uint64_t position;
};

// Order of entries in a segment. Two keys can collide (distinct ids, one hash), so equal (key, seq)
// pairs are legal; the position breaks the tie so builds are deterministic.
inline bool EntryLess(const SegmentEntry& a, const SegmentEntry& b) {
  if (a.key != b.key) return a.key < b.key;
  if (a.seq != b.seq) return a.seq < b.seq;
  return a.position < b.position;
}

// The entry at `p` of a leaf of a segment of `kind`, and its encoding (key and position must be
// below 2^48; the caller checks).
inline SegmentEntry DecodeEntry(const uint8_t* p, uint8_t kind) {
  if (kind == kSegmentKindCommand) return SegmentEntry{LoadU48(p), 0, LoadU48(p + 6)};
  return SegmentEntry{LoadU48(p), LoadU32(p + 6), LoadU48(p + 10)};
}
inline void EncodeEntry(uint8_t* p, uint8_t kind, const SegmentEntry& e) {
  StoreU48(p, e.key);
  if (kind == kSegmentKindCommand) {
    StoreU48(p + 6, e.position);
  } else {
    StoreU32(p + 6, e.seq);
    StoreU48(p + 10, e.position);
  }
}

struct SegmentHeader {
  uint8_t kind = 0;
  uint64_t from_position = 0;
  uint64_t to_position = 0;
  uint64_t entry_count = 0;
  uint32_t leaf_count = 0;
  uint32_t root_page = 0;
  uint32_t height = 0;  // 0 for an empty segment, 1 when the root is a leaf
  uint32_t bloom_page = 0;
  uint32_t bloom_bytes = 0;
  uint32_t bloom_hashes = 0;
  uint32_t bloom_crc = 0;
  uint32_t distinct_keys = 0;
  uint32_t page_count = 0;
  // Entries that open a key: seq 1 in stream segments (a stream's first event), a command's first
  // event in command segments (counted at the build, summed at a merge). Summed over segments they
  // count streams and commands.
  uint64_t starts = 0;

  void EncodeTo(uint8_t* page) const;  // writes kSegmentPageSize bytes
  static bool DecodeFrom(const uint8_t* page, SegmentHeader* header);
};

}  // namespace annals
