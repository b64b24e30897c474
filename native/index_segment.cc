#include "index_segment.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "bloom_filter.h"
#include "crc32c.h"
#include "store_error.h"

namespace annals {
namespace {

bool LessOrEqual(uint64_t k1, uint32_t s1, uint64_t k2, uint32_t s2) {
  return k1 != k2 ? k1 < k2 : s1 <= s2;
}

// Whether `e` sorts before (key, seq): the order every search of a leaf narrows by.
bool Below(const SegmentEntry& e, uint64_t key, uint32_t seq) {
  return e.key < key || (e.key == key && e.seq < seq);
}

// Entries or separators on a page: a CRC-valid page may still claim more than fits (a crafted
// file), and that must never turn into a read past the page.
uint32_t CountOf(const uint8_t* page, uint32_t capacity, const std::string& path) {
  const uint32_t count = LoadU32(page);
  if (count > capacity) {
    throw StoreError("CORRUPTION", "index segment " + path + ": page count out of range");
  }
  return count;
}

}  // namespace

IndexSegment::IndexSegment(Token, std::string path, FileDescriptor fd, Mapping mapping,
                           SegmentHeader header)
    : path_(std::move(path)),
      entry_size_(EntrySize(header.kind)),
      leaf_capacity_(LeafCapacity(header.kind)),
      fd_(std::move(fd)),
      mapping_(std::move(mapping)),
      header_(header),
      verified_(std::make_unique<std::atomic<uint8_t>[]>(header.page_count)) {}

std::shared_ptr<IndexSegment> IndexSegment::Open(const std::string& path) {
  FileDescriptor fd = FileDescriptor::Open(path, OpenMode::kRead);
  const uint64_t size = FileSize(fd, path);
  uint8_t page[kSegmentPageSize];
  SegmentHeader header;
  if (size < kSegmentPageSize || !ReadAllAt(fd, page, sizeof page, 0) ||
      !SegmentHeader::DecodeFrom(page, &header) ||
      static_cast<uint64_t>(size) < static_cast<uint64_t>(header.page_count) * kSegmentPageSize ||
      static_cast<uint64_t>(header.bloom_page) * kSegmentPageSize + header.bloom_bytes >
          static_cast<uint64_t>(size)) {
    // An intact header of another format version is not damage: say so (it is rebuilt either way).
    if (size >= kSegmentPageSize && std::memcmp(page, kSegmentMagic, 8) == 0 &&
        page[8] != kSegmentFormatVersion) {
      throw StoreError("CORRUPTION", "index segment " + path + " has format version " +
                                         std::to_string(page[8]) + ", this build reads " +
                                         std::to_string(kSegmentFormatVersion));
    }
    throw StoreError("CORRUPTION", "index segment " + path + " at offset 0: invalid header");
  }
  Mapping mapping = Mapping::Map(fd, static_cast<size_t>(size));
  return std::make_shared<IndexSegment>(Token{}, path, std::move(fd), std::move(mapping), header);
}

const uint8_t* IndexSegment::Page(uint32_t n) const {
  const uint8_t* p = mapping_.data() + static_cast<uint64_t>(n) * kSegmentPageSize;
  if (n > 0 && n < header_.bloom_page && verified_[n].load(std::memory_order_relaxed) != 0)
    return p;
  if (n == 0 || n >= header_.bloom_page || LoadU32(p + 4) != Crc32c(p + 8, kSegmentPageSize - 8)) {
    throw StoreError("CORRUPTION", "index segment " + path_ + " at offset " +
                                       std::to_string(static_cast<uint64_t>(n) * kSegmentPageSize) +
                                       ": bad page");
  }
  verified_[n].store(1, std::memory_order_relaxed);
  return p;
}

std::pair<const uint8_t*, uint32_t> IndexSegment::BloomBits() const {
  MayContain(0);  // checks the filter's CRC once
  return {mapping_.data() + static_cast<uint64_t>(header_.bloom_page) * kSegmentPageSize,
          header_.bloom_bytes};
}

bool IndexSegment::MayContain(uint64_t key) const {
  const uint8_t* bits =
      mapping_.data() + static_cast<uint64_t>(header_.bloom_page) * kSegmentPageSize;
  int state = bloom_state_.load(std::memory_order_acquire);
  if (state == 0) {
    state = Crc32c(bits, header_.bloom_bytes) == header_.bloom_crc ? 1 : 2;
    bloom_state_.store(state, std::memory_order_release);
  }
  if (state == 2) {
    throw StoreError("CORRUPTION", "index segment " + path_ + " at offset " +
                                       std::to_string(header_.bloom_page * kSegmentPageSize) +
                                       ": bad Bloom filter");
  }
  return BloomFilter::MayContain(bits, header_.bloom_bytes, key);
}

uint32_t IndexSegment::FindLeaf(uint64_t key, uint32_t seq, bool strict, KeySpan* span) const {
  if (header_.height == 0) return 0;
  uint32_t page = header_.root_page;
  KeySpan bounds{0, kMaxSegmentKey + 1};
  for (uint32_t level = header_.height; level > 1; --level) {
    const uint8_t* p = Page(page);
    const uint32_t count = CountOf(p, kInternalCapacity, path_);
    // Last separator <= target.
    uint32_t lo = 0;
    uint32_t hi = count;
    while (lo < hi) {
      const uint32_t mid = (lo + hi) / 2;
      const uint8_t* s = p + 16 + mid * kSegmentSeparatorSize;
      const uint64_t skey = LoadU64(s);
      const uint32_t sseq = LoadU32(s + 8);
      const bool below =
          strict ? (skey != key ? skey < key : sseq < seq) : LessOrEqual(skey, sseq, key, seq);
      if (below) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo == 0) return 0;
    const uint8_t* chosen = p + 16 + (lo - 1) * kSegmentSeparatorSize;
    bounds.first = LoadU64(chosen);
    if (lo < count) bounds.next = LoadU64(chosen + kSegmentSeparatorSize);
    page = LoadU32(chosen + 12);
  }
  if (span != nullptr) *span = bounds;
  return page;
}

uint32_t IndexSegment::GuessInLeaf(uint32_t leaf, const KeySpan& span, uint64_t key) const {
  // A child pointer of a crafted file may name no leaf: Page() refuses it right after, and no
  // address is formed before that.
  if (leaf == 0 || leaf >= header_.bloom_page || !(span.first <= key && key < span.next)) {
    return kNoGuess;
  }
  const uint8_t* page = mapping_.data() + static_cast<uint64_t>(leaf) * kSegmentPageSize;
  // Below 2^48 each, times a capacity below 2^9: no overflow.
  const uint32_t guess =
      static_cast<uint32_t>((key - span.first) * leaf_capacity_ / (span.next - span.first));
  const uint32_t from = guess > kGuessReach ? guess - kGuessReach : 0;
  const uint32_t to = std::min(guess + kGuessReach, leaf_capacity_ - 1);
  for (uint32_t k = from; k <= to; k += 64 / entry_size_) Prefetch(page + EntryAt(k));
  Prefetch(page + EntryAt(to));
  return guess;
}

bool IndexSegment::FindLast(uint64_t key, SegmentEntry* out) const {
  KeySpan span{0, 0};
  const uint32_t leaf = FindLeaf(key, UINT32_MAX, false, &span);
  if (leaf == 0) return false;
  const uint32_t guess = GuessInLeaf(leaf, span, key);
  const uint8_t* p = Page(leaf);
  const uint32_t count = CountOf(p, leaf_capacity_, path_);
  // The first entry past the key's: the first not below (key + 1, 0) (keys are below 2^48).
  const uint32_t past = LowerBoundInLeaf(p, count, key + 1, 0, guess);
  if (past == 0) return false;
  const SegmentEntry e = DecodeEntry(p + EntryAt(past - 1), header_.kind);
  if (e.key != key) return false;
  *out = e;
  return true;
}

uint32_t IndexSegment::LowerBoundInLeaf(const uint8_t* p, uint32_t count, uint64_t key,
                                        uint32_t seq, uint32_t guess) const {
  uint32_t i = 0;
  uint32_t hi = count;
  NarrowByGuess(p, key, seq, guess, &i, &hi);
  NarrowByPivots(p, key, seq, &i, &hi);
  while (i < hi) {
    const uint32_t mid = (i + hi) / 2;
    const SegmentEntry e = DecodeEntry(p + EntryAt(mid), header_.kind);
    if (Below(e, key, seq)) {
      i = mid + 1;
    } else {
      hi = mid;
    }
  }
  return i;
}

// A binary search over a 4 KiB leaf is a chain of dependent cache misses, one per halving until
// the range fits a line (~6). Reading kPivots evenly spaced entries at once instead costs one
// miss time (the loads do not depend on each other), and leaves a range of a few lines, which are
// prefetched together before the binary search finishes there.
void IndexSegment::NarrowByPivots(const uint8_t* page, uint64_t key, uint32_t seq, uint32_t* lo,
                                  uint32_t* hi) const {
  constexpr uint32_t kPivots = 15;
  const uint32_t n = *hi - *lo;
  if (n < 4 * kPivots) return;
  uint32_t pivot[kPivots];
  for (uint32_t j = 0; j < kPivots; ++j) {
    pivot[j] = *lo + static_cast<uint32_t>((static_cast<uint64_t>(n) * (j + 1)) / (kPivots + 1));
    Prefetch(page + EntryAt(pivot[j]));
  }
  // The entries before the first pivot not below the target are all below it.
  uint32_t j = 0;
  for (; j < kPivots; ++j) {
    const SegmentEntry e = DecodeEntry(page + EntryAt(pivot[j]), header_.kind);
    if (!Below(e, key, seq)) break;
  }
  const uint32_t new_lo = j == 0 ? *lo : pivot[j - 1] + 1;
  const uint32_t new_hi = j == kPivots ? *hi : pivot[j];
  for (uint32_t k = new_lo; k < new_hi; k += 64 / entry_size_) Prefetch(page + EntryAt(k));
  *lo = new_lo;
  *hi = new_hi;
}

void IndexSegment::NarrowByGuess(const uint8_t* page, uint64_t key, uint32_t seq, uint32_t guess,
                                 uint32_t* lo, uint32_t* hi) const {
  if (guess == kNoGuess || *hi == 0) return;
  const auto below = [&](uint32_t i) {
    return Below(DecodeEntry(page + EntryAt(i), header_.kind), key, seq);
  };
  const uint32_t a = std::min(guess > kGuessReach ? guess - kGuessReach : 0, *hi - 1);
  const uint32_t b = std::min(guess + kGuessReach, *hi - 1);
  if (!below(a)) {
    *hi = a + 1;
  } else if (!below(b)) {
    *lo = a + 1;
    *hi = b + 1;
  } else {
    *lo = b + 1;
  }
}

void IndexSegment::Range(uint64_t key, uint32_t from_seq, uint32_t to_seq,
                         std::vector<SegmentEntry>* out) const {
  if (from_seq > to_seq || header_.height == 0) return;
  // Strictly below: equal (key, seq) pairs of colliding ids may straddle a leaf boundary.
  KeySpan span{0, 0};
  uint32_t leaf = FindLeaf(key, from_seq, true, &span);
  if (leaf == 0) leaf = 1;
  for (bool first = true; leaf <= header_.leaf_count; ++leaf, first = false) {
    // The guess's lines are loaded beside the page's first (its count), not after it.
    const uint32_t guess = first ? GuessInLeaf(leaf, span, key) : kNoGuess;
    const uint8_t* p = Page(leaf);
    const uint32_t count = CountOf(p, leaf_capacity_, path_);
    // In the first leaf the range starts anywhere: search for its start (a leaf holds 255 or 340
    // entries; a linear walk there was most of a point lookup's time in the tree).
    const uint32_t i0 = first ? LowerBoundInLeaf(p, count, key, from_seq, guess) : 0;
    for (uint32_t i = i0; i < count; ++i) {
      const SegmentEntry e = DecodeEntry(p + EntryAt(i), header_.kind);
      if (Below(e, key, from_seq)) continue;
      if (e.key > key || e.seq > to_seq) return;
      out->push_back(e);
    }
  }
}

bool SegmentCursor::Next(SegmentEntry* out) {
  while (slot_ == count_) {
    if (leaf_ >= segment_->header().leaf_count) return false;
    page_ = segment_->Page(++leaf_);
    slot_ = 0;
    count_ = CountOf(page_, LeafCapacity(segment_->header().kind), segment_->path());
  }
  const uint8_t kind = segment_->header().kind;
  *out = DecodeEntry(page_ + 8 + slot_++ * EntrySize(kind), kind);
  return true;
}

}  // namespace annals
