#include "bloom_filter.h"

#include <algorithm>

#include "index_format.h"

namespace annals {

uint32_t BloomFilter::BytesFor(uint64_t distinct_keys) {
  const uint64_t bits = std::max<uint64_t>(64, distinct_keys * kBloomBitsPerKey);
  return static_cast<uint32_t>(std::min<uint64_t>((bits + 7) / 8, 1u << 30));
}

void BloomFilter::Add(uint8_t* bits, uint32_t bytes, uint64_t key) {
  const uint32_t hi = static_cast<uint32_t>(key >> 32) | 1u;
  const uint32_t lo = static_cast<uint32_t>(key);
  const uint64_t m = static_cast<uint64_t>(bytes) * 8;
  for (uint32_t i = 0; i < kBloomHashes; ++i) {
    const uint64_t bit = static_cast<uint32_t>(lo + i * hi) % m;
    bits[bit >> 3] |= static_cast<uint8_t>(1u << (bit & 7));
  }
}

bool BloomFilter::MayContain(const uint8_t* bits, uint32_t bytes, uint64_t key) {
  if (bytes == 0) return true;
  const uint32_t hi = static_cast<uint32_t>(key >> 32) | 1u;
  const uint32_t lo = static_cast<uint32_t>(key);
  const uint64_t m = static_cast<uint64_t>(bytes) * 8;
  for (uint32_t i = 0; i < kBloomHashes; ++i) {
    const uint64_t bit = static_cast<uint32_t>(lo + i * hi) % m;
    if ((bits[bit >> 3] & (1u << (bit & 7))) == 0) return false;
  }
  return true;
}

}  // namespace annals
