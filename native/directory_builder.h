// Builds stream directories (format in directory_format.h): from a batch of unsorted entries (a
// frozen memtable's streams) or by merging directories of adjacent log ranges. Both run on a
// worker thread and end in DirectoryWriter, which publishes the file whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "directory_reader.h"
#include "directory_writer.h"

namespace annals {

// A build's input as the JS side holds it, read in place: the ids' UTF-8 concatenated, id i at
// [id_ends[i - 1], id_ends[i]) (from 0 for the first), and one column per value. Positions are
// doubles (JS numbers), checked to be integers from 0 to 2^48 - 1.
struct DirectoryColumns {
  const uint8_t* ids = nullptr;
  size_t ids_size = 0;
  const uint32_t* id_ends = nullptr;
  const uint32_t* first_version = nullptr;
  const uint32_t* last_version = nullptr;
  const double* first_position = nullptr;
  const double* last_position = nullptr;
  size_t count = 0;
};

// Checks the input (StoreError(INVALID_ARGUMENT): ends out of order or past the ids, an id that is
// not UTF-8 or longer than kDirectoryMaxIdBytes, a duplicate, first > last, a position that is not
// an integer below 2^48), sorts it by id bytes and writes it as `dir/name`.
void BuildDirectory(const std::string& dir, const std::string& name, const DirectorySpec& spec,
                    const DirectoryColumns& input);

// Writes the union of `inputs` (directories of adjacent log ranges, oldest first: each one's
// to_position <= the next one's from_position, else INVALID_ARGUMENT) as `dir/name`, streaming a
// k-way merge. An id in several inputs takes its first version and position from the oldest input
// holding it, its last ones from the newest.
void MergeDirectories(const std::string& dir, const std::string& name, const DirectorySpec& spec,
                      const std::vector<std::shared_ptr<DirectoryFile>>& inputs);

}  // namespace annals
