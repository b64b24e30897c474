#include "crc32c.h"

#include <array>
#include <cstring>

#include "env.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#define ANNALS_CRC_X86 1
#elif defined(__aarch64__)
#include <arm_acle.h>
#define ANNALS_CRC_ARM64 1
#endif

namespace annals {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

uint32_t SoftwareCrc(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = GetTables().t;
  while (n >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFF];
  return crc;
}

#if defined(ANNALS_CRC_X86)
__attribute__((target("sse4.2,crc32"))) uint32_t HardwareCrc(uint32_t crc, const uint8_t* p,
                                                             size_t n) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

#elif defined(ANNALS_CRC_ARM64)
__attribute__((target("crc"))) uint32_t HardwareCrc(uint32_t crc, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    crc = __crc32cd(crc, v);
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = __crc32cb(crc, *p++);
  return crc;
}
#endif

// Whether the CPU has the instructions, as the OS layer tells (CPUID on x86-64, the kernel's
// hardware capabilities on arm64).
const bool kHardware = CpuHasCrc32c();

}  // namespace

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t n) {
  crc = ~crc;
#if defined(ANNALS_CRC_X86) || defined(ANNALS_CRC_ARM64)
  if (kHardware) return ~HardwareCrc(crc, data, n);
#endif
  return ~SoftwareCrc(crc, data, n);
}

bool Crc32cIsHardware() { return kHardware; }

}  // namespace annals
