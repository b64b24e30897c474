// Walks the record frames of one chunk's data region and says how far they are valid.
//
// Used by recovery (where does the log end?), by verification of sealed chunks, and by the fuzz
// target: it must accept any bytes without reading outside [begin, end). A frame is valid when its
// length fits, its CRC matches, its kind is known and its generation is not below its
// predecessor's. Only frames up to the last COMMIT count as data: an append whose COMMIT frame is
// missing was never acknowledged.
#pragma once

#include <cstdint>

namespace annals {

enum class ScanStop {
  kEndOfRegion,      // ran into `end` exactly
  kZero,             // a zero length field: the unwritten rest of the chunk
  kBadLength,        // length below the frame header or past `end`
  kBadChecksum,      // CRC mismatch
  kBadKind,          // unknown record kind
  kStaleGeneration,  // generation went backwards: leftovers of a crashed session
};

const char* ScanStopName(ScanStop stop);

struct ScanResult {
  uint64_t committed_end = 0;      // offset after the last valid COMMIT frame (or `begin`)
  uint32_t committed_records = 0;  // frames in [begin, committed_end)
  uint32_t data_checksum = 0;      // the seed chained over the frames in [begin, committed_end)
  uint32_t last_generation = 0;    // of the last committed frame; `min_generation` when none
  uint64_t stop_offset = 0;        // where the walk stopped
  ScanStop stop = ScanStop::kEndOfRegion;
  // The same over every valid frame in [begin, stop_offset), committed or not: what recovery
  // carries past a damaged frame that valid records follow (a damaged record is kept, not cut).
  uint32_t valid_records = 0;
  uint32_t valid_checksum = 0;
  uint32_t valid_generation = 0;
};

// `chunk` points at the start of the chunk file image; offsets are relative to it.
// `checksum_seed` continues a data checksum chained over the frames before `begin`.
ScanResult ScanFrames(const uint8_t* chunk, uint64_t begin, uint64_t end, uint32_t min_generation,
                      uint32_t checksum_seed = 0);

// Whether a stop means a damaged frame (its bytes are there but wrong), as opposed to the clean
// end of the data (zeroes, the end of the region) or a crashed session's leftovers.
bool IsDamageStop(ScanStop stop);

// The offset of the first frame after the damaged one at `damaged` that is whole and valid on its
// own (length within `end`, CRC, event kind, zero reserved bytes, generation >= min_generation),
// or `end` when there is none. The damaged frame's own length is tried first (a flipped bit in a
// body leaves it intact); otherwise every later offset is tried. Reads only [damaged, end).
uint64_t FindNextFrame(const uint8_t* chunk, uint64_t damaged, uint64_t end,
                       uint32_t min_generation);

// Whether [from, to) overlaps a 512-byte sector (aligned to the file, `chunk` being offset 0)
// that lies within [0, limit) and is all zeroes: the mark a write lost in a crash leaves, since
// every byte past the end of the log reads as zero (recovery and failed writes cut the file
// back to a hole there). Reads only whole sectors inside [from rounded down, min(to, limit)).
bool HasZeroSector(const uint8_t* chunk, uint64_t from, uint64_t to, uint64_t limit);

// Chains one frame into a sealed chunk's data checksum (see chunk_format.h).
uint32_t ChainFrameChecksum(uint32_t checksum, const uint8_t* frame);

}  // namespace annals
