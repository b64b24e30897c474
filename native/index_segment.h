// Reads one index segment (format in index_format.h) through a read-only mapping. Immutable (its
// only state is one atomic flag per page), so lookups may run on any thread; every page is
// CRC-checked the first time it is touched and a mismatch is StoreError(CORRUPTION) naming the
// file and page. A leaf search starts from a guess of where the hash key sits (GuessInLeaf), then
// 15 pivots read at once (NarrowByPivots), not a binary search's chain of dependent misses.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "file_util.h"
#include "index_format.h"

namespace annals {

class IndexSegment {
 public:
  // Opens and validates the header; throws StoreError(CORRUPTION) for a bad or truncated file.
  static std::shared_ptr<IndexSegment> Open(const std::string& path);

  const SegmentHeader& header() const { return header_; }
  const std::string& path() const { return path_; }

  bool MayContain(uint64_t key) const;
  // The Bloom filter's bits, CRC-checked (StoreError(CORRUPTION) otherwise).
  std::pair<const uint8_t*, uint32_t> BloomBits() const;
  // The entry with `key` and the largest seq; false when there is none.
  bool FindLast(uint64_t key, SegmentEntry* out) const;
  // Entries with `key` and from_seq <= seq <= to_seq, in seq order.
  void Range(uint64_t key, uint32_t from_seq, uint32_t to_seq,
             std::vector<SegmentEntry>* out) const;
  // Page `n` (a leaf or internal page), CRC-verified.
  const uint8_t* Page(uint32_t n) const;

  struct Token {};
  IndexSegment(Token, std::string path, FileDescriptor fd, Mapping mapping, SegmentHeader header);

 private:
  // The keys a leaf's entries lie within, from its parent's separators: its first entry's key and
  // the next leaf's (2^48 past the last leaf).
  struct KeySpan {
    uint64_t first;
    uint64_t next;
  };
  // Leaf page holding the last entry <= (key, seq), or < with `strict`; 0 when there is none.
  // `span`, when given: that leaf's KeySpan.
  uint32_t FindLeaf(uint64_t key, uint32_t seq, bool strict, KeySpan* span = nullptr) const;

  // Keys are hashes, spread evenly: a key's index in its leaf is about its share of the leaf's
  // span times the leaf's capacity, within kGuessReach of it for most keys (the spread of that
  // index is about the square root of the capacity). GuessInLeaf starts the loads of that stretch
  // of leaf page `leaf` and returns the guess (kNoGuess when the span cannot tell); NarrowByGuess
  // then narrows [*lo, *hi) to the stretch, or to the side of it that holds the first entry not
  // below (key, seq). One miss time for a leaf where pivots took two or three in turn.
  static constexpr uint32_t kNoGuess = UINT32_MAX;
  static constexpr uint32_t kGuessReach = 24;
  uint32_t GuessInLeaf(uint32_t leaf, const KeySpan& span, uint64_t key) const;
  // The first entry of the leaf not below (key, seq) (count when none): NarrowByGuess, then
  // NarrowByPivots, then a binary search.
  uint32_t LowerBoundInLeaf(const uint8_t* page, uint32_t count, uint64_t key, uint32_t seq,
                            uint32_t guess) const;
  void NarrowByGuess(const uint8_t* page, uint64_t key, uint32_t seq, uint32_t guess, uint32_t* lo,
                     uint32_t* hi) const;

  // Entry layout of this segment's kind.
  uint32_t EntryAt(uint32_t i) const { return 8 + i * entry_size_; }
  // Narrows [*lo, *hi) of a leaf to the stretch between two pivots that holds the first entry
  // not below (key, seq).
  void NarrowByPivots(const uint8_t* page, uint64_t key, uint32_t seq, uint32_t* lo,
                      uint32_t* hi) const;

  std::string path_;
  uint32_t entry_size_;
  uint32_t leaf_capacity_;
  FileDescriptor fd_;
  Mapping mapping_;
  SegmentHeader header_;
  mutable std::atomic<int> bloom_state_{0};  // 0 unchecked, 1 valid, 2 corrupt
  // One flag per page: its CRC was checked once and need not be again (the file is immutable).
  std::unique_ptr<std::atomic<uint8_t>[]> verified_;
};

// Walks every entry of a segment in order, verifying each leaf once: the input side of a merge.
class SegmentCursor {
 public:
  explicit SegmentCursor(std::shared_ptr<IndexSegment> segment) : segment_(std::move(segment)) {}
  bool Next(SegmentEntry* out);

 private:
  std::shared_ptr<IndexSegment> segment_;
  uint32_t leaf_ = 0;
  const uint8_t* page_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t count_ = 0;
};

}  // namespace annals
