// Writes index segments (format in index_format.h): from a batch of unsorted entries (a frozen
// memtable) or by merging existing segments. Runs on a worker thread: streams pages to
// `<name>.tmp` through a 1 MiB buffer, appends the Bloom filter, syncs, renames into place and
// syncs the directory, so a segment file is complete or absent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "entry_sort.h"
#include "index_format.h"
#include "index_segment.h"

namespace annals {

struct SegmentSpec {
  uint8_t kind = kSegmentKindStream;
  uint64_t from_position = 0;
  uint64_t to_position = 0;
};

// Sorts `entries` by (key, seq) and writes them as `dir/name`.
void BuildSegment(const std::string& dir, const std::string& name, const SegmentSpec& spec,
                  EntryVector entries);

// Writes the union of `inputs` (each sorted) as `dir/name`.
void MergeSegments(const std::string& dir, const std::string& name, const SegmentSpec& spec,
                   const std::vector<std::shared_ptr<IndexSegment>>& inputs);

}  // namespace annals
