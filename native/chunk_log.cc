#include "chunk_log.h"

#include <algorithm>
#include <filesystem>

#include "crc32c.h"
#include "record_scanner.h"
#include "store_error.h"
#include "sync_gauge.h"
#include "tail_recovery.h"

namespace annals {
namespace {

// Appends land on blocks zero-filled ahead of them (up to this far ahead, refilled once half of it
// is used). Why: in a sparse chunk every flush also allocates the blocks its data landed on, and
// the data sync then commits that metadata through the filesystem journal; on blocks already
// written it only writes data. Measured here (ext4, 25 KB appends): 6,200 -> 9,800 append+fdatasync
// per second. The zeroes cost one extra write of the data's size, and the tail chunk takes at most
// this much more disk space.
constexpr uint64_t kZeroAheadBytes = 1 << 20;

// Chunk numbers present in `dir`, sorted; removes leftovers of interrupted creations when writable.
std::vector<uint64_t> ListChunks(const std::string& dir, bool writable) {
  std::vector<uint64_t> numbers;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() == 14 && name.compare(8, 6, ".chunk") == 0 &&
        std::all_of(name.begin(), name.begin() + 8, [](char c) { return c >= '0' && c <= '9'; })) {
      numbers.push_back(std::stoull(name.substr(0, 8)));
    } else if (writable && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      RemoveFileQuietly(entry.path().string());
    }
  }
  if (ec) ThrowSystemError("list " + dir, ec.value());
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

}  // namespace

ChunkLog::ChunkLog(std::string dir, uint64_t chunk_size, bool read_only, uint64_t mapped_window)
    : dir_(std::move(dir)),
      chunk_size_(chunk_size),
      read_only_(read_only),
      mapped_(chunk_size, mapped_window) {
  if (chunk_size_ < kMinChunkSize || chunk_size_ % 4096 != 0) {
    throw StoreError("INVALID_ARGUMENT", "chunkSize must be a multiple of 4096 and >= 1 MiB");
  }
}

RecoveryReport ChunkLog::Open(uint32_t fresh_identity, uint64_t durable_floor) {
  if (!read_only_ && !StoreIdentityValid(fresh_identity)) {
    throw StoreError("INVALID_ARGUMENT", "store identity out of range");
  }
  RecoveryReport report;
  const std::vector<uint64_t> numbers = ListChunks(dir_, !read_only_);
  for (size_t i = 0; i < numbers.size(); ++i) {
    if (numbers[i] != i) {
      throw StoreError("CORRUPTION", "chunk " + ChunkFile::PathFor(dir_, i) + " is missing");
    }
  }
  const std::string cp_path = dir_ + "/writer.chk";
  Checkpoint cp;
  {
    // A reader beside a store that never wrote a checkpoint simply has none to check against.
    FileDescriptor fd;
    if (read_only_) {
      FileDescriptor::OpenIfExists(cp_path, OpenMode::kRead, &fd);
    } else {
      fd = FileDescriptor::Open(cp_path, OpenMode::kReadWriteCreate);
    }
    checkpoint_ = std::make_shared<FileDescriptor>(std::move(fd));
    uint8_t raw[kCheckpointSize];
    if (!checkpoint_->valid() || !ReadAllAt(*checkpoint_, raw, sizeof raw, 0) ||
        !Checkpoint::DecodeFrom(raw, &cp)) {
      cp = Checkpoint{};
    }
  }
  for (uint64_t n : numbers) {
    const bool last = n + 1 == numbers.size();
    chunks_.push_back(ChunkFile::Open(dir_, n, chunk_size_, last, !read_only_));
    const ChunkFile& chunk = *chunks_.back();
    if (!last && !chunk.sealed()) {
      throw StoreError("CORRUPTION", chunk.Where(chunk_size_ - kChunkFooterSize) +
                                         ": chunk is not the last one but has no valid footer");
    }
    if (chunk.sealed() && (chunk.footer().data_end < kChunkHeaderSize ||
                           chunk.footer().data_end > ChunkDataCapacityEnd(chunk_size_))) {
      throw StoreError("CORRUPTION", chunk.Where(chunk_size_ - kChunkFooterSize) +
                                         ": footer data end out of range");
    }
  }
  // Every chunk created since the first one with an identity copies it, so the tail's is the
  // store's.
  if (!chunks_.empty() && chunks_.back()->identity() != 0) {
    identity_ = chunks_.back()->identity();
    report.identity_chunk = chunks_.back()->number();
  } else {
    identity_ = read_only_ ? 0 : fresh_identity;
    report.identity_chunk = chunks_.size();
  }
  report.identity = identity_;
  uint32_t last_generation = cp.generation;
  // A footer the last chunk's data does not bear out is a seal a power cut interrupted.
  const bool unbacked_footer =
      !chunks_.empty() && chunks_.back()->sealed() && !SealHolds(*chunks_.back(), chunk_size_, cp);
  if (unbacked_footer) chunks_.back()->Unseal();
  if (chunks_.empty() || chunks_.back()->sealed()) {
    write_offset_ = chunks_.empty() ? 0 : chunks_.back()->footer().data_end;
    // A seal that holds with no chunk after it (the writer stopped between sealing a chunk and
    // creating the next): read as every sealed chunk, mapped when read and counted in the mapped
    // window, not held open and mapped as a tail, which a scavenge's Forget would not let go of.
    if (!chunks_.empty()) {
      const uint64_t n = chunks_.back()->number();
      chunks_.back() = ChunkFile::Open(dir_, n, chunk_size_, false, false);
    }
  } else {
    ChunkFile& chunk = *chunks_.back();
    const uint64_t base = chunk.number() * chunk_size_;
    const TailState t =
        RecoverTail(chunk, chunk_size_, cp, read_only_,
                    durable_floor > base ? durable_floor - base : 0, unbacked_footer);
    if (t.torn) {
      report.torn = true;
      report.torn_position = base + t.torn_offset;
      report.discarded_bytes = t.discarded_bytes;
      report.torn_reason = t.torn_reason;
    }
    for (uint64_t d : t.damaged) report.damaged.push_back(base + d);
    write_offset_ = t.write_offset;
    record_count_ = t.record_count;
    data_checksum_ = t.data_checksum;
    last_generation = std::max(last_generation, t.last_generation);
    // What recovery accepted may be a killed process's writes still in the page cache: durable
    // before the new session's checkpoint says so.
    if (!read_only_) chunk.Sync();
  }
  flushed_offset_ = write_offset_;
  zeroed_end_ = write_offset_;
  generation_ = last_generation + 1;
  open_ = true;
  // A new store gets its first chunk now, not at its first append: a read-only follower that
  // opens beside the writer learns the chunk size from chunk 0's header.
  if (!read_only_ && chunks_.empty()) RollOver();
  if (!read_only_) WriteCheckpoint(end_position(), true);
  report.end_position = end_position();
  report.generation = generation_;
  report.chunk_count = chunk_count();
  return report;
}

