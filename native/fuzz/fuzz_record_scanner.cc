// libFuzzer target: ScanFrames over arbitrary bytes laid out as a chunk's data region. It must
// never read outside the region and its result must stay inside it.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "../chunk_format.h"
#include "../record_scanner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> image(annals::kChunkHeaderSize + size);
  std::copy(data, data + size, image.begin() + annals::kChunkHeaderSize);
  const uint32_t min_generation = size > 0 ? data[0] % 4 : 0;
  const annals::ScanResult r =
      annals::ScanFrames(image.data(), annals::kChunkHeaderSize, image.size(), min_generation);
  if (r.committed_end > image.size() || r.stop_offset > image.size() ||
      r.committed_end > r.stop_offset) {
    std::abort();
  }
  return 0;
}
