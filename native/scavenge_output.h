// The temp file a native scavenge pass writes (scavenge_pass.cc): survivors gathered in one buffer
// and written when it fills (a run longer than the buffer is written from the chunk's mapping, in
// pieces of the buffer's size), at [64, end) of a file sized sparse to the chunk size.
//
// Dirty pages stay bounded (BoundDirty: at most two 8 MiB ranges), so the file's writeback never
// piles up behind an append's flush (ext4's ordered mode writes every dirty allocated block at a
// journal commit) nor into the kernel's dirty page throttling.
//
// Yielding to appends: a disk's cache flush writes out everything written before it, so each
// durable append's fdatasync pays for the scavenge bytes written since the previous one. While
// appends are syncing (sync_gauge.h), the survivors go out one piece per completed append sync, and
// the piece's size follows the appends' sync interval: measured with no scavenge write in between
// (the baseline, taken again every kBaselineNs), the piece halves when the interval after a piece
// exceeds the baseline by more than a quarter, and grows by kMinPiece otherwise. So the scavenge
// takes what the appends leave, on any disk, and runs at full size when no append syncs.
//
// Invariants: after Sync(), every byte written is on the disk; a wait for an append sync is bounded
// (kMaxWaitNs), so a scavenge always progresses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "env.h"

namespace annals {

class ScavengeOutput {
 public:
  ScavengeOutput(const std::string& tmp, uint64_t chunk_size);
  void Copy(const uint8_t* p, size_t n);
  void Drain();
  // Everything written reaches the disk before the pass returns (JS syncs the file once more after
  // its tail, the durability step).
  void Sync();

 private:
  void Write(const uint8_t* p, size_t n);
  // The bytes to write next: all of `n` when no append syncs, else one piece after the next
  // append sync (adapting the piece to the interval that sync took).
  size_t NextPiece(size_t n);
  // Waits until `count` more append syncs completed since `seen_`, or kMaxWaitNs; false on timeout.
  bool AwaitSyncs(uint64_t count);
  void Rebaseline();
  void BoundDirty();

  FileDescriptor fd_;
  std::string tmp_;
  std::vector<uint8_t> buf_;
  uint64_t at_;
  // Writeback was started up to `started_`, and waited for up to `waited_`.
  uint64_t started_;
  uint64_t waited_;
  // The pacer: append syncs seen and when the last seen one completed; the baseline interval
  // between append syncs (0: not measured) and when it was; the current piece size.
  uint64_t seen_;
  int64_t seen_ns_ = 0;
  int64_t baseline_ns_ = 0;
  int64_t baseline_at_ns_ = 0;
  size_t piece_;
};

}  // namespace annals
