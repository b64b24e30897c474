// Builds record frames for the native tests the way lib/format/record-codec.ts lays them out.
#pragma once

#include <cstdint>
#include <vector>

#include "../chunk_format.h"
#include "../crc32c.h"

namespace annals::test {

// Appends to `out` one frame of `body_len` body bytes (filled with `fill`); CRC stamped when
// `stamp` (the engine stamps it on append, so batches for Append leave it blank).
inline void AddFrame(std::vector<uint8_t>* out, uint32_t body_len, bool commit,
                     uint32_t generation = 1, uint8_t fill = 0x42, bool stamp = true) {
  const size_t at = out->size();
  const uint32_t len = kFrameHeaderSize + body_len;
  out->resize(at + len, fill);
  uint8_t* f = out->data() + at;
  StoreU32(f, len);
  StoreU32(f + 4, 0);
  f[8] = kRecordKindEvent;
  f[9] = commit ? kFrameFlagCommit : 0;
  f[10] = 0;
  f[11] = 0;
  StoreU32(f + 12, generation);
  if (stamp) StoreU32(f + 4, Crc32c(f + 8, len - 8));
}

}  // namespace annals::test
