#include "directory_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "store_error.h"

namespace annals {
namespace {

constexpr size_t kBufferPages = 256;

[[noreturn]] void BadInput(const std::string& what) { throw StoreError("INVALID_ARGUMENT", what); }

size_t CommonPrefix(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

DirectoryWriter::DirectoryWriter(const std::string& dir, const std::string& name,
                                 const DirectorySpec& spec)
    : dir_(dir), path_(dir + "/" + name), tmp_(path_ + ".tmp") {
  if (spec.from_position > spec.to_position || spec.to_position > kDirectoryMaxPosition) {
    BadInput("a directory's range must satisfy from <= to < 2^48");
  }
  header_.from_position = spec.from_position;
  header_.to_position = spec.to_position;
  buffer_.reserve(kBufferPages * kDirectoryPageSize);
  levels_.push_back(std::make_unique<OpenPage>());
  fd_ = FileDescriptor::Open(tmp_, O_RDWR | O_CREAT | O_TRUNC);  // last: nothing after it throws
}

DirectoryWriter::~DirectoryWriter() {
  if (!published_ && fd_.valid()) ::unlink(tmp_.c_str());
}

bool DirectoryWriter::Fits(const OpenPage& page, uint32_t bytes) {
  return page.used + bytes + 2 * (page.count + 1) <= kDirectoryPageSize;
}

void DirectoryWriter::Add(std::string_view id, const DirectoryValues& v) {
  if (id.size() > kDirectoryMaxIdBytes) {
    BadInput("a stream id of " + std::to_string(id.size()) + " bytes is longer than " +
             std::to_string(kDirectoryMaxIdBytes));
  }
  if (has_prev_ && !(std::string_view(prev_id_) < id)) {
    BadInput(std::string_view(prev_id_) == id ? "duplicate stream id '" + prev_id_ + "'"
                                              : "stream ids out of order");
  }
  if (v.first_version > v.last_version || v.first_position > v.last_position ||
      v.last_position > kDirectoryMaxPosition) {
    BadInput("an entry needs first <= last and positions below 2^48");
  }
  const uint32_t length = static_cast<uint32_t>(id.size());
  OpenPage* leaf = levels_[0].get();
  if (leaf->count > 0 && !Fits(*leaf, EntryBytes(length))) FlushLeaf();
  const uint32_t overflow =
      Overflows(length) ? WriteOverflow(id.substr(kDirectoryInlineIdBytes)) : 0;
  if (leaf->count == 0) {
    // The shortest prefix of this id above the last one before the leaf: all a search needs.
    const uint32_t n = has_prev_ ? static_cast<uint32_t>(CommonPrefix(prev_id_, id)) + 1 : 0;
    leaf->first =
        Separator{std::string(id.substr(0, InlineBytes(n))), n, Overflows(n) ? overflow : 0};
  }
  uint8_t* p = leaf->bytes.data() + leaf->used;
  StoreU16(p, length);
  StoreU32(p + 2, v.first_version);
  StoreU32(p + 6, v.last_version);
  StoreU48(p + 10, v.first_position);
  StoreU48(p + 16, v.last_position);
  if (length > 0) std::memcpy(p + kDirectoryEntryFixedSize, id.data(), InlineBytes(length));
  if (Overflows(length)) StoreU32(p + kDirectoryEntryFixedSize + InlineBytes(length), overflow);
  StoreU16(leaf->bytes.data() + SlotAt(leaf->count), leaf->used);
  leaf->used += EntryBytes(length);
  ++leaf->count;
  prev_id_.assign(id.data(), id.size());
  has_prev_ = true;
  ++header_.entry_count;
  if (v.first_version == 1) ++header_.starts;
  header_.longest_id = std::max(header_.longest_id, length);
}

uint32_t DirectoryWriter::WriteOverflow(std::string_view tail) {
  const uint32_t first = next_page_;
  std::array<uint8_t, kDirectoryPageSize> page;
  for (size_t at = 0; at < tail.size(); at += kDirectoryOverflowPayload) {
    const size_t n = std::min<size_t>(kDirectoryOverflowPayload, tail.size() - at);
    page.fill(0);
    page[4] = kDirectoryPageOverflow;
    StoreU16(page.data() + 6, static_cast<uint32_t>(n));
    std::memcpy(page.data() + kDirectoryPageHeaderSize, tail.data() + at, n);
    SealDirectoryPage(page.data());
    WritePage(page.data());
    ++header_.overflow_count;
  }
  return first;
}

uint32_t DirectoryWriter::Seal(OpenPage* page, uint8_t type, uint32_t level) {
  page->bytes[4] = type;
  page->bytes[5] = static_cast<uint8_t>(level);
  StoreU16(page->bytes.data() + 6, page->count);
  SealDirectoryPage(page->bytes.data());
  ++page->written;
  return WritePage(page->bytes.data());
}

void DirectoryWriter::FlushLeaf() {
  OpenPage* leaf = levels_[0].get();
  const uint32_t n = Seal(leaf, kDirectoryPageLeaf, 0);
  if (prev_leaf_page_ != 0) {
    StoreU32(prev_leaf_.data() + 8, n);
    SealDirectoryPage(prev_leaf_.data());
    RewritePage(prev_leaf_page_, prev_leaf_.data());
  } else {
    header_.first_leaf = n;
  }
  prev_leaf_ = leaf->bytes;
  prev_leaf_page_ = n;
  ++header_.leaf_count;
  const Separator first = std::move(leaf->first);
  *leaf = OpenPage{};
  AddSeparator(1, first, n);
}

void DirectoryWriter::AddSeparator(size_t level, const Separator& s, uint32_t child) {
  if (levels_.size() <= level) levels_.push_back(std::make_unique<OpenPage>());
  if (levels_[level]->count > 0 && !Fits(*levels_[level], SeparatorBytes(s.length))) {
    FlushInternal(level);
  }
  OpenPage* page = levels_[level].get();
  if (page->count == 0) page->first = s;
  uint8_t* p = page->bytes.data() + page->used;
  StoreU32(p, child);
  StoreU16(p + 4, s.length);
  if (!s.head.empty()) std::memcpy(p + kDirectorySeparatorFixedSize, s.head.data(), s.head.size());
  if (Overflows(s.length)) StoreU32(p + kDirectorySeparatorFixedSize + s.head.size(), s.overflow);
  StoreU16(page->bytes.data() + SlotAt(page->count), page->used);
  page->used += SeparatorBytes(s.length);
  ++page->count;
}

void DirectoryWriter::FlushInternal(size_t level) {
  OpenPage* page = levels_[level].get();
  const uint32_t n = Seal(page, kDirectoryPageInternal, static_cast<uint32_t>(level));
  ++header_.internal_count;
  const Separator first = std::move(page->first);
  const uint32_t written = page->written;
  *page = OpenPage{};
  page->written = written;
  AddSeparator(level + 1, first, n);
}

void DirectoryWriter::Finish() {
  if (levels_[0]->count > 0) FlushLeaf();
  // Close the levels bottom-up until one holds a single page and nothing else: the root.
  for (size_t level = 1; header_.leaf_count > 0; ++level) {
    OpenPage* page = levels_[level].get();
    if (page->written == 0 && page->count == 1) {
      header_.root_page = LoadU32(page->bytes.data() + LoadU16(page->bytes.data() + SlotAt(0)));
      header_.height = static_cast<uint32_t>(level);
      break;
    }
    if (page->count > 0) FlushInternal(level);
  }
  FlushBuffer();
  header_.page_count = next_page_;
  uint8_t header[kDirectoryPageSize];
  header_.EncodeTo(header);
  WriteAllAt(fd_.get(), header, sizeof header, 0);
  PublishFile(fd_, tmp_, path_, dir_);
  published_ = true;
}

uint32_t DirectoryWriter::WritePage(const uint8_t* page) {
  const uint32_t n = next_page_++;
  buffer_.insert(buffer_.end(), page, page + kDirectoryPageSize);
  if (buffer_.size() >= kBufferPages * kDirectoryPageSize) FlushBuffer();
  return n;
}

void DirectoryWriter::RewritePage(uint32_t n, const uint8_t* page) {
  if (n >= buffer_first_) {
    std::memcpy(buffer_.data() + uint64_t{n - buffer_first_} * kDirectoryPageSize, page,
                kDirectoryPageSize);
  } else {
    WriteAllAt(fd_.get(), page, kDirectoryPageSize, uint64_t{n} * kDirectoryPageSize);
  }
}

void DirectoryWriter::FlushBuffer() {
  if (buffer_.empty()) return;
  WriteAllAt(fd_.get(), buffer_.data(), buffer_.size(),
             uint64_t{buffer_first_} * kDirectoryPageSize);
  buffer_first_ = next_page_;
  buffer_.clear();
}

}  // namespace annals
