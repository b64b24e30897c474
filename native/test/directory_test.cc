// Stream directories: build, list, get, merge, damage and bad input (directory_*.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "../crc32c.h"
#include "../directory_builder.h"
#include "../directory_reader.h"
#include "../store_error.h"
#include "test_framework.h"

using namespace annals;

namespace {

// Columns over owned vectors, as JS hands them over.
struct Input {
  std::string ids;
  std::vector<uint32_t> ends, fv, lv;
  std::vector<double> fp, lp;

  void Add(const std::string& id, uint32_t first, uint32_t last, double first_pos,
           double last_pos) {
    ids += id;
    ends.push_back(static_cast<uint32_t>(ids.size()));
    fv.push_back(first);
    lv.push_back(last);
    fp.push_back(first_pos);
    lp.push_back(last_pos);
  }
  DirectoryColumns Columns() const {
    return DirectoryColumns{reinterpret_cast<const uint8_t*>(ids.data()),
                            ids.size(),
                            ends.data(),
                            fv.data(),
                            lv.data(),
                            fp.data(),
                            lp.data(),
                            ends.size()};
  }
};

// Entry i's values, derived from i so checks can recompute them.
Input InputOf(const std::vector<std::string>& ids) {
  Input in;
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint32_t v = static_cast<uint32_t>(i % 4) + 1;
    in.Add(ids[i], v, v + 3, 1000.0 + static_cast<double>(i), 5000.0 + static_cast<double>(i));
  }
  return in;
}

// Ids in a scrambled order: short ones, multi-byte UTF-8, ids that are prefixes of others.
std::vector<std::string> MixedIds(size_t n) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) {
    const size_t k = (i * 7919) % n;
    std::string id = "s-" + std::to_string(k);
    if (k % 5 == 1) id += "-\xC3\xA9t\xC3\xA9";    // é
    if (k % 7 == 2) id = "\xF0\x9F\x98\x80" + id;  // U+1F600
    if (k % 11 == 3) id = "\xEE\x80\x80" + id;     // U+E000
    ids.push_back(id);
  }
  return ids;
}

std::vector<std::string> Sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());  // std::string compares bytes as unsigned
  return ids;
}

// Every id by paging with `limit`.
std::vector<std::string> PageAll(const DirectoryFile& dir, uint32_t limit,
                                 const std::string& prefix = "") {
  std::vector<std::string> out;
  std::string after;
  for (bool first = true;; first = false) {
    std::vector<DirectoryEntry> page;
    dir.List(first ? nullptr : &after, prefix, limit, &page);
    if (page.empty()) return out;
    CHECK(page.size() <= limit);
    for (const auto& e : page) out.push_back(e.id);
    after = page.back().id;
  }
}

std::string Corrupt(const std::string& path, uint64_t offset, uint8_t mask) {
  FileDescriptor fd = FileDescriptor::Open(path, O_RDWR);
  uint8_t b = 0;
  CHECK(ReadAllAt(fd.get(), &b, 1, offset));
  b ^= mask;
  WriteAllAt(fd.get(), &b, 1, offset);
  return path;
}

std::string CopyOf(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  return to;
}

// Reads everything a reader can reach: the whole leaf chain and a search for every id.
void ReadEverything(const DirectoryFile& dir, const std::vector<std::string>& ids) {
  DirectoryCursor cursor(dir);
  DirectoryEntry e;
  while (cursor.Next(&e)) {
  }
  for (const std::string& id : ids) dir.Get(id, &e);
}

}  // namespace

TEST(DirectoryBuildsAndPagesInByteOrder) {
  const std::string dir = test::TempDir();
  const std::vector<std::string> ids = MixedIds(5000);
  BuildDirectory(dir, "a.dir", DirectorySpec{64, 99999}, InputOf(ids).Columns());
  auto file = DirectoryFile::Open(dir + "/a.dir");
  CHECK_EQ(file->header().entry_count, 5000u);
  CHECK_EQ(file->header().starts, 1250u);
  CHECK(file->header().height >= 2);
  const std::vector<std::string> sorted = Sorted(ids);
  for (uint32_t limit : {1u, 7u, 100u, 10000u}) CHECK(PageAll(*file, limit) == sorted);
  // U+1F600 (F0 ..) sorts after U+E000 (EE ..) in bytes, though not in UTF-16.
  CHECK(sorted.back().substr(0, 4) == "\xF0\x9F\x98\x80");
  for (size_t i : {0, 1, 2, 3, 777, 4999}) {
    DirectoryEntry e;
    CHECK(file->Get(ids[i], &e));
    CHECK_EQ(e.id, ids[i]);
    CHECK_EQ(e.values.first_version, i % 4 + 1);
    CHECK_EQ(e.values.last_position, 5000 + i);
  }
  DirectoryEntry e;
  CHECK(!file->Get("s-", &e));
  CHECK(!file->Get("s-12345678", &e));
  CHECK(!file->Get("", &e));
}

