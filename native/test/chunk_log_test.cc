#include "../chunk_log.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../dir_lock.h"
#include "../store_error.h"
#include "frame_builder.h"
#include "test_framework.h"

using namespace annals;
using annals::test::AddFrame;

namespace {

constexpr uint64_t kChunk = 1u << 20;

// Appends one transaction of `frames` frames of `body` bytes at the end of the log.
uint64_t AppendTx(ChunkLog* log, int frames, uint32_t body, uint64_t at) {
  std::vector<uint8_t> buf;
  for (int i = 0; i < frames; ++i) AddFrame(&buf, body, i + 1 == frames, 0, 0x33, false);
  const double start = static_cast<double>(at);
  const uint32_t end = static_cast<uint32_t>(buf.size());
  log->Append(buf.data(), buf.size(), &start, &end, 1);
  return at + buf.size();
}

// Mappings of files under `dir` in this process.
size_t MappingsUnder(const std::string& dir) {
  std::ifstream maps("/proc/self/maps");
  size_t n = 0;
  for (std::string line; std::getline(maps, line);) n += line.find(dir) != std::string::npos;
  return n;
}

// Appends one 700 KB transaction per chunk to a fresh log, `chunks` of them (the last is the
// tail); returns their positions.
std::vector<uint64_t> FillChunks(ChunkLog* log, int chunks) {
  std::vector<uint64_t> starts;
  uint64_t end = log->Open(1).end_position;
  for (int i = 0; i < chunks; ++i) {
    const uint64_t at = i == 0 ? end : (static_cast<uint64_t>(i) * kChunk + kChunkHeaderSize);
    starts.push_back(at);
    end = AppendTx(log, 1, 700000, at);
  }
  return starts;
}

}  // namespace

TEST(AppendReadScanAndReopen) {
  const std::string dir = annals::test::TempDir();
  uint64_t end;
  {
    ChunkLog log(dir, kChunk, false);
    RecoveryReport r = log.Open(1);
    CHECK_EQ(r.end_position, kChunkHeaderSize);
    CHECK_EQ(r.generation, 1u);
    end = AppendTx(&log, 3, 100, r.end_position);
    ChunkLog::RunFlush(log.PrepareFlush());
    const double positions[] = {static_cast<double>(kChunkHeaderSize)};
    std::vector<uint8_t> frame = log.ReadFrames(positions, 1);
    CHECK_EQ(frame.size(), kFrameHeaderSize + 100u);
    CHECK_EQ(LoadU32(frame.data() + 12), 1u);  // generation stamped
    // Into a caller's buffer: too small reports the size and writes nothing; big enough copies.
    const double two[] = {static_cast<double>(kChunkHeaderSize),
                          static_cast<double>(kChunkHeaderSize + kFrameHeaderSize + 100)};
    std::vector<uint8_t> small(50, 0xAB);
    CHECK_EQ(log.ReadFramesInto(two, 2, small.data(), small.size()), 2 * (kFrameHeaderSize + 100u));
    CHECK(small[0] == 0xAB);
    std::vector<uint8_t> big(1000);
    CHECK_EQ(log.ReadFramesInto(two, 2, big.data(), big.size()), 2 * (kFrameHeaderSize + 100u));
    const double negative[] = {-1};
    CHECK_THROWS_CODE(log.ReadFramesInto(negative, 1, big.data(), big.size()), "INVALID_ARGUMENT");
    // Bad positions behind a good one reach the prefetch first: it must skip them quietly (UBSan
    // checks its conversions), and the read still reports them.
    const double bad_later[] = {static_cast<double>(kChunkHeaderSize), std::nan(""), 1e300,
                                static_cast<double>(kChunk - 1), -5};
    CHECK_THROWS_CODE(log.ReadFramesInto(bad_later, 5, big.data(), big.size()), "INVALID_ARGUMENT");
    std::vector<uint8_t> all;
    CHECK_EQ(log.Scan(kChunkHeaderSize, end, 1 << 20, &all), end);
    CHECK_EQ(all.size(), end - kChunkHeaderSize);
    // The first two frames as Scan (its own copy path) read them, byte for byte.
    CHECK(std::equal(all.begin(), all.begin() + 2 * (kFrameHeaderSize + 100), big.begin()));
    log.Close();
  }
  ChunkLog again(dir, kChunk, false);
  RecoveryReport r = again.Open(1);
  CHECK_EQ(r.end_position, end);
  CHECK(!r.torn);
  CHECK_EQ(r.generation, 2u);
}

