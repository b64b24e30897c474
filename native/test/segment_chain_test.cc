// Lookups in index segments against a brute-force answer over the same entries: Range and FindLast
// (whose leaf search starts from a guess of where an evenly spread key sits, then pivots), the
// chain's newest-first search over several segments, and BloomReader against BloomFilter.
#include "../segment_chain.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../bloom_filter.h"
#include "../index_segment_builder.h"
#include "test_framework.h"

namespace annals {
namespace {

using Entries = std::vector<SegmentEntry>;

std::shared_ptr<IndexSegment> Build(const std::string& dir, const std::string& name, uint8_t kind,
                                    const Entries& entries) {
  EntryVector v(entries.begin(), entries.end());
  BuildSegment(dir, name, SegmentSpec{kind, 64, 1u << 30}, std::move(v));
  return IndexSegment::Open(dir + "/" + name);
}

// Entries of `key` with from <= seq <= to, in (seq, position) order.
Entries Expected(const Entries& all, uint64_t key, uint32_t from, uint32_t to) {
  Entries out;
  for (const SegmentEntry& e : all)
    if (e.key == key && e.seq >= from && e.seq <= to) out.push_back(e);
  std::sort(out.begin(), out.end(), EntryLess);
  return out;
}

bool Same(const Entries& a, const Entries& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].key != b[i].key || a[i].seq != b[i].seq || a[i].position != b[i].position)
      return false;
  return true;
}

// Command-like entries: distinct hash keys, some repeated (a command of several events, or two
// ids of one hash), and keys at both ends of the 48-bit range.
Entries CommandEntries(std::mt19937_64* rng, size_t n, uint64_t first_position) {
  Entries out;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t key = (*rng)() & kMaxSegmentKey;
    const int copies = i % 97 == 0 ? 3 : 1;
    for (int c = 0; c < copies; ++c) out.push_back({key, 0, first_position + out.size() * 40});
  }
  out.push_back({0, 0, first_position + out.size() * 40});
  out.push_back({kMaxSegmentKey, 0, first_position + out.size() * 40});
  return out;
}

TEST(RangeAndFindLastMatchBruteForceInCommandAndStreamSegments) {
  const std::string dir = test::TempDir();
  std::mt19937_64 rng(42);
  const Entries commands = CommandEntries(&rng, 60000, 64);
  // Stream-like: runs of versions per key (a run may span leaves), so guesses often miss.
  Entries streams;
  for (int s = 0; s < 2000; ++s) {
    const uint64_t key = rng() & kMaxSegmentKey;
    const uint32_t versions = 1 + static_cast<uint32_t>(rng() % 600);
    for (uint32_t v = 1; v <= versions; ++v) streams.push_back({key, v, 64 + streams.size()});
  }
  const auto cseg = Build(dir, "command-a.seg", kSegmentKindCommand, commands);
  const auto sseg = Build(dir, "stream-a.seg", kSegmentKindStream, streams);
  for (int i = 0; i < 4000; ++i) {
    const SegmentEntry& c = commands[rng() % commands.size()];
    for (uint64_t key : {c.key, c.key + 1, c.key - 1, rng() & kMaxSegmentKey}) {
      if (key > kMaxSegmentKey) continue;
      Entries got;
      cseg->Range(key, 0, UINT32_MAX, &got);
      CHECK(Same(got, Expected(commands, key, 0, UINT32_MAX)));
    }
    const SegmentEntry& s = streams[rng() % streams.size()];
    const uint32_t from = static_cast<uint32_t>(rng() % 700);
    const uint32_t to = from + static_cast<uint32_t>(rng() % 50);
    Entries got;
    sseg->Range(s.key, from, to, &got);
    CHECK(Same(got, Expected(streams, s.key, from, to)));
    SegmentEntry last{};
    const Entries all = Expected(streams, s.key, 0, UINT32_MAX);
    CHECK(sseg->FindLast(s.key, &last));
    CHECK(last.seq == all.back().seq && last.position == all.back().position);
    CHECK(!sseg->FindLast(s.key + 1 <= kMaxSegmentKey ? s.key + 1 : s.key - 1, &last) ||
          !Expected(streams, last.key, 0, UINT32_MAX).empty());
  }
}

TEST(ChainAnswersFromTheNewestSegmentHoldingTheKey) {
  const std::string dir = test::TempDir();
  std::mt19937_64 rng(7);
  std::vector<Entries> parts;
  std::vector<std::shared_ptr<IndexSegment>> segments;
  for (int i = 0; i < 4; ++i) {
    parts.push_back(CommandEntries(&rng, i < 2 ? 30000 : 2000, 64 + i * 10000000));
    segments.push_back(
        Build(dir, "command-" + std::to_string(i) + ".seg", kSegmentKindCommand, parts.back()));
  }
  // A key in two segments: the newer one answers.
  const uint64_t shared = parts[0][5].key;
  parts[2].push_back({shared, 0, 64 + 2 * 10000000 + 7});
  segments[2] = Build(dir, "command-2b.seg", kSegmentKindCommand, parts[2]);
  const SegmentChain chain(segments);
  for (int i = 0; i < 3000; ++i) {
    const Entries& part = parts[rng() % parts.size()];
    const uint64_t key = i == 0       ? shared
                         : i % 3 == 0 ? (rng() & kMaxSegmentKey)
                                      : part[rng() % part.size()].key;
    for (size_t count = 0; count <= segments.size() + 1; ++count) {
      Entries got;
      const int64_t hit = chain.Newest(key, 0, UINT32_MAX, count, &got);
      int64_t want = -1;
      Entries expected;
      for (size_t s = std::min(count, segments.size()); s-- > 0 && want < 0;) {
        expected = Expected(parts[s], key, 0, UINT32_MAX);
        if (!expected.empty()) want = static_cast<int64_t>(s);
      }
      CHECK_EQ(hit, want);
      CHECK(Same(got, want < 0 ? Entries{} : expected));
    }
  }
}

// The format's probe, written out with a plain modulus (bloom_filter.h): what BloomReader's
// multiplications must reproduce, and BloomFilter::Add sets.
bool ProbeByModulus(const std::vector<uint8_t>& bits, uint64_t key) {
  const uint64_t m = static_cast<uint64_t>(bits.size()) * 8;
  const uint32_t hi = static_cast<uint32_t>(key >> 32) | 1u;
  const uint32_t lo = static_cast<uint32_t>(key);
  for (uint32_t i = 0; i < kBloomHashes; ++i) {
    const uint64_t bit = static_cast<uint32_t>(lo + i * hi) % m;
    if ((bits[bit >> 3] & (1u << (bit & 7))) == 0) return false;
  }
  return true;
}

TEST(BloomReaderAnswersAsTheFormatsModulus) {
  std::mt19937_64 rng(3);
  for (uint32_t bytes : {8u, 9u, 125u, 754000u, 47125u, 1u << 20, (1u << 20) + 3}) {
    std::vector<uint8_t> bits(bytes);
    std::vector<uint64_t> added;
    for (int i = 0; i < 2000; ++i) {
      added.push_back(rng() & kMaxSegmentKey);
      BloomFilter::Add(bits.data(), bytes, added.back());
    }
    const BloomReader reader(bits.data(), bytes);
    for (uint64_t key : added) CHECK(reader.MayContain(key));
    for (int i = 0; i < 20000; ++i) {
      const uint64_t key = rng() & kMaxSegmentKey;
      CHECK_EQ(reader.MayContain(key), ProbeByModulus(bits, key));
    }
  }
}

}  // namespace
}  // namespace annals