// The build sorts 8 bytes at a time: ids ending on and around word boundaries, NUL bytes (valid
// UTF-8, and what the sort pads with), long shared prefixes, the empty id.
TEST(DirectorySortsByBytesAcrossWordBoundaries) {
  const std::string dir = test::TempDir();
  const std::string pieces[] = {"", std::string(1, '\0'), "a", "b", "\xC3\xA9", "\xF0\x9F\x98\x80"};
  std::vector<std::string> ids;
  uint32_t seed = 12345;
  auto next = [&seed](uint32_t n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
  };
  for (int i = 0; i < 4000; ++i) {
    std::string id(std::vector<size_t>{0, 7, 8, 9, 16, 17, 40}[next(7)], 'p');
    const uint32_t parts = next(12);
    for (uint32_t k = 0; k < parts; ++k) {
      const uint32_t which = next(6);
      id += pieces[which];
    }
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<std::string> shuffled = ids;
  for (size_t i = shuffled.size() - 1; i > 0; --i) std::swap(shuffled[i], shuffled[next(i + 1)]);
  BuildDirectory(dir, "w.dir", DirectorySpec{0, 10}, InputOf(shuffled).Columns());
  auto file = DirectoryFile::Open(dir + "/w.dir");
  CHECK(PageAll(*file, 1000) == ids);
  CHECK(ids.front().empty());
  DirectoryEntry e;
  for (size_t i = 0; i < shuffled.size(); i += 97) {
    CHECK(file->Get(shuffled[i], &e));
    CHECK_EQ(e.values.first_position, 1000 + i);
  }
}

TEST(DirectoryPagesFromAbsentIdsAndByPrefix) {
  const std::string dir = test::TempDir();
  const std::vector<std::string> ids = MixedIds(3000);
  BuildDirectory(dir, "p.dir", DirectorySpec{0, 10}, InputOf(ids).Columns());
  auto file = DirectoryFile::Open(dir + "/p.dir");
  const std::vector<std::string> sorted = Sorted(ids);
  for (const std::string after : {"", "r", "s-1", "s-15x", "s-2999", "s-9", "\xEE", "\xFF"}) {
    std::vector<DirectoryEntry> page;
    file->List(&after, "", 5, &page);
    auto it = std::upper_bound(sorted.begin(), sorted.end(), after);
    for (const DirectoryEntry& e : page) CHECK(it != sorted.end() && e.id == *it++);
    CHECK_EQ(
        page.size(),
        std::min<size_t>(5, sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), after)));
  }
  for (const std::string prefix : {"s-1", "s-12", "s-123", "s-1234", "\xF0\x9F", "q"}) {
    std::vector<std::string> want;
    for (const auto& id : sorted)
      if (id.compare(0, prefix.size(), prefix) == 0) want.push_back(id);
    CHECK(PageAll(*file, 3, prefix) == want);
    // With `after` inside, before and past the prefix's range.
    std::vector<DirectoryEntry> page;
    const std::string mid = want.empty() ? prefix : want[want.size() / 2];
    file->List(&mid, prefix, 10000, &page);
    CHECK_EQ(page.size(),
             static_cast<size_t>(want.end() - std::upper_bound(want.begin(), want.end(), mid)));
    page.clear();
    const std::string before = "a";
    file->List(&before, prefix, 10000, &page);
    CHECK_EQ(page.size(), want.size());
    page.clear();
    const std::string past = prefix + "\xFF";
    file->List(&past, prefix, 10000, &page);
    CHECK(page.empty());
  }
  std::vector<DirectoryEntry> page;
  file->List(nullptr, "", 0, &page);
  CHECK(page.empty());
}

