#include "directory_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "crc32c.h"
#include "store_error.h"

namespace annals {

DirectoryFile::DirectoryFile(Token, std::string path, Mapping mapping, DirectoryHeader header)
    : path_(std::move(path)),
      mapping_(std::move(mapping)),
      header_(header),
      verified_(std::make_unique<std::atomic<uint8_t>[]>(header.page_count)) {}

std::shared_ptr<DirectoryFile> DirectoryFile::Open(const std::string& path) {
  FileDescriptor fd = FileDescriptor::Open(path, O_RDONLY);
  const off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size < 0) ThrowSystemError("lseek " + path, errno);
  uint8_t page[kDirectoryPageSize];
  DirectoryHeader header;
  const bool readable =
      size >= static_cast<off_t>(kDirectoryPageSize) && ReadAllAt(fd.get(), page, sizeof page, 0);
  if (!readable || !DirectoryHeader::DecodeFrom(page, &header) ||
      static_cast<uint64_t>(size) != uint64_t{header.page_count} * kDirectoryPageSize) {
    // An intact header of another format version is not damage: say so (it is rebuilt either way).
    if (readable && std::memcmp(page, kDirectoryMagic, 8) == 0 &&
        LoadU32(page + 124) == Crc32c(page, 124) && page[8] != kDirectoryFormatVersion) {
      throw StoreError("CORRUPTION", "stream directory " + path + " has format version " +
                                         std::to_string(page[8]) + ", this build reads " +
                                         std::to_string(kDirectoryFormatVersion));
    }
    throw StoreError("CORRUPTION", "stream directory " + path + " at offset 0: invalid header");
  }
  // The file stays mapped after its descriptor closes.
  Mapping mapping = Mapping::Map(fd.get(), static_cast<size_t>(size));
  return std::make_shared<DirectoryFile>(Token{}, path, std::move(mapping), header);
}

void DirectoryFile::Damaged(uint32_t page, const std::string& what) const {
  throw StoreError("CORRUPTION", "stream directory " + path_ + " at offset " +
                                     std::to_string(uint64_t{page} * kDirectoryPageSize) + ": " +
                                     what);
}

const uint8_t* DirectoryFile::Page(uint32_t n, uint8_t type, uint32_t level) const {
  if (n == 0 || n >= header_.page_count) Damaged(n, "page number out of range");
  const uint8_t* p = mapping_.data() + uint64_t{n} * kDirectoryPageSize;
  if (verified_[n].load(std::memory_order_relaxed) == 0) {
    if (!DirectoryPageCrcValid(p)) Damaged(n, "bad page");
    verified_[n].store(1, std::memory_order_relaxed);
  }
  if (PageType(p) != type || PageLevel(p) != level) Damaged(n, "unexpected page type or level");
  return p;
}

uint32_t DirectoryFile::ItemCount(const uint8_t* page, uint32_t n) const {
  const uint32_t count = PageCount(page);
  if (count == 0 || kDirectoryPageHeaderSize + 2 * count > kDirectoryPageSize) {
    Damaged(n, "item count out of range");
  }
  return count;
}

DirectoryFile::StoredKey DirectoryFile::KeyAt(const uint8_t* page, uint32_t n, uint32_t count,
                                              uint32_t i, uint32_t fixed,
                                              uint32_t length_at) const {
  // Items lie between the page header and the slot array.
  const uint32_t end = SlotAt(count - 1);
  const uint32_t off = LoadU16(page + SlotAt(i));
  if (off < kDirectoryPageHeaderSize || off + fixed > end) Damaged(n, "slot out of range");
  const uint32_t length = LoadU16(page + off + length_at);
  const uint32_t head = InlineBytes(length);
  if (off + fixed + head + (Overflows(length) ? 4 : 0) > end || length > header_.longest_id) {
    Damaged(n, "item length out of range");
  }
  uint32_t overflow = 0;
  if (Overflows(length)) {
    overflow = LoadU32(page + off + fixed + head);
    if (overflow == 0 || uint64_t{overflow} + OverflowPages(length) > header_.page_count) {
      Damaged(n, "overflow page out of range");
    }
  }
  return StoredKey{page + off, page + off + fixed, length, overflow};
}