TEST(AppendRefusesAWrongPlacementAndWritesNothing) {
  const std::string dir = annals::test::TempDir();
  ChunkLog log(dir, kChunk, false);
  const uint64_t end = AppendTx(&log, 1, 10, log.Open(1).end_position);
  CHECK_THROWS_CODE(AppendTx(&log, 1, 10, end + 8), "INVALID_ARGUMENT");
  CHECK_THROWS_CODE(AppendTx(&log, 1, 10, 5 * kChunk + kChunkHeaderSize), "INVALID_ARGUMENT");
  std::vector<uint8_t> no_commit;
  AddFrame(&no_commit, 10, false, 0, 1, false);
  const double start = static_cast<double>(end);
  const uint32_t len = static_cast<uint32_t>(no_commit.size());
  CHECK_THROWS_CODE(log.Append(no_commit.data(), no_commit.size(), &start, &len, 1),
                    "INVALID_ARGUMENT");
  // Starts no position can take are refused before any cast (UBSan would report the cast).
  std::vector<uint8_t> ok;
  AddFrame(&ok, 10, true, 0, 1, false);
  const uint32_t ok_len = static_cast<uint32_t>(ok.size());
  for (const double bad : {-1.0, std::nan(""), 1e300, -1e300}) {
    CHECK_THROWS_CODE(log.Append(ok.data(), ok.size(), &bad, &ok_len, 1), "INVALID_ARGUMENT");
  }
  CHECK_EQ(log.end_position(), end);
}

TEST(RollsOverSealingTheFullChunk) {
  const std::string dir = annals::test::TempDir();
  ChunkLog log(dir, kChunk, false);
  uint64_t end = log.Open(1).end_position;
  end = AppendTx(&log, 1, 600000, end);
  end = AppendTx(&log, 1, 600000, kChunk + kChunkHeaderSize);  // does not fit: next chunk
  CHECK_EQ(log.chunk_count(), 2u);
  std::vector<uint8_t> out;
  const uint64_t next = log.Scan(kChunkHeaderSize, end, 100, &out);
  CHECK_EQ(next, kChunkHeaderSize + kFrameHeaderSize + 600000u);  // stops at the chunk's end
  out.clear();
  CHECK_EQ(log.Scan(next, end, 1 << 22, &out), end);
  log.Close();
  ChunkLog again(dir, kChunk, false);
  CHECK_EQ(again.Open(1).end_position, end);
}

TEST(RecoveryCutsATornTailAndReadsRefuseCheckpointedDamage) {
  const std::string dir = annals::test::TempDir();
  uint64_t end;
  {
    ChunkLog log(dir, kChunk, false);
    end = AppendTx(&log, 2, 50, log.Open(1).end_position);
    log.Close();
  }
  // Torn: half a frame after the end.
  std::vector<uint8_t> tail;
  AddFrame(&tail, 80, true);
  {
    FileDescriptor fd = FileDescriptor::Open(ChunkFile::PathFor(dir, 0), OpenMode::kReadWrite);
    WriteAllAt(fd, tail.data(), tail.size() / 2, end);
  }
  {
    ChunkLog log(dir, kChunk, false);
    RecoveryReport r = log.Open(1);
    CHECK(r.torn);
    CHECK_EQ(r.torn_position, end);
    CHECK_EQ(r.end_position, end);
    log.Close();
  }
  // Damage inside checkpointed data.
  {
    FileDescriptor fd = FileDescriptor::Open(ChunkFile::PathFor(dir, 0), OpenMode::kReadWrite);
    const uint8_t junk = 0xEE;
    WriteAllAt(fd, &junk, 1, kChunkHeaderSize + 30);
  }
  // Checkpointed data is not re-read at open; the damaged frame is refused when it is read.
  ChunkLog log(dir, kChunk, false);
  CHECK_EQ(log.Open(1).end_position, end);
  const double first = static_cast<double>(kChunkHeaderSize);
  CHECK_THROWS_CODE(log.ReadFrames(&first, 1), "CORRUPTION");
}

