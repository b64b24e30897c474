#include "tail_recovery.h"

#include <algorithm>

#include "file_util.h"
#include "record_scanner.h"
#include "store_error.h"

namespace annals {
namespace {

// The tail is read in a window that grows until the scan ends well inside it (kCleanMargin).
constexpr uint64_t kInitialWindow = 1 << 20;
constexpr uint64_t kCleanMargin = 64 << 10;
// How far past a damaged frame a valid one is looked for: the default largest event plus the
// zero-ahead. A frame after damage is normally adjacent to it (found at once through the damaged
// frame's length when that is intact); only a damaged length field of a larger event goes beyond.
constexpr uint64_t kResyncReach = (16u << 20) + (1u << 20);
// More damaged frames than this in one tail is not a few flipped bits: the open refuses.
constexpr size_t kMaxDamaged = 64;
// What SealHolds reads at a time (more only for a frame larger than this).
constexpr uint64_t kSealWindow = 1 << 20;

// The walk over an image of the tail. Offsets are the image's; the image starts at a multiple of
// 4096 in the file, so its sectors are the file's.
struct Walk {
  uint64_t committed_end = 0;
  uint32_t committed_records = 0;
  uint32_t checksum = 0;
  uint32_t generation = 0;
  uint64_t stop_offset = 0;
  ScanStop stop = ScanStop::kEndOfRegion;
  bool torn = false;
  bool needs_more = false;  // the image ended before the walk could decide
  uint64_t wanted = 0;      // with needs_more: the image length that would do
  std::vector<uint64_t> damaged;
};

Walk WalkTail(const uint8_t* img, uint64_t begin, uint64_t end, bool whole, uint32_t min_generation,
              uint32_t seed) {
  Walk w;
  w.committed_end = begin;
  w.checksum = seed;
  w.generation = min_generation;
  uint64_t at = begin;
  uint32_t pending = 0;  // records after committed_end carried over a damaged frame
  uint32_t checksum = seed;
  uint32_t generation = min_generation;
  for (;;) {
    const ScanResult r = ScanFrames(img, at, end, generation, checksum);
    if (r.committed_records > 0) {
      w.committed_records += pending + r.committed_records;
      pending = 0;
      w.committed_end = r.committed_end;
      w.checksum = r.data_checksum;
      w.generation = r.last_generation;
    }
    w.stop_offset = r.stop_offset;
    w.stop = r.stop;
    // A stop near the image's end may be the window's, not the log's (a frame cut by it).
    if (!whole && r.stop_offset + kCleanMargin > end) {
      w.needs_more = true;
      w.wanted = end * 4;
      return w;
    }
    if (!IsDamageStop(r.stop)) break;
    const uint64_t reach = std::min(end, r.stop_offset + kResyncReach);
    const uint64_t next = FindNextFrame(img, r.stop_offset, reach, r.valid_generation);
    if (next == reach && !whole && reach == end) {
      w.needs_more = true;
      w.wanted = r.stop_offset + kResyncReach;
      return w;
    }
    if (next == reach || HasZeroSector(img, r.stop_offset, next, end)) break;  // a torn write
    if (w.damaged.size() == kMaxDamaged) {
      throw StoreError("CORRUPTION", "more than " + std::to_string(kMaxDamaged) +
                                         " damaged records in the tail chunk");
    }
    w.damaged.push_back(r.stop_offset);
    pending += r.valid_records - r.committed_records + 1;
    checksum = next - r.stop_offset >= 8 ? ChainFrameChecksum(r.valid_checksum, img + r.stop_offset)
                                         : r.valid_checksum;
    generation = r.valid_generation;
    at = next;
  }
  w.torn = !(w.stop_offset == w.committed_end &&
             (w.stop == ScanStop::kZero || w.stop == ScanStop::kEndOfRegion));
  return w;
}

}  // namespace

bool SealHolds(const ChunkFile& chunk, uint64_t chunk_size, const Checkpoint& cp) {
  if (!chunk.sealed() || !chunk.descriptor()) return false;
  const ChunkFooter& footer = chunk.footer();
  const uint64_t base = chunk.number() * chunk_size;
  const bool resume =
      cp.durable_end > base + kChunkHeaderSize && cp.durable_end <= base + footer.data_end;
  uint64_t at = resume ? cp.durable_end - base : kChunkHeaderSize;
  uint32_t records = resume ? cp.tail_records : 0;
  uint32_t checksum = resume ? cp.tail_checksum : 0;
  uint32_t generation = resume ? cp.generation : 0;
  bool committed = true;
  std::vector<uint8_t> img;
  while (at < footer.data_end) {
    img.resize(std::min(footer.data_end - at, kSealWindow));
    if (!ReadAllAt(*chunk.descriptor(), img.data(), img.size(), at)) return false;
    ScanResult r = ScanFrames(img.data(), 0, img.size(), generation, checksum);
    if (r.stop_offset == 0 && img.size() >= kFrameHeaderSize) {
      // A frame longer than the window: read it whole (its length is checked against the data end).
      const uint32_t len = LoadU32(img.data());
      if (len <= img.size() || len > footer.data_end - at) return false;
      img.resize(len);
      if (!ReadAllAt(*chunk.descriptor(), img.data(), len, at)) return false;
      r = ScanFrames(img.data(), 0, len, generation, checksum);
    }
    if (r.stop_offset == 0)
      return false;  // zeroes or a damaged frame where the footer says data is
    records += r.valid_records;
    checksum = r.valid_checksum;
    generation = r.valid_generation;
    committed = r.committed_end == r.stop_offset;
    at += r.stop_offset;
  }
  return at == footer.data_end && committed && records == footer.record_count &&
         checksum == footer.data_checksum;
}

TailState RecoverTail(ChunkFile& chunk, uint64_t chunk_size, const Checkpoint& cp, bool read_only,
                      uint64_t floor, bool unbacked_footer) {
  const uint64_t base = chunk.number() * chunk_size;
  const uint64_t capacity_end = ChunkDataCapacityEnd(chunk_size);
  uint64_t begin = kChunkHeaderSize;
  uint32_t seed = 0;
  uint32_t base_records = 0;
  uint32_t min_generation = 0;
  if (cp.durable_end > base + kChunkHeaderSize && cp.durable_end <= base + capacity_end) {
    begin = cp.durable_end - base;
    seed = cp.tail_checksum;
    base_records = cp.tail_records;
    min_generation = cp.generation;
  }
  const uint64_t from = begin / 4096 * 4096;
  uint64_t length = std::min(capacity_end - from, kInitialWindow);
  std::vector<uint8_t> img;
  Walk w;
  for (;;) {
    img.resize(length);
    if (!ReadAllAt(*chunk.descriptor(), img.data(), length, from)) {
      throw StoreError("CORRUPTION", chunk.Where(from) + ": chunk shorter than its size");
    }
    const bool whole = from + length == capacity_end;
    w = WalkTail(img.data(), begin - from, length, whole, min_generation, seed);
    if (!w.needs_more) break;
    length = std::min(capacity_end - from, std::max(w.wanted, length * 4));
  }
  TailState t;
  t.write_offset = from + w.committed_end;
  t.record_count = base_records + w.committed_records;
  t.data_checksum = w.checksum;
  t.last_generation = w.generation;
  for (uint64_t d : w.damaged) {
    if (from + d < t.write_offset) t.damaged.push_back(from + d);
  }
  // The index covers only durable records: a log that ends below it lost some (damage, not a torn
  // tail). A writable open refuses before it changes anything; a read-only one serves the rest.
  if (!read_only && t.write_offset < floor) {
    throw StoreError("CORRUPTION",
                     chunk.Where(t.write_offset) + ": the log's records end here (" +
                         ScanStopName(w.stop) + "), below what the index covers (offset " +
                         std::to_string(floor) + "): records are missing; nothing is cut",
                     base + t.write_offset);
  }
  if (w.torn) {
    t.torn = true;
    t.torn_offset = t.write_offset;
    t.discarded_bytes = w.stop_offset - w.committed_end;
    t.torn_reason = ScanStopName(w.stop);
  } else if (unbacked_footer) {
    t.torn = true;
    t.torn_offset = t.write_offset;
    t.discarded_bytes = kChunkFooterSize;
    t.torn_reason = kUnbackedFooter;
  }
  if (t.torn && !read_only) chunk.CutAt(t.write_offset);
  return t;
}

}  // namespace annals
