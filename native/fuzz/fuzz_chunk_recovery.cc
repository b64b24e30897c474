// libFuzzer target: recovery of a store whose tail chunk holds arbitrary bytes after a valid
// header, with an arbitrary checkpoint. Open must either fail with StoreError or recover a log that
// can then be scanned end to end and appended to.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "../chunk_format.h"
#include "../chunk_log.h"
#include "../file_util.h"
#include "../store_error.h"

namespace {

constexpr uint64_t kChunk = 1u << 20;

std::string TempDir() {
  std::string p = (std::filesystem::temp_directory_path() / "annals-fuzz-XXXXXX").string();
  if (::mkdtemp(p.data()) == nullptr) std::abort();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace annals;
  const std::string dir = TempDir();
  {
    FileDescriptor fd = FileDescriptor::Open(ChunkFile::PathFor(dir, 0), OpenMode::kCreateTruncate);
    SetSparseSize(fd, kChunk, dir);
    uint8_t header[kChunkHeaderSize];
    ChunkHeader{0, kChunk, 1}.EncodeTo(header);
    WriteAllAt(fd, header, sizeof header, 0);
    // The first 16 input bytes choose the checkpoint; the rest is the data region.
    const size_t skip = size < 16 ? size : 16;
    const size_t n = std::min<size_t>(size - skip, ChunkDataCapacityEnd(kChunk) - kChunkHeaderSize);
    if (n > 0) WriteAllAt(fd, data + skip, n, kChunkHeaderSize);
    if (skip == 16) {
      Checkpoint cp;
      cp.durable_end = LoadU64(data) % (kChunk + 1);
      cp.generation = LoadU32(data + 8);
      cp.tail_records = LoadU32(data + 12) & 0xFF;
      uint8_t raw[kCheckpointSize];
      cp.EncodeTo(raw);
      FileDescriptor c = FileDescriptor::Open(dir + "/writer.chk", OpenMode::kCreateTruncate);
      WriteAllAt(c, raw, sizeof raw, 0);
    }
  }
  try {
    ChunkLog log(dir, kChunk, false);
    const RecoveryReport r = log.Open(1);
    std::vector<uint8_t> out;
    try {
      log.Scan(kChunkHeaderSize, r.end_position, 1 << 22, &out);
    } catch (const StoreError&) {
      // A damaged record before the checkpoint is refused on read: allowed.
    }
    std::vector<uint8_t> frame(kFrameHeaderSize + 8, 0);
    StoreU32(frame.data(), static_cast<uint32_t>(frame.size()));
    frame[8] = kRecordKindEvent;
    frame[9] = kFrameFlagCommit;
    const double start = static_cast<double>(log.end_position());
    const uint32_t end = static_cast<uint32_t>(frame.size());
    log.Append(frame.data(), frame.size(), &start, &end, 1);
    log.Close();
  } catch (const StoreError&) {
  }
  std::filesystem::remove_all(dir);
  return 0;
}
