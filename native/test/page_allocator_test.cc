#include "../page_allocator.h"

#include <cstdint>
#include <vector>

#include "test_framework.h"

using namespace annals;

// The allocator directly: sanitizer builds alias PageVector to a plain vector (page_allocator.h),
// so the mapped path is exercised here and by the addon's own builds.
TEST(PageAllocatorHoldsWhatAVectorPutsInItThroughGrowthAndMoves) {
  std::vector<uint64_t, PageAllocator<uint64_t>> v;
  for (uint64_t i = 0; i < 300000; ++i) v.push_back(i * 7);  // several regrowths, past 2 MB
  CHECK_EQ(v.size(), 300000u);
  bool same = true;
  for (uint64_t i = 0; i < v.size(); ++i) same = same && v[i] == i * 7;
  CHECK(same);
  std::vector<uint64_t, PageAllocator<uint64_t>> moved = std::move(v);
  CHECK_EQ(moved[299999], 299999u * 7);
  moved.resize(10);
  moved.shrink_to_fit();
  CHECK_EQ(moved.size(), 10u);
  std::vector<uint8_t, PageAllocator<uint8_t>> empty;
  empty.reserve(0);
  empty.resize(1);  // a one-byte allocation takes a page
  CHECK_EQ(empty[0], 0u);
  CHECK(PageAllocator<uint8_t>() == PageAllocator<uint64_t>());
}
