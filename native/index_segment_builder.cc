#include "index_segment_builder.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <queue>

#include "bloom_filter.h"
#include "crc32c.h"
#include "entry_sort.h"
#include "page_allocator.h"
#include "store_error.h"

namespace annals {
namespace {

constexpr size_t kBufferPages = 256;

class PageWriter {
 public:
  explicit PageWriter(int fd) : fd_(fd) { buffer_.reserve(kBufferPages * kSegmentPageSize); }

  // Returns the page number of the page written.
  uint32_t Write(const uint8_t* page) {
    buffer_.insert(buffer_.end(), page, page + kSegmentPageSize);
    if (buffer_.size() >= kBufferPages * kSegmentPageSize) Flush();
    return next_page_++;
  }
  void WriteRaw(const uint8_t* data, size_t n) {
    Flush();
    WriteAllAt(fd_, data, n, offset_);
    offset_ += n;
  }
  void Flush() {
    if (buffer_.empty()) return;
    WriteAllAt(fd_, buffer_.data(), buffer_.size(), offset_);
    offset_ += buffer_.size();
    buffer_.clear();
  }
  uint32_t next_page() const { return next_page_; }

 private:
  int fd_;
  uint64_t offset_ = kSegmentPageSize;  // page 0, the header, is written last
  uint32_t next_page_ = 1;
  PageVector<uint8_t> buffer_;
};

struct Separator {
  uint64_t key;
  uint32_t seq;
  uint32_t child;
};

void SealPage(uint8_t* page) { StoreU32(page + 4, Crc32c(page + 8, kSegmentPageSize - 8)); }

// Streams sorted entries from `next` into a complete segment file; `starts` goes into the header,
// `max_entries` bounds how many `next` yields (it sizes the distinct-key buffer up front: pages
// never written cost nothing, while growing by doubling would map and copy it again and again).
void WriteSegment(const std::string& dir, const std::string& name, const SegmentSpec& spec,
                  uint64_t starts, size_t max_entries,
                  const std::function<bool(SegmentEntry*)>& next) {
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp";
  FileDescriptor fd = FileDescriptor::Open(tmp, O_RDWR | O_CREAT | O_TRUNC);
  try {
    PageWriter writer(fd.get());
    SegmentHeader h;
    h.kind = spec.kind;
    h.from_position = spec.from_position;
    h.to_position = spec.to_position;
    h.starts = starts;
    const uint32_t entry_size = EntrySize(spec.kind);
    const uint32_t leaf_capacity = LeafCapacity(spec.kind);
    PageVector<uint64_t> keys;  // distinct, for the Bloom filter
    keys.reserve(max_entries);
    std::vector<Separator> level;
    uint8_t page[kSegmentPageSize];
    uint32_t count = 0;
    auto flush_leaf = [&] {
      StoreU32(page, count);
      SealPage(page);
      const uint32_t n = writer.Write(page);
      const SegmentEntry first = DecodeEntry(page + 8, spec.kind);
      level.push_back({first.key, first.seq, n});
      ++h.leaf_count;
      count = 0;
    };
    std::memset(page, 0, sizeof page);
    SegmentEntry e;
    bool have_prev = false;
    SegmentEntry prev{};
    while (next(&e)) {
      if (have_prev && EntryLess(e, prev)) {
        throw StoreError("INVALID_ARGUMENT", "segment entries are out of order");
      }
      if (!have_prev || e.key != prev.key) keys.push_back(e.key);
      prev = e;
      have_prev = true;
      if (e.position > kMaxSegmentPosition || e.key > kMaxSegmentKey) {
        throw StoreError("INVALID_ARGUMENT",
                         "a key or position past 2^48 does not fit a segment entry");
      }
      if (spec.kind == kSegmentKindCommand && e.seq != 0) {
        throw StoreError("INVALID_ARGUMENT", "command segment entries have no seq");
      }
      EncodeEntry(page + 8 + count * entry_size, spec.kind, e);
      ++h.entry_count;
      if (++count == leaf_capacity) {
        flush_leaf();
        std::memset(page, 0, sizeof page);
      }
    }
    if (count > 0) flush_leaf();
    // Internal levels, bottom-up, until one page holds the level.
    h.height = level.empty() ? 0 : 1;
    while (level.size() > 1) {
      std::vector<Separator> upper;
      for (size_t i = 0; i < level.size(); i += kInternalCapacity) {
        const size_t n = std::min<size_t>(kInternalCapacity, level.size() - i);
        std::memset(page, 0, sizeof page);
        StoreU32(page, static_cast<uint32_t>(n));
        StoreU32(page + 8, h.height + 1);
        for (size_t k = 0; k < n; ++k) {
          uint8_t* s = page + 16 + k * kSegmentSeparatorSize;
          StoreU64(s, level[i + k].key);
          StoreU32(s + 8, level[i + k].seq);
          StoreU32(s + 12, level[i + k].child);
        }
        SealPage(page);
        upper.push_back({level[i].key, level[i].seq, writer.Write(page)});
      }
      level = std::move(upper);
      ++h.height;
    }
    h.root_page = level.empty() ? 0 : level.front().child;
    h.bloom_page = writer.next_page();
    h.distinct_keys = static_cast<uint32_t>(keys.size());
    h.bloom_bytes = BloomFilter::BytesFor(keys.size());
    h.bloom_hashes = kBloomHashes;
    PageVector<uint8_t> bloom(h.bloom_bytes, 0);
    for (uint64_t k : keys) BloomFilter::Add(bloom.data(), h.bloom_bytes, k);
    h.bloom_crc = Crc32c(bloom.data(), bloom.size());
    bloom.resize((bloom.size() + kSegmentPageSize - 1) / kSegmentPageSize * kSegmentPageSize, 0);
    writer.WriteRaw(bloom.data(), bloom.size());
    h.page_count = h.bloom_page + static_cast<uint32_t>(bloom.size() / kSegmentPageSize);
    uint8_t header[kSegmentPageSize];
    h.EncodeTo(header);
    WriteAllAt(fd.get(), header, sizeof header, 0);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  PublishFile(fd, tmp, path, dir);
}

}  // namespace

void BuildSegment(const std::string& dir, const std::string& name, const SegmentSpec& spec,
                  EntryVector entries) {
  // A stream's first event has version 1 and a command's first event ordinal 0; command segments
  // then drop the ordinal (position order is command order), so they sort by (key, position).
  // Category and type segments count no starts.
  uint64_t starts = 0;
  const bool counts_starts = spec.kind == kSegmentKindStream || spec.kind == kSegmentKindCommand;
  const uint32_t start_seq = spec.kind == kSegmentKindStream ? 1 : 0;
  for (SegmentEntry& e : entries) {
    if (counts_starts && e.seq == start_seq) ++starts;
    if (spec.kind == kSegmentKindCommand) e.seq = 0;
  }
  SortEntries(&entries);
  size_t i = 0;
  WriteSegment(dir, name, spec, starts, entries.size(), [&](SegmentEntry* out) {
    if (i == entries.size()) return false;
    *out = entries[i++];
    return true;
  });
}

void MergeSegments(const std::string& dir, const std::string& name, const SegmentSpec& spec,
                   const std::vector<std::shared_ptr<IndexSegment>>& inputs) {
  struct Head {
    SegmentEntry entry;
    size_t input;
  };
  auto greater = [](const Head& a, const Head& b) { return EntryLess(b.entry, a.entry); };
  std::priority_queue<Head, std::vector<Head>, decltype(greater)> heap(greater);
  std::vector<SegmentCursor> cursors;
  cursors.reserve(inputs.size());
  uint64_t starts = 0;  // the inputs partition the log range: each start is in one of them
  size_t entries = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    starts += inputs[i]->header().starts;
    entries += inputs[i]->header().entry_count;
    cursors.emplace_back(inputs[i]);
    SegmentEntry e;
    if (cursors.back().Next(&e)) heap.push({e, i});
  }
  WriteSegment(dir, name, spec, starts, entries, [&](SegmentEntry* out) {
    if (heap.empty()) return false;
    const Head head = heap.top();
    heap.pop();
    *out = head.entry;
    SegmentEntry e;
    if (cursors[head.input].Next(&e)) heap.push({e, head.input});
    return true;
  });
}

}  // namespace annals
