#include "bloom_filter.h"

#include <algorithm>

#include "env.h"
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
  return BloomReader(bits, bytes).MayContain(key);
}

BloomReader::BloomReader(const uint8_t* bits, uint32_t bytes)
    : bits_(bits), m_(static_cast<uint64_t>(bytes) * 8), magic_(0) {
  if (m_ > 0 && m_ <= UINT32_MAX) magic_ = UINT64_MAX / m_ + 1;
}

uint64_t BloomReader::Bit(uint32_t x) const {
  if (magic_ == 0) return m_ > UINT32_MAX ? x : x % m_;
#if defined(__SIZEOF_INT128__)
  const uint64_t low = magic_ * x;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(low) * m_) >> 64);
#else
  return x % m_;
#endif
}

void BloomReader::Prefetch(uint64_t key) const {
  if (m_ == 0) return;
  const uint32_t hi = static_cast<uint32_t>(key >> 32) | 1u;
  const uint32_t lo = static_cast<uint32_t>(key);
  for (uint32_t i = 0; i < kBloomHashes; ++i) annals::Prefetch(bits_ + (Bit(lo + i * hi) >> 3));
}

bool BloomReader::MayContain(uint64_t key) const {
  if (m_ == 0) return true;
  const uint32_t hi = static_cast<uint32_t>(key >> 32) | 1u;
  const uint32_t lo = static_cast<uint32_t>(key);
  for (uint32_t i = 0; i < kBloomHashes; ++i) {
    const uint64_t bit = Bit(lo + i * hi);
    if ((bits_[bit >> 3] & (1u << (bit & 7))) == 0) return false;
  }
  return true;
}

}  // namespace annals
