// The segments of one kind, oldest first, searched newest first in one step: the lookup of a key
// that is in no in-memory table (a command id outside the recent-command set) probes every
// segment's Bloom filter and descends one tree. Each probe and each descent is a chain of cache and
// TLB misses in a mapping; every filter's probe loads are issued before any is tested, so those
// misses may overlap instead of queueing one segment after another.
//
// Invariant: a chain answers as the segments' own lookups would, newest segment first: the first
// segment (from the newest of `count`) whose tree holds entries of the key in [from, to].
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "bloom_filter.h"
#include "index_segment.h"

namespace annals {

class SegmentChain {
 public:
  // Checks each segment's Bloom filter CRC (StoreError(CORRUPTION) for a bad one).
  explicit SegmentChain(std::vector<std::shared_ptr<IndexSegment>> segments);

  // Entries of `key` with from <= seq <= to in the newest of the `count` oldest segments that has
  // any, into `out` (cleared first); that segment's index, or -1 when none has any.
  int64_t Newest(uint64_t key, uint32_t from, uint32_t to, size_t count,
                 std::vector<SegmentEntry>* out) const;

 private:
  std::vector<std::shared_ptr<IndexSegment>> segments_;
  std::vector<BloomReader> filters_;
};

}  // namespace annals