uint64_t ChunkLog::end_position() const {
  if (chunks_.empty()) return kChunkHeaderSize;
  const ChunkFile& last = *chunks_.back();
  if (last.sealed()) return (last.number() + 1) * chunk_size_ + kChunkHeaderSize;
  return last.number() * chunk_size_ + write_offset_;
}

void ChunkLog::RollOver() {
  if (!chunks_.empty() && !chunks_.back()->sealed()) {
    ChunkFooter footer;
    footer.record_count = record_count_;
    footer.data_end = write_offset_;
    footer.data_checksum = data_checksum_;
    chunks_.back()->Seal(footer);
    mapped_.Add(chunks_.back()->number());  // still mapped from its time as the tail
    UnmapExcess();
  }
  const uint64_t number = chunks_.size();
  chunks_.push_back(ChunkFile::Create(dir_, number, chunk_size_, identity_));
  write_offset_ = kChunkHeaderSize;
  flushed_offset_ = kChunkHeaderSize;
  zeroed_end_ = kChunkHeaderSize;
  record_count_ = 0;
  data_checksum_ = 0;
}

void ChunkLog::Append(uint8_t* buf, size_t len, const double* starts, const uint32_t* ends,
                      size_t count) {
  if (!open_ || read_only_) throw StoreError("READ_ONLY", "the log is not open for writing");
  if (!failed_.empty()) throw StoreError("IO", failed_);
  if (count == 0) return;
  const uint64_t end = end_position();
  // Checked before the cast: a negative, NaN or huge double cast to an integer is undefined.
  if (!(starts[0] >= 0) || starts[0] > 9007199254740991.0) {
    throw StoreError("INVALID_ARGUMENT", "append placement does not match the end of the log");
  }
  const uint64_t first = static_cast<uint64_t>(starts[0]);
  const uint64_t next_chunk = chunks_.empty() ? 0 : chunks_.back()->number() + 1;
  const bool roll = first == next_chunk * chunk_size_ + kChunkHeaderSize;
  if (static_cast<double>(first) != starts[0] || (first != end && !roll)) {
    throw StoreError("INVALID_ARGUMENT", "append placement does not match the end of the log");
  }
  // Validate the whole call before touching the log, so a failure writes nothing.
  uint64_t offset = roll ? kChunkHeaderSize : write_offset_;
  uint64_t prev_end = 0;
  for (size_t i = 0; i < count; ++i) {
    if (ends[i] <= prev_end || ends[i] > len ||
        starts[i] != static_cast<double>(first + prev_end)) {
      throw StoreError("INVALID_ARGUMENT", "append transactions are not contiguous");
    }
    uint64_t f = prev_end;
    bool committed = false;
    while (f < ends[i]) {
      const uint32_t flen = LoadU32(buf + f);
      if (ends[i] - f < kFrameHeaderSize || flen < kFrameHeaderSize || flen > ends[i] - f) {
        throw StoreError("INVALID_ARGUMENT", "malformed frame in append batch");
      }
      committed = (buf[f + 9] & kFrameFlagCommit) != 0;
      if (committed && f + flen != ends[i]) {
        throw StoreError("INVALID_ARGUMENT", "COMMIT flag before the end of a transaction");
      }
      f += flen;
    }
    if (!committed) throw StoreError("INVALID_ARGUMENT", "transaction without a COMMIT frame");
    prev_end = ends[i];
  }
  if (offset + prev_end > ChunkDataCapacityEnd(chunk_size_)) {
    throw StoreError("INVALID_ARGUMENT", "append batch does not fit in the chunk");
  }
  if (roll) RollOver();
  // The tail's checksum and count move only once the write succeeded: a failed write leaves the
  // log as it was (UndoFailedWrite), and these go into the checkpoint and the footer.
  uint32_t checksum = data_checksum_;
  uint32_t records = record_count_;
  for (uint64_t f = 0; f < prev_end;) {
    uint8_t* frame = buf + f;  // stamped in the caller's buffer, then written in one pwrite
    const uint32_t flen = LoadU32(frame);
    StoreU32(frame + 12, generation_);
    StoreU32(frame + 4, Crc32c(frame + 8, flen - 8));
    checksum = ChainFrameChecksum(checksum, frame);
    ++records;
    f += flen;
  }
  ZeroAhead(offset + prev_end);
  try {
    chunks_.back()->WriteAt(offset, buf, prev_end);
  } catch (const StoreError&) {
    UndoFailedWrite(offset);
    throw;
  }
  data_checksum_ = checksum;
  record_count_ = records;
  write_offset_ = offset + prev_end;
}

