// libFuzzer target: an index segment file with arbitrary contents. Open must fail with
// StoreError or yield a reader whose lookups and full walk either answer or throw StoreError,
// never read outside the file.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "../file_util.h"
#include "../index_segment.h"
#include "../store_error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace annals;
  std::string path = (std::filesystem::temp_directory_path() / "annals-fuzz-seg-XXXXXX").string();
  const int raw = ::mkstemp(path.data());
  if (raw < 0) std::abort();
  FileDescriptor fd(raw);
  if (size > 0) WriteAllAt(fd, data, size, 0);
  try {
    auto seg = IndexSegment::Open(path);
    const uint64_t key = size >= 8 ? LoadU64(data + size - 8) : 0;
    SegmentEntry e;
    std::vector<SegmentEntry> out;
    try {
      seg->MayContain(key);
    } catch (const StoreError&) {
    }
    try {
      seg->FindLast(key, &e);
      seg->Range(key, 0, UINT32_MAX, &out);
    } catch (const StoreError&) {
    }
    try {
      SegmentCursor cursor(seg);
      while (cursor.Next(&e)) {
      }
    } catch (const StoreError&) {
    }
  } catch (const StoreError&) {
  }
  ::unlink(path.c_str());
  return 0;
}
