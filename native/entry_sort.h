// Sorting index entries for a segment build: the order of EntryLess (key, then seq, then
// position), produced by a stable LSD radix sort on the 64-bit key in 16-bit digits (a digit that
// is the same for every entry costs one counting pass and no move), then an insertion sort of each
// run of equal keys by (seq, position). Runs are short and, as memtables hand them over, already in
// order except where two ids share a key, so that last pass is linear in practice. Replaces
// std::sort with a function-pointer comparator, which was half of a build's time.
#pragma once

#include "index_format.h"
#include "page_allocator.h"

namespace annals {

// Entries on their way into a segment: tens of MB per build, so kept out of malloc (see
// page_allocator.h).
using EntryVector = PageVector<SegmentEntry>;

void SortEntries(EntryVector* entries);

}  // namespace annals
