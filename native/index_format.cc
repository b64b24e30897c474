#include "index_format.h"

#include <cstring>

#include "crc32c.h"

namespace annals {

void SegmentHeader::EncodeTo(uint8_t* page) const {
  std::memset(page, 0, kSegmentPageSize);
  std::memcpy(page, kSegmentMagic, 8);
  page[8] = kSegmentFormatVersion;
  page[9] = kind;
  StoreU32(page + 12, kSegmentPageSize);
  StoreU64(page + 16, from_position);
  StoreU64(page + 24, to_position);
  StoreU64(page + 32, entry_count);
  StoreU32(page + 40, leaf_count);
  StoreU32(page + 44, root_page);
  StoreU32(page + 48, height);
  StoreU32(page + 52, bloom_page);
  StoreU32(page + 56, bloom_bytes);
  StoreU32(page + 60, bloom_hashes);
  StoreU32(page + 64, bloom_crc);
  StoreU32(page + 68, distinct_keys);
  StoreU32(page + 72, page_count);
  StoreU64(page + 80, starts);
  StoreU32(page + 124, Crc32c(page, 124));
}

bool SegmentHeader::DecodeFrom(const uint8_t* page, SegmentHeader* h) {
  if (std::memcmp(page, kSegmentMagic, 8) != 0 || LoadU32(page + 124) != Crc32c(page, 124)) {
    return false;
  }
  if (page[8] != kSegmentFormatVersion || LoadU32(page + 12) != kSegmentPageSize) return false;
  h->kind = page[9];
  h->from_position = LoadU64(page + 16);
  h->to_position = LoadU64(page + 24);
  h->entry_count = LoadU64(page + 32);
  h->leaf_count = LoadU32(page + 40);
  h->root_page = LoadU32(page + 44);
  h->height = LoadU32(page + 48);
  h->bloom_page = LoadU32(page + 52);
  h->bloom_bytes = LoadU32(page + 56);
  h->bloom_hashes = LoadU32(page + 60);
  h->bloom_crc = LoadU32(page + 64);
  h->distinct_keys = LoadU32(page + 68);
  h->page_count = LoadU32(page + 72);
  h->starts = LoadU64(page + 80);
  // Height is bounded: 8 levels of 255-way pages address more leaves than any file can hold.
  return KnownSegmentKind(h->kind) && h->height <= 8 && h->from_position <= h->to_position &&
         h->leaf_count < h->page_count && h->root_page < h->page_count &&
         h->bloom_page <= h->page_count;
}

}  // namespace annals