TEST(DirectoryHoldsIdsLongerThanAPage) {
  const std::string dir = test::TempDir();
  // Ids sharing prefixes past the inline 1024 bytes, so separators overflow too.
  std::vector<std::string> ids;
  const std::string base(5000, 'x');
  for (int i = 0; i < 60; ++i) ids.push_back(base + std::to_string(i * 37 % 60));
  ids.push_back(std::string(65535, 'z'));
  ids.push_back(std::string(1024, 'y'));
  ids.push_back(std::string(1025, 'y'));
  ids.push_back(base);
  ids.push_back("a");
  BuildDirectory(dir, "l.dir", DirectorySpec{0, 10}, InputOf(ids).Columns());
  auto file = DirectoryFile::Open(dir + "/l.dir");
  CHECK_EQ(file->header().longest_id, 65535u);
  CHECK(file->header().overflow_count > 60);
  CHECK(file->header().height >= 2);
  CHECK(PageAll(*file, 2) == Sorted(ids));
  for (size_t i = 0; i < ids.size(); ++i) {
    DirectoryEntry e;
    CHECK(file->Get(ids[i], &e));
    CHECK_EQ(e.values.first_position, 1000 + i);
  }
  DirectoryEntry e;
  CHECK(!file->Get(base + "60", &e));
  CHECK(!file->Get(std::string(65534, 'z'), &e));
  std::vector<DirectoryEntry> page;
  const std::string after = base + "5";
  file->List(&after, base, 3, &page);
  CHECK_EQ(page.size(), 3u);
  CHECK_EQ(page[0].id, base + "50");
}

TEST(DirectoryMergesTakeFirstFromOldestAndLastFromNewest) {
  const std::string dir = test::TempDir();
  std::vector<std::shared_ptr<DirectoryFile>> inputs;
  // Input k holds ids m-j for j % (k + 2) == 0, at versions k*10+1 .. k*10+5.
  for (uint32_t k = 0; k < 4; ++k) {
    Input in;
    for (int j = 0; j < 200; ++j)
      if (j % (k + 2) == 0)
        in.Add("m-" + std::to_string(j), k * 10 + 1, k * 10 + 5, k * 100, k * 100 + 50);
    const std::string name = "in" + std::to_string(k) + ".dir";
    BuildDirectory(dir, name, DirectorySpec{k * 100, k * 100 + 100}, in.Columns());
    inputs.push_back(DirectoryFile::Open(dir + "/" + name));
  }
  MergeDirectories(dir, "m.dir", DirectorySpec{0, 400}, inputs);
  auto merged = DirectoryFile::Open(dir + "/m.dir");
  std::vector<std::string> want;
  uint64_t starts = 0;
  for (int j = 0; j < 200; ++j) {
    int first = -1;
    int last = -1;
    for (int k = 0; k < 4; ++k) {
      if (j % (k + 2) != 0) continue;
      if (first < 0) first = k;
      last = k;
    }
    if (first < 0) continue;
    want.push_back("m-" + std::to_string(j));
    if (first == 0) ++starts;
    DirectoryEntry e;
    CHECK(merged->Get(want.back(), &e));
    CHECK_EQ(e.values.first_version, static_cast<uint32_t>(first * 10 + 1));
    CHECK_EQ(e.values.first_position, static_cast<uint64_t>(first * 100));
    CHECK_EQ(e.values.last_version, static_cast<uint32_t>(last * 10 + 5));
    CHECK_EQ(e.values.last_position, static_cast<uint64_t>(last * 100 + 50));
  }
  CHECK(PageAll(*merged, 9) == Sorted(want));
  CHECK_EQ(merged->header().starts, starts);  // first version 1: first seen in input 0
  CHECK_EQ(merged->header().entry_count, want.size());
  CHECK_EQ(merged->header().from_position, 0u);
  // Inputs newest first are refused.
  std::vector<std::shared_ptr<DirectoryFile>> reversed(inputs.rbegin(), inputs.rend());
  CHECK_THROWS_CODE(MergeDirectories(dir, "r.dir", DirectorySpec{0, 400}, reversed),
                    "INVALID_ARGUMENT");
  CHECK(!std::filesystem::exists(dir + "/r.dir"));
}