void ChunkLog::UndoFailedWrite(uint64_t offset) {
  // Whole frames before the point of failure may be in the file: cut them, so that an append the
  // caller is told failed never reappears (close() would sync them, the next open accept them).
  // The next session's frames start a new generation, so should the cut not reach the disk before
  // a crash, recovery takes what is left of these frames for a crashed session's leftovers once a
  // checkpoint of the new generation is written.
  ++generation_;
  zeroed_end_ = offset;
  try {
    chunks_.back()->CutAt(offset);
  } catch (const StoreError& e) {
    failed_ =
        std::string("a failed write could not be undone (") + e.what() + "); reopen the store";
  }
}

void ChunkLog::ZeroAhead(uint64_t data_end) {
  if (data_end + kZeroAheadBytes / 2 <= zeroed_end_) return;
  const uint64_t from = std::max(zeroed_end_, data_end);
  const uint64_t to = std::min(ChunkDataCapacityEnd(chunk_size_),
                               (data_end + kZeroAheadBytes + 4095) / 4096 * 4096);
  // Best effort: when the zeroes cannot be written (a full disk), the append goes ahead and its
  // own write reports the error.
  if (from < to && chunks_.back()->FillZeroes(from, to)) zeroed_end_ = to;
}

FlushJob ChunkLog::PrepareFlush() {
  FlushJob job;
  job.end_position = end_position();
  job.generation = generation_;
  job.tail_records = record_count_;
  job.tail_checksum = data_checksum_;
  job.checkpoint = checkpoint_;
  if (!chunks_.empty() && !chunks_.back()->sealed() && write_offset_ > flushed_offset_) {
    job.data = chunks_.back()->descriptor();
    flushed_offset_ = write_offset_;
  }
  return job;
}

void ChunkLog::RunFlush(const FlushJob& job) {
  if (job.data) {
    SyncData(*job.data, "chunk");
    SyncGauge::NoteSync();
  }
  if (job.checkpoint && job.checkpoint->valid()) {
    uint8_t raw[kCheckpointSize];
    Checkpoint{job.end_position, job.generation, job.tail_records, job.tail_checksum}.EncodeTo(raw);
    WriteAllAt(*job.checkpoint, raw, sizeof raw, 0);
  }
}

void ChunkLog::WriteCheckpoint(uint64_t durable_end, bool sync) {
  uint8_t raw[kCheckpointSize];
  Checkpoint{durable_end, generation_, record_count_, data_checksum_}.EncodeTo(raw);
  WriteAllAt(*checkpoint_, raw, sizeof raw, 0);
  if (sync) SyncData(*checkpoint_, "checkpoint");
}

void ChunkLog::Close() {
  if (!open_) return;
  if (!read_only_) {
    RunFlush(PrepareFlush());
    WriteCheckpoint(end_position(), true);
  }
  open_ = false;
  chunks_.clear();
  mapped_.Clear();
  checkpoint_.reset();
}

uint64_t ChunkLog::DataLimit(const ChunkFile& chunk) const {
  if (chunk.sealed()) return chunk.footer().data_end;
  return write_offset_;
}

}  // namespace annals
