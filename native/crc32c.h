// CRC-32C (Castagnoli), the checksum of every record frame, chunk header/footer and checkpoint.
//
// Same polynomial (0x82F63B78, reflected) as the TypeScript engine's lib/format/crc32c.ts, so files
// written by either engine verify in the other. Uses the CPU's CRC32C instructions when it has them
// (SSE4.2 on x86-64, the CRC32 extension on arm64; checked once at run time through the OS
// layer), else a slicing-by-8 table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace annals {

// Extends `crc` (0 for a fresh checksum) over [data, data + n).
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t n);

inline uint32_t Crc32c(const uint8_t* data, size_t n) { return Crc32c(0, data, n); }

// True when the hardware path is in use (reported by stats for benchmarking).
bool Crc32cIsHardware();

}  // namespace annals
