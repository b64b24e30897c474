#include "directory_format.h"

#include <cstring>

#include "crc32c.h"

namespace annals {

void DirectoryHeader::EncodeTo(uint8_t* page) const {
  std::memset(page, 0, kDirectoryPageSize);
  std::memcpy(page, kDirectoryMagic, 8);
  page[8] = kDirectoryFormatVersion;
  StoreU32(page + 12, kDirectoryPageSize);
  StoreU64(page + 16, from_position);
  StoreU64(page + 24, to_position);
  StoreU64(page + 32, entry_count);
  StoreU64(page + 40, starts);
  StoreU32(page + 48, page_count);
  StoreU32(page + 52, leaf_count);
  StoreU32(page + 56, internal_count);
  StoreU32(page + 60, overflow_count);
  StoreU32(page + 64, root_page);
  StoreU32(page + 68, height);
  StoreU32(page + 72, first_leaf);
  StoreU32(page + 76, longest_id);
  StoreU32(page + 124, Crc32c(page, 124));
}

bool DirectoryHeader::DecodeFrom(const uint8_t* page, DirectoryHeader* h) {
  if (std::memcmp(page, kDirectoryMagic, 8) != 0 || LoadU32(page + 124) != Crc32c(page, 124) ||
      page[8] != kDirectoryFormatVersion || LoadU32(page + 12) != kDirectoryPageSize) {
    return false;
  }
  h->from_position = LoadU64(page + 16);
  h->to_position = LoadU64(page + 24);
  h->entry_count = LoadU64(page + 32);
  h->starts = LoadU64(page + 40);
  h->page_count = LoadU32(page + 48);
  h->leaf_count = LoadU32(page + 52);
  h->internal_count = LoadU32(page + 56);
  h->overflow_count = LoadU32(page + 60);
  h->root_page = LoadU32(page + 64);
  h->height = LoadU32(page + 68);
  h->first_leaf = LoadU32(page + 72);
  h->longest_id = LoadU32(page + 76);
  const bool empty = h->entry_count == 0;
  const uint64_t pages =
      uint64_t{1} + h->leaf_count + uint64_t{h->internal_count} + h->overflow_count;
  return h->from_position <= h->to_position && h->to_position <= kDirectoryMaxPosition &&
         h->entry_count <= kDirectoryMaxPosition && h->starts <= h->entry_count &&
         pages == h->page_count && h->height <= kDirectoryMaxHeight &&
         h->longest_id <= kDirectoryMaxIdBytes && h->root_page < h->page_count &&
         h->first_leaf < h->page_count && empty == (h->height == 0) &&
         empty == (h->leaf_count == 0) && empty == (h->root_page == 0) &&
         empty == (h->first_leaf == 0) && h->leaf_count <= h->entry_count &&
         (h->height == 1) == (h->leaf_count == 1) &&
         (h->height != 1 || h->root_page == h->first_leaf);
}

void SealDirectoryPage(uint8_t* page) { StoreU32(page, Crc32c(page + 4, kDirectoryPageSize - 4)); }

bool DirectoryPageCrcValid(const uint8_t* page) {
  return LoadU32(page) == Crc32c(page + 4, kDirectoryPageSize - 4);
}

bool IsValidUtf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    uint32_t need;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte first, an overlong lead (C0, C1) or past F4
    }
    if (n - i <= need) return false;
    for (uint32_t k = 1; k <= need; ++k) {
      const uint8_t cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong three- and four-byte forms, surrogates, and past U+10FFFF.
    if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += need + 1;
  }
  return true;
}

}  // namespace annals
