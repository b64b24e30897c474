// The sealed chunks a ChunkLog keeps mapped, and which to unmap when there are too many.
//
// Invariant (kept by ChunkLog): a sealed chunk is mapped exactly while its number is held here; the
// tail chunk is never held (it is always mapped). At most limit() are held once TakeExcess has run
// after an Add, the least recently read given up first.
//
// Why the limit is an address window, not a count: unmapping a chunk a read needs again costs that
// read an munmap (with its TLB shootdown across cores), an mmap and a page fault per page it
// touches, several times the read itself. A fixed count of 8 chunks made random reads of a store
// past 8 chunks (2 GiB at the default chunk size) three to six times slower. A window of
// kMappedWindowBytes keeps every chunk of a store up to that size mapped; what it still bounds is
// the page tables the mappings' read pages need (a page-table page per 2 MiB region read, about
// 0.2% of what is read, at most) and the mappings' count for small chunks (kMaxMappedChunks, far
// below the kernel's default of 65,530 mappings a process).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace annals {

class MappedChunks {
 public:
  static constexpr uint64_t kNone = UINT64_MAX;
  // 16 GiB of address space on 64-bit platforms (a 32-bit one has 2-3 GiB in all).
  static constexpr uint64_t kMappedWindowBytes =
      sizeof(void*) >= 8 ? (uint64_t{16} << 30) : (uint64_t{512} << 20);
  static constexpr uint64_t kMinMappedChunks = 8;
  static constexpr uint64_t kMaxMappedChunks = 1024;

  // `window`: address space the mappings may take (a test's smaller one makes a few chunks evict).
  explicit MappedChunks(uint64_t chunk_size, uint64_t window = kMappedWindowBytes)
      : limit_(static_cast<size_t>(
            std::clamp<uint64_t>(window / std::max<uint64_t>(chunk_size, 1),  // ChunkLog checks it
                                 kMinMappedChunks, kMaxMappedChunks))) {}

  size_t limit() const { return limit_; }
  size_t size() const { return held_.size(); }

  // Notes a read of chunk `number`: true when it is held (mapped), false when the caller must map
  // it and then Add it.
  bool Touch(uint64_t number) {
    if (number >= stamps_.size() || stamps_[number] == 0) return false;
    stamps_[number] = ++clock_;
    return true;
  }

  // Holds chunk `number` (just mapped), as read now.
  void Add(uint64_t number) {
    if (number >= stamps_.size()) stamps_.resize(number + 1, 0);
    if (stamps_[number] == 0) held_.push_back(number);
    stamps_[number] = ++clock_;
  }

  // While more than limit() are held: the least recently read, no longer held (the caller unmaps
  // it); kNone otherwise. A scan of the held ones, only when one is given up, which costs an
  // munmap anyway.
  uint64_t TakeExcess() {
    if (held_.size() <= limit_) return kNone;
    size_t oldest = 0;
    for (size_t i = 1; i < held_.size(); ++i) {
      if (stamps_[held_[i]] < stamps_[held_[oldest]]) oldest = i;
    }
    return Drop(oldest);
  }

  // Gives up chunk `number`: true when it was held (the caller unmaps it).
  bool Remove(uint64_t number) {
    if (number >= stamps_.size() || stamps_[number] == 0) return false;
    Drop(static_cast<size_t>(std::find(held_.begin(), held_.end(), number) - held_.begin()));
    return true;
  }

  void Clear() {
    held_.clear();
    stamps_.clear();
  }

 private:
  uint64_t Drop(size_t index) {
    const uint64_t number = held_[index];
    stamps_[number] = 0;
    held_[index] = held_.back();
    held_.pop_back();
    return number;
  }

  size_t limit_;
  uint64_t clock_ = 0;
  std::vector<uint64_t> stamps_;  // per chunk number: when last read; 0 while not held
  std::vector<uint64_t> held_;    // the numbers held, in no order
};

}  // namespace annals
