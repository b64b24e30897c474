#include "scavenge_output.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "sync_gauge.h"

namespace annals {
namespace {

constexpr uint64_t kChunkHeaderSize = 64;
// Surviving bytes gathered before one write, and bytes written between two writeback steps.
// Writes of a few MiB and more, or a sync only at the end, measured slower: the kernel throttles a
// writer with much dirty data to the disk's pace.
constexpr size_t kOutBytes = 1 << 20;
constexpr uint64_t kSyncBytes = 8 << 20;
// Appends count as syncing when one completed within this window.
constexpr int64_t kAppendsActiveNs = 20'000'000;
// The longest wait for an append sync: past it appends are taken as idle.
constexpr int64_t kMaxWaitNs = 5'000'000;
// The piece's bounds, and how often the baseline interval is measured again (appends' own pace
// changes with their load).
constexpr size_t kMinPiece = 16 << 10;
constexpr size_t kMaxPiece = kOutBytes;
constexpr int64_t kBaselineNs = 500'000'000;
// Append syncs the baseline is measured over.
constexpr uint64_t kBaselineSyncs = 3;

}  // namespace

ScavengeOutput::ScavengeOutput(const std::string& tmp, uint64_t chunk_size)
    : fd_(FileDescriptor::Open(tmp, OpenMode::kCreateTruncate)),
      tmp_(tmp),
      at_(kChunkHeaderSize),
      started_(kChunkHeaderSize),
      waited_(kChunkHeaderSize),
      seen_(SyncGauge::Completed()),
      piece_(4 * kMinPiece) {
  SetSparseSize(fd_, chunk_size, tmp);
  buf_.reserve(kOutBytes);
}

void ScavengeOutput::Copy(const uint8_t* p, size_t n) {
  if (buf_.size() + n > kOutBytes) Drain();
  while (n > kOutBytes) {
    Write(p, kOutBytes);
    p += kOutBytes;
    n -= kOutBytes;
  }
  buf_.insert(buf_.end(), p, p + n);
}

void ScavengeOutput::Drain() {
  if (buf_.empty()) return;
  Write(buf_.data(), buf_.size());
  buf_.clear();
}

void ScavengeOutput::Sync() {
  WriteBack(fd_, kChunkHeaderSize, at_ - kChunkHeaderSize, true, tmp_);
  started_ = at_;
}

void ScavengeOutput::Write(const uint8_t* p, size_t n) {
  while (n > 0) {
    const size_t piece = NextPiece(n);
    WriteAllAt(fd_, p, piece, at_);
    // A piece's writeback starts at once, in the gap before the next append's flush.
    if (piece < n) WriteBack(fd_, at_, piece, false, tmp_);
    at_ += piece;
    p += piece;
    n -= piece;
    BoundDirty();
  }
}

size_t ScavengeOutput::NextPiece(size_t n) {
  if (!SyncGauge::ActiveWithin(kAppendsActiveNs)) return n;
  const int64_t now = SyncGauge::NowNs();
  if (baseline_ns_ == 0 || now - baseline_at_ns_ > kBaselineNs) Rebaseline();
  const uint64_t before = seen_;
  const int64_t before_ns = seen_ns_;
  if (!AwaitSyncs(1)) return n;  // appends went idle
  // The interval the appends' syncs took with the previous piece written among them.
  if (before_ns != 0 && baseline_ns_ != 0) {
    const int64_t interval = (seen_ns_ - before_ns) / static_cast<int64_t>(seen_ - before);
    piece_ = interval > baseline_ns_ + baseline_ns_ / 4 ? std::max(kMinPiece, piece_ / 2)
                                                        : std::min(kMaxPiece, piece_ + kMinPiece);
  }
  return std::min(n, piece_);
}

void ScavengeOutput::Rebaseline() {
  if (!AwaitSyncs(1)) return;
  const uint64_t from = seen_;
  const int64_t from_ns = seen_ns_;
  if (!AwaitSyncs(kBaselineSyncs)) return;
  baseline_ns_ = std::max<int64_t>(1, (seen_ns_ - from_ns) / static_cast<int64_t>(seen_ - from));
  baseline_at_ns_ = seen_ns_;
}

bool ScavengeOutput::AwaitSyncs(uint64_t count) {
  const uint64_t target = seen_ + count;
  const int64_t deadline = SyncGauge::NowNs() + kMaxWaitNs * static_cast<int64_t>(count);
  uint64_t completed;
  while ((completed = SyncGauge::Completed()) < target) {
    if (SyncGauge::NowNs() >= deadline) {
      seen_ = completed;
      seen_ns_ = 0;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  seen_ = completed;
  seen_ns_ = SyncGauge::LastNs();
  return true;
}

void ScavengeOutput::BoundDirty() {
  if (at_ - started_ < kSyncBytes) return;
  if (started_ > waited_) WriteBack(fd_, waited_, started_ - waited_, true, tmp_);
  waited_ = started_;
  WriteBack(fd_, started_, at_ - started_, false, tmp_);
  started_ = at_;
}

}  // namespace annals
