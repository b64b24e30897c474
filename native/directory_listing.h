// The merge of stream listings from several directory files of adjacent log ranges (oldest first)
// into one page: each file's page lists its first ids past the page's start in id order, and the
// merge keeps the first `limit` distinct ids. A stream in several files takes its first version
// and position from the oldest file holding it and its last ones from the newest. Exact for the
// page as long as each file gave at least `limit` entries or all it had past the start: an id among
// the merge's first `limit` is among the first `limit` of every file holding it.
#pragma once

#include <cstddef>
#include <vector>

#include "directory_format.h"

namespace annals {

std::vector<DirectoryEntry> MergeListings(const std::vector<std::vector<DirectoryEntry>>& pages,
                                          size_t limit);

}  // namespace annals