TEST(SealedChunksHoldNoDescriptorAndFewMappings) {
  const auto open_fds = [] {
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd");
         it != std::filesystem::directory_iterator(); ++it)
      ++n;
    return n;
  };
  const std::string dir = annals::test::TempDir();
  std::vector<uint64_t> starts;
  {
    ChunkLog log(dir, kChunk, false);
    starts = FillChunks(&log, 12);
    log.Close();
  }
  const size_t before = open_fds();
  // A window of 8 chunks: reading 11 sealed ones maps and unmaps.
  ChunkLog log(dir, kChunk, true, 8 * kChunk);
  log.Open(1);
  CHECK(open_fds() <= before + 3);  // the tail and the checkpoint, not one per chunk
  // Read every chunk twice, in an order that maps, unmaps and maps again.
  for (int round = 0; round < 2; ++round) {
    for (uint64_t s : starts) {
      const double p = static_cast<double>(s);
      std::vector<uint8_t> frame = log.ReadFrames(&p, 1);
      CHECK_EQ(frame.size(), kFrameHeaderSize + 700000u);
      CHECK(MappingsUnder(dir) <= 8u + 1u);  // the window's sealed chunks and the tail
    }
  }
  CHECK(MappingsUnder(dir) >= 8u);
  CHECK(open_fds() <= before + 3);
}

// The default window holds every chunk of a store within it: reading them again in any order
// maps none of them again (it once kept 8, and a store past them remapped on most random reads).
TEST(SealedChunksWithinTheWindowStayMapped) {
  const std::string dir = annals::test::TempDir();
  ChunkLog log(dir, kChunk, false);
  const std::vector<uint64_t> starts = FillChunks(&log, 20);
  for (int round = 0; round < 2; ++round) {
    for (size_t k = 0; k < starts.size(); ++k) {
      const double p = static_cast<double>(starts[(k * 7) % starts.size()]);
      CHECK_EQ(log.ReadFrames(&p, 1).size(), kFrameHeaderSize + 700000u);
    }
  }
  CHECK_EQ(MappingsUnder(dir), 20u);
  log.Close();
}

// A chunk sealed with none after it (the writer stopped between the seal and the next chunk's
// creation) is read as every sealed chunk: not mapped until read, and let go by Forget (a scavenge
// renames over it), not kept open and mapped as a tail.
TEST(ASealedLastChunkIsMappedWhenReadAndForgotten) {
  const std::string dir = annals::test::TempDir();
  std::vector<uint64_t> starts;
  {
    ChunkLog log(dir, kChunk, false);
    starts = FillChunks(&log, 2);
    AppendTx(&log, 1, 100, 2 * kChunk + kChunkHeaderSize);  // seals chunk 1, creates chunk 2
    log.Close();
  }
  std::filesystem::remove(ChunkFile::PathFor(dir, 2));
  std::filesystem::remove(dir + "/writer.chk");
  ChunkLog log(dir, kChunk, false);
  const RecoveryReport report = log.Open(1);
  CHECK_EQ(report.chunk_count, 2u);
  CHECK_EQ(report.end_position, 2 * kChunk + kChunkHeaderSize);
  CHECK_EQ(MappingsUnder(dir), 0u);
  const double p = static_cast<double>(starts[1]);
  CHECK_EQ(log.ReadFrames(&p, 1).size(), kFrameHeaderSize + 700000u);
  CHECK_EQ(MappingsUnder(dir), 1u);
  log.Forget(1);
  CHECK_EQ(MappingsUnder(dir), 0u);
  // The log goes on in a new chunk.
  AppendTx(&log, 1, 100, 2 * kChunk + kChunkHeaderSize);
  CHECK_EQ(log.chunk_count(), 3u);
  CHECK_EQ(log.ReadFrames(&p, 1).size(), kFrameHeaderSize + 700000u);
  log.Close();
}

TEST(DirLockExcludesASecondHolder) {
  const std::string path = annals::test::TempDir() + "/LOCK";
  DirLock first(path);
  CHECK_THROWS_CODE(DirLock second(path), "STORE_LOCKED");
  first.Release();
  DirLock third(path);
  CHECK(third.held());
}
