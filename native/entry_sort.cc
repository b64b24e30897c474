#include "entry_sort.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace annals {

namespace {

constexpr int kDigitBits = 16;
constexpr size_t kBuckets = size_t{1} << kDigitBits;

// Orders a run of entries with equal keys by (seq, position): insertion sort, linear when sorted.
void SortRun(SegmentEntry* first, SegmentEntry* last) {
  for (SegmentEntry* i = first + 1; i < last; ++i) {
    const SegmentEntry e = *i;
    SegmentEntry* j = i;
    while (j > first && EntryLess(e, *(j - 1))) {
      *j = *(j - 1);
      --j;
    }
    *j = e;
  }
}

}  // namespace

void SortEntries(EntryVector* entries) {
  const size_t n = entries->size();
  if (n < 2) return;
  EntryVector scratch(n);
  EntryVector* from = entries;
  EntryVector* to = &scratch;
  std::vector<size_t> offsets(kBuckets);
  for (int shift = 0; shift < 64; shift += kDigitBits) {
    std::fill(offsets.begin(), offsets.end(), 0);
    for (const SegmentEntry& e : *from) ++offsets[(e.key >> shift) & (kBuckets - 1)];
    if (offsets[((*from)[0].key >> shift) & (kBuckets - 1)] == n) continue;  // one digit: no move
    size_t sum = 0;
    for (size_t& o : offsets) {
      const size_t c = o;
      o = sum;
      sum += c;
    }
    for (const SegmentEntry& e : *from) (*to)[offsets[(e.key >> shift) & (kBuckets - 1)]++] = e;
    std::swap(from, to);
  }
  if (from != entries) entries->swap(scratch);
  SegmentEntry* data = entries->data();
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && data[j].key == data[i].key) ++j;
    if (j - i > 1) SortRun(data + i, data + j);
    i = j;
  }
}

}  // namespace annals
