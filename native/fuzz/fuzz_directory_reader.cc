// libFuzzer target: a stream directory file with arbitrary contents. Open must fail with
// StoreError or yield a reader whose lookups, pages and full walk either answer or throw
// StoreError, never read outside the file; and every page answered must be in order, past `after`
// and under the prefix. Each input runs twice: as it is, and with every CRC recomputed, so that
// mutations reach the checks behind the CRCs (slots, lengths, page numbers, the tree's shape).
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "../crc32c.h"
#include "../directory_reader.h"
#include "../file_util.h"
#include "../store_error.h"

namespace {

void CheckPage(const annals::DirectoryFile& dir, const std::string* after,
               const std::string& prefix) {
  std::vector<annals::DirectoryEntry> out;
  dir.List(after, prefix, 50, &out);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].id.compare(0, prefix.size(), prefix) != 0) std::abort();
    if (after != nullptr && !(*after < out[i].id)) std::abort();
    if (i > 0 && !(out[i - 1].id < out[i].id)) std::abort();
  }
}

// Rewrites the header's and every page's CRC to match their bytes.
void FixCrcs(std::vector<uint8_t>* bytes) {
  using namespace annals;
  if (bytes->size() < kDirectoryPageSize) return;
  StoreU32(bytes->data() + 124, Crc32c(bytes->data(), 124));
  for (size_t at = kDirectoryPageSize; at + kDirectoryPageSize <= bytes->size();
       at += kDirectoryPageSize) {
    SealDirectoryPage(bytes->data() + at);
  }
}

void RunOne(const uint8_t* data, size_t size) {
  using namespace annals;
  std::string path = (std::filesystem::temp_directory_path() / "annals-fuzz-dir-XXXXXX").string();
  const int raw = ::mkstemp(path.data());
  if (raw < 0) std::abort();
  FileDescriptor fd(raw);
  if (size > 0) WriteAllAt(fd.get(), data, size, 0);
  try {
    auto dir = DirectoryFile::Open(path);
    // Targets from the input's last bytes: likely ids in a seed, mutated ones elsewhere.
    const std::string tail(reinterpret_cast<const char*>(data) + (size > 6 ? size - 6 : 0),
                           size > 6 ? 6 : size);
    const std::string prefix = tail.substr(0, 2);
    DirectoryEntry e;
    for (const std::string* after : {static_cast<const std::string*>(nullptr), &tail}) {
      for (const std::string& p : {std::string(), prefix}) {
        try {
          CheckPage(*dir, after, p);
        } catch (const StoreError&) {
        }
      }
    }
    try {
      dir->Get(tail, &e);
      dir->Get("s-1", &e);
    } catch (const StoreError&) {
    }
    try {
      DirectoryCursor cursor(*dir);
      while (cursor.Next(&e)) {
      }
    } catch (const StoreError&) {
    }
  } catch (const StoreError&) {
  }
  ::unlink(path.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RunOne(data, size);
  std::vector<uint8_t> fixed(data, data + size);
  FixCrcs(&fixed);
  RunOne(fixed.data(), fixed.size());
  return 0;
}
