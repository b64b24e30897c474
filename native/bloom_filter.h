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

}  // namespace annals
