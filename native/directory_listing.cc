#include "directory_listing.h"

#include <string>

namespace annals {

std::vector<DirectoryEntry> MergeListings(const std::vector<std::vector<DirectoryEntry>>& pages,
                                          size_t limit) {
  std::vector<size_t> at(pages.size(), 0);
  std::vector<DirectoryEntry> out;
  while (out.size() < limit) {
    // The least id at the sources' heads (std::string compares bytes: UTF-8 order).
    const std::string* least = nullptr;
    for (size_t k = 0; k < pages.size(); ++k) {
      if (at[k] < pages[k].size() && (least == nullptr || pages[k][at[k]].id < *least)) {
        least = &pages[k][at[k]].id;
      }
    }
    if (least == nullptr) break;
    DirectoryEntry merged;
    bool first = true;
    const std::string id = *least;  // a copy: the heads move below
    for (size_t k = 0; k < pages.size(); ++k) {
      if (at[k] >= pages[k].size() || pages[k][at[k]].id != id) continue;
      const DirectoryEntry& e = pages[k][at[k]++];
      if (first) {
        merged = e;
        first = false;
      } else {
        merged.values.last_version = e.values.last_version;
        merged.values.last_position = e.values.last_position;
      }
    }
    out.push_back(std::move(merged));
  }
  return out;
}

}  // namespace annals
