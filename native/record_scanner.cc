#include "record_scanner.h"

#include "chunk_format.h"
#include "crc32c.h"

namespace annals {

const char* ScanStopName(ScanStop stop) {
  switch (stop) {
    case ScanStop::kEndOfRegion:
      return "end of region";
    case ScanStop::kZero:
      return "zeroed space";
    case ScanStop::kBadLength:
      return "bad frame length";
    case ScanStop::kBadChecksum:
      return "bad checksum";
    case ScanStop::kBadKind:
      return "unknown record kind";
    case ScanStop::kStaleGeneration:
      return "stale generation";
  }
  return "unknown";
}

uint32_t ChainFrameChecksum(uint32_t checksum, const uint8_t* frame) {
  return Crc32c(checksum, frame, 8);
}

ScanResult ScanFrames(const uint8_t* chunk, uint64_t begin, uint64_t end, uint32_t min_generation,
                      uint32_t checksum_seed) {
  ScanResult r;
  r.committed_end = begin;
  r.last_generation = min_generation;
  r.data_checksum = checksum_seed;
  uint64_t off = begin;
  uint32_t records = 0;
  uint32_t checksum = checksum_seed;
  uint32_t generation = min_generation;
  for (;;) {
    if (end - off < kFrameHeaderSize) {
      r.stop = ScanStop::kEndOfRegion;
      // A few trailing zero bytes are unwritten space, not a torn frame.
      for (uint64_t i = off; i < end; ++i) {
        if (chunk[i] != 0) {
          r.stop = ScanStop::kBadLength;
          break;
        }
      }
      if (r.stop == ScanStop::kEndOfRegion && off < end) r.stop = ScanStop::kZero;
      break;
    }
    const uint8_t* f = chunk + off;
    const uint32_t len = LoadU32(f);
    if (len == 0) {
      r.stop = ScanStop::kZero;
      break;
    }
    if (len < kFrameHeaderSize || len > end - off) {
      r.stop = ScanStop::kBadLength;
      break;
    }
    if (LoadU32(f + 4) != Crc32c(f + 8, len - 8)) {
      r.stop = ScanStop::kBadChecksum;
      break;
    }
    if (!IsEventKind(f[8])) {
      r.stop = ScanStop::kBadKind;
      break;
    }
    const uint32_t frame_generation = LoadU32(f + 12);
    if (frame_generation < generation) {
      r.stop = ScanStop::kStaleGeneration;
      break;
    }
    generation = frame_generation;
    checksum = ChainFrameChecksum(checksum, f);
    ++records;
    off += len;
    if (f[9] & kFrameFlagCommit) {
      r.committed_end = off;
      r.committed_records = records;
      r.data_checksum = checksum;
      r.last_generation = generation;
    }
  }
  r.stop_offset = off;
  return r;
}

}  // namespace annals
