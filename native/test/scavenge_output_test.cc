// The native scavenge pass's temp file writer (scavenge_output.h): what it writes is what it was
// given, whether durable appends are syncing beside it (pieces between their syncs) or not, and a
// wait for an append sync that never comes is bounded.
#include "../scavenge_output.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../env.h"
#include "../sync_gauge.h"
#include "test_framework.h"

using namespace annals;

namespace {

constexpr uint64_t kChunk = 8 << 20;

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; i++) bytes[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  return bytes;
}

// Writes `bytes` through a ScavengeOutput in uneven runs and reads the file back.
std::vector<uint8_t> WriteThrough(const std::vector<uint8_t>& bytes) {
  const std::string tmp = annals::test::TempDir() + "/out.tmp";
  {
    ScavengeOutput out(tmp, kChunk);
    size_t at = 0;
    for (size_t run = 1; at < bytes.size(); run = run * 3 % 700'001 + 1) {
      const size_t n = std::min(run, bytes.size() - at);
      out.Copy(bytes.data() + at, n);
      at += n;
    }
    out.Drain();
    out.Sync();
  }
  std::vector<uint8_t> back(bytes.size());
  FileDescriptor fd = FileDescriptor::Open(tmp, OpenMode::kRead);
  CHECK(ReadAllAt(fd, back.data(), back.size(), 64));
  CHECK_EQ(FileSize(fd, tmp), kChunk);
  RemoveFileQuietly(tmp);
  return back;
}

}  // namespace

TEST(ScavengeOutputWritesWhatItIsGivenWithNoAppendsSyncing) {
  const std::vector<uint8_t> bytes = Pattern(3 << 20);
  CHECK(WriteThrough(bytes) == bytes);
}

TEST(ScavengeOutputWritesWhatItIsGivenBetweenAppendSyncs) {
  std::atomic<bool> done{false};
  std::thread appends([&] {
    while (!done.load()) {
      SyncGauge::NoteSync();
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  });
  const std::vector<uint8_t> bytes = Pattern(3 << 20);
  const bool same = WriteThrough(bytes) == bytes;
  done.store(true);
  appends.join();
  CHECK(same);
}

TEST(ScavengeOutputWaitsBoundedForAnAppendSyncThatNeverComes) {
  SyncGauge::NoteSync();  // appends look active, then never sync again
  const auto started = std::chrono::steady_clock::now();
  const std::vector<uint8_t> bytes = Pattern(2 << 20);
  CHECK(WriteThrough(bytes) == bytes);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}