TEST(DirectoryDamageIsCorruption) {
  const std::string dir = test::TempDir();
  std::vector<std::string> ids = MixedIds(2000);
  ids.push_back(std::string(9000, 'q'));
  BuildDirectory(dir, "d.dir", DirectorySpec{0, 10}, InputOf(ids).Columns());
  const std::string good = dir + "/d.dir";
  const uint32_t pages = DirectoryFile::Open(good)->header().page_count;
  for (uint32_t p = 0; p < pages; ++p) {
    for (uint32_t at : {0u, 5u, 8u, 100u, 4095u}) {
      const std::string bad = CopyOf(good, dir + "/bad.dir");
      Corrupt(bad, uint64_t{p} * kDirectoryPageSize + at, 0x10);
      std::string code = "none";
      try {
        ReadEverything(*DirectoryFile::Open(bad), ids);
      } catch (const StoreError& e) {
        code = e.code();
        CHECK(std::string(e.what()).find("bad.dir") != std::string::npos);
      }
      // A flip in the header's unused bytes past its CRC is all that may go unnoticed.
      if (!(p == 0 && at == 4095)) CHECK_EQ(code, "CORRUPTION");
    }
  }
  // Truncated, or of another version.
  const std::string cut = CopyOf(good, dir + "/cut.dir");
  CHECK_EQ(::truncate(cut.c_str(), static_cast<off_t>(pages - 1) * kDirectoryPageSize), 0);
  CHECK_THROWS_CODE(DirectoryFile::Open(cut), "CORRUPTION");
  const std::string v2 = CopyOf(good, dir + "/v2.dir");
  {
    FileDescriptor fd = FileDescriptor::Open(v2, O_RDWR);
    uint8_t header[kDirectoryPageSize];
    CHECK(ReadAllAt(fd.get(), header, sizeof header, 0));
    header[8] = 2;
    StoreU32(header + 124, Crc32c(header, 124));
    WriteAllAt(fd.get(), header, sizeof header, 0);
  }
  try {
    DirectoryFile::Open(v2);
    CHECK(false);
  } catch (const StoreError& e) {
    CHECK_EQ(e.code(), "CORRUPTION");
    CHECK(std::string(e.what()).find("format version 2") != std::string::npos);
  }
}

TEST(DirectoryRefusesBadInputAndLeavesNoFile) {
  const std::string dir = test::TempDir();
  auto refused = [&](const Input& in) {
    CHECK_THROWS_CODE(BuildDirectory(dir, "x.dir", DirectorySpec{0, 10}, in.Columns()),
                      "INVALID_ARGUMENT");
    CHECK(!std::filesystem::exists(dir + "/x.dir"));
    CHECK(!std::filesystem::exists(dir + "/x.dir.tmp"));
  };
  refused(InputOf({"a", "b", "a"}));
  refused(InputOf({std::string(65536, 'a')}));
  refused(InputOf({"ok", std::string("\xC3\x28", 2)}));  // a bad continuation byte
  refused(InputOf({"\xED\xA0\x80"}));                    // a surrogate
  refused(InputOf({"\xC0\xAF"}));                        // overlong
  for (double bad : {-1.0, 0.5, std::nan(""), 281474976710656.0}) {
    Input in = InputOf({"a", "b"});
    in.lp[1] = bad;
    refused(in);
  }
  Input reversed = InputOf({"a"});
  reversed.fv[0] = 9;
  refused(reversed);
  Input ends = InputOf({"ab", "cd"});
  ends.ends[0] = 3;
  ends.ends[1] = 2;
  refused(ends);
  ends.ends[1] = 99;
  refused(ends);
  CHECK_THROWS_CODE(BuildDirectory(dir, "x.dir", DirectorySpec{10, 5}, InputOf({}).Columns()),
                    "INVALID_ARGUMENT");
  // The largest id, an empty build.
  BuildDirectory(dir, "ok.dir", DirectorySpec{0, 0}, InputOf({std::string(65535, 'a')}).Columns());
  BuildDirectory(dir, "e.dir", DirectorySpec{5, 5}, InputOf({}).Columns());
  auto empty = DirectoryFile::Open(dir + "/e.dir");
  CHECK_EQ(empty->header().page_count, 1u);
  std::vector<DirectoryEntry> page;
  empty->List(nullptr, "", 10, &page);
  CHECK(page.empty());
}

TEST(Utf8ValidationMatchesTheStandard) {
  auto valid = [](const std::string& s) {
    return IsValidUtf8(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  CHECK(valid(""));
  CHECK(valid("plain"));
  CHECK(valid("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBF"));
  CHECK(!valid("\x80"));
  CHECK(!valid("\xC3"));
  CHECK(!valid("\xE2\x82"));
  CHECK(!valid("\xE0\x80\xAF"));      // overlong
  CHECK(!valid("\xF0\x80\x80\xAF"));  // overlong
  CHECK(!valid("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK(!valid("\xF5\x80\x80\x80"));
  CHECK(!valid("\xED\xBF\xBF"));  // surrogate
  CHECK(!valid("\xFF"));
}
