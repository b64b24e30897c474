// Durable appends' data syncs in this process, counted so that a background writer (the scavenge
// pass, scavenge_pass.cc) can yield the disk to them. A disk's cache flush writes out everything
// written before it, so each append's fdatasync pays for the background bytes written since the
// previous one: a writer that puts out a bounded piece per completed sync bounds that cost.
//
// Process-wide on purpose: every store of the process shares the disk. Invariant: `Completed()`
// only grows; `LastNs()` is the steady-clock time of the latest completed sync (or far past).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace annals {

class SyncGauge {
 public:
  static void NoteSync() noexcept {
    last_ns_.store(NowNs(), std::memory_order_relaxed);
    completed_.fetch_add(1, std::memory_order_release);
  }
  static uint64_t Completed() noexcept { return completed_.load(std::memory_order_acquire); }
  static int64_t LastNs() noexcept { return last_ns_.load(std::memory_order_relaxed); }
  // True when a sync completed within the last `ns` nanoseconds (appends are going on).
  static bool ActiveWithin(int64_t ns) noexcept {
    return NowNs() - last_ns_.load(std::memory_order_relaxed) < ns;
  }
  static int64_t NowNs() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

 private:
  static inline std::atomic<uint64_t> completed_{0};
  static inline std::atomic<int64_t> last_ns_{INT64_MIN / 2};
};

}  // namespace annals
