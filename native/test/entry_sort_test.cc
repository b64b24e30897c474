#include "../entry_sort.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "test_framework.h"

using namespace annals;

namespace {

bool SameOrder(const std::vector<SegmentEntry>& original) {
  std::vector<SegmentEntry> expected = original;
  EntryVector input(original.begin(), original.end());
  std::sort(expected.begin(), expected.end(),
            [](const SegmentEntry& a, const SegmentEntry& b) { return EntryLess(a, b); });
  SortEntries(&input);
  for (size_t i = 0; i < input.size(); ++i) {
    if (input[i].key != expected[i].key || input[i].seq != expected[i].seq ||
        input[i].position != expected[i].position) {
      return false;
    }
  }
  return input.size() == expected.size();
}

}  // namespace

TEST(SortEntriesMatchesEntryLessOnRandomAndCollidingKeys) {
  std::mt19937_64 rng(42);
  for (size_t n : {0u, 1u, 2u, 17u, 1000u, 70000u}) {
    std::vector<SegmentEntry> uniform(n);
    for (SegmentEntry& e : uniform) e = {rng(), static_cast<uint32_t>(rng() % 5), rng() % 1000};
    CHECK(SameOrder(uniform));
    // Few distinct keys (long runs, many equal (key, seq) pairs) and keys differing only in
    // their high digits, where a digit pass is skipped or decides everything.
    std::vector<SegmentEntry> colliding(n);
    for (SegmentEntry& e : colliding) {
      e = {(rng() % 7) << 48, static_cast<uint32_t>(rng() % 3), rng() % 50};
    }
    CHECK(SameOrder(colliding));
  }
  // Runs handed over in order by a memtable, with two ids sharing one key interleaved.
  std::vector<SegmentEntry> runs;
  for (uint32_t v = 1; v <= 100; ++v) runs.push_back({7, v, 1000u + v});
  for (uint32_t v = 1; v <= 50; ++v) runs.push_back({7, v, 5000u + v});
  for (uint32_t v = 1; v <= 30; ++v) runs.push_back({3, v, 9000u + v});
  CHECK(SameOrder(runs));
}
