// On-disk layout of index segment files (segment format version 2); lib/format/index-layout.ts is
// the TypeScript twin and docs/ARCHITECTURE.md the prose.
//
// A segment `index/<kind>-<from>-<to>.seg` maps keys to log positions for the records in the log
// range [from, to). Stream segments: key = 64-bit hash of the stream id, seq = version. Command
// segments: key = hash of the command id, seq = the event's ordinal within the command. Entries are
// sorted by (key, seq, position); a hit is a candidate only: readers check the record itself, so a
// hash collision can never return the wrong event.
//
// Pages of 4096 bytes:
//   page 0                   header (below), CRC-32C of bytes [0, 124) at 124
//   pages 1 .. leaf_count    leaves: u32 count | u32 CRC of [8, 4096) | count x Entry (18 bytes:
//                            u64 key, u32 seq, u48 position; version 1 padded it to 24)
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
constexpr uint8_t kSegmentFormatVersion = 2;
constexpr uint32_t kSegmentEntrySize = 18;
constexpr uint64_t kMaxSegmentPosition = (uint64_t{1} << 48) - 1;
constexpr uint32_t kSegmentSeparatorSize = 16;
constexpr uint32_t kLeafCapacity = (kSegmentPageSize - 8) / kSegmentEntrySize;           // 227
constexpr uint32_t kInternalCapacity = (kSegmentPageSize - 16) / kSegmentSeparatorSize;  // 255
constexpr uint8_t kSegmentKindStream = 1;
constexpr uint8_t kSegmentKindCommand = 2;
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
  // Entries that open a key: seq 1 in stream segments (a stream's first event), seq 0 in command
  // segments (a command's first event). Summed over segments they count streams and commands.
  uint64_t starts = 0;

  void EncodeTo(uint8_t* page) const;  // writes kSegmentPageSize bytes
  static bool DecodeFrom(const uint8_t* page, SegmentHeader* header);
};

}  // namespace annals
