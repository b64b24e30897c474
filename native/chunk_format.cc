#include "chunk_format.h"

#include "crc32c.h"

namespace annals {
namespace {

void StampCrc(uint8_t* block, uint32_t crc_offset) {
  StoreU32(block + crc_offset, Crc32c(block, crc_offset));
}
bool CrcMatches(const uint8_t* block, uint32_t crc_offset) {
  return LoadU32(block + crc_offset) == Crc32c(block, crc_offset);
}

}  // namespace

void ChunkHeader::EncodeTo(uint8_t* out) const {
  std::memset(out, 0, kChunkHeaderSize);
  std::memcpy(out, kChunkMagic, 8);
  out[8] = kFormatVersion;
  out[9] = kChunkKindData;
  StoreU32(out + 12, kChunkHeaderSize);
  StoreU64(out + 16, chunk_number);
  StoreU64(out + 24, chunk_size);
  StoreU64(out + 32, first_position());
  StoreU32(out + 40, identity);
  StampCrc(out, 60);
}

bool ChunkHeader::DecodeFrom(const uint8_t* in, ChunkHeader* header) {
  if (std::memcmp(in, kChunkMagic, 8) != 0 || !CrcMatches(in, 60)) return false;
  if (!FormatVersionKnown(in[8]) || in[9] != kChunkKindData) return false;
  header->chunk_number = LoadU64(in + 16);
  header->chunk_size = LoadU64(in + 24);
  header->identity = in[8] >= kIdentityFormatVersion ? LoadU32(in + 40) : 0;
  if (in[8] >= kIdentityFormatVersion && !StoreIdentityValid(header->identity)) return false;
  return LoadU64(in + 32) == header->first_position() && header->chunk_size >= kMinChunkSize;
}

void ChunkFooter::EncodeTo(uint8_t* out) const {
  std::memset(out, 0, kChunkFooterSize);
  std::memcpy(out, kFooterMagic, 8);
  out[8] = kFormatVersion;
  StoreU32(out + 12, record_count);
  StoreU64(out + 16, data_end);
  StoreU32(out + 24, data_checksum);
  StampCrc(out, 60);
}

bool ChunkFooter::DecodeFrom(const uint8_t* in, ChunkFooter* footer) {
  if (std::memcmp(in, kFooterMagic, 8) != 0 || !CrcMatches(in, 60)) return false;
  if (!FormatVersionKnown(in[8])) return false;
  footer->record_count = LoadU32(in + 12);
  footer->data_end = LoadU64(in + 16);
  footer->data_checksum = LoadU32(in + 24);
  return true;
}

void Checkpoint::EncodeTo(uint8_t* out) const {
  std::memset(out, 0, kCheckpointSize);
  std::memcpy(out, kCheckpointMagic, 8);
  out[8] = kFormatVersion;
  StoreU32(out + 12, generation);
  StoreU64(out + 16, durable_end);
  StoreU32(out + 24, tail_records);
  StoreU32(out + 28, tail_checksum);
  StampCrc(out, 44);
}

bool Checkpoint::DecodeFrom(const uint8_t* in, Checkpoint* cp) {
  if (std::memcmp(in, kCheckpointMagic, 8) != 0 || !CrcMatches(in, 44)) return false;
  if (!FormatVersionKnown(in[8])) return false;
  cp->generation = LoadU32(in + 12);
  cp->durable_end = LoadU64(in + 16);
  cp->tail_records = LoadU32(in + 24);
  cp->tail_checksum = LoadU32(in + 28);
  return true;
}

}  // namespace annals