DirectoryFile::StoredKey DirectoryFile::EntryAt(const uint8_t* page, uint32_t n, uint32_t count,
                                                uint32_t i) const {
  return KeyAt(page, n, count, i, kDirectoryEntryFixedSize, 0);
}

DirectoryFile::StoredKey DirectoryFile::SeparatorAt(const uint8_t* page, uint32_t n, uint32_t count,
                                                    uint32_t i) const {
  return KeyAt(page, n, count, i, kDirectorySeparatorFixedSize, 4);
}

DirectoryValues DirectoryFile::ValuesOf(const StoredKey& entry, uint32_t n) const {
  const uint8_t* v = entry.at + 2;
  DirectoryValues values{LoadU32(v), LoadU32(v + 4), LoadU48(v + 8), LoadU48(v + 14)};
  if (values.first_version > values.last_version || values.first_position > values.last_position) {
    Damaged(n, "entry's first and last disagree");
  }
  return values;
}

const uint8_t* DirectoryFile::OverflowChunk(uint32_t n, uint32_t bytes) const {
  const uint8_t* p = Page(n, kDirectoryPageOverflow, 0);
  if (PageCount(p) != bytes) Damaged(n, "overflow length out of range");
  return p + kDirectoryPageHeaderSize;
}

namespace {

// Bytes of an id's overflow page j.
uint32_t ChunkBytes(uint32_t length, uint32_t j) {
  return std::min(kDirectoryOverflowPayload,
                  length - kDirectoryInlineIdBytes - j * kDirectoryOverflowPayload);
}

}  // namespace

int DirectoryFile::Compare(const StoredKey& key, std::string_view target) const {
  size_t pos = 0;  // bytes of both that compared equal so far
  // Compares the key's next n bytes at `bytes`: 0 to go on, else the answer.
  auto step = [&](const uint8_t* bytes, uint32_t n) {
    const size_t m = std::min<size_t>(n, target.size() - pos);
    const int c = m == 0 ? 0 : std::memcmp(bytes, target.data() + pos, m);
    if (c != 0) return c < 0 ? -1 : 1;
    pos += m;
    return m < n ? 1 : 0;  // the target ended inside the key
  };
  int c = step(key.head, InlineBytes(key.length));
  for (uint32_t j = 0; c == 0 && j < OverflowPages(key.length) && pos < target.size(); ++j) {
    const uint32_t bytes = ChunkBytes(key.length, j);
    c = step(OverflowChunk(key.overflow + j, bytes), bytes);
  }
  if (c != 0) return c;
  return key.length < target.size() ? -1 : key.length > target.size() ? 1 : 0;
}

void DirectoryFile::ReadKey(const StoredKey& key, std::string* out) const {
  out->assign(reinterpret_cast<const char*>(key.head), InlineBytes(key.length));
  for (uint32_t j = 0; j < OverflowPages(key.length); ++j) {
    const uint32_t bytes = ChunkBytes(key.length, j);
    out->append(reinterpret_cast<const char*>(OverflowChunk(key.overflow + j, bytes)), bytes);
  }
}

