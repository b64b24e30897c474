// The follower side of ChunkLog (chunk_log.h): a read-only log catching up with the writer of the
// same directory, in this process or another.
//
// What it shows: only what the writer's checkpoint says is durable. The writer rewrites the
// checkpoint after every completed flush and it never leads the durable log; frames past it may
// belong to an append still in flight, or to a write that fails and is cut again, which a reader
// must never see (nothing rejected ever appears). Every frame between the end this log knew and
// the checkpoint's is checked (length, CRC, kind, generation, a COMMIT at the end) before the end
// moves, so no torn or damaged frame is ever served: at damage the end moves only up to the last
// whole append before it, and the report names the damaged position.
//
// New chunks: the writer creates a chunk whole (header written and synced in a temporary file
// renamed into place) before it places any frame there, and seals the chunk before it (footer,
// sync) first; so once the checkpoint lies in chunk n, every chunk below n has its footer and
// chunk n its header. The checkpoint file is opened again at every call: a writer that recreated
// it (a new store in the directory) is followed too.
#include <string>

#include "chunk_log.h"
#include "record_scanner.h"
#include "store_error.h"

namespace annals {

namespace {

// Whether the frames of `chunk` in [from, to) are whole, valid appends ending exactly at `to`;
// otherwise where the last whole append before the damage ends (`*valid_end`).
bool FramesValid(const ChunkFile& chunk, uint64_t from, uint64_t to, uint64_t* valid_end) {
  const ScanResult r = ScanFrames(chunk.data(), from, to, 0);
  *valid_end = r.committed_end;
  return r.committed_end == to;
}

}  // namespace

FollowReport ChunkLog::Follow() {
  if (!open_ || !read_only_) throw StoreError("INVALID_ARGUMENT", "only a read-only log follows");
  FollowReport report;
  report.end_position = end_position();
  FileDescriptor fd;
  if (!FileDescriptor::OpenIfExists(dir_ + "/writer.chk", OpenMode::kRead, &fd)) return report;
  uint8_t raw[kCheckpointSize];
  Checkpoint cp;
  // A checkpoint read while the writer rewrites it fails its CRC: the next call reads it whole.
  if (!ReadAllAt(fd, raw, sizeof raw, 0) || !Checkpoint::DecodeFrom(raw, &cp)) return report;
  const uint64_t target = cp.durable_end;
  const uint64_t target_offset = target % chunk_size_;
  if (target <= report.end_position) return report;
  if (target_offset < kChunkHeaderSize || target_offset > ChunkDataCapacityEnd(chunk_size_)) {
    report.error = "writer checkpoint names position " + std::to_string(target) +
                   ", which no frame can end at";
    return report;
  }
  const uint64_t target_chunk = target / chunk_size_;
  if (chunks_.empty()) {
    chunks_.push_back(ChunkFile::Open(dir_, 0, chunk_size_, true, false));
    write_offset_ = kChunkHeaderSize;
  }
  while (chunks_.back()->number() < target_chunk) {
    if (!SealFollowedTail(&report)) return report;
  }
  uint64_t valid_end = 0;
  const bool whole = FramesValid(*chunks_.back(), write_offset_, target_offset, &valid_end);
  write_offset_ = valid_end;
  report.end_position = end_position();
  if (!whole) {
    report.damaged = report.end_position;
    report.error =
        chunks_.back()->Where(valid_end) + ": damaged record below the writer's checkpoint";
  }
  return report;
}

bool ChunkLog::SealFollowedTail(FollowReport* report) {
  const uint64_t number = chunks_.back()->number();
  if (!chunks_.back()->sealed()) {
    // The writer sealed it before it moved on: read the footer it wrote, check the frames up to
    // its data end, then keep the chunk as every sealed one, mapped when read.
    std::unique_ptr<ChunkFile> sealed = ChunkFile::Open(dir_, number, chunk_size_, true, false);
    if (!sealed->sealed() || sealed->footer().data_end < write_offset_ ||
        sealed->footer().data_end > ChunkDataCapacityEnd(chunk_size_)) {
      report->error = sealed->Where(chunk_size_ - kChunkFooterSize) +
                      ": chunk is not the last one but has no valid footer";
      return false;
    }
    uint64_t valid_end = 0;
    if (!FramesValid(*sealed, write_offset_, sealed->footer().data_end, &valid_end)) {
      write_offset_ = valid_end;
      report->end_position = end_position();
      report->damaged = report->end_position;
      report->error = sealed->Where(valid_end) + ": damaged record below the writer's checkpoint";
      return false;
    }
    chunks_.back() = ChunkFile::Open(dir_, number, chunk_size_, false, false);
  }
  chunks_.push_back(ChunkFile::Open(dir_, number + 1, chunk_size_, true, false));
  write_offset_ = kChunkHeaderSize;
  report->end_position = end_position();
  return true;
}

}  // namespace annals
