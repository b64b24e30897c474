// Recovery of the unsealed tail chunk at open: where its committed frames end, what follows that
// is a torn write to cut, and what is damage to keep. The TypeScript twin is
// lib/engine/js-tail-recovery.ts; both follow these rules:
//
// - The scan resumes at the checkpoint when it lies in this chunk (what precedes it was durable;
//   its frames are CRC-checked whenever read), so the cost follows the unflushed tail.
// - The tail is read with pread, never through the chunk's mapping: past the data the file may be
//   a hole, and a read fault on a hole of a full tmpfs kills the process with SIGBUS.
// - A torn tail is only what a crash can leave: the last, partial write. Zeroes (the clean end),
//   a crashed session's leftovers (a lower generation), or a damaged frame that no valid frame
//   follows, or whose span holds an all-zero sector (a sector of the last write that never
//   reached the disk: everything past the end of the log reads as zero, see below), are torn and
//   cut. A damaged frame that valid frames of this session follow is damage: it is kept in the
//   log, its offset reported, and the scan goes on after it, so no acknowledged record after it
//   is cut.
// - The cut shrinks the file to the end of the committed frames and extends it again, so every
//   byte past the end of the log reads as zero without writing (a full disk can still cut), then
//   syncs it. Read-only opens cut nothing.
// - A last chunk with a footer is sealed only if its data bears the footer out (SealHolds): the
//   seal writes the footer and syncs once, so a power cut before that sync completes can keep the
//   footer's sector and lose the unsynced appends before it. Such a chunk is recovered as the
//   tail and its footer cut with the torn end. Only the last chunk: the next chunk is created
//   after the seal's sync completed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chunk_file.h"
#include "chunk_format.h"

namespace annals {

struct TailState {
  uint64_t write_offset = 0;  // the end of the last committed frame: where the next append goes
  uint32_t record_count = 0;
  uint32_t data_checksum = 0;
  uint32_t last_generation = 0;
  bool torn = false;
  uint64_t torn_offset = 0;  // where the cut was made (= write_offset)
  uint64_t discarded_bytes = 0;
  std::string torn_reason;
  std::vector<uint64_t> damaged;  // offsets of damaged frames kept in the log
};

// The torn reason of a last chunk whose footer reached the disk without the data it seals.
constexpr const char* kUnbackedFooter = "footer without its data";

// Whether the sealed last chunk's footer is borne out by its data: valid frames (resuming at the
// checkpoint when it lies in this chunk) up to the footer's data end, the last a COMMIT, with its
// record count and data checksum. Reads the data through the descriptor a window at a time.
bool SealHolds(const ChunkFile& chunk, uint64_t chunk_size, const Checkpoint& cp);

// Scans `chunk` (the unsealed tail) from the checkpoint `cp` on and, unless `read_only`, cuts a
// torn end. Throws StoreError (DISK_FULL, IO) when the cut fails.
// `floor`: an offset in this chunk the log is known durable up to (the index covers it); a writable
// open whose records end below it refuses (StoreError(CORRUPTION)) and cuts nothing.
// `unbacked_footer`: the chunk holds a footer SealHolds refused; it is cut with the torn end
// (reported as torn even where the data ends cleanly).
TailState RecoverTail(ChunkFile& chunk, uint64_t chunk_size, const Checkpoint& cp, bool read_only,
                      uint64_t floor = 0, bool unbacked_footer = false);

}  // namespace annals
