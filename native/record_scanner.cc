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

bool IsDamageStop(ScanStop stop) {
  return stop == ScanStop::kBadLength || stop == ScanStop::kBadChecksum ||
         stop == ScanStop::kBadKind;
}

namespace {

bool FrameValidAt(const uint8_t* chunk, uint64_t off, uint64_t end, uint32_t min_generation) {
  if (end - off < kFrameHeaderSize) return false;
  const uint8_t* f = chunk + off;
  const uint32_t len = LoadU32(f);
  // Cheap tests first: most offsets a resynchronisation tries fail on the kind or reserved bytes.
  if (len < kFrameHeaderSize || len > end - off || !IsEventKind(f[8]) || f[10] != 0 || f[11] != 0 ||
      LoadU32(f + 12) < min_generation) {
    return false;
  }
  return LoadU32(f + 4) == Crc32c(f + 8, len - 8);
}

}  // namespace

uint64_t FindNextFrame(const uint8_t* chunk, uint64_t damaged, uint64_t end,
                       uint32_t min_generation) {
  if (damaged >= end) return end;
  if (end - damaged >= kFrameHeaderSize) {
    const uint32_t len = LoadU32(chunk + damaged);
    if (len >= kFrameHeaderSize && len <= end - damaged &&
        FrameValidAt(chunk, damaged + len, end, min_generation)) {
      return damaged + len;
    }
  }
  for (uint64_t off = damaged + 1; off + kFrameHeaderSize <= end; ++off) {
    if (FrameValidAt(chunk, off, end, min_generation)) return off;
  }
  return end;
}

bool HasZeroSector(const uint8_t* chunk, uint64_t from, uint64_t to, uint64_t limit) {
  constexpr uint64_t kSector = 512;
  for (uint64_t s = from / kSector * kSector; s < to && s + kSector <= limit; s += kSector) {
    bool zero = true;
    for (uint64_t i = s; i < s + kSector && zero; ++i) zero = chunk[i] == 0;
    if (zero) return true;
  }
  return false;
}

ScanResult ScanFrames(const uint8_t* chunk, uint64_t begin, uint64_t end, uint32_t min_generation,
                      uint32_t checksum_seed) {
  ScanResult r;
  r.committed_end = begin;
  r.last_generation = min_generation;
  r.data_checksum = checksum_seed;
  r.valid_checksum = checksum_seed;
  r.valid_generation = min_generation;
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
    r.valid_records = records;
    r.valid_checksum = checksum;
    r.valid_generation = generation;
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
