// The Bloom filter of an index segment: kBloomBitsPerKey bits per distinct key, kBloomHashes probes
// by double hashing of the key's two 32-bit halves: bit_i = (lo + i * (hi | 1)) mod 2^32 mod bits.
// Lets a lookup skip every segment that cannot hold the key, so an absent command id or a cold
// stream costs a few bit tests per segment rather than a tree descent. lib/format/bloom.ts is the
// TypeScript twin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace annals {

class BloomFilter {
 public:
  // Bytes of a filter for `distinct_keys` keys (at least 8).
  static uint32_t BytesFor(uint64_t distinct_keys);
  static void Add(uint8_t* bits, uint32_t bytes, uint64_t key);
  static bool MayContain(const uint8_t* bits, uint32_t bytes, uint64_t key);
};

// One filter's bits for many probes: the modulus by the filter's bit count becomes two
// multiplications (Lemire's fastmod; exact for every 32-bit dividend), where a division took most
// of a probe's arithmetic, and a probe's loads can be started ahead of its test (Prefetch), so
// several filters' misses overlap. Answers exactly as BloomFilter::MayContain.
class BloomReader {
 public:
  BloomReader(const uint8_t* bits, uint32_t bytes);
  void Prefetch(uint64_t key) const;
  bool MayContain(uint64_t key) const;

 private:
  // x mod the filter's bit count.
  uint64_t Bit(uint32_t x) const;

  const uint8_t* bits_;
  uint64_t m_;
  // ceil(2^64 / m_) when m_ < 2^32 (fastmod's constant), else 0: every 32-bit x is below m_.
  uint64_t magic_;
};

}  // namespace annals
