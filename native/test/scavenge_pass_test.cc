// The native scavenge pass (scavenge_pass.h) over chunk files built here: what it removes and
// copies, what it asks, and the damage it refuses. Byte identity with the TypeScript pass is
// checked from JS (test/scavenge-native.test.ts); these run under the sanitizers.
#include "../scavenge_pass.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../chunk_format.h"
#include "../crc32c.h"
#include "../env.h"
#include "../store_error.h"
#include "test_framework.h"

using namespace annals;

namespace {

constexpr uint32_t kChunk = 1 << 20;

// One v2 event frame of `stream` at `version`, with a derived id and no data or metadata.
void AddEvent(std::vector<uint8_t>* out, const std::string& stream, uint32_t version) {
  const std::string type = "T";
  std::vector<uint8_t> body(17, 0);
  StoreU32(body.data() + 6, 1000);  // timestamp
  StoreU32(body.data() + 12, version);
  body[16] = 64 | 4 | 8;  // ID_DERIVED | DATA_ABSENT | META_ABSENT
  body.push_back(static_cast<uint8_t>(stream.size()));
  body.push_back(static_cast<uint8_t>(type.size()));
  body.insert(body.end(), stream.begin(), stream.end());
  body.insert(body.end(), type.begin(), type.end());
  const size_t at = out->size();
  const uint32_t len = kFrameHeaderSize + static_cast<uint32_t>(body.size());
  out->resize(at + kFrameHeaderSize, 0);
  out->insert(out->end(), body.begin(), body.end());
  uint8_t* f = out->data() + at;
  StoreU32(f, len);
  f[8] = kRecordKindEvent;
  StoreU32(f + 4, Crc32c(f + 8, len - 8));
}

struct Built {
  std::string file;
  ScavengePassInput in;
  std::vector<uint8_t> kept;  // the frames of "b", back to back
};

// A chunk of 40 frames alternating streams "a" and "b", and the pass input over it that deletes
// "a" (known rules when `known`).
Built Build(bool known) {
  Built b;
  const std::string dir = annals::test::TempDir();
  b.file = dir + "/00000000.chunk";
  std::vector<uint8_t> data(kChunk, 0);
  std::vector<uint8_t> frames;
  uint32_t chain = 0;
  for (uint32_t i = 0; i < 40; i++) {
    const size_t at = frames.size();
    AddEvent(&frames, i % 2 == 0 ? "a" : "b", i / 2 + 1);
    chain = Crc32c(chain, frames.data() + at, 8);
    if (i % 2 == 1) b.kept.insert(b.kept.end(), frames.begin() + at, frames.end());
  }
  std::memcpy(data.data() + 64, frames.data(), frames.size());
  FileDescriptor fd = FileDescriptor::Open(b.file, OpenMode::kCreateTruncate);
  WriteAllAt(fd, data.data(), data.size(), 0);
  b.in.file = b.file;
  b.in.tmp = b.file + ".tmp";
  b.in.chunk_size = kChunk;
  b.in.end = 64 + frames.size();
  b.in.data_checksum = chain;
  b.in.records = 40;
  b.in.keys.insert(KeyNumberOf(reinterpret_cast<const uint8_t*>("a"), 1));
  ScavengeRule deleted;
  deleted.from = 1e300;
  deleted.none = false;
  if (known) b.in.rules["a"] = deleted;
  return b;
}

std::vector<uint8_t> ReadAll(const std::string& path, size_t n, uint64_t at) {
  std::vector<uint8_t> bytes(n);
  FileDescriptor fd = FileDescriptor::Open(path, OpenMode::kRead);
  CHECK(ReadAllAt(fd, bytes.data(), n, at));
  return bytes;
}

}  // namespace

TEST(ScavengeKeyNumbersMatchTheTypeScriptKeys) {
  CHECK_EQ(KeyNumberOf(reinterpret_cast<const uint8_t*>("s-0"), 3), 143455501290881ull);
  CHECK_EQ(KeyNumberOf(reinterpret_cast<const uint8_t*>("order-12"), 8), 153286458794565ull);
}

TEST(ScavengePassRemovesRuledFramesAndCopiesTheRest) {
  Built b = Build(true);
  ScavengePassOutput out = RunScavengePass(b.in);
  CHECK(!out.damaged);
  CHECK(out.ask.empty());
  CHECK_EQ(out.removed, 20u);
  CHECK_EQ(out.logical.size(), 20u);
  CHECK_EQ(out.out_end, 64 + b.kept.size());
  CHECK(ReadAll(b.in.tmp, b.kept.size(), 64) == b.kept);
  uint32_t chain = 0;
  for (size_t at = 0; at < b.kept.size(); at += LoadU32(b.kept.data() + at))
    chain = Crc32c(chain, b.kept.data() + at, 8);
  CHECK_EQ(out.checksum, chain);
  CHECK(out.survivor_ids.empty());
  CHECK(out.erased_logical.empty());  // no frame carried a command id
  RemoveFileQuietly(b.in.tmp);
}

TEST(ScavengePassAsksUnknownStreamsAndWritesNothing) {
  Built b = Build(false);
  ScavengePassOutput out = RunScavengePass(b.in);
  CHECK_EQ(out.ask.size(), 1u);
  CHECK(out.ask[0] == "a");
  CHECK(out.logical.empty());
  FileDescriptor fd;
  CHECK(!FileDescriptor::OpenIfExists(b.in.tmp, OpenMode::kRead, &fd));
}

TEST(ScavengePassRefusesDamage) {
  // A removed frame's body, a length, a chained CRC field: each leaves the chunk damaged.
  for (int damage = 0; damage < 3; damage++) {
    Built b = Build(true);
    std::vector<uint8_t> bytes = ReadAll(b.file, kChunk, 0);
    if (damage == 0) bytes[64 + 20] ^= 1;             // body of the first frame ("a")
    if (damage == 1) StoreU32(bytes.data() + 64, 4);  // a length below a frame header
    if (damage == 2) bytes[64 + 4] ^= 1;              // the first frame's CRC field
    FileDescriptor fd = FileDescriptor::Open(b.file, OpenMode::kReadWrite);
    WriteAllAt(fd, bytes.data(), bytes.size(), 0);
    ScavengePassOutput out = RunScavengePass(b.in);
    CHECK(out.damaged);
    RemoveFileQuietly(b.in.tmp);
  }
  // A file shorter than a chunk is refused before it is mapped.
  Built b = Build(true);
  b.in.chunk_size = 2 * kChunk;
  CHECK_THROWS_CODE(RunScavengePass(b.in), "CORRUPTION");
}
