// On-disk layout of data chunk files (format version 3; versions 1 and 2 are read).
// docs/ARCHITECTURE.md is the prose twin of this file and lib/format/layout.ts its TypeScript twin;
// the three change together.
//
// A chunk file `chunks/NNNNNNNN.chunk` is exactly `chunk_size` bytes long (sparse):
//
//   [0, 64)                      header: magic "ANNALSCK", version, kind, chunk number, chunk size,
//                                first position, store identity (u32 at 40, version 3), CRC-32C
//                                of bytes [0, 60) at 60
//   [64, chunk_size - 64)        record frames, back to back, then zeroes
//   [chunk_size - 64, chunk_size) footer, written once when the chunk is sealed: magic "ANNALSFT",
//                                version, record count, data end, data checksum, CRC of [0, 60) at
//                                60
//
// Record frame: u32 length (whole frame, >= 16) | u32 CRC-32C of bytes [8, length) | u8 kind |
// u8 flags | u16 zero | u32 generation | body. The kind names the body's layout (2: compact event
// body, 1: version 1 event body; both decoded in lib/format/record-codec.ts). Flag COMMIT marks the
// last frame of an atomic append: frames after the last COMMIT of the log were never acknowledged
// and recovery drops them. The generation is the writer session that wrote the frame (one more than
// any before it, recorded in the checkpoint before the first write); in the tail chunk a frame
// whose generation is below its predecessor's is stale bytes of a crashed session, not data, so the
// log ends there.
//
// The store identity is a random 26-bit number, not 0, chosen when a store's first version 3 chunk
// is created and copied into every later chunk: events appended without an id get one derived from
// it, their time and their position (lib/format/event-id.ts), so those ids cost no bytes. Version
// 1 and 2 headers have none (read as 0), and their frames always store their ids.
//
// Invariants: a frame never spans two chunks, nor does an atomic append; the global position of a
// frame is chunk_number * chunk_size + offset, so positions only grow and never move; the data
// checksum of a sealed chunk is CRC-32C chained over the first 8 bytes (length, CRC) of each frame.
// All integers are little-endian.
#pragma once

#include <cstdint>
#include <cstring>

namespace annals {

// Written into every new chunk header, footer and checkpoint; version 1 and 2 files still open.
// Frames say their own body layout (kind), so an upgraded store's old tail takes kind 2 frames.
constexpr uint8_t kFormatVersion = 3;
// The first version whose chunk headers carry the store identity.
constexpr uint8_t kIdentityFormatVersion = 3;
constexpr uint32_t kStoreIdentityLimit = 1u << 26;  // identities are in [1, kStoreIdentityLimit)
inline bool StoreIdentityValid(uint32_t identity) {
  return identity != 0 && identity < kStoreIdentityLimit;
}
constexpr uint8_t kOldestFormatVersion = 1;
inline bool FormatVersionKnown(uint8_t v) {
  return v >= kOldestFormatVersion && v <= kFormatVersion;
}
constexpr uint8_t kChunkKindData = 1;
constexpr uint32_t kChunkHeaderSize = 64;
constexpr uint32_t kChunkFooterSize = 64;
constexpr uint32_t kFrameHeaderSize = 16;
constexpr uint8_t kRecordKindEventV1 = 1;  // event, version 1 body: read, never written
constexpr uint8_t kRecordKindEvent = 2;    // event, compact body: every append
inline bool IsEventKind(uint8_t kind) {
  return kind == kRecordKindEvent || kind == kRecordKindEventV1;
}
constexpr uint8_t kFrameFlagCommit = 1;
constexpr uint64_t kMinChunkSize = 1u << 20;
constexpr char kChunkMagic[8] = {'A', 'N', 'N', 'A', 'L', 'S', 'C', 'K'};
constexpr char kFooterMagic[8] = {'A', 'N', 'N', 'A', 'L', 'S', 'F', 'T'};
constexpr char kCheckpointMagic[8] = {'A', 'N', 'N', 'A', 'L', 'S', 'W', 'C'};
constexpr uint32_t kCheckpointSize = 48;

inline uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
inline uint64_t LoadU64(const uint8_t* p) {
  return static_cast<uint64_t>(LoadU32(p)) | static_cast<uint64_t>(LoadU32(p + 4)) << 32;
}
inline void StoreU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void StoreU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t LoadU48(const uint8_t* p) {
  return static_cast<uint64_t>(LoadU32(p)) | static_cast<uint64_t>(p[4]) << 32 |
         static_cast<uint64_t>(p[5]) << 40;
}
inline void StoreU48(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 6; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

struct ChunkHeader {
  uint64_t chunk_number = 0;
  uint64_t chunk_size = 0;
  uint32_t identity = 0;  // the store identity; 0 in headers of version 1 and 2

  uint64_t first_position() const { return chunk_number * chunk_size; }
  void EncodeTo(uint8_t* out) const;                               // writes kChunkHeaderSize bytes
  static bool DecodeFrom(const uint8_t* in, ChunkHeader* header);  // false if bad magic/CRC/version
};

struct ChunkFooter {
  uint32_t record_count = 0;
  uint64_t data_end = 0;       // offset in the chunk of the first byte after the last frame
  uint32_t data_checksum = 0;  // see the invariants above

  void EncodeTo(uint8_t* out) const;
  static bool DecodeFrom(const uint8_t* in, ChunkFooter* footer);
};

// The writer checkpoint `writer.chk`: the global position up to which the log was durable at some
// moment, with the tail chunk's record count and data checksum at that point, so recovery resumes
// the scan there instead of re-reading the whole chunk. Written without its own fsync after each
// flush, so it may lag, never lead.
struct Checkpoint {
  uint64_t durable_end = 0;
  uint32_t generation = 0;            // the session that wrote this checkpoint
  uint32_t tail_records = 0;          // frames in the tail chunk before durable_end
  uint32_t tail_checksum = 0;         // the tail chunk's data checksum chained up to durable_end
  void EncodeTo(uint8_t* out) const;  // kCheckpointSize bytes
  static bool DecodeFrom(const uint8_t* in, Checkpoint* cp);
};

inline uint64_t ChunkDataCapacityEnd(uint64_t chunk_size) { return chunk_size - kChunkFooterSize; }

}  // namespace annals
