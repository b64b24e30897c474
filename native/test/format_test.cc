#include <cstring>
#include <string>

#include "../chunk_format.h"
#include "../crc32c.h"
#include "test_framework.h"

using namespace annals;

TEST(Crc32cMatchesKnownVectors) {
  const std::string s = "123456789";
  CHECK_EQ(Crc32c(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0xE3069283u);
  uint8_t zeros[32] = {};
  CHECK_EQ(Crc32c(zeros, sizeof zeros), 0x8A9136AAu);
  CHECK_EQ(Crc32c(zeros, 0), 0u);
}

TEST(Crc32cExtendsAcrossSplits) {
  uint8_t data[1000];
  for (int i = 0; i < 1000; ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  const uint32_t whole = Crc32c(data, sizeof data);
  for (size_t split : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    CHECK_EQ(Crc32c(Crc32c(data, split), data + split, sizeof data - split), whole);
  }
}

TEST(ChunkHeaderRoundTripsAndRejectsDamage) {
  uint8_t raw[kChunkHeaderSize];
  ChunkHeader{3, 1u << 20, 0x2abcdef}.EncodeTo(raw);
  ChunkHeader h;
  CHECK(ChunkHeader::DecodeFrom(raw, &h));
  CHECK_EQ(h.chunk_number, 3u);
  CHECK_EQ(h.first_position(), 3u << 20);
  CHECK_EQ(h.identity, 0x2abcdefu);
  for (size_t i = 0; i < kChunkHeaderSize; ++i) {
    raw[i] ^= 0x10;
    CHECK(!ChunkHeader::DecodeFrom(raw, &h));
    raw[i] ^= 0x10;
  }
}

TEST(ChunkHeadersOfEveryKnownVersionDecode) {
  uint8_t raw[kChunkHeaderSize];
  ChunkHeader{1, 1u << 20, 77}.EncodeTo(raw);
  CHECK_EQ(raw[8], kFormatVersion);
  ChunkHeader h;
  for (int v = 0; v <= 255; ++v) {
    raw[8] = static_cast<uint8_t>(v);
    StoreU32(raw + 60, Crc32c(raw, 60));
    CHECK_EQ(ChunkHeader::DecodeFrom(raw, &h), v >= kOldestFormatVersion && v <= kFormatVersion);
    // Only headers that carry an identity report one.
    if (v >= kOldestFormatVersion && v <= kFormatVersion) {
      CHECK_EQ(h.identity, v >= kIdentityFormatVersion ? 77u : 0u);
    }
  }
}

TEST(ChunkHeaderRefusesAnIdentityOutOfRange) {
  uint8_t raw[kChunkHeaderSize];
  ChunkHeader h;
  for (uint32_t identity : {0u, kStoreIdentityLimit, 0xffffffffu}) {
    ChunkHeader{1, 1u << 20, identity}.EncodeTo(raw);
    CHECK(!ChunkHeader::DecodeFrom(raw, &h));
  }
  ChunkHeader{1, 1u << 20, kStoreIdentityLimit - 1}.EncodeTo(raw);
  CHECK(ChunkHeader::DecodeFrom(raw, &h));
}

TEST(FooterAndCheckpointRoundTrip) {
  uint8_t raw[kChunkFooterSize];
  ChunkFooter f;
  f.record_count = 9;
  f.data_end = 12345;
  f.data_checksum = 0xDEADBEEF;
  f.EncodeTo(raw);
  ChunkFooter g;
  CHECK(ChunkFooter::DecodeFrom(raw, &g));
  CHECK_EQ(g.data_end, 12345u);
  CHECK_EQ(g.data_checksum, 0xDEADBEEFu);
  raw[17] ^= 1;
  CHECK(!ChunkFooter::DecodeFrom(raw, &g));

  uint8_t cp_raw[kCheckpointSize];
  Checkpoint{987654321ull, 42}.EncodeTo(cp_raw);
  Checkpoint cp;
  CHECK(Checkpoint::DecodeFrom(cp_raw, &cp));
  CHECK_EQ(cp.durable_end, 987654321ull);
  CHECK_EQ(cp.generation, 42u);
  std::memset(cp_raw, 0, sizeof cp_raw);
  CHECK(!Checkpoint::DecodeFrom(cp_raw, &cp));
}