uint32_t DirectoryFile::FindLeaf(std::string_view target) const {
  uint32_t page = header_.root_page;
  for (uint32_t level = header_.height - 1; level > 0; --level) {
    const uint8_t* p = Page(page, kDirectoryPageInternal, level);
    const uint32_t count = ItemCount(p, page);
    // The last separator <= target (the first child when none is).
    uint32_t lo = 0;
    uint32_t hi = count;
    while (lo < hi) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (Compare(SeparatorAt(p, page, count, mid), target) <= 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    page = LoadU32(SeparatorAt(p, page, count, lo == 0 ? 0 : lo - 1).at);
  }
  return page;
}

uint32_t DirectoryFile::LowerBound(const uint8_t* page, uint32_t n, uint32_t count,
                                   std::string_view target, bool strict) const {
  uint32_t lo = 0;
  uint32_t hi = count;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    const int c = Compare(EntryAt(page, n, count, mid), target);
    if (c < 0 || (strict && c == 0)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

bool DirectoryFile::Get(std::string_view id, DirectoryEntry* out) const {
  if (header_.height == 0) return false;
  const uint32_t leaf = FindLeaf(id);
  const uint8_t* p = Page(leaf, kDirectoryPageLeaf, 0);
  const uint32_t count = ItemCount(p, leaf);
  const uint32_t i = LowerBound(p, leaf, count, id, false);
  if (i == count) return false;
  const StoredKey entry = EntryAt(p, leaf, count, i);
  if (Compare(entry, id) != 0) return false;
  out->id.assign(id.data(), id.size());
  out->values = ValuesOf(entry, leaf);
  return true;
}

void DirectoryFile::List(const std::string* after, std::string_view prefix, uint32_t limit,
                         std::vector<DirectoryEntry>* out) const {
  if (limit == 0 || header_.height == 0) return;
  // Ids with the prefix are the ones from `prefix` on that start with it: start at the prefix,
  // or just past `after` when that is further.
  const bool strict = after != nullptr && std::string_view(*after) >= prefix;
  DirectoryCursor cursor(*this);
  cursor.Seek(strict ? std::string_view(*after) : prefix, strict);
  DirectoryEntry e;
  for (uint32_t taken = 0; taken < limit && cursor.Next(&e); ++taken) {
    if (e.id.compare(0, prefix.size(), prefix.data(), prefix.size()) != 0) return;
    out->push_back(std::move(e));
  }
}

void DirectoryCursor::Load(uint32_t leaf) {
  if (++leaves_ > file_.header().leaf_count) file_.Damaged(leaf, "leaf chain too long");
  page_ = file_.Page(leaf, kDirectoryPageLeaf, 0);
  count_ = file_.ItemCount(page_, leaf);
  leaf_ = leaf;
  slot_ = 0;
}

void DirectoryCursor::Seek(std::string_view bound, bool strict) {
  started_ = true;
  from_start_ = false;
  if (file_.header().height == 0) return;
  Load(file_.FindLeaf(bound));
  slot_ = file_.LowerBound(page_, leaf_, count_, bound, strict);
  floor_.assign(bound.data(), bound.size());
  has_floor_ = true;
  floor_inclusive_ = !strict;
}

bool DirectoryCursor::Next(DirectoryEntry* out) {
  if (!started_) {
    started_ = true;
    if (file_.header().height > 0) Load(file_.header().first_leaf);
  }
  while (slot_ == count_) {
    const uint32_t next = page_ == nullptr ? 0 : PageNext(page_);
    if (next == 0) {
      if (from_start_ && entries_ != file_.header().entry_count) {
        file_.Damaged(leaf_, "the leaves hold another number of entries than the header says");
      }
      return false;
    }
    if (next <= leaf_) file_.Damaged(leaf_, "leaf chain goes backwards");
    Load(next);
  }
  const DirectoryFile::StoredKey entry = file_.EntryAt(page_, leaf_, count_, slot_++);
  file_.ReadKey(entry, &out->id);
  out->values = file_.ValuesOf(entry, leaf_);
  if (has_floor_) {
    const int c = floor_.compare(out->id);
    if (c > 0 || (c == 0 && !floor_inclusive_)) file_.Damaged(leaf_, "ids out of order");
  }
  floor_ = out->id;
  has_floor_ = true;
  floor_inclusive_ = false;
  ++entries_;
  return true;
}

}  // namespace annals
