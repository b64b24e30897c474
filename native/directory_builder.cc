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

// An id of the input, with 8 of its bytes (at the depth the sort has reached) as a big-endian
// number, zero-padded past the id's end: most comparisons of the sort are one integer comparison
// on the span itself, with no memory miss into the ids.
struct IdSpan {
  uint64_t word;
  uint32_t offset;
  uint32_t length;
  uint32_t index;
};

// Bytes [at, at + 8) of an id of `length`, big-endian, zero-padded.
uint64_t WordAt(const uint8_t* id, uint32_t length, uint32_t at) {
  uint64_t word = 0;
  for (uint32_t i = at; i < at + 8; ++i) word = word << 8 | (i < length ? id[i] : 0);
  return word;
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
    spans[i] = IdSpan{WordAt(in.ids + start, length, 0), start, length, static_cast<uint32_t>(i)};
    start = end;
  }
  return spans;
}

// Sorts by id bytes, most significant 8 bytes first: a comparison sort of the spans by their word,
// then of each run that ties on it (and goes on past it) by the next 8 bytes, and so on. Ids
// sharing long prefixes ("tenant-7/order-...") then cost a few passes of integer comparisons
// instead of a memcmp over the shared prefix per comparison (which was 60% of a build of 1M such
// ids). Where words tie, an id that ends within them is a prefix of the others and sorts first (by
// length). Iterative: ids of 64 KiB sharing all but their last bytes would take 8K levels.
void SortSpans(const uint8_t* ids, PageVector<IdSpan>* spans) {
  struct Range {
    size_t begin;
    size_t end;
    uint32_t depth;
  };
  IdSpan* s = spans->data();
  std::vector<Range> todo{{0, spans->size(), 0}};
  while (!todo.empty()) {
    const Range r = todo.back();
    todo.pop_back();
    const uint32_t past = r.depth + 9;  // lengths past this word compare as equal here
    auto rank = [past](const IdSpan& x) { return std::min(x.length, past); };
    std::sort(s + r.begin, s + r.end, [&rank](const IdSpan& a, const IdSpan& b) {
      return a.word != b.word ? a.word < b.word : rank(a) < rank(b);
    });
    for (size_t a = r.begin; a < r.end;) {
      size_t b = a + 1;
      while (b < r.end && s[b].word == s[a].word && rank(s[b]) == rank(s[a])) ++b;
      if (b - a > 1 && s[a].length >= past) {
        for (size_t k = a; k < b; ++k) {
          s[k].word = WordAt(ids + s[k].offset, s[k].length, r.depth + 8);
        }
        todo.push_back({a, b, r.depth + 8});
      }
      a = b;
    }
  }
}

}  // namespace

void BuildDirectory(const std::string& dir, const std::string& name, const DirectorySpec& spec,
                    const DirectoryColumns& in) {
  PageVector<IdSpan> spans = SpansOf(in);
  SortSpans(in.ids, &spans);
  DirectoryWriter writer(dir, name, spec);
  // Sorted spans visit the ids and columns in random order: each entry would wait on a cache miss
  // into each of them, so the lines of the entry kPrefetch ahead are asked for first.
  constexpr size_t kPrefetch = 8;
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i + kPrefetch < spans.size()) {
      const IdSpan& ahead = spans[i + kPrefetch];
      __builtin_prefetch(in.ids + ahead.offset);
      __builtin_prefetch(in.first_version + ahead.index);
      __builtin_prefetch(in.last_version + ahead.index);
      __builtin_prefetch(in.first_position + ahead.index);
      __builtin_prefetch(in.last_position + ahead.index);
    }
    const IdSpan& s = spans[i];
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
