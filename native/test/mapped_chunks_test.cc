#include "../mapped_chunks.h"

#include <cstdint>
#include <vector>

#include "test_framework.h"

using namespace annals;

TEST(MappedChunksLimitIsTheWindowInChunksWithinItsBounds) {
  constexpr uint64_t MiB = 1u << 20;
  CHECK_EQ(MappedChunks(256 * MiB).limit(), MappedChunks::kMappedWindowBytes / (256 * MiB));
  CHECK_EQ(MappedChunks(8 * MiB, 64 * MiB).limit(), 8u);
  CHECK_EQ(MappedChunks(1 * MiB, 40 * MiB).limit(), 40u);
  CHECK_EQ(MappedChunks(1 * MiB, uint64_t{1} << 40).limit(), MappedChunks::kMaxMappedChunks);
  CHECK_EQ(MappedChunks(uint64_t{1} << 40).limit(), MappedChunks::kMinMappedChunks);
  CHECK_EQ(MappedChunks(0).limit(), MappedChunks::kMaxMappedChunks);  // no division by zero
}

TEST(MappedChunksGiveUpTheLeastRecentlyReadFirst) {
  MappedChunks m(1u << 20, 8u << 20);  // 8 held at most
  CHECK(!m.Touch(3));
  for (uint64_t n = 0; n < 8; ++n) m.Add(n * 10);
  CHECK_EQ(m.TakeExcess(), MappedChunks::kNone);
  CHECK(m.Touch(0));   // read again: now the most recent
  CHECK(m.Touch(10));  // likewise
  m.Add(100);
  CHECK_EQ(m.TakeExcess(), 20u);  // the oldest read of those left
  CHECK_EQ(m.TakeExcess(), MappedChunks::kNone);
  CHECK(!m.Touch(20));
  CHECK_EQ(m.size(), 8u);
  m.Add(200);
  m.Add(300);
  CHECK_EQ(m.TakeExcess(), 30u);
  CHECK_EQ(m.TakeExcess(), 40u);
  CHECK_EQ(m.TakeExcess(), MappedChunks::kNone);
  // Adding one already held counts it once.
  m.Add(200);
  CHECK_EQ(m.size(), 8u);
  CHECK(m.Remove(0));
  CHECK(!m.Remove(0));
  CHECK(!m.Remove(12345));
  CHECK(!m.Touch(0));
  CHECK_EQ(m.size(), 7u);
  std::vector<uint64_t> left;
  for (uint64_t n : {10u, 50u, 60u, 70u, 100u, 200u, 300u}) left.push_back(m.Touch(n) ? n : 0);
  CHECK((left == std::vector<uint64_t>{10, 50, 60, 70, 100, 200, 300}));
  m.Clear();
  CHECK_EQ(m.size(), 0u);
  CHECK(!m.Touch(10));
}
