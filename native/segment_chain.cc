#include "segment_chain.h"

#include <algorithm>
#include <utility>

#include "env.h"

namespace annals {

SegmentChain::SegmentChain(std::vector<std::shared_ptr<IndexSegment>> segments)
    : segments_(std::move(segments)) {
  filters_.reserve(segments_.size());
  for (const auto& s : segments_) {
    const auto bits = s->BloomBits();
    filters_.emplace_back(bits.first, bits.second);
  }
}

int64_t SegmentChain::Newest(uint64_t key, uint32_t from, uint32_t to, size_t count,
                             std::vector<SegmentEntry>* out) const {
  out->clear();
  count = std::min(count, segments_.size());
  // Loads first, tests after: the misses of all the filters overlap.
  for (size_t i = 0; i < count; ++i) filters_[i].Prefetch(key);
  for (size_t i = count; i-- > 0;) {
    if (!filters_[i].MayContain(key)) continue;
    segments_[i]->Range(key, from, to, out);
    if (!out->empty()) return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace annals
