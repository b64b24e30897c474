// One sealed chunk's scavenge pass, the native engine's twin of the walk in lib/scavenge-pass.ts:
// reads the chunk through a mapping, checks every frame (length, kind, and the footer's chained
// checksum over all frames' length and CRC fields), judges each frame by the rules JS handed over
// (a table keyed by the stream id's bytes, for the streams whose 48-bit key is among the rule
// keys), checks the body CRC of each frame it removes, and copies the survivors into the temp file
// at [64, end) with 1 MiB writes and bounded writeback (scavenge_output.h). The position map,
// header and footer are written by JS afterwards (scavenge-native.ts), from the maps this pass
// returns: the same code as the TypeScript pass, so both passes write byte-identical files.
//
// Asking: a frame of a stream under a rule key whose id is not in the table cannot be judged here.
// The pass then stops writing, walks the rest of the chunk gathering every such id, and returns
// them in `ask`; JS answers them and runs the pass again with a table that has them (so each chunk
// runs at most twice, and never calls back into JS while it runs).
//
// Invariants: the chunk file is only read; a damaged frame met (bad length, kind, chain, or a
// removed frame's CRC) leaves `damaged` set and nothing to swap; a frame whose body does not decode
// is kept (reads refuse it); `stop` is read between 1 MiB steps.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace annals {

// What a stream's events are judged by: kept from version `from` and timestamp `min_timestamp` on;
// `none`: the stream has no rules (all kept).
struct ScavengeRule {
  double from = 0;
  double min_timestamp = 0;
  bool none = true;
};

struct ScavengePassInput {
  std::string file;
  std::string tmp;
  uint64_t chunk_size = 0;
  // The chunk's first global position (its number times the chunk size).
  double base = 0;
  // Where the frames end in the file; the footer's chained checksum and frame count (-1: not
  // recorded, as in a scavenged chunk).
  uint64_t end = 0;
  uint32_t data_checksum = 0;
  int64_t records = -1;
  // A scavenged chunk's run map (file offset -> logical offset); empty for a plain chunk.
  std::vector<uint32_t> run_logical;
  std::vector<uint32_t> run_offsets;
  // The keys (KeyNumberOf) of the streams with rules, and the rules known, by id bytes.
  std::unordered_set<uint64_t> keys;
  std::unordered_map<std::string, ScavengeRule> rules;
  // Nonzero: stop (a flag in JS's shared memory; may be null).
  const int32_t* stop = nullptr;
  // Bytes examined per second at most (0: no bound), counted over the whole scavenge: it began
  // `paced_seconds_ago` before this call and examined `paced_bytes` in earlier passes.
  double max_bytes_per_second = 0;
  double paced_seconds_ago = 0;
  double paced_bytes = 0;
};

struct ScavengePassOutput {
  bool stopped = false;
  bool damaged = false;
  // Bytes of the chunk walked (what the pace counts).
  uint64_t examined = 0;
  uint32_t removed = 0;
  // Ids (bytes) to be answered before the pass can run; nothing was written when non-empty.
  std::vector<std::string> ask;
  // Per surviving frame: its logical offset and its offset in the temp file.
  std::vector<uint32_t> logical;
  std::vector<uint32_t> offsets;
  // Where the survivors end in the temp file, and the chained checksum over them.
  uint64_t out_end = 0;
  uint32_t checksum = 0;
  // Per removed frame that carried a command id: its logical offset and the 48-bit key of the id
  // (hi, lo), which the scavenged chunk keeps so an index rebuilt from the log still knows the
  // command (lib/format/scavenged-chunk.ts, version 2).
  std::vector<uint32_t> erased_logical;
  std::vector<uint32_t> erased_hi;
  std::vector<uint32_t> erased_lo;
  // Survivors of streams with rules: ids, and per survivor its id's index, position, version.
  std::vector<std::string> survivor_ids;
  std::vector<uint32_t> survivor_of;
  std::vector<double> survivor_positions;
  std::vector<double> survivor_versions;
};

// The 48-bit key of a stream id's bytes, as lib/format/key-hash.ts keyNumberAt computes it.
uint64_t KeyNumberOf(const uint8_t* bytes, size_t len);

// Runs the pass; throws StoreError on an I/O failure (the temp file is then the caller's to
// remove).
ScavengePassOutput RunScavengePass(const ScavengePassInput& in);

}  // namespace annals
