#include "../record_scanner.h"

#include <random>
#include <vector>

#include "../chunk_format.h"
#include "frame_builder.h"
#include "test_framework.h"

using namespace annals;
using annals::test::AddFrame;

namespace {

// A chunk image: header space, then `frames`, then zeroes up to `size`.
std::vector<uint8_t> Image(const std::vector<uint8_t>& frames, size_t size = 8192) {
  std::vector<uint8_t> img(kChunkHeaderSize, 0);
  img.insert(img.end(), frames.begin(), frames.end());
  img.resize(size, 0);
  return img;
}

}  // namespace

TEST(ScanStopsCleanlyAtZeroedSpace) {
  std::vector<uint8_t> f;
  AddFrame(&f, 100, false);
  AddFrame(&f, 50, true);
  AddFrame(&f, 10, true);
  auto img = Image(f);
  ScanResult r = ScanFrames(img.data(), kChunkHeaderSize, img.size(), 0);
  CHECK(r.stop == ScanStop::kZero);
  CHECK_EQ(r.committed_end, kChunkHeaderSize + f.size());
  CHECK_EQ(r.stop_offset, r.committed_end);
  CHECK_EQ(r.committed_records, 3u);
  CHECK_EQ(r.last_generation, 1u);
}

TEST(ScanDropsAnAppendWithoutCommit) {
  std::vector<uint8_t> f;
  AddFrame(&f, 100, true);
  const size_t committed = f.size();
  AddFrame(&f, 100, false);
  auto img = Image(f);
  ScanResult r = ScanFrames(img.data(), kChunkHeaderSize, img.size(), 0);
  CHECK_EQ(r.committed_end, kChunkHeaderSize + committed);
  CHECK_EQ(r.committed_records, 1u);
  CHECK(r.stop_offset > r.committed_end);
}

TEST(ScanStopsAtBadChecksumLengthKindAndStaleGeneration) {
  for (int damage = 0; damage < 4; ++damage) {
    std::vector<uint8_t> f;
    AddFrame(&f, 64, true, 5);
    const size_t second = f.size();
    AddFrame(&f, 64, true, damage == 3 ? 4 : 5);
    if (damage == 0) f[second + 30] ^= 1;
    if (damage == 1) StoreU32(f.data() + second, 1u << 30);
    if (damage == 2) {
      f[second + 8] = 9;
      StoreU32(f.data() + second + 4, Crc32c(f.data() + second + 8, 64 + kFrameHeaderSize - 8));
    }
    auto img = Image(f);
    ScanResult r = ScanFrames(img.data(), kChunkHeaderSize, img.size(), 0);
    const ScanStop expected[] = {ScanStop::kBadChecksum, ScanStop::kBadLength, ScanStop::kBadKind,
                                 ScanStop::kStaleGeneration};
    CHECK(r.stop == expected[damage]);
    CHECK_EQ(r.committed_end, kChunkHeaderSize + second);
  }
}

TEST(ScanAcceptsAFrameEndingExactlyAtTheRegionEnd) {
  std::vector<uint8_t> f;
  AddFrame(&f, 200, true);
  auto img = Image(f, kChunkHeaderSize + f.size());
  ScanResult r = ScanFrames(img.data(), kChunkHeaderSize, img.size(), 0);
  CHECK(r.stop == ScanStop::kEndOfRegion);
  CHECK_EQ(r.committed_end, img.size());
}

TEST(ScanNeverReadsOutsideTheRegionOnRandomBytes) {
  // Run under AddressSanitizer: any out-of-bounds read fails the build's test run.
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> f;
    AddFrame(&f, rng() % 300, rng() % 2 == 0);
    AddFrame(&f, rng() % 300, true);
    const size_t region = kChunkHeaderSize + rng() % (f.size() + 64);
    std::vector<uint8_t> img(kChunkHeaderSize, 0);
    img.insert(img.end(), f.begin(), f.end());
    img.resize(region);
    for (int flips = rng() % 4; flips > 0; --flips)
      img[kChunkHeaderSize + rng() % (region - kChunkHeaderSize + 1) % img.size()] ^=
          static_cast<uint8_t>(rng());
    std::vector<uint8_t> exact(img.begin(), img.end());  // heap block of exactly `region` bytes
    ScanResult r = ScanFrames(exact.data(), kChunkHeaderSize, exact.size(), 0);
    CHECK(r.committed_end <= exact.size());
    CHECK(r.stop_offset <= exact.size());
  }
}

TEST(ScanAcceptsBothEventKindsAndStopsAtAnUnknownOne) {
  // Kind 1 (version 1 bodies) stays readable next to kind 2; anything else ends the log.
  std::vector<uint8_t> f;
  AddFrame(&f, 40, true);
  const size_t v1 = f.size();
  AddFrame(&f, 40, true);
  f[v1 + 8] = kRecordKindEventV1;
  StoreU32(f.data() + v1 + 4, Crc32c(f.data() + v1 + 8, kFrameHeaderSize + 40 - 8));
  const size_t good = f.size();
  AddFrame(&f, 40, true);
  f[good + 8] = 3;
  StoreU32(f.data() + good + 4, Crc32c(f.data() + good + 8, kFrameHeaderSize + 40 - 8));
  auto img = Image(f);
  ScanResult r = ScanFrames(img.data(), kChunkHeaderSize, img.size(), 0);
  CHECK(r.stop == ScanStop::kBadKind);
  CHECK_EQ(r.committed_records, 2u);
  CHECK_EQ(r.committed_end, kChunkHeaderSize + good);
}
