#include "directory_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <queue>

#include "page_allocator.h"
#include "store_error.h"

namespace annals {
namespace {

[[noreturn]] void BadInput(const std::string& what) { throw StoreError("INVALID_ARGUMENT", what); }

// An id of the input, with its first 8 bytes as a big-endian number (zero-padded), so most
// comparisons of the sort are one integer comparison on the span itself and no memory miss into
// the ids.
struct IdSpan {
  uint64_t prefix;
  uint32_t offset;
  uint32_t length;
  uint32_t index;
};

uint64_t PrefixOf(const uint8_t* id, uint32_t length) {
  uint64_t prefix = 0;
  for (uint32_t i = 0; i < 8; ++i) prefix = prefix << 8 | (i < length ? id[i] : 0);
  return prefix;
}

uint64_t PositionOf(double p) {
  // Checked before the cast: a negative, fractional or NaN double would be undefined there.
  if (!(p >= 0 && p <= static_cast<double>(kDirectoryMaxPosition)) || p != std::floor(p)) {
    BadInput("a position of " + std::to_string(p) + " is not an integer from 0 to 2^48-1");
  }
  return static_cast<uint64_t>(p);
}

// The input's ids as spans, each checked.
PageVector<IdSpan> SpansOf(const DirectoryColumns& in) {
  PageVector<IdSpan> spans(in.count);
  uint32_t start = 0;
  for (size_t i = 0; i < in.count; ++i) {
    const uint32_t end = in.id_ends[i];
    if (end < start || end > in.ids_size) BadInput("id ends out of order or past the ids");
    const uint32_t length = end - start;
    if (length > kDirectoryMaxIdBytes) {
      BadInput("a stream id of " + std::to_string(length) + " bytes is longer than " +
               std::to_string(kDirectoryMaxIdBytes));
    }
    if (!IsValidUtf8(in.ids + start, length)) BadInput("a stream id is not valid UTF-8");
    spans[i] = IdSpan{PrefixOf(in.ids + start, length), start, length, static_cast<uint32_t>(i)};
    start = end;
  }
  return spans;
}

void SortSpans(const uint8_t* ids, PageVector<IdSpan>* spans) {
  std::sort(spans->begin(), spans->end(), [ids](const IdSpan& a, const IdSpan& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    // Equal prefixes: the first min(8, length) bytes agree (and a shorter id's padding is zeroes
    // the longer one also has there), so compare from byte 8, then by length.
    const uint32_t m = std::min(a.length, b.length);
    if (m > 8) {
      const int c = std::memcmp(ids + a.offset + 8, ids + b.offset + 8, m - 8);
      if (c != 0) return c < 0;
    }
    return a.length < b.length;
  });
}

}  // namespace

void BuildDirectory(const std::string& dir, const std::string& name, const DirectorySpec& spec,
                    const DirectoryColumns& in) {
  PageVector<IdSpan> spans = SpansOf(in);
  SortSpans(in.ids, &spans);
  DirectoryWriter writer(dir, name, spec);
  for (const IdSpan& s : spans) {
    const DirectoryValues values{in.first_version[s.index], in.last_version[s.index],
                                 PositionOf(in.first_position[s.index]),
                                 PositionOf(in.last_position[s.index])};
    writer.Add(std::string_view(reinterpret_cast<const char*>(in.ids) + s.offset, s.length),
               values);
  }
  writer.Finish();
}

void MergeDirectories(const std::string& dir, const std::string& name, const DirectorySpec& spec,
                      const std::vector<std::shared_ptr<DirectoryFile>>& inputs) {
  for (size_t i = 1; i < inputs.size(); ++i) {
    if (inputs[i - 1]->header().to_position > inputs[i]->header().from_position) {
      BadInput("directories to merge must be of adjacent log ranges, oldest first");
    }
  }
  std::vector<std::unique_ptr<DirectoryCursor>> cursors;
  std::vector<DirectoryEntry> heads(inputs.size());
  // The input with the least head on top; of equal ids, the oldest input.
  auto greater = [&heads](size_t a, size_t b) {
    const int c = heads[a].id.compare(heads[b].id);
    return c != 0 ? c > 0 : a > b;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(greater)> heap(greater);
  for (size_t i = 0; i < inputs.size(); ++i) {
    cursors.push_back(std::make_unique<DirectoryCursor>(*inputs[i]));
    if (cursors[i]->Next(&heads[i])) heap.push(i);
  }
  DirectoryWriter writer(dir, name, spec);
  DirectoryEntry current;
  while (!heap.empty()) {
    size_t i = heap.top();
    heap.pop();
    current = std::move(heads[i]);
    if (cursors[i]->Next(&heads[i])) heap.push(i);
    // The same id in newer inputs: the last version and position are the newest one's.
    while (!heap.empty() && heads[heap.top()].id == current.id) {
      i = heap.top();
      heap.pop();
      current.values.last_version = heads[i].values.last_version;
      current.values.last_position = heads[i].values.last_position;
      if (cursors[i]->Next(&heads[i])) heap.push(i);
    }
    writer.Add(current.id, current.values);
  }
  writer.Finish();
}

}  // namespace annals
